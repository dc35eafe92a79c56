"""Agents: each one's state changes by event time, per tenant, and the time spent in each state.

The latest state is the agent's state now (agents per state on the wallboard); the changes of
the last day or so give the seconds in each state over a window (occupancy), split by the
queues the agent listed in each state. Occupancy is the share of the time an agent was
handling work, (busy + after-contact work) over (busy + after-contact work + available), per
agent and per queue (an agent serving several queues counts in each): `pipeline/core/
catalogue.py` declares it.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import msgspec

from pipeline.core.clock import US_PER_S
from pipeline.core.events import AGENT_STATES, AgentState

# Changes kept per agent: a day and two hours covers "today" in any zone (a local day lasts
# at most 25 hours) and the 15-minute window; the state in force at the edge is kept too.
HISTORY_US = 26 * 3600 * US_PER_S
_STATE = {state: i for i, state in enumerate(AGENT_STATES)}
# A part carries the changes from this long before its clock, summed before that: any window
# a reader computes at that clock or later, 15 minutes long, starts after it.
SPANS_US = 16 * 60 * US_PER_S
MINUTE_US = 60 * US_PER_S
# Changes are made durable by the hour of event time they fall in (one record per agent,
# tenant and hour): a few changes a record, and one deletion an hour once they age out.
BUCKET_US = 3600 * US_PER_S
_ANY_TIME = -(2**63)

Seconds = list[int]  # microseconds per state, in AGENT_STATES order


def zero_seconds() -> Seconds:
    return [0] * len(AGENT_STATES)


class AgentPart(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One agent of one tenant, as a live part: its state now, and the time it spent in each
    state today, clock-free.

    `before` holds microseconds per state from `day_us` (the local day's start) to `cut_us`
    (none when the day started after it), for the agent ("") and for each queue it listed
    while in a state; `spans` the changes from `cut_us` on, each (start, state, queues
    listed), the first starting at `cut_us`; the last is the state now, which lasts until
    whatever `now` a reader uses.
    """

    agent_id: str
    tenant: str
    state: str
    since_us: int
    queues: list[str] | None
    reason: str | None
    team: str | None
    capacity: int | None
    day_us: int
    cut_us: int
    before: list[tuple[str, Seconds]]
    spans: list[tuple[int, str, list[str]]]

    def seconds(self, start_us: int, end_us: int) -> dict[str, Seconds]:
        """Microseconds per state in [start_us, end_us], for the agent ("") and per queue.

        From `before` when the window starts at the part's day start, so "today" is whole;
        from the spans only otherwise (a window must then start at or after `cut_us`)."""
        out: dict[str, Seconds] = {}
        if start_us <= self.day_us:
            for queue, held in self.before:
                out[queue] = list(held)
            start_us = max(self.day_us, self.cut_us)
        for i, (begin, state, queues) in enumerate(self.spans):
            end = self.spans[i + 1][0] if i + 1 < len(self.spans) else end_us
            overlap = min(end, end_us) - max(begin, start_us)
            if overlap <= 0:
                continue
            index = _STATE[state]
            for queue in ("", *set(queues)):
                seconds = out.get(queue)
                if seconds is None:
                    seconds = out[queue] = zero_seconds()
                seconds[index] += overlap
        return out


class AgentBoard:
    """Each agent's state changes per tenant, in event-time order, for `HISTORY_US`.

    Applying an agent event is idempotent: a copy of an event held (same event id) is a
    duplicate, an event that arrives late takes its place in time. Kept by agent id (the
    events' Kafka key), so that one agent's changes stay on the partition of its events. They
    are made durable by the hour (`bucket`); what `prune` returns tells which hours to delete.
    """

    __slots__ = ("_exported", "_held", "_touched", "history", "latest")

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, AgentState]] = {}  # agent_id -> tenant -> state
        self.history: dict[str, dict[str, list[AgentState]]] = {}  # ... -> changes, in order
        # Per (agent, tenant) changed since the last export: the earliest time of a change
        # applied since (a part cut before that time only needs its spans made again).
        self._touched: dict[tuple[str, str], int] = {}
        self._exported: dict[tuple[str, str], tuple[int, int, AgentPart]] = {}
        # Each (agent, tenant)'s changes held by event id: a copy is known in O(1), not by a
        # scan of the history (quadratic in `ccpipe kpis` over weeks, where nothing prunes).
        self._held: dict[str, dict[str, dict[str, AgentState]]] = {}  # agent -> tenant -> id

    def __len__(self) -> int:
        return sum(len(by_tenant) for by_tenant in self.latest.values())

    def apply(self, event: AgentState) -> bool:
        """False for a copy of an event already held."""
        changes = self.history.setdefault(event.agent_id, {}).setdefault(event.tenant, [])
        held = self._held.setdefault(event.agent_id, {}).setdefault(event.tenant, {})
        if event.event_id in held:
            return False  # a copy, or the same event id at another time (a conflict): ignored
        order = (event.ts_us, event.event_id)
        at = bisect.bisect_left(changes, order, key=lambda e: (e.ts_us, e.event_id))
        changes.insert(at, event)
        held[event.event_id] = event
        self.latest.setdefault(event.agent_id, {})[event.tenant] = changes[-1]
        key = (event.agent_id, event.tenant)
        self._touched[key] = min(self._touched.get(key, event.ts_us), event.ts_us)
        return True

    def held(self, agent_id: str, tenant: str, event_id: str) -> AgentState | None:
        """The change held under an event id (what to make durable of an event applied, or of
        its copy), None once pruned."""
        return self._held.get(agent_id, {}).get(tenant, {}).get(event_id)

    def bucket(self, agent_id: str, tenant: str, start_us: int) -> list[AgentState]:
        """The changes held of one agent and tenant in [start_us, start_us + BUCKET_US)."""
        changes = self.history.get(agent_id, {}).get(tenant, [])
        first = bisect.bisect_left(changes, start_us, key=lambda e: e.ts_us)
        end = bisect.bisect_left(changes, start_us + BUCKET_US, key=lambda e: e.ts_us)
        return changes[first:end]

    def restore(self, agent_id: str, states: Iterable[AgentState]) -> None:
        """One agent's changes, read back in any order; of two under one event id (a format
        moved half-way when a worker stopped), the first."""
        held: dict[str, dict[str, AgentState]] = {}
        for event in states:
            held.setdefault(event.tenant, {}).setdefault(event.event_id, event)
        by_tenant = {
            tenant: sorted(changes.values(), key=lambda e: (e.ts_us, e.event_id))
            for tenant, changes in held.items()
        }
        self.history[agent_id] = by_tenant
        self._held[agent_id] = held
        self.latest[agent_id] = {tenant: changes[-1] for tenant, changes in by_tenant.items()}
        self._touched.update(((agent_id, tenant), _ANY_TIME) for tenant in by_tenant)

    def prune(self, now_us: int) -> list[AgentState]:
        """Forget changes older than `HISTORY_US`, but the one in force then; return them
        (their durable copies are to be deleted)."""
        edge = now_us - HISTORY_US
        dropped: list[AgentState] = []
        for agent_id, by_tenant in self.history.items():
            for tenant, changes in by_tenant.items():
                at = bisect.bisect_right(changes, edge, key=lambda e: e.ts_us)
                if at > 1:
                    held = self._held[agent_id][tenant]
                    for event in changes[: at - 1]:
                        del held[event.event_id]
                    dropped += changes[: at - 1]
                    by_tenant[tenant] = changes[at - 1 :]
        return dropped

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

    def export(self, now_us: int, day_start: Callable[[str], int]) -> list[AgentPart]:
        """Every agent as a part at `now_us` (good for any later `now` in the same local day);
        `day_start(tenant)` is the first instant of the tenant's day at `now_us`. A part is cut
        again only when its agent changed or its minute cut moved."""
        cut_edge = now_us - SPANS_US
        cut_edge -= cut_edge % MINUTE_US
        out = []
        touched, self._touched = self._touched, {}
        for agent_id, by_tenant in self.history.items():
            for tenant, changes in by_tenant.items():
                day = day_start(tenant)
                cut = cut_edge
                key = (agent_id, tenant)
                held = self._exported.get(key)
                changed_from = touched.get(key)
                if held is None or held[0] != day or held[1] > cut:
                    part = _cut(changes, day, cut)
                elif changed_from is not None:
                    # Changes at or after the part's cut leave its day before the cut as it
                    # was: only the spans are made again (an agent changes state several
                    # times between two publications while a worker catches up).
                    if changed_from < held[1]:
                        part = _cut(changes, day, cut)
                    else:
                        part = _advance(_respan(held[2], changes), cut)
                elif held[1] != cut:
                    # Only the clock moved: the part's spans carry all it needs (its day's
                    # history is not walked again, which cost a publication per agent every
                    # time event time passed a minute).
                    part = _advance(held[2], cut)
                else:
                    part = held[2]
                self._exported[key] = (day, cut, part)
                out.append(part)
        return out


def _cut(changes: Sequence[AgentState], day_us: int, cut_us: int) -> AgentPart:
    """The part of an agent's changes (in order) in a day, cut at `cut_us`: every change as
    a span, then the cut moved to `cut_us`."""
    latest = changes[-1]
    whole = AgentPart(
        latest.agent_id,
        latest.tenant,
        latest.state,
        latest.ts_us,
        latest.queues,
        latest.reason,
        latest.team,
        latest.capacity,
        day_us,
        _ANY_TIME,
        [],
        _spans(changes, _ANY_TIME),
    )
    return _advance(whole, cut_us)


def _spans(changes: Sequence[AgentState], from_us: int) -> list[tuple[int, str, list[str]]]:
    """(start, state, queues listed) of the change in force at `from_us` (starting there) and
    of every change after it."""
    first = max(0, bisect.bisect_right(changes, from_us, key=lambda e: e.ts_us) - 1)
    return [
        (max(event.ts_us, from_us), event.state, list(dict.fromkeys(event.queues or ())))
        for event in changes[first:]
    ]


def _respan(part: AgentPart, changes: Sequence[AgentState]) -> AgentPart:
    """`part` with its latest state and spans made again from `changes` (in order), none of
    which changed before the part's cut."""
    latest = changes[-1]
    return msgspec.structs.replace(
        part,
        state=latest.state,
        since_us=latest.ts_us,
        queues=latest.queues,
        reason=latest.reason,
        team=latest.team,
        capacity=latest.capacity,
        spans=_spans(changes, part.cut_us),
    )


def _advance(part: AgentPart, cut_us: int) -> AgentPart:
    """`part` with its cut moved forward to `cut_us`, in the same day, its agent unchanged:
    `_cut` of the same changes at `cut_us`, from the part's spans alone."""
    before = {queue: list(seconds) for queue, seconds in part.before}
    spans: list[tuple[int, str, list[str]]] = []
    last = len(part.spans) - 1
    for i, (start, state, queues) in enumerate(part.spans):
        end = part.spans[i + 1][0] if i < last else None
        lo, hi = max(start, part.day_us), cut_us if end is None else min(end, cut_us)
        if hi > lo:
            index = _STATE[state]
            for queue in ("", *queues):
                held = before.get(queue)
                if held is None:
                    held = before[queue] = zero_seconds()
                held[index] += hi - lo
        if end is None or end > cut_us:
            spans.append((max(start, cut_us), state, queues))
    return msgspec.structs.replace(part, cut_us=cut_us, before=sorted(before.items()), spans=spans)


def occupancy(seconds: Seconds) -> float | None:
    """(busy + acw) / (busy + acw + available); None when the agent was none of these."""
    busy = seconds[_STATE["busy"]] + seconds[_STATE["acw"]]
    total = busy + seconds[_STATE["available"]]
    return busy / total if total else None


def interval_seconds(
    changes: Sequence[AgentState], until_us: int, interval_us: int
) -> dict[tuple[int, str], Seconds]:
    """Microseconds per state, per interval (aligned to the UTC epoch) and queue ("" = the
    agent), of one agent's changes in one tenant, in order: each state lasts until the next
    change, the last one until `until_us` (the watermark). What the store's per-interval agent
    view computes in SQL (tests/store hold the two equal)."""
    out: dict[tuple[int, str], Seconds] = {}
    for i, event in enumerate(changes):
        end = changes[i + 1].ts_us if i + 1 < len(changes) else until_us
        index = _STATE[event.state]
        queues = ("", *dict.fromkeys(event.queues or ()))
        start = event.ts_us
        while start < end:
            interval = start - start % interval_us
            piece = min(end, interval + interval_us) - start
            for queue in queues:
                held = out.get((interval, queue))
                if held is None:
                    held = out[(interval, queue)] = zero_seconds()
                held[index] += piece
            start += piece
    return out
