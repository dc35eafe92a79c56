"""Agents: each one's latest state by event time, per tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pipeline.core.events import AgentState


class AgentBoard:
    """Latest `agent.state` per (tenant, agent), whatever order events arrive in.

    Applying an agent event is idempotent (the latest by (ts, event_id) wins), so no history
    of event ids is kept: a re-sent copy of an agent's latest event is recognised as a
    duplicate, and any other old event changes nothing. Kept by agent id (the events' Kafka
    key) so that one agent's states travel together to the table that makes them durable.
    """

    __slots__ = ("latest",)

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, AgentState]] = {}  # agent_id -> tenant -> state

    def __len__(self) -> int:
        return sum(len(by_tenant) for by_tenant in self.latest.values())

    def apply(self, event: AgentState) -> bool:
        """False for a re-sent copy of the agent's latest event."""
        by_tenant = self.latest.setdefault(event.agent_id, {})
        held = by_tenant.get(event.tenant)
        if held is not None and held.event_id == event.event_id:
            return False
        if held is None or (event.ts_us, event.event_id) > (held.ts_us, held.event_id):
            by_tenant[event.tenant] = event
        return True

    def states(self, agent_id: str) -> list[AgentState]:
        """What to make durable of one agent: its latest state per tenant."""
        return list(self.latest.get(agent_id, {}).values())

    def restore(self, agent_id: str, states: Iterable[AgentState]) -> None:
        self.latest[agent_id] = {state.tenant: state for state in states}

    def counts(self, tenant: str, queue: str | None = None) -> Counter[str]:
        """Agents per state; with `queue`, only agents whose latest state lists that queue."""
        out: Counter[str] = Counter()
        for by_tenant in self.latest.values():
            event = by_tenant.get(tenant)
            if event is None:
                continue
            if queue is None or (event.queues is not None and queue in event.queues):
                out[event.state] += 1
        return out
