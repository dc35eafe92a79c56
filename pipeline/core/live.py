"""Live (wallboard) figures per queue: who waits now, and the KPIs of the last minutes.

Two boards, one way of computing figures:

- A `LiveBoard` holds what one owner of segments (in the stream: one source partition) knows:
  the open segments (offered, neither answered nor abandoned nor transferred yet) per
  (tenant, queue, channel), and each segment's contribution vector in a minute bucket
  (tenant, queue, channel, UTC minute of its offer), with the replace semantics of
  `IntervalStore`, so a segment updated twice or late changes nothing but what it should.
  `export` turns it into `GroupPart`s: plain, mergeable, independent of any clock.
- A `MergedBoard` holds the latest parts of any number of sources (replace semantics per
  source) and computes the figures of the whole at any `now`. `snapshot_many` over a worker's
  own boards and the whole-centre view over every worker's publications (pipeline/liveview)
  both go through it, so they cannot disagree.

A `GroupPart` carries the minute buckets from the quarter-hour before `now - 60 min` on (what
the rolling windows need, whatever later `now` a reader uses), the earlier buckets of the
tenant's day summed per quarter-hour (what "today" and the day's sparkline need), and the
offer times of the contacts waiting. A contact waiting longer than `max_wait_us` (the
`max_wait_s` setting) is stale: a record that never got its outcome, counted apart, never
waiting and never the longest wait.

Windows are defined on the offer time of segments, like intervals: "15m" holds the segments
offered in the minute buckets that start in [now - 15 min, now] (an offer at exactly
now - 15 min on a minute boundary is in), "60m" likewise, "today" from the local midnight of
`now` in the tenant's time zone. The KPIs of a window are `report_row` of its merged counts:
one formula for every rate. Parts merge by sums, max wait by max, waiting lists by union.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from pipeline.core.agents import AgentBoard, AgentPart, Seconds, occupancy, zero_seconds
from pipeline.core.catalogue import AGE_BAND_EDGES_S, COUNT, FCR_LIVE, KPI
from pipeline.core.clock import (
    INTERVAL_US,
    US_PER_S,
    LocalDays,
    ZoneLookup,
    datetime_to_us,
    format_utc,
    local_day_start_us,
    us_to_datetime,
)
from pipeline.core.events import AGENT_STATES, Answered
from pipeline.core.fcr import FcrPart
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
from pipeline.core.kpi_state import QueueLookup
from pipeline.core.segments import Segment, SegmentId

MINUTE_US = 60 * US_PER_S
# Rolling windows by name and length; "today" starts at the tenant's local midnight.
ROLLING_WINDOWS: tuple[tuple[str, int], ...] = (("15m", 15 * MINUTE_US), ("60m", 60 * MINUTE_US))
TODAY = "today"
# Today and the six local days before it: day sums for those days, today's own buckets.
WEEK = "7d"
WEEK_DAYS = 7
WINDOW_NAMES: tuple[str, ...] = (*(name for name, _ in ROLLING_WINDOWS), TODAY, WEEK)
# The windows agents' time (occupancy) is counted over.
AGENT_WINDOWS: tuple[str, ...] = ("15m", TODAY)
# A local day lasts at most 25 hours (a DST fall-back day), so today started at most this
# long before now in any zone: the horizon `prune` keeps when it knows no zones.
_LONGEST_DAY_US = 25 * 3600 * US_PER_S
_DAY_AND_MORE_US = 26 * 3600 * US_PER_S  # in the next local day whatever the day's length
_LONGEST_ROLLING_US = max(length for _, length in ROLLING_WINDOWS)
# A contact waiting longer than this is stale (the `max_wait_s` setting's default): 24 h.
DEFAULT_MAX_WAIT_US = 24 * 3600 * US_PER_S
# The report's counts and KPIs the catalogue marks live (not FCR: it needs a window of days
# and is counted by another owner), in the report's order.
LIVE_KPI_FIELDS: tuple[str, ...] = tuple(
    name
    for name in REPORT_FIELDS
    if (name in KPI and KPI[name].live) or (name in COUNT and COUNT[name].live)
)
_SUMMED = tuple(i for i in range(N_COUNTS) if i != MAX_WAIT_INDEX)
OFFERED = COUNT_FIELDS.index("offered")
_ZERO = tuple(zero_counts())

Group = tuple[str, str, str]  # (tenant, queue, channel)


def _utc(_: str) -> ZoneInfo:
    return ZoneInfo("UTC")


def local_days_ago_us(now_us: int, zone: ZoneInfo, days: int) -> int:
    """The first instant of the local date `days` before that of `now_us` in `zone`."""
    local = (us_to_datetime(now_us).astimezone(zone)).date() - timedelta(days=days)
    return datetime_to_us(datetime(local.year, local.month, local.day, tzinfo=zone))


def window_starts(now_us: int, zone: ZoneInfo) -> dict[str, int]:
    """Each window's start: it holds the buckets starting in [start, now]."""
    starts = {name: now_us - length for name, length in ROLLING_WINDOWS}
    starts[TODAY] = local_day_start_us(now_us, zone)
    starts[WEEK] = local_days_ago_us(now_us, zone, WEEK_DAYS - 1)
    return starts


def age_bands(offers: Iterable[int], now_us: int) -> tuple[int, ...]:
    """Waiting contacts per age band (catalogue `AGE_BAND_EDGES_S`), youngest first."""
    edges = [now_us - edge * US_PER_S for edge in AGE_BAND_EDGES_S]
    bands = [0] * (len(edges) + 1)
    for offered in offers:
        # Older than an edge (offered at or before now - edge) is past it.
        bands[sum(1 for edge in edges if offered <= edge)] += 1
    return tuple(bands)


def minutes_horizon_us(now_us: int) -> int:
    """Where a part's minute buckets start: the quarter-hour holding `now - 60 min`. Any
    rolling window at `now` or later starts at or after it, so it never needs a quarter sum."""
    edge = now_us - _LONGEST_ROLLING_US
    return edge - edge % INTERVAL_US


def _ceil_minute(us: int) -> int:
    return -(-us // MINUTE_US) * MINUTE_US


def _ceil_quarter(us: int) -> int:
    return -(-us // INTERVAL_US) * INTERVAL_US


def _add_into(total: list[int], part: Sequence[int]) -> None:
    for i in _SUMMED:
        total[i] += part[i]
    if part[MAX_WAIT_INDEX] > total[MAX_WAIT_INDEX]:
        total[MAX_WAIT_INDEX] = part[MAX_WAIT_INDEX]


def _take_from(total: list[int], part: Sequence[int]) -> None:
    """Subtract a part's sums; the largest wait stays (it is that of a span holding the
    part's, and every window that holds the one holds the other)."""
    for i in _SUMMED:
        total[i] -= part[i]


class GroupPart(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What one source knows of one (tenant, queue, channel): mergeable and clock-free.

    `buckets` are (start, counts), ascending: minute buckets, or whole quarter-hours summed
    (a quarter-hour's sum stands at its start). `waiting` holds the offer times of the
    contacts waiting, ascending; `stale` counts those that had waited longer than the stale
    limit when the part was made (they are not in `waiting`).
    """

    tenant: str
    queue: str
    channel: str
    waiting: list[int]
    stale: int
    buckets: list[tuple[int, list[int]]]
    # (agent, answered at) of the contacts answered and not yet ended: what agents work on.
    serving: list[tuple[str, int]] = []

    @property
    def group(self) -> Group:
        return (self.tenant, self.queue, self.channel)


@dataclass(frozen=True, slots=True)
class Export:
    """A board cut at a minutes horizon: `recent` parts (who waits and who serves, and the
    minute buckets from the horizon on: the rolling windows) change all the time; `day` parts
    (today's buckets before the horizon, summed per quarter-hour, and the six days before
    today, one sum a day) only when the horizon moves or a late event lands there, so they
    can travel apart, and far less often."""

    horizon_us: int
    recent: list[GroupPart]
    day: list[GroupPart]


class MinuteTotals:
    """Count vectors per (group, minute bucket) kept as the sum of their members'
    contributions, with cached quarter-hour sums, and the windows over them."""

    __slots__ = ("_quarters", "_starts", "store")

    def __init__(self) -> None:
        self.store = IntervalStore()
        # Sums of whole quarter-hours of buckets, so "today" adds up ~100 vectors rather than
        # ~1400; an entry is dropped whenever one of its buckets changes.
        self._quarters: dict[IntervalKey, list[int]] = {}
        # Each group's bucket starts: a part is cut from the few buckets a group has, not by
        # looking up every minute of the day.
        self._starts: dict[Group, set[int]] = {}

    def __len__(self) -> int:
        return len(self.store)

    def put(self, member: Hashable, key: IntervalKey, counts: Sequence[int]) -> None:
        if key not in self.store.totals:
            self._starts.setdefault((key.tenant, key.queue, key.channel), set()).add(
                key.interval_start_us
            )
        self.store.set(member, key, counts)

    def starts(self, group: Group, first_us: int, end_us: int) -> list[int]:
        """The group's bucket starts in [first_us, end_us), ascending."""
        return sorted(s for s in self._starts.get(group, ()) if first_us <= s < end_us)

    def discard(self, member: Hashable) -> None:
        self.store.discard(member)

    def refresh(self) -> set[IntervalKey]:
        """Forget the cached sums of quarter-hours whose buckets changed since; returns the
        buckets that changed."""
        store = self.store
        changed, store.changed = store.changed, set()
        quarters = self._quarters
        for key in changed:
            start = key.interval_start_us
            quarters.pop(
                IntervalKey(key.tenant, key.queue, key.channel, start - start % INTERVAL_US), None
            )
        return changed

    def bucket(self, group: Group, start_us: int) -> list[int] | None:
        return self.store.totals.get(IntervalKey(*group, start_us))

    def quarter(self, group: Group, start_us: int) -> list[int]:
        """The sum of the group's buckets in the quarter-hour starting at `start_us`."""
        key = IntervalKey(*group, start_us)
        cached = self._quarters.get(key)
        if cached is None:
            totals = self.store.totals
            cached = zero_counts()
            for minute in range(start_us, start_us + INTERVAL_US, MINUTE_US):
                counts = totals.get(IntervalKey(*group, minute))
                if counts is not None:
                    _add_into(cached, counts)
            self._quarters[key] = cached
        return cached

    def windows(
        self, group: Group, firsts: Mapping[str, int], last_us: int
    ) -> dict[str, list[int]]:
        """Per window name, the merged counts of the group's buckets starting in
        [first, last_us]: one pass over the buckets the group has (minutes, quarter-hour and
        day sums), whole quarter-hours taken from their cached sums."""
        starts = self.starts(group, min(firsts.values(), default=last_us), last_us + 1)
        return {
            name: self._sum(group, starts, bisect.bisect_left(starts, first), last_us)
            for name, first in firsts.items()
        }

    def _sum(self, group: Group, starts: list[int], i: int, last_us: int) -> list[int]:
        totals = self.store.totals
        tenant, queue, channel = group
        total = zero_counts()
        while i < len(starts):
            start = starts[i]
            if start % INTERVAL_US == 0 and start + INTERVAL_US - MINUTE_US <= last_us:
                _add_into(total, self.quarter(group, start))
                i = bisect.bisect_left(starts, start + INTERVAL_US, i)
                continue
            counts = totals.get(IntervalKey(tenant, queue, channel, start))
            if counts is not None:
                _add_into(total, counts)
            i += 1
        return total

    def drop_before(self, horizon_us: int) -> int:
        """Forget buckets starting before `horizon_us`; returns how many."""
        old = [key for key in self.store.totals if key.interval_start_us < horizon_us]
        for key in old:
            self.store.drop(key)
            starts = self._starts[(key.tenant, key.queue, key.channel)]
            starts.discard(key.interval_start_us)
        for key in [key for key in self._quarters if key.interval_start_us < horizon_us]:
            del self._quarters[key]
        return len(old)

    def groups(self) -> set[Group]:
        return {(k.tenant, k.queue, k.channel) for k in self.store.totals}


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


class LiveBoard:
    """Open segments and minute buckets of the segments one owner holds."""

    __slots__ = (
        "_day",
        "_day_of",
        "_days",
        "_days_horizon_us",
        "_horizon_us",
        "_minutes",
        "_open",
        "_recent",
        "_serving",
        "_serving_of",
        "_touched",
        "_waiting",
        "_zone_of",
    )

    def __init__(self, zone_of: ZoneLookup | None = None) -> None:
        self._zone_of = zone_of or _utc
        self._minutes = MinuteTotals()
        # One sum a local day (the 7-day window): keys at each day's start.
        self._days = MinuteTotals()
        self._days_horizon_us = -(2**63)
        self._day_of = LocalDays(self._zone_of)
        # Answered, not yet ended: per group, segment -> (agent, answered at).
        self._serving: dict[Group, dict[SegmentId, tuple[str, int]]] = {}
        self._serving_of: dict[SegmentId, Group] = {}
        self._open: dict[SegmentId, tuple[int, str]] = {}
        self._waiting: dict[Group, _Waiting] = {}
        # Buckets before this were pruned; segments offered before it are not bucketed.
        self._horizon_us = -(2**63)
        # Groups whose waiting contacts changed, and buckets that changed, since the last
        # export; the parts exported, with what they were cut at: (horizon, stale cutoff)
        # for recent parts, (horizon, day start) for day parts.
        self._touched: set[Group] = set()
        self._recent: dict[Group, tuple[int, int, GroupPart | None]] = {}
        self._day: dict[Group, tuple[int, int, GroupPart | None]] = {}

    @classmethod
    def from_segments(
        cls,
        segments: Iterable[Segment],
        queue_config: QueueLookup,
        zone_of: ZoneLookup | None = None,
    ) -> LiveBoard:
        """Rebuild a board from the segments its owner holds (after a restart)."""
        board = cls(zone_of)
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
        configs: dict[tuple[Group, int], Any] = {}
        minutes = self._minutes
        open_map = self._open
        waitings = self._waiting
        touched = self._touched
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
            # The thresholds in force at the start of the segment's interval, as the interval
            # counts it.
            start = minute - minute % INTERVAL_US
            config = configs.get((group, start))
            if config is None:
                config = configs[(group, start)] = queue_config(*group, start)
            contribution = segment.contribution(config)
            if minute >= horizon:
                key = IntervalKey(sid.tenant, sid.queue, channel, minute)
                minutes.put(sid, key, contribution)
            else:
                minutes.discard(sid)
            day = self._day_of(sid.tenant, ts)
            if day >= self._days_horizon_us:
                self._days.put(sid, IntervalKey(sid.tenant, sid.queue, channel, day), contribution)
            else:
                self._days.discard(sid)
            self._serve(segment, group)
            held = open_map.get(sid)
            if segment.outcome is None and segment.transferred is None:
                entry = (ts, channel)
                if held != entry:
                    if held is not None:
                        self._leave(sid, held[1])
                    touched.add(group)
                    open_map[sid] = entry
                    waiting.count += 1
                    heapq.heappush(waiting.heap, (ts, sid))
                    if len(waiting.heap) > 2 * waiting.count + 64:
                        self._compact(waiting)
            elif held is not None:
                del open_map[sid]
                self._leave(sid, held[1])

    def _serve(self, segment: Segment, group: Group) -> None:
        """Who answered the segment and has not ended it yet (an agent's current contact)."""
        sid = segment.sid
        outcome = segment.outcome
        serving = (
            isinstance(outcome, Answered) and segment.ended is None and segment.transferred is None
        )
        held_group = self._serving_of.get(sid)
        if held_group is not None and (not serving or held_group != group):
            del self._serving[held_group][sid]
            del self._serving_of[sid]
            self._touched.add(held_group)
        if serving:
            assert isinstance(outcome, Answered)
            entry = (outcome.agent_id, outcome.ts_us)
            by_sid = self._serving.setdefault(group, {})
            if by_sid.get(sid) != entry:
                by_sid[sid] = entry
                self._serving_of[sid] = group
                self._touched.add(group)

    def _leave(self, sid: SegmentId, channel: str) -> None:
        group = (sid.tenant, sid.queue, channel)
        self._touched.add(group)
        waiting = self._waiting[group]
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

    def _waiting_offers(self, waiting: _Waiting) -> list[int]:
        """Offer times of the group's open segments, ascending (stale heap entries dropped)."""
        self._compact(waiting)
        return sorted(ts for ts, _ in waiting.heap)

    def export(self, now_us: int, max_wait_us: int = DEFAULT_MAX_WAIT_US) -> Export:
        """This board as parts at `now_us`, good for any later `now` as well.

        A part is cut again only when something it holds changed (or, for a recent part,
        which contacts are stale); otherwise the part exported before is returned as it was
        (the same object: callers may skip or reuse its encoding).
        """
        zone_of = self._zone_of
        changed = self._minutes.refresh() | self._days.refresh()
        horizon = minutes_horizon_us(now_us)
        cutoff = now_us - max_wait_us
        recent_changed = set(self._touched)
        day_changed: set[Group] = set()
        self._touched = set()
        days: dict[str, tuple[int, int]] = {}  # tenant -> (today's start, the week's)

        def days_of(tenant: str) -> tuple[int, int]:
            held = days.get(tenant)
            if held is None:
                zone = zone_of(tenant)
                held = days[tenant] = (
                    local_day_start_us(now_us, zone),
                    local_days_ago_us(now_us, zone, WEEK_DAYS - 1),
                )
            return held

        for key in changed:
            group = (key.tenant, key.queue, key.channel)
            start = key.interval_start_us
            if start >= horizon:
                recent_changed.add(group)
                # Yesterday's sum in the day part leaves out what the recent part holds.
                if start < days_of(key.tenant)[0]:
                    day_changed.add(group)
            else:
                day_changed.add(group)
        recent, day_parts = [], []
        for group, waiting in list(self._waiting.items()):
            day, week = days_of(group[0])
            held = self._recent.get(group)
            # Stale then is stale now for any later cutoff that no listed offer crosses.
            if not (
                held is not None
                and group not in recent_changed
                and held[0] == horizon
                and held[1] <= cutoff
                and not (held[2] is not None and held[2].waiting and held[2].waiting[0] < cutoff)
            ):
                part = self._cut_recent(group, waiting, horizon, cutoff, now_us)
                held = self._recent[group] = (horizon, cutoff, part)
            if held[2] is not None:
                recent.append(held[2])
            kept = self._day.get(group)
            if kept is None or group in day_changed or kept[:2] != (horizon, day):
                kept = self._day[group] = (horizon, day, self._cut_day(group, horizon, day, week))
            if kept[2] is not None:
                day_parts.append(kept[2])
        return Export(horizon, recent, day_parts)

    def _cut_recent(
        self, group: Group, waiting: _Waiting, horizon: int, cutoff: int, now_us: int
    ) -> GroupPart | None:
        """Who waits, and the minute buckets from the horizon on (the rolling windows, which
        may reach into yesterday)."""
        offers = self._waiting_offers(waiting) if waiting.count else []
        fresh = bisect.bisect_left(offers, cutoff)
        buckets = []
        for minute in self._minutes.starts(group, horizon, now_us + 1):
            counts = self._minutes.bucket(group, minute)
            if counts is not None and tuple(counts) != _ZERO:
                buckets.append((minute, list(counts)))
        serving = sorted(self._serving.get(group, {}).values())
        if not (offers or buckets or serving):
            return None
        return GroupPart(*group, offers[fresh:], fresh, buckets, serving)

    def _cut_day(self, group: Group, horizon: int, day: int, week: int) -> GroupPart | None:
        """The six days before today, one sum each, then today's buckets before the horizon:
        summed per quarter-hour, but for those before the day's first quarter-hour boundary (a
        day that does not start on one)."""
        minutes_store = self._minutes
        buckets = []
        for start in self._days.starts(group, week, day):
            counts = self._days.bucket(group, start)
            if counts is None:
                continue
            counts = list(counts)
            # The last hour of yesterday may be in the recent part's minute buckets too: the
            # day's sum leaves them out, so that every bucket of a merged board counts once.
            end = min(day, local_day_start_us(start + _DAY_AND_MORE_US, self._zone_of(group[0])))
            for minute in minutes_store.starts(group, max(start, horizon), end):
                _take_from(counts, minutes_store.bucket(group, minute) or _ZERO)
            if tuple(counts) != _ZERO:
                buckets.append((start, counts))
        first_quarter = _ceil_quarter(day)
        quarters: list[int] = []
        for minute in minutes_store.starts(group, _ceil_minute(day), horizon):
            if minute < first_quarter:
                counts = minutes_store.bucket(group, minute)
                if counts is not None and tuple(counts) != _ZERO:
                    buckets.append((minute, list(counts)))
            elif not quarters or minute - minute % INTERVAL_US != quarters[-1]:
                quarters.append(minute - minute % INTERVAL_US)
        for start in quarters:
            counts = minutes_store.quarter(group, start)
            if tuple(counts) != _ZERO:
                buckets.append((start, list(counts)))
        return GroupPart(*group, [], 0, buckets) if buckets else None

    def prune(self, now_us: int, zone_of: ZoneLookup | None = None) -> int:
        """Forget minute buckets no window at `now_us` reaches; returns how many were dropped.

        With `zone_of`, the horizon is the earliest local midnight among this board's
        tenants; without, 25 hours before now (no local day is longer). Open segments stay
        whatever their age: they are still waiting (or, past the stale limit, stale).
        """
        horizon = now_us - _LONGEST_DAY_US
        days_horizon = now_us - (WEEK_DAYS + 1) * 24 * 3600 * US_PER_S
        if zone_of is not None:
            tenants = {tenant for tenant, _, _ in self._waiting}
            horizon = min(
                (local_day_start_us(now_us, zone_of(t)) for t in tenants),
                default=now_us,
            )
            horizon = min(horizon, now_us - _LONGEST_ROLLING_US)
            days_horizon = min(
                (local_days_ago_us(now_us, zone_of(t), WEEK_DAYS - 1) for t in tenants),
                default=now_us,
            )
        if horizon <= self._horizon_us:
            return 0
        self._horizon_us = horizon
        dropped = self._minutes.drop_before(horizon)
        if days_horizon > self._days_horizon_us:
            self._days_horizon_us = days_horizon
            self._days.drop_before(days_horizon)
            self._day_of.forget_before(days_horizon - INTERVAL_US)
        kept = self._minutes.groups() | self._days.groups() | set(self._serving)
        for group in [g for g, w in self._waiting.items() if not w.count and g not in kept]:
            del self._waiting[group]
            self._recent.pop(group, None)
            self._day.pop(group, None)
        return dropped

    def snapshot(
        self,
        now_us: int,
        zone_of: ZoneLookup = _utc,
        agents: AgentBoard | None = None,
        per_channel: bool = False,
        max_wait_us: int = DEFAULT_MAX_WAIT_US,
    ) -> list[QueueFigures]:
        return snapshot_many(
            [self], now_us, zone_of, [] if agents is None else [agents], per_channel, max_wait_us
        )


@dataclass(slots=True)
class GroupPartial:
    """What is known of one (tenant, queue, channel) or queue at `now`: mergeable."""

    in_queue: int
    oldest_offer_us: int | None
    stale: int
    windows: dict[str, list[int]]
    bands: tuple[int, ...]
    fcr: dict[str, tuple[int, int]]
    # Per rolling window: the waits so far of the contacts waiting now that it holds.
    waiting_sum_us: dict[str, int] = field(default_factory=dict)

    def merge(self, other: GroupPartial) -> GroupPartial:
        oldest = [t for t in (self.oldest_offer_us, other.oldest_offer_us) if t is not None]
        windows = {}
        for name, counts in self.windows.items():
            total = list(counts)
            _add_into(total, other.windows[name])
            windows[name] = total
        return GroupPartial(
            self.in_queue + other.in_queue,
            min(oldest, default=None),
            self.stale + other.stale,
            windows,
            tuple(a + b for a, b in zip(self.bands, other.bands, strict=True)),
            _add_fcr(self.fcr, other.fcr),
            {
                name: self.waiting_sum_us.get(name, 0) + other.waiting_sum_us.get(name, 0)
                for name in {*self.waiting_sum_us, *other.waiting_sum_us}
            },
        )


def _add_fcr(
    a: dict[str, tuple[int, int]], b: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    out = dict(a)
    for name, (num, den) in b.items():
        held = out.get(name, (0, 0))
        out[name] = (held[0] + num, held[1] + den)
    return out


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
    # Waiting longer than the stale limit: not in `in_queue` nor in the longest wait.
    stale: int = 0
    # Waiting contacts per age band (catalogue `AGE_BAND_EDGES_S`), youngest first.
    age_bands: tuple[int, ...] = ()
    # Live FCR (catalogue `FCR_LIVE`): name -> (numerator, denominator).
    fcr: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The queue's agents' time per state (microseconds, AGENT_STATES order) per window
    # (`AGENT_WINDOWS`); on queue tiles only, since agents list queues, not channels.
    agent_time: dict[str, Seconds] = field(default_factory=dict)
    # Per rolling window: the waits so far of the contacts waiting now that the window holds
    # (with the answered and abandoned waits, the exposure of live staffing's patience).
    waiting_sum_us: dict[str, int] = field(default_factory=dict)

    def fcr_rate(self, name: str) -> float | None:
        num, den = self.fcr.get(name, (0, 0))
        return num / den if den else None

    def occupancy(self, window: str) -> float | None:
        time = self.agent_time.get(window)
        return None if time is None else occupancy(time)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, times as RFC 3339 UTC."""
        return {
            "tenant": self.tenant,
            "queue": self.queue,
            "channel": self.channel,
            "in_queue": self.in_queue,
            "stale": self.stale,
            "longest_wait_s": self.longest_wait_s,
            "oldest_offer": None
            if self.oldest_offer_us is None
            else format_utc(self.oldest_offer_us),
            "age_bands": list(self.age_bands),
            "agents": dict(self.agents),
            "windows": {
                name: {"start": format_utc(window.start_us), **window.kpis}
                for name, window in self.windows.items()
            },
            "fcr": {
                live.name: self.fcr_rate(live.name) for live in FCR_LIVE if live.name in self.fcr
            },
            "occupancy": {window: self.occupancy(window) for window in self.agent_time},
        }


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """One agent of the wallboard's agent panel."""

    tenant: str
    agent_id: str
    team: str | None
    state: str
    since_us: int
    in_state_s: float  # now minus since, never negative
    reason: str | None
    queues: tuple[str, ...]
    capacity: int | None
    # The contact the agent answered last and has not ended: its queue and channel.
    serving_queue: str | None
    serving_channel: str | None
    occupancy: dict[str, float | None]  # per AGENT_WINDOWS

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "agent_id": self.agent_id,
            "team": self.team,
            "state": self.state,
            "since": format_utc(self.since_us),
            "in_state_s": self.in_state_s,
            "reason": self.reason,
            "queues": list(self.queues),
            "capacity": self.capacity,
            "serving_queue": self.serving_queue,
            "serving_channel": self.serving_channel,
            "occupancy": dict(self.occupancy),
        }


class MergedBoard:
    """The latest parts, agents and FCR of every source, merged: the figures of the whole."""

    __slots__ = ("_agents", "_fcr", "_minutes", "_parts")

    def __init__(self) -> None:
        self._minutes = MinuteTotals()
        self._parts: dict[str, dict[Group, GroupPart]] = {}
        self._agents: dict[str, Sequence[AgentPart]] = {}
        self._fcr: dict[str, Sequence[FcrPart]] = {}

    @property
    def sources(self) -> list[str]:
        return list(self._parts)

    def replace(
        self, source: str, parts: Iterable[GroupPart], agents: Sequence[AgentPart] = ()
    ) -> None:
        """Make `parts` and `agents` the whole of what `source` says (replace semantics)."""
        old = self._parts.get(source, {})
        new = {part.group: part for part in parts}
        minutes = self._minutes
        for group, part in old.items():
            if new.get(group) is not part:
                for start, _ in part.buckets:
                    minutes.discard((source, group, start))
        for group, part in new.items():
            if old.get(group) is part:
                continue
            for start, counts in part.buckets:
                minutes.put((source, group, start), IntervalKey(*group, start), counts)
        self._parts[source] = new
        self._agents[source] = agents

    def replace_fcr(self, source: str, parts: Sequence[FcrPart]) -> None:
        """Make `parts` the whole of a customer owner's live FCR."""
        self._fcr[source] = parts

    def drop(self, source: str) -> None:
        self.replace(source, ())
        del self._parts[source]
        del self._agents[source]
        self._fcr.pop(source, None)

    def agents(self) -> Iterable[AgentPart]:
        for parts in self._agents.values():
            yield from parts

    def figures(
        self,
        now_us: int,
        zone_of: ZoneLookup = _utc,
        per_channel: bool = False,
        max_wait_us: int = DEFAULT_MAX_WAIT_US,
    ) -> list[QueueFigures]:
        """One tile per (tenant, queue), and per channel if asked, at `now_us`.

        Queues come from the parts, the FCR and the queues agents list. `now_us` is the
        caller's clock: the stream passes its event-time watermark (see docs/live.md).
        """
        self._minutes.refresh()
        agents = list(self.agents())
        agent_counts = agents_by_queue(agents)
        groups: dict[Group, list[GroupPart]] = {}
        for held in self._parts.values():
            for group, part in held.items():
                groups.setdefault(group, []).append(part)
        fcr_parts: dict[Group, list[FcrPart]] = {}
        for fcr_held in self._fcr.values():
            for fcr_part in fcr_held:
                fcr_parts.setdefault(fcr_part.group, []).append(fcr_part)
        tenants = {g[0] for g in (*groups, *fcr_parts)} | {t for t, _ in agent_counts}
        starts = {tenant: window_starts(now_us, zone_of(tenant)) for tenant in tenants}
        cutoff = now_us - max_wait_us
        by_channel: dict[Group, GroupPartial] = {}
        for group in {*groups, *fcr_parts}:
            group_parts = groups.get(group, [])
            tenant_starts = starts[group[0]]
            windows = self._minutes.windows(
                group, {name: tenant_starts[name] for name in WINDOW_NAMES}, now_us
            )
            in_queue, oldest, stale, offers = _waiting(group_parts, cutoff)
            fcr = live_fcr(fcr_parts.get(group, []), tenant_starts[TODAY])
            # Shown while it has a contact waiting or offered in a window, or FCR to show:
            # what a group holds decides, not whether a segment once passed through it.
            if (
                in_queue
                or stale
                or any(c[OFFERED] for c in windows.values())
                or any(den for _, den in fcr.values())
            ):
                bands = age_bands(offers, now_us)
                waited = waiting_sums(offers, tenant_starts, now_us)
                by_channel[group] = GroupPartial(
                    in_queue, oldest, stale, windows, bands, fcr, waited
                )
        by_queue: dict[tuple[str, str], GroupPartial] = {}
        for (tenant, queue, _), partial in by_channel.items():
            merged = by_queue.get((tenant, queue))
            by_queue[(tenant, queue)] = partial if merged is None else merged.merge(partial)
        empty = GroupPartial(
            0, None, 0, {name: zero_counts() for name in WINDOW_NAMES}, age_bands((), 0), {}
        )
        for tenant_queue in agent_counts:
            by_queue.setdefault(tenant_queue, empty)
        agent_time = _queue_agent_time(agents, now_us, starts)

        out = []
        for (tenant, queue), partial in by_queue.items():
            counts = agent_counts.get((tenant, queue), Counter())
            agents_row = {state: counts[state] for state in AGENT_STATES}
            time = agent_time.get((tenant, queue), {})
            out.append(
                _figures(tenant, queue, None, partial, starts[tenant], agents_row, now_us, time)
            )
        if per_channel:
            for (tenant, queue, channel), partial in by_channel.items():
                out.append(_figures(tenant, queue, channel, partial, starts[tenant], {}, now_us))
        out.sort(key=lambda f: (f.tenant, f.queue, f.channel is not None, f.channel or ""))
        return out

    def agent_rows(self, now_us: int, zone_of: ZoneLookup = _utc) -> list[AgentFigures]:
        """Every agent, for the agent panel: state, time in it, reason, what it serves now,
        occupancy over the last 15 minutes and today."""
        serving: dict[tuple[str, str], tuple[int, str, str]] = {}
        for held in self._parts.values():
            for (tenant, queue, channel), group_part in held.items():
                for agent_id, answered in group_part.serving:
                    current = serving.get((tenant, agent_id))
                    if current is None or answered > current[0]:
                        serving[(tenant, agent_id)] = (answered, queue, channel)
        starts: dict[str, dict[str, int]] = {}
        out = []
        for part in self.agents():
            tenant_starts = starts.get(part.tenant)
            if tenant_starts is None:
                tenant_starts = starts[part.tenant] = window_starts(now_us, zone_of(part.tenant))
            occupancy_ = {
                window: occupancy(
                    part.seconds(tenant_starts[window], now_us).get("", zero_seconds())
                )
                for window in AGENT_WINDOWS
            }
            current = serving.get((part.tenant, part.agent_id))
            out.append(
                AgentFigures(
                    tenant=part.tenant,
                    agent_id=part.agent_id,
                    team=part.team,
                    state=part.state,
                    since_us=part.since_us,
                    in_state_s=max(0, now_us - part.since_us) / US_PER_S,
                    reason=part.reason,
                    queues=tuple(part.queues or ()),
                    capacity=part.capacity,
                    serving_queue=None if current is None else current[1],
                    serving_channel=None if current is None else current[2],
                    occupancy=occupancy_,
                )
            )
        out.sort(key=lambda a: (a.tenant, a.team or "", a.agent_id))
        return out

    def day_series(
        self, now_us: int, zone_of: ZoneLookup = _utc
    ) -> dict[tuple[str, str], list[tuple[int, list[int]]]]:
        """Per (tenant, queue): the merged counts of each quarter-hour of today (tenant's
        zone) that holds an offer, every channel summed, ascending."""
        if now_us < 0:
            return {}
        self._minutes.refresh()
        groups = {group for parts in self._parts.values() for group in parts}
        day_starts: dict[str, int] = {}
        out: dict[tuple[str, str], dict[int, list[int]]] = {}
        for group in groups:
            tenant, queue, _ = group
            day = day_starts.get(tenant)
            if day is None:
                day = day_starts[tenant] = local_day_start_us(now_us, zone_of(tenant))
            # A quarter-hour holding the local midnight belongs to the day it ends in.
            start = day - day % INTERVAL_US
            series = out.setdefault((tenant, queue), {})
            while start <= now_us:
                counts = self._minutes.quarter(group, start)
                if counts[OFFERED]:
                    held = series.get(start)
                    if held is None:
                        series[start] = list(counts)
                    else:
                        _add_into(held, counts)
                start += INTERVAL_US
        return {key: sorted(series.items()) for key, series in out.items() if series}


def _waiting(parts: Iterable[GroupPart], cutoff: int) -> tuple[int, int | None, int, list[int]]:
    """(waiting, oldest waiting offer, stale, the waiting offers) over the parts of one group
    at a stale cutoff."""
    stale = 0
    offers: list[int] = []
    for part in parts:
        fresh = bisect.bisect_left(part.waiting, cutoff)
        stale += part.stale + fresh
        offers.extend(part.waiting[fresh:])
    return len(offers), min(offers, default=None), stale, offers


def waiting_sums(offers: Iterable[int], starts: Mapping[str, int], now_us: int) -> dict[str, int]:
    """Per rolling window: the waits so far (`now` minus the offer, never negative) of the
    waiting contacts offered in it, i.e. in its minute buckets (docs/live.md)."""
    firsts = {name: _ceil_minute(starts[name]) for name, _ in ROLLING_WINDOWS}
    sums = dict.fromkeys(firsts, 0)
    for offered in offers:
        wait = max(0, now_us - offered)
        for name, first in firsts.items():
            if offered >= first:
                sums[name] += wait
    return sums


def live_fcr(parts: Iterable[FcrPart], today_us: int) -> dict[str, tuple[int, int]]:
    """The catalogue's live FCR figures of one group: name -> (numerator, denominator)."""
    out: dict[str, tuple[int, int]] = {}
    for live in FCR_LIVE:
        num = den = 0
        if live.days:
            first = today_us - (live.days - 1) * 24 * 3600 * US_PER_S
            for part in parts:
                for day, eligible, resolved in part.closed:
                    # Day starts are local midnights; a DST day may be an hour off the sum.
                    if day >= first - 3600 * US_PER_S:
                        num, den = num + resolved, den + eligible
        else:
            for part in parts:
                for day, handled, _, not_resolved in part.today:
                    if day == today_us:
                        num, den = num + handled - not_resolved, den + handled
        if den:
            out[live.name] = (num, den)
    return out


def _queue_agent_time(
    agents: Iterable[AgentPart], now_us: int, starts: Mapping[str, Mapping[str, int]]
) -> dict[tuple[str, str], dict[str, Seconds]]:
    """Per (tenant, queue) and agent window: the time the queue's agents spent per state,
    each agent's time in a state counted for every queue it listed then."""
    out: dict[tuple[str, str], dict[str, Seconds]] = {}
    for part in agents:
        tenant_starts = starts.get(part.tenant)
        if tenant_starts is None:
            continue
        for window in AGENT_WINDOWS:
            for queue, seconds in part.seconds(tenant_starts[window], now_us).items():
                if not queue:
                    continue
                held = out.setdefault((part.tenant, queue), {}).setdefault(window, zero_seconds())
                for i, value in enumerate(seconds):
                    held[i] += value
    return out


def agents_by_queue(agents: Iterable[AgentPart]) -> dict[tuple[str, str], Counter[str]]:
    """Agents per state for every (tenant, queue) their latest state lists, in one pass.

    The same figure as `AgentBoard.counts(tenant, queue)`, without a pass per queue.
    """
    out: dict[tuple[str, str], Counter[str]] = {}
    for agent in agents:
        for queue in set(agent.queues or ()):
            counter = out.get((agent.tenant, queue))
            if counter is None:
                counter = out[(agent.tenant, queue)] = Counter()
            counter[agent.state] += 1
    return out


def agent_parts(
    boards: Iterable[AgentBoard], now_us: int, zone_of: ZoneLookup = _utc
) -> list[AgentPart]:
    """Every agent of the boards as a part at `now_us`."""
    days: dict[str, int] = {}

    def day_start(tenant: str) -> int:
        day = days.get(tenant)
        if day is None:
            day = days[tenant] = local_day_start_us(now_us, zone_of(tenant))
        return day

    return [part for board in boards for part in board.export(now_us, day_start)]


def snapshot_many(
    boards: Sequence[LiveBoard],
    now_us: int,
    zone_of: ZoneLookup = _utc,
    agents: Iterable[AgentBoard] = (),
    per_channel: bool = False,
    max_wait_us: int = DEFAULT_MAX_WAIT_US,
    fcr: Iterable[FcrPart] = (),
) -> list[QueueFigures]:
    """One tile per (tenant, queue) over partial boards, and per channel if asked: the boards'
    parts merged, exactly as a reader of many sources merges them, with the live FCR given."""
    merged = MergedBoard()
    for i, board in enumerate(boards):
        cut = board.export(now_us, max_wait_us)
        merged.replace(str(i), cut.recent)
        merged.replace(f"{i}/day", cut.day)
    merged.replace("agents", (), agent_parts(agents, now_us, zone_of))
    merged.replace_fcr("fcr", list(fcr))
    return merged.figures(now_us, zone_of, per_channel, max_wait_us)


def _figures(
    tenant: str,
    queue: str,
    channel: str | None,
    part: GroupPartial,
    starts: Mapping[str, int],
    agents: dict[str, int],
    now_us: int,
    agent_time: dict[str, Seconds] | None = None,
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
        stale=part.stale,
        age_bands=part.bands,
        fcr=dict(part.fcr),
        agent_time=dict(agent_time or {}),
        waiting_sum_us=dict(part.waiting_sum_us),
    )
