"""The KPI state machine: events in, interval counts and segment rows out.

Pure Python: no Faust, Kafka or ClickHouse. The offline report, the stream and the
benchmarks all drive it the same way: `apply` a batch of decoded events, then `flush` to
fold every touched segment into its interval and learn what changed.

`SegmentState` owns segments (in the stream: one per contact-keyed partition) and
`FcrTracker` owns customers (in the stream: one per customer-keyed partition); `KpiState`
joins the two in one process.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from sys import intern
from typing import NamedTuple, cast

from pipeline.core.agents import AgentBoard
from pipeline.core.clock import ZoneLookup, interval_start_us
from pipeline.core.events import AnyEvent, ContactEvent
from pipeline.core.fcr import FcrFact, FcrTracker
from pipeline.core.interval_store import IntervalStore
from pipeline.core.intervals import IntervalKey, merge_counts, report_row
from pipeline.core.segments import Segment, SegmentId
from pipeline.core.thresholds import QueueConfig, QueueLookup, cached_lookup


class FcrRemoval(NamedTuple):
    """Withdraw a segment from a customer's FCR tracker (its offer changed customer)."""

    sid: SegmentId
    customer_id: str


FcrUpdate = FcrFact | FcrRemoval


@dataclass(slots=True)
class Counters:
    """Pipeline-health counts (for metrics and the report's summary)."""

    seen: int = 0
    accepted: int = 0
    anomalies: int = 0
    # Contact events for a closed interval (`SegmentState.late`), and segments dropped at
    # retention without ever being offered (never counted, as the contract says).
    late: int = 0
    expired: int = 0


@dataclass(slots=True)
class SegmentChanges:
    """What one flush of a `SegmentState` changed."""

    segments: list[Segment] = field(default_factory=list)
    touched: list[Segment] = field(default_factory=list)
    intervals: set[IntervalKey] = field(default_factory=set)
    fcr_updates: list[FcrUpdate] = field(default_factory=list)


class ContactSegments(Mapping[str, list[Segment]]):
    """Each contact's segments (its queues, its tenants), which travel together to durable
    storage. Most contacts have one segment: it is held alone, not in a list of its own
    (~110 bytes a contact), and looking it up makes the one-item list."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[str, Segment | list[Segment]] = {}

    def __getitem__(self, contact_id: str) -> list[Segment]:
        held = self._held[contact_id]
        return held if isinstance(held, list) else [held]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def add(self, segment: Segment) -> None:
        contact_id = segment.sid.contact_id
        held = self._held.get(contact_id)
        if held is None:
            self._held[contact_id] = segment
        elif isinstance(held, list):
            held.append(segment)
        else:
            self._held[contact_id] = [held, segment]

    def discard(self, contact_id: str) -> None:
        self._held.pop(contact_id, None)


class SegmentState:
    """Dedup by event id, segments, and their contribution to interval counts.

    With a `retention_us` (the stream's; `ccpipe kpis` keeps everything), intervals close:
    the interval starting at s is closed once `interval_start_us(watermark - retention_us)`
    is past s, so its figures are final about `retention_us` after it ends. A contact event
    for a closed interval (its own time, or its segment's offer, is in one) is not applied
    but put in `late` for the caller to dead-letter; `prune` forgets closed intervals, and
    the contacts whose segments are all in closed intervals or were never offered in that
    time. Closing whole intervals is what makes dropping safe: no segment of a closed
    interval changes again, so its totals are never sent again, even after a restore that
    has only some of its segments back.
    """

    def __init__(self, queue_config: QueueLookup, retention_us: int | None = None) -> None:
        self._queue_config = cached_lookup(queue_config)
        self.segments: dict[SegmentId, Segment] = {}
        # Built on first use: only the stream, which makes a contact's segments durable
        # together, asks for it (~60 bytes a contact that `ccpipe kpis` does without).
        self._by_contact: ContactSegments | None = None
        self.intervals = IntervalStore()
        self.agents = AgentBoard()
        self.watermark_us = -1
        self.counters = Counters()
        self._dirty: dict[SegmentId, Segment] = {}
        # Grows with the intervals, like `intervals.totals`, until `prune` drops closed ones.
        self._keys: dict[tuple[str, str, str, int], IntervalKey] = {}
        self.retention_us = retention_us
        self.late: list[ContactEvent] = []
        # Retention's indexes: the contacts offered in each interval (by start, a heap of the
        # starts), and each segment not offered yet with the watermark when first seen (in
        # insertion order, so by that watermark).
        self._offered_in: dict[int, set[str]] = {}
        self._starts: list[int] = []
        self._pending_since: dict[SegmentId, int] = {}

    def queue_config(self, tenant: str, queue: str, channel: str, at_us: int) -> QueueConfig:
        return self._queue_config(tenant, queue, channel, at_us)

    def segment_config(self, segment: Segment) -> QueueConfig:
        """The thresholds an offered segment is counted with: its queue's on its channel, in
        force at the start of its interval."""
        key = segment.interval_key()
        assert key is not None, "a segment is counted once it is offered"
        return self._queue_config(*key)

    def restore(self, segments: Iterable[Segment]) -> None:
        """Take back segments from a durable copy (a table's changelog) and refold them."""
        for segment in segments:
            self._add(segment)
            self._dirty[segment.sid] = segment
            for event in (segment.offered, segment.outcome, segment.ended, segment.wrapup):
                if event is not None and event.ts_us > self.watermark_us:
                    self.watermark_us = event.ts_us
        self.flush()
        # What was published before the restart may not all have arrived: publish every
        # interval again (replacing, so harmless) with the next flush.
        self.intervals.changed.update(self.intervals.keys())

    def apply(self, events: Iterable[AnyEvent]) -> int:
        """Apply decoded events; returns how many were new (not duplicates).

        Duplicates are recognised by event id within the segment (or agent) the event names:
        a re-sent event always names the same one, and that state is recovered with it.
        """
        # Looked up by a plain tuple: equal to the SegmentId key, with the same hash, and a
        # fraction of the cost of building a named one, which only a new segment needs.
        find = cast("dict[tuple[str, str, str], Segment]", self.segments).get
        dirty = self._dirty
        accepted = 0
        seen = 0
        watermark = self.watermark_us
        self.late = []
        retention = self.retention_us
        open_from = self.open_from_us()
        for event in events:
            seen += 1
            # Before the duplicate check: a replayed event must re-announce its time, in case
            # what it announced before was lost in a crash. Its time is its original's.
            if event.ts_us > watermark:
                watermark = event.ts_us
                if retention is not None:
                    # Event by event, so what is late does not depend on how events batch.
                    open_from = interval_start_us(watermark - retention)
            if isinstance(event, ContactEvent):
                segment = find((event.tenant, event.contact_id, event.queue))
                if open_from is not None and self._is_late(event, segment, open_from):
                    continue
                if segment is None:
                    # Tenants and queues are few: one string each for all segments.
                    sid = SegmentId(intern(event.tenant), event.contact_id, intern(event.queue))
                    segment = self._add(Segment(sid))
                # Touched even when a duplicate: a replay re-publishes the segment's state.
                dirty[segment.sid] = segment
                before = segment.anomalies
                if not segment.apply(event):
                    continue
                self.counters.anomalies += segment.anomalies - before
            elif not self.agents.apply(event):
                continue
            accepted += 1
        self.watermark_us = watermark
        self.counters.seen += seen
        self.counters.accepted += accepted
        return accepted

    def open_from_us(self) -> int | None:
        """The start of the oldest interval still open (None: no retention)."""
        if self.retention_us is None:
            return None
        return interval_start_us(self.watermark_us - self.retention_us)

    def _is_late(self, event: ContactEvent, segment: Segment | None, open_from: int) -> bool:
        """Is the event for a closed interval? A late one is kept in `late`; a duplicate of
        one already applied is only skipped: it changes nothing and re-sends nothing (a
        closed interval's totals are never sent again)."""
        offered = segment.offered if segment is not None else None
        if event.ts_us >= open_from and (offered is None or offered.ts_us >= open_from):
            return False
        if segment is None or event.event_id not in segment.event_ids:
            self.late.append(event)
            self.counters.late += 1
        return True

    def prune(self) -> list[str]:
        """Forget closed intervals and the contacts held only for them; return the ids of the
        contacts dropped (their durable copies are to be deleted)."""
        open_from = self.open_from_us()
        if open_from is None:
            return []
        candidates: set[str] = set()
        starts = self._starts
        if starts and starts[0] < open_from:
            while starts and starts[0] < open_from:
                candidates |= self._offered_in.pop(heapq.heappop(starts), set())
            for key in [k for k in self._keys.values() if k.interval_start_us < open_from]:
                self.intervals.drop(key)
                del self._keys[key]
        for sid, since in self._pending_since.items():
            if since >= open_from:
                break
            candidates.add(sid.contact_id)
        return [c for c in candidates if self._drop_if_closed(c, open_from)]

    def _drop_if_closed(self, contact_id: str, open_from: int) -> bool:
        sids = self.segments_of(contact_id)
        for sid in sids:
            offered = self.segments[sid].offered
            since = offered.ts_us if offered is not None else self._pending_since.get(sid, -1)
            if since >= open_from:
                return False
        for sid in sids:
            segment = self.segments.pop(sid)
            if segment.offered is None:
                self.counters.expired += 1
                self._pending_since.pop(sid, None)
            self.intervals.discard(sid)
            self._dirty.pop(sid, None)
        if self._by_contact is not None:
            self._by_contact.discard(contact_id)
        return bool(sids)

    def segments_of(self, contact_id: str) -> list[SegmentId]:
        return [s.sid for s in self.by_contact.get(contact_id, ())]

    def _add(self, segment: Segment) -> Segment:
        self.segments[segment.sid] = segment
        if self._by_contact is not None:
            self._by_contact.add(segment)
        return segment

    @property
    def by_contact(self) -> ContactSegments:
        """Each contact's segments (its queues, its tenants)."""
        if self._by_contact is None:
            self._by_contact = ContactSegments()
            for segment in self.segments.values():
                self._by_contact.add(segment)
        return self._by_contact

    def _interval_key(self, sid: SegmentId, channel: str, offered_us: int) -> IntervalKey:
        """The segment's interval, as one key object shared by all its segments (and their
        FCR facts): looked up by a plain tuple, built only for a new interval."""
        start = interval_start_us(offered_us)
        key = self._keys.get((sid.tenant, sid.queue, channel, start))
        if key is None:
            key = IntervalKey(sid.tenant, sid.queue, channel, start)
            self._keys[key] = key
        return key

    def _track(self, sid: SegmentId, start_us: int) -> None:
        contacts = self._offered_in.get(start_us)
        if contacts is None:
            contacts = self._offered_in[start_us] = set()
            heapq.heappush(self._starts, start_us)
        contacts.add(sid.contact_id)
        self._pending_since.pop(sid, None)

    @property
    def duplicates(self) -> int:
        return self.counters.seen - self.counters.accepted

    def flush(self) -> SegmentChanges:
        """Fold touched segments into their intervals; say what changed."""
        changes = SegmentChanges()
        dirty, self._dirty = self._dirty, {}
        changes.touched = list(dirty.values())
        for sid, segment in dirty.items():
            offered = segment.offered
            if offered is None:
                if self.retention_us is not None:
                    self._pending_since.setdefault(sid, self.watermark_us)
                continue  # waits for its offer
            key = self._interval_key(sid, offered.channel, offered.ts_us)
            if self.retention_us is not None:
                self._track(sid, key.interval_start_us)
            config = self._queue_config(*key)
            self.intervals.set(sid, key, segment.contribution(config))
            changes.segments.append(segment)
            customer = offered.customer_id
            for former in segment.fcr_customers:
                if former != customer:
                    changes.fcr_updates.append(FcrRemoval(sid, former))
            if customer is not None:
                if customer not in segment.fcr_customers:
                    segment.fcr_customers = (*segment.fcr_customers, customer)
                changes.fcr_updates.append(
                    FcrFact(
                        sid,
                        customer,
                        offered.ts_us,
                        segment.ended is not None,
                        segment.resolved_flag(),
                        config.fcr_window_us,
                        key,
                    )
                )
        changes.intervals = self.intervals.take_changed()
        return changes


def apply_fcr_updates(tracker: FcrTracker, updates: Iterable[FcrUpdate]) -> None:
    for update in updates:
        if isinstance(update, FcrRemoval):
            tracker.remove(update.sid, update.customer_id)
        else:
            tracker.upsert(update)


class KpiState:
    """Segments and FCR in one process: what `ccpipe kpis` and `ccpipe load` run."""

    def __init__(self, queue_config: QueueLookup, zone_of: ZoneLookup | None = None) -> None:
        self.segments = SegmentState(queue_config)
        # With the tenants' zones, it keeps the live FCR figures too (`FcrTracker.live_parts`).
        self.fcr = FcrTracker(zone_of=zone_of)

    def apply(self, events: Iterable[AnyEvent]) -> int:
        return self.segments.apply(events)

    def flush(self) -> SegmentChanges:
        changes = self.segments.flush()
        apply_fcr_updates(self.fcr, changes.fcr_updates)
        self.fcr.observe(self.segments.watermark_us)
        self.fcr.flush()
        changes.intervals |= self.fcr.intervals.take_changed()
        return changes

    def interval_counts(self, key: IntervalKey) -> list[int]:
        parts = [self.segments.intervals.totals[key]]
        fcr = self.fcr.intervals.totals.get(key)
        if fcr is not None:
            parts.append(fcr)
        return merge_counts(parts)

    def report(self) -> list[dict[str, object]]:
        """Every interval with at least one offered segment, sorted by its key."""
        self.flush()
        rows = []
        for key in sorted(self.segments.intervals.keys()):
            counts = self.interval_counts(key)
            if counts[0] > 0:
                rows.append(report_row(key, counts))
        return rows
