"""Live (wallboard) figures per queue: who waits now, and the KPIs of the last minutes.

A `LiveBoard` holds what one owner of segments (in the stream: one source partition) knows:

- the open segments (offered, neither answered nor abandoned nor transferred yet) per
  (tenant, queue, channel): a count and a heap of offer times whose stale entries are
  skipped when they reach the top, and thrown out in bulk when they outnumber the live ones;
- each segment's contribution vector in a minute bucket (tenant, queue, channel, UTC minute
  of its offer), with the replace semantics of `IntervalStore`, so a segment updated twice
  or late changes nothing but what it should.

Windows are defined on the offer time of segments, like intervals: "15m" holds the segments
offered in the minute buckets that start in [now - 15 min, now] (an offer at exactly
now - 15 min on a minute boundary is in), "60m" likewise, "today" from the local midnight of
`now` in the tenant's time zone. The KPIs of a window are `report_row` of its merged counts:
one formula for every rate. Partial boards merge (sums, max wait by max, oldest offer by
min) in `snapshot_many`, so a worker serving several partitions shows one figure per queue.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.core.agents import AgentBoard
from pipeline.core.catalogue import COUNT, KPI
from pipeline.core.clock import (
    INTERVAL_US,
    US_PER_S,
    datetime_to_us,
    format_utc,
    us_to_datetime,
)
from pipeline.core.events import AGENT_STATES
from pipeline.core.interval_store import IntervalStore
from pipeline.core.intervals import (
    COUNT_FIELDS,
    MAX_WAIT_INDEX,
    N_COUNTS,
    REPORT_FIELDS,
    IntervalKey,
    report_row,
    zero_counts,
)
from pipeline.core.segments import Segment, SegmentId
from pipeline.core.thresholds import QueueConfig, QueueLookup

MINUTE_US = 60 * US_PER_S
# Rolling windows by name and length; "today" starts at the tenant's local midnight.
ROLLING_WINDOWS: tuple[tuple[str, int], ...] = (("15m", 15 * MINUTE_US), ("60m", 60 * MINUTE_US))
TODAY = "today"
WINDOW_NAMES: tuple[str, ...] = (*(name for name, _ in ROLLING_WINDOWS), TODAY)
# A local day lasts at most 25 hours (a DST fall-back day), so today started at most this
# long before now in any zone: the horizon `prune` keeps when it knows no zones.
_LONGEST_DAY_US = 25 * 3600 * US_PER_S
_LONGEST_ROLLING_US = max(length for _, length in ROLLING_WINDOWS)
# The report's counts and KPIs the catalogue marks live (not FCR: it needs a window of days
# and is counted by another owner), in the report's order.
LIVE_KPI_FIELDS: tuple[str, ...] = tuple(
    name
    for name in REPORT_FIELDS
    if (name in KPI and KPI[name].live) or (name in COUNT and COUNT[name].live)
)
_SUMMED = tuple(i for i in range(N_COUNTS) if i != MAX_WAIT_INDEX)
OFFERED = COUNT_FIELDS.index("offered")

Group = tuple[str, str, str]  # (tenant, queue, channel)
# A tenant's time zone, where its "today" starts (the settings' `tenant_timezone`).
ZoneLookup = Callable[[str], ZoneInfo]


def local_day_start_us(now_us: int, zone: ZoneInfo) -> int:
    """The first instant of the local date of `now_us` in `zone`.

    fold=0 reads a midnight that a DST gap skips with the offset before the gap, which lands
    on the gap's end: the day's real first instant.
    """
    local = us_to_datetime(now_us).astimezone(zone)
    return datetime_to_us(datetime(local.year, local.month, local.day, tzinfo=zone))


def window_starts(now_us: int, zone: ZoneInfo) -> dict[str, int]:
    """Each window's start: it holds the minute buckets starting in [start, now]."""
    starts = {name: now_us - length for name, length in ROLLING_WINDOWS}
    starts[TODAY] = local_day_start_us(now_us, zone)
    return starts


def _ceil_minute(us: int) -> int:
    return -(-us // MINUTE_US) * MINUTE_US


def _add_into(total: list[int], part: list[int]) -> None:
    for i in _SUMMED:
        total[i] += part[i]
    if part[MAX_WAIT_INDEX] > total[MAX_WAIT_INDEX]:
        total[MAX_WAIT_INDEX] = part[MAX_WAIT_INDEX]


class _Waiting:
    """Open segments of one (tenant, queue, channel).

    `heap` holds (offered ts, segment) pushes; an entry is live while the board's open map
    still says that segment is open at that ts in this channel. Closed or moved segments
    leave stale entries, dropped when they surface or when they outnumber the live ones.
    """

    __slots__ = ("channel", "count", "heap")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.count = 0
        self.heap: list[tuple[int, SegmentId]] = []


@dataclass(slots=True)
class GroupPartial:
    """What one board knows of one (tenant, queue, channel) at `now`: mergeable."""

    in_queue: int
    oldest_offer_us: int | None
    windows: dict[str, list[int]]

    def merge(self, other: GroupPartial) -> GroupPartial:
        oldest = [t for t in (self.oldest_offer_us, other.oldest_offer_us) if t is not None]
        windows = {}
        for name, counts in self.windows.items():
            total = list(counts)
            _add_into(total, other.windows[name])
            windows[name] = total
        return GroupPartial(self.in_queue + other.in_queue, min(oldest, default=None), windows)


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """One window's merged counts and KPIs; `start_us` is the first offer minute counted."""

    start_us: int
    counts: tuple[int, ...]
    kpis: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The wallboard tile of one queue (`channel` None), or of one of its channels."""

    tenant: str
    queue: str
    channel: str | None
    in_queue: int
    oldest_offer_us: int | None
    longest_wait_s: float | None
    agents: dict[str, int]
    windows: dict[str, WindowFigures]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, times as RFC 3339 UTC."""
        return {
            "tenant": self.tenant,
            "queue": self.queue,
            "channel": self.channel,
            "in_queue": self.in_queue,
            "longest_wait_s": self.longest_wait_s,
            "oldest_offer": None
            if self.oldest_offer_us is None
            else format_utc(self.oldest_offer_us),
            "agents": dict(self.agents),
            "windows": {
                name: {"start": format_utc(window.start_us), **window.kpis}
                for name, window in self.windows.items()
            },
        }


class LiveBoard:
    """Open segments and minute buckets of the segments one owner holds."""

    __slots__ = ("_horizon_us", "_minutes", "_open", "_quarters", "_waiting")

    def __init__(self) -> None:
        self._minutes = IntervalStore()
        # Sums of whole 15-minute spans of minute buckets, so "today" adds up ~100 vectors
        # rather than ~1400; an entry is dropped whenever one of its minutes changes.
        self._quarters: dict[IntervalKey, list[int]] = {}
        self._open: dict[SegmentId, tuple[int, str]] = {}
        self._waiting: dict[Group, _Waiting] = {}
        # Buckets before this were pruned; segments offered before it are not bucketed.
        self._horizon_us = -(2**63)

    @classmethod
    def from_segments(cls, segments: Iterable[Segment], queue_config: QueueLookup) -> LiveBoard:
        """Rebuild a board from the segments its owner holds (after a restart)."""
        board = cls()
        board.update(segments, queue_config)
        return board

    @property
    def open_segments(self) -> int:
        return len(self._open)

    @property
    def buckets(self) -> int:
        return len(self._minutes)

    def groups(self) -> Iterable[Group]:
        return self._waiting.keys()

    def update(self, segments: Iterable[Segment], queue_config: QueueLookup) -> None:
        """Apply segments as they are now (replace semantics); segments not offered are skipped."""
        configs: dict[Group, QueueConfig] = {}
        minutes = self._minutes
        open_map = self._open
        waitings = self._waiting
        horizon = self._horizon_us
        for segment in segments:
            offered = segment.offered
            if offered is None:
                continue
            sid = segment.sid
            ts = offered.ts_us
            channel = offered.channel
            group = (sid.tenant, sid.queue, channel)
            waiting = waitings.get(group)
            if waiting is None:
                waiting = waitings[group] = _Waiting(channel)
            minute = ts - ts % MINUTE_US
            if minute >= horizon:
                config = configs.get(group)
                if config is None:
                    config = configs[group] = queue_config(*group)
                key = IntervalKey(sid.tenant, sid.queue, channel, minute)
                minutes.set(sid, key, segment.contribution(config))
            else:
                minutes.discard(sid)
            held = open_map.get(sid)
            if segment.outcome is None and segment.transferred is None:
                entry = (ts, channel)
                if held != entry:
                    if held is not None:
                        self._leave(sid, held[1])
                    open_map[sid] = entry
                    waiting.count += 1
                    heapq.heappush(waiting.heap, (ts, sid))
                    if len(waiting.heap) > 2 * waiting.count + 64:
                        self._compact(waiting)
            elif held is not None:
                del open_map[sid]
                self._leave(sid, held[1])

    def _leave(self, sid: SegmentId, channel: str) -> None:
        waiting = self._waiting[(sid.tenant, sid.queue, channel)]
        waiting.count -= 1
        if len(waiting.heap) > 2 * waiting.count + 64:
            self._compact(waiting)

    def _compact(self, waiting: _Waiting) -> None:
        # One offer that never gets an outcome would otherwise pin every stale entry behind
        # it; rebuilding once stale entries outnumber live ones (callers check) keeps the
        # cost amortised O(1) per entry.
        open_map, channel = self._open, waiting.channel
        waiting.heap = [e for e in waiting.heap if open_map.get(e[1]) == (e[0], channel)]
        heapq.heapify(waiting.heap)

    def _oldest(self, waiting: _Waiting) -> int | None:
        heap, open_map, channel = waiting.heap, self._open, waiting.channel
        while heap:
            ts, sid = heap[0]
            if open_map.get(sid) == (ts, channel):
                return ts
            heapq.heappop(heap)
        return None

    def partials(
        self, now_us: int, starts: Mapping[str, Mapping[str, int]]
    ) -> dict[Group, GroupPartial]:
        """This board's figures per (tenant, queue, channel); `starts` per tenant, by window."""
        quarters = self._quarters
        minutes = self._minutes
        # The store's own change log (read here only) says which cached sums went stale.
        changed, minutes.changed = minutes.changed, set()
        for key in changed:
            start = key.interval_start_us
            quarters.pop(
                IntervalKey(key.tenant, key.queue, key.channel, start - start % INTERVAL_US), None
            )
        out = {}
        for group, waiting in self._waiting.items():
            tenant_starts = starts[group[0]]
            windows = {
                name: self._window(group, tenant_starts[name], now_us) for name in WINDOW_NAMES
            }
            # Shown while it has a contact waiting or offered in a window: what a group holds
            # decides, not whether one of its segments once passed through it.
            if waiting.count or any(counts[OFFERED] for counts in windows.values()):
                out[group] = GroupPartial(waiting.count, self._oldest(waiting), windows)
        return out

    def _window(self, group: Group, first_us: int, last_us: int) -> list[int]:
        """Merged counts of the group's minute buckets that start in [first_us, last_us]."""
        totals = self._minutes.totals
        tenant, queue, channel = group
        total = zero_counts()
        minute = _ceil_minute(first_us)
        while minute <= last_us:
            if minute % INTERVAL_US == 0 and minute + INTERVAL_US - MINUTE_US <= last_us:
                _add_into(total, self._quarter(group, minute))
                minute += INTERVAL_US
                continue
            counts = totals.get(IntervalKey(tenant, queue, channel, minute))
            if counts is not None:
                _add_into(total, counts)
            minute += MINUTE_US
        return total

    def _quarter(self, group: Group, start_us: int) -> list[int]:
        key = IntervalKey(*group, start_us)
        cached = self._quarters.get(key)
        if cached is None:
            totals = self._minutes.totals
            cached = zero_counts()
            for minute in range(start_us, start_us + INTERVAL_US, MINUTE_US):
                counts = totals.get(IntervalKey(*group, minute))
                if counts is not None:
                    _add_into(cached, counts)
            self._quarters[key] = cached
        return cached

    def prune(self, now_us: int, zones: ZoneLookup | None = None) -> int:
        """Forget minute buckets no window at `now_us` reaches; returns how many were dropped.

        With `zones`, the horizon is the earliest local midnight among this board's
        tenants; without, 25 hours before now (no local day is longer). Open segments stay
        whatever their age: they are still waiting.
        """
        horizon = now_us - _LONGEST_DAY_US
        if zones is not None:
            tenants = {tenant for tenant, _, _ in self._waiting}
            horizon = min(
                (local_day_start_us(now_us, zones(t)) for t in tenants),
                default=now_us,
            )
            horizon = min(horizon, now_us - _LONGEST_ROLLING_US)
        if horizon <= self._horizon_us:
            return 0
        self._horizon_us = horizon
        old = [key for key in self._minutes.totals if key.interval_start_us < horizon]
        for key in old:
            self._minutes.drop(key)
        for key in [key for key in self._quarters if key.interval_start_us < horizon]:
            del self._quarters[key]
        bucketed = {(key.tenant, key.queue, key.channel) for key in self._minutes.totals}
        for group in [g for g, w in self._waiting.items() if not w.count and g not in bucketed]:
            del self._waiting[group]
        return len(old)

    def snapshot(
        self,
        now_us: int,
        zones: ZoneLookup,
        agents: AgentBoard | None = None,
        per_channel: bool = False,
    ) -> list[QueueFigures]:
        return snapshot_many([self], now_us, zones, [] if agents is None else [agents], per_channel)


def agents_by_queue(boards: Iterable[AgentBoard]) -> dict[tuple[str, str], Counter[str]]:
    """Agents per state for every (tenant, queue) their latest state lists, in one pass.

    The same figure as `AgentBoard.counts(tenant, queue)`, without a pass per queue.
    """
    out: dict[tuple[str, str], Counter[str]] = {}
    for board in boards:
        for by_tenant in board.latest.values():
            for tenant, event in by_tenant.items():
                for queue in set(event.queues or ()):
                    counter = out.get((tenant, queue))
                    if counter is None:
                        counter = out[(tenant, queue)] = Counter()
                    counter[event.state] += 1
    return out


def snapshot_many(
    boards: Sequence[LiveBoard],
    now_us: int,
    zones: ZoneLookup,
    agents: Iterable[AgentBoard] = (),
    per_channel: bool = False,
) -> list[QueueFigures]:
    """One tile per (tenant, queue) over partial boards, and per channel if asked.

    Queues come from the boards' segments and from the queues agents list. `now_us` is the
    caller's clock: the stream passes its event-time watermark (see docs/live.md).
    """
    agent_counts = agents_by_queue(agents)
    tenants = {group[0] for board in boards for group in board.groups()}
    tenants |= {tenant for tenant, _ in agent_counts}
    starts = {tenant: window_starts(now_us, zones(tenant)) for tenant in tenants}

    by_channel: dict[Group, GroupPartial] = {}
    for board in boards:
        for group, part in board.partials(now_us, starts).items():
            held = by_channel.get(group)
            by_channel[group] = part if held is None else held.merge(part)
    by_queue: dict[tuple[str, str], GroupPartial] = {}
    for (tenant, queue, _), part in by_channel.items():
        held = by_queue.get((tenant, queue))
        by_queue[(tenant, queue)] = part if held is None else held.merge(part)
    empty = GroupPartial(0, None, {name: zero_counts() for name in WINDOW_NAMES})
    for tenant_queue in agent_counts:
        by_queue.setdefault(tenant_queue, empty)

    out = []
    for (tenant, queue), part in by_queue.items():
        counts = agent_counts.get((tenant, queue), Counter())
        agents_row = {state: counts[state] for state in AGENT_STATES}
        out.append(_figures(tenant, queue, None, part, starts[tenant], agents_row, now_us))
    if per_channel:
        for (tenant, queue, channel), part in by_channel.items():
            out.append(_figures(tenant, queue, channel, part, starts[tenant], {}, now_us))
    out.sort(key=lambda f: (f.tenant, f.queue, f.channel is not None, f.channel or ""))
    return out


def _figures(
    tenant: str,
    queue: str,
    channel: str | None,
    part: GroupPartial,
    starts: Mapping[str, int],
    agents: dict[str, int],
    now_us: int,
) -> QueueFigures:
    oldest = part.oldest_offer_us
    windows = {}
    for name in WINDOW_NAMES:
        start = _ceil_minute(starts[name])
        counts = part.windows[name]
        row = report_row(IntervalKey(tenant, queue, channel or "", start), counts)
        windows[name] = WindowFigures(
            start, tuple(counts), {field: row[field] for field in LIVE_KPI_FIELDS}
        )
    return QueueFigures(
        tenant=tenant,
        queue=queue,
        channel=channel,
        in_queue=part.in_queue,
        oldest_offer_us=oldest,
        # An offer stamped after `now` (a caller's clock behind the data) waits 0, not less.
        longest_wait_s=None if oldest is None else max(0, now_us - oldest) / US_PER_S,
        agents=agents,
        windows=windows,
    )
