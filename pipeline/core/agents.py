"""Agents: each one's latest state by event time, per tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pipeline.core.events import AgentState


class AgentBoard:
    """Latest `agent.state` per (tenant, agent), whatever order events arrive in.

    Kept by agent id (the events' Kafka key) so that one agent's records travel together
    to the table that makes them durable.
    """

    __slots__ = ("_ids", "latest")

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, AgentState]] = {}  # agent_id -> tenant -> state
        # Event ids seen per agent, to tell a re-sent event from a new one.
        self._ids: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return sum(len(by_tenant) for by_tenant in self.latest.values())

    def apply(self, event: AgentState) -> bool:
        """False for a duplicate event id of the same agent."""
        ids = self._ids.get(event.agent_id)
        if ids is None:
            ids = self._ids[event.agent_id] = []
        if event.event_id in ids:
            return False
        ids.append(event.event_id)
        by_tenant = self.latest.setdefault(event.agent_id, {})
        held = by_tenant.get(event.tenant)
        if held is None or (event.ts_us, event.event_id) > (held.ts_us, held.event_id):
            by_tenant[event.tenant] = event
        return True

    def records(self, agent_id: str) -> tuple[list[AgentState], list[str]]:
        """What to make durable of one agent: its latest states and the ids it has seen."""
        return list(self.latest.get(agent_id, {}).values()), list(self._ids.get(agent_id, []))

    def restore(self, agent_id: str, states: Iterable[AgentState], ids: Iterable[str]) -> None:
        self.latest[agent_id] = {state.tenant: state for state in states}
        self._ids[agent_id] = list(ids)

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
