"""The stream's three stages (the `stage.Stage` interface): messages in, table writes and
sends out.

They import nothing of Faust, so the same code runs under Faust (`faust_runtime`), in the
in-memory runtime (`local`) of tests and benchmarks. Each stage keeps one state per source
partition it owns, rebuilt from its tables when the partition is assigned and dropped when it
is revoked; `topology` declares how they connect.

- `SegmentStage` (partitions of `cc.events`, keyed by contact or agent): decode, dedup,
  segments; emits segment rows, FCR facts (by customer) and interval partial states.
- `FcrStage` (partitions of the FCR topic, keyed by tenant and customer): FCR standing;
  emits interval partial states.
- `IntervalStage` (partitions of the partials topic, keyed by interval): the one owner of
  each interval; keeps the latest partial per source and emits the merged row.

Every message consumed re-emits the full state of what it touches, even a duplicate, so a
crash between a changelog write and an output send is repaired by the replay that follows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import orjson

from pipeline.config import Settings
from pipeline.core.agents import AgentBoard, AgentPart
from pipeline.core.clock import US_PER_S, ZoneLookup
from pipeline.core.events import (
    AgentState,
    AnyEvent,
    ContactEvent,
    Rejection,
    decode_message,
    encode_event,
    reason_kind,
)
from pipeline.core.fcr import FcrTracker
from pipeline.core.intervals import (
    IntervalKey,
    merge_counts,
    move_counts,
    published_row,
    zero_counts,
)
from pipeline.core.kpi_state import FcrUpdate, SegmentState, apply_fcr_updates
from pipeline.core.live import (
    GroupPart,
    LiveBoard,
    MergedBoard,
    QueueFigures,
    local_day_start_us,
)
from pipeline.core.segments import Segment
from pipeline.core.thresholds import QueueLookup, cached_lookup
from pipeline.kafka.partitioner import key_for_partition, partition_for
from pipeline.liveview.publication import Publication, Publisher, day_key, fcr_key, source_key
from pipeline.stream import codec
from pipeline.stream.stage import Message, Output, Send, TableItems, Write

T = TypeVar("T")

# Logical names of the topics and tables the stages read and write; `topology` says where
# each one lives.
EVENTS, DLQ, SEGMENTS_OUT, FCR, PARTIALS, INTERVALS_OUT, LIVE = (
    "events",
    "dlq",
    "segments",
    "fcr",
    "partials",
    "intervals",
    "live",
)
CONTACTS, AGENTS, CUSTOMERS, FCR_MARKS, HELD = (
    "contacts",
    "agents",
    "customers",
    "fcr_watermarks",
    "interval_partials",
)

# Items per output message: keeps every message far below Kafka's 1 MB default limit
# (a segment row is about 700 bytes; an FCR fact or an interval partial about 150).
ROWS_PER_MESSAGE = 500
ITEMS_PER_MESSAGE = 2000

# An interval owner's state: interval key text -> source -> (version, counts).
Held = dict[str, dict[str, tuple[int, list[int]]]]


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class StageCounters:
    messages: int = 0
    # Partition states rebuilt from the changelogs, and taken back as they were after a
    # rebalance that returned the partition with its changelogs unchanged.
    rebuilt: int = 0
    kept: int = 0
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    anomalies: int = 0
    dead_lettered: int = 0
    expired: int = 0  # segments never offered, forgotten at the allowed lateness
    dead_letter_reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True, slots=True)
class Partitions:
    """Partition counts of the topics the stages send to (all equal by default)."""

    events: int
    fcr: int
    partials: int
    segments: int

    @classmethod
    def uniform(cls, partitions: int) -> Partitions:
        return cls(partitions, partitions, partitions, partitions)


def _partials_sends(
    source: str,
    version: int,
    partials: list[tuple[IntervalKey, list[int]]],
    partitions: int,
) -> list[Send]:
    grouped: dict[int, list[tuple[IntervalKey, list[int]]]] = defaultdict(list)
    for key, counts in partials:
        grouped[partition_for(codec.interval_key_text(key).encode(), partitions)].append(
            (key, counts)
        )
    return [
        Send(PARTIALS, codec.encode_partials(source, version, chunk), partition=p)
        for p, items in sorted(grouped.items())
        for chunk in _chunks(items, ITEMS_PER_MESSAGE)
    ]


def _changed(before: list[GroupPart], now: list[GroupPart]) -> bool:
    """Parts are cut again only when they change: the same objects, the same parts."""
    return len(before) != len(now) or any(a is not b for a, b in zip(before, now, strict=True))


AgentHour = tuple[str, str, int]  # agent id, tenant, the hour's start (codec.agent_bucket_key)


def _hour(change: AgentState) -> AgentHour:
    return (change.agent_id, change.tenant, codec.agent_bucket_start(change.ts_us))


def _agent_writes(agents: AgentBoard, hours: Iterable[AgentHour]) -> list[Write]:
    """Each hour's record written again with the changes held in it, deleted when none are."""
    writes: list[Write] = []
    for agent_id, tenant, start in hours:
        changes = agents.bucket(agent_id, tenant, start)
        value = codec.encode_agent(changes) if changes else None
        writes.append((AGENTS, codec.agent_bucket_key(agent_id, tenant, start), value))
    return writes


def customer_key(tenant: str, customer_id: str) -> bytes:
    return f"{tenant}\x1f{customer_id}".encode()


@dataclass(frozen=True, slots=True)
class _SegmentsKept:
    """What a segments partition holds, handed back by `revoked`."""

    state: SegmentState
    board: LiveBoard
    pending: list[Write]


class SegmentStage:
    name = "segments"
    source = EVENTS
    tables = (CONTACTS, AGENTS)

    def __init__(self, settings: Settings, partitions: Partitions, source_topic: str) -> None:
        self.settings = settings
        self.partitions = partitions
        # The physical name, for the dead letters' `source` header.
        self.source_topic = source_topic
        self.parts: dict[int, SegmentState] = {}
        # Live (wallboard) figures of each partition's segments: partial, merged on read.
        self.boards: dict[int, LiveBoard] = {}
        self._sent_watermark: dict[int, int] = {}
        self._stored_watermark: dict[int, int] = {}
        self._pruned_at: dict[int, int] = {}
        self.counters = StageCounters()
        # The live view: versions, partitions changed since their last publication, encoders.
        self.publisher = Publisher()
        self._merged = MergedBoard()
        self._day_sent: dict[int, tuple[int, list[GroupPart]]] = {}
        self._max_wait_us = round(settings.max_wait_s * US_PER_S)
        self._lateness_us = round(settings.allowed_lateness_s * US_PER_S)
        # Table writes a restore found due, made with the next batch: the contacts it found
        # closed deleted, agents' records of the format before moved to their hours.
        self._pending: dict[int, list[Write]] = {}

    def assigned(
        self, partition: int, tables: Mapping[str, TableItems], kept: object | None = None
    ) -> None:
        """Rebuild the partition's state from its tables, the first time it is needed, or
        take back what `revoked` gave."""
        if partition in self.parts:
            return
        if isinstance(kept, _SegmentsKept):
            self.parts[partition], self.boards[partition] = kept.state, kept.board
            self._pending[partition] = kept.pending
            self.counters.kept += 1
        else:
            state = self.parts[partition] = self._restore(
                partition, tables[CONTACTS], tables[AGENTS]
            )
            self.boards[partition] = LiveBoard.from_segments(
                state.segments.values(), state.queue_config, self.settings.tenant_timezone
            )
            self.counters.rebuilt += 1
        self.publisher.changed.add(partition)  # the new owner republishes the partition

    def watermark_key(self, partition: int) -> bytes:
        """The partition's watermark's key in the agents table (no agent id starts with NUL):
        what the held state shows may be older (a survey's time is not kept), and the live
        view's clock must not go back when a partition changes owner."""
        return key_for_partition("\x00watermark-", partition, self.partitions.events).encode()

    def _restore(self, partition: int, contacts: TableItems, agents: TableItems) -> SegmentState:
        state = SegmentState(self.settings.queue, self._lateness_us)
        state.restore(s for _, value in contacts() for s in codec.decode_segments(value))
        mark = self.watermark_key(partition)
        changes: dict[str, list[AgentState]] = defaultdict(list)
        pending: list[Write] = []
        moved: set[AgentHour] = set()
        for key, value in agents():
            if key == mark:
                state.watermark_us = max(state.watermark_us, int(value))
                self._stored_watermark[partition] = int(value)
            elif codec.is_agent_bucket_key(key):
                for change in codec.decode_agent(value):
                    changes[change.agent_id].append(change)
            else:
                # Written by a worker before the hours (one record per agent id): moved.
                old = codec.decode_agent(value)
                changes[key.decode()] += old
                pending.append((AGENTS, key, None))
                moved.update(_hour(change) for change in old)
        for agent_id, agent_changes in changes.items():
            state.agents.restore(agent_id, agent_changes)
            # The restored watermark is the latest time the held state shows; a survey or an
            # anomaly later than that re-announces itself when replayed.
            for change in agent_changes:
                state.watermark_us = max(state.watermark_us, change.ts_us)
        pending += _agent_writes(state.agents, sorted(moved))
        # At the watermark as it was: what closed meanwhile is dropped before anything of it
        # is published again.
        pending += [(CONTACTS, contact_id.encode(), None) for contact_id in state.prune()]
        self._pending[partition] = pending
        return state

    def revoked(self, partition: int) -> _SegmentsKept | None:
        state = self.parts.pop(partition, None)
        board = self.boards.pop(partition, None)
        self._sent_watermark.pop(partition, None)
        self._stored_watermark.pop(partition, None)
        self._pruned_at.pop(partition, None)
        pending = self._pending.pop(partition, [])
        self.publisher.forget(partition, source_key(partition), day_key(partition))
        self._day_sent.pop(partition, None)
        if state is None or board is None:
            return None
        return _SegmentsKept(state, board, pending)

    @property
    def watermark_us(self) -> int:
        return max((state.watermark_us for state in self.parts.values()), default=-1)

    def live(self, per_channel: bool = False) -> list[QueueFigures]:
        """The live figures over the partitions this worker owns, at their watermark (the
        worker's own Prometheus gauges; the wallboards show the whole centre's view).

        The partitions' parts are merged the way a reader of the live topic merges them,
        into a board kept from one call to the next: a part that did not change since is the
        same object and costs nothing to merge again."""
        merged = self._merged
        now = self.watermark_us
        zones = self.settings.tenant_timezone
        for source in [s for s in merged.sources if int(s.split(":")[1].split("/")[0])
                       not in self.boards]:  # fmt: skip
            merged.drop(source)
        for partition, board in self.boards.items():
            # At the partition's own clock, as it is published: the same parts, cut once.
            state = self.parts[partition]
            cut = board.export(state.watermark_us, self._max_wait_us)
            agents = self._agents(partition)
            merged.replace(source_key(partition), cut.recent, agents)
            merged.replace(day_key(partition), cut.day)
        return merged.figures(now, zones, per_channel, self._max_wait_us)

    def owned(self) -> list[int]:
        return list(self.parts)

    def _agents(self, partition: int) -> list[AgentPart]:
        """The partition's agents as live parts, at its own clock."""
        state = self.parts[partition]
        now = state.watermark_us
        zones = self.settings.tenant_timezone
        return state.agents.export(now, lambda tenant: local_day_start_us(now, zones(tenant)))

    def publications(self, partition: int, published_ms: int) -> list[tuple[bytes, bytes]]:
        """(key, value) messages for the live topic: the partition's recent part, and its day
        part when that changed since it was last published (pipeline/liveview/publication.py).
        Each replaces the one published before under its key."""
        state = self.parts[partition]
        now = state.watermark_us
        cut = self.boards[partition].export(now, self._max_wait_us)
        version = self.publisher.version(partition)
        out = []
        sent = self._day_sent.get(partition)
        if sent is None or sent[0] != cut.horizon_us or _changed(sent[1], cut.day):
            key = day_key(partition)
            out.append(
                self.publisher.encode(
                    Publication(key, version, now, published_ms, cut.horizon_us, cut.day)
                )
            )
            self._day_sent[partition] = (cut.horizon_us, cut.day)
        recent = Publication(
            source_key(partition), version, now, published_ms, cut.horizon_us, cut.recent,
            self._agents(partition),
        )  # fmt: skip
        out.append(self.publisher.encode(recent))
        self.publisher.changed.discard(partition)
        return out

    def process(self, partition: int, messages: list[Message]) -> Output:
        state = self.parts[partition]
        # What the restore found due goes first: this batch's writes come after it.
        out = Output(writes=self._pending.pop(partition, []))
        decoded = []
        counters = self.counters
        for value, offset in messages:
            events, rejections = decode_message(value)
            decoded.extend(events)
            for rejection in rejections:
                out.sends.append(self._dead_letter(rejection, partition, offset))
        counters.messages += len(messages)
        counters.events += len(decoded) + sum(1 for s in out.sends if s.topic == DLQ)
        anomalies = state.counters.anomalies
        accepted = state.apply(decoded)
        late = state.late
        counters.accepted += accepted
        counters.duplicates += len(decoded) - accepted - len(late)
        counters.anomalies += state.counters.anomalies - anomalies
        if late:
            out.sends += self._late_letters(state, late, partition, messages)
        changes = state.flush()
        self._write_state(state, changes.touched, decoded, out)
        self._update_board(partition, state, changes.segments, out)
        if state.watermark_us > self._stored_watermark.get(partition, -1):
            self._stored_watermark[partition] = state.watermark_us
            out.writes.append(
                (AGENTS, self.watermark_key(partition), str(state.watermark_us).encode())
            )
        self._send_segments(partition, state, changes.segments, out)
        self._send_fcr(partition, state, changes.fcr_updates, out)
        version = messages[-1][1] if messages else 0
        partials = [(key, state.intervals.totals[key]) for key in changes.intervals]
        out.sends += _partials_sends(
            f"seg:{partition}", version, partials, self.partitions.partials
        )
        if messages:
            self.publisher.includes(partition, version)
        self.publisher.changed.add(partition)
        expired = state.counters.expired
        dropped = state.prune()
        self.counters.expired += state.counters.expired - expired
        out.writes += [(CONTACTS, contact_id.encode(), None) for contact_id in dropped]
        return out

    def _late_letters(
        self, state: SegmentState, late: list[ContactEvent], partition: int, messages: list[Message]
    ) -> list[Send]:
        """Dead letters for events of closed intervals, each with the message it came in (a
        batch's event is written alone, as the contract encodes it). Rare: the messages are
        decoded again to find them."""
        reason = (
            f"too late: its interval closed {self.settings.allowed_lateness_s:g} s "
            f"(allowed_lateness_s) after it ended, by the newest event time of partition "
            f"{partition}; not counted"
        )
        wanted = {(e.tenant, e.contact_id, e.queue, e.event_id) for e in late}
        letters = []
        for value, offset in messages:
            events, _ = decode_message(value)
            for event in events:
                if not isinstance(event, ContactEvent):
                    continue
                ident = (event.tenant, event.contact_id, event.queue, event.event_id)
                if ident in wanted:
                    wanted.discard(ident)
                    raw = value if len(events) == 1 else encode_event(event)
                    letters.append(self._dead_letter(Rejection(reason, raw), partition, offset))
        return letters

    def _update_board(
        self, partition: int, state: SegmentState, segments: list[Segment], out: Output
    ) -> None:
        board = self.boards.get(partition)
        if board is None:
            board = self.boards[partition] = LiveBoard(self.settings.tenant_timezone)
        board.update(segments, state.queue_config)
        # Old minute buckets and agents' changes are dropped once a minute of event time.
        now = state.watermark_us
        if now - self._pruned_at.get(partition, -(2**62)) >= 60_000_000:
            board.prune(now, self.settings.tenant_timezone)
            # An hour is deleted once none of its changes is held. One with some still held
            # keeps the others in its record until it is written again or deleted: a
            # restore reads them back and the next prune drops them (no rewrite per change).
            aged = {_hour(change) for change in state.agents.prune(now)}
            empty = [h for h in sorted(aged) if not state.agents.bucket(*h)]
            out.writes += _agent_writes(state.agents, empty)
            self._pruned_at[partition] = now

    def _dead_letter(self, rejection: Rejection, partition: int, offset: int) -> Send:
        self.counters.dead_lettered += 1
        self.counters.dead_letter_reasons[reason_kind(rejection.reason)] += 1
        return Send(
            DLQ,
            rejection.raw,
            headers=[
                ("reason", rejection.reason.encode()),
                ("source", f"{self.source_topic}:{partition}:{offset}".encode()),
            ],
        )

    def _write_state(
        self, state: SegmentState, touched: list[Segment], decoded: list[AnyEvent], out: Output
    ) -> None:
        for contact_id in {segment.sid.contact_id for segment in touched}:
            segments = state.by_contact[contact_id]
            out.writes.append((CONTACTS, contact_id.encode(), codec.encode_segments(segments)))
        # Each hour an agent changed in, once a batch (a few changes, not the agent's day
        # written again at each change); a copy writes its hour again, as every message
        # re-emits what it touches.
        hours = set()
        for event in decoded:
            if isinstance(event, AgentState):
                change = state.agents.held(event.agent_id, event.tenant, event.event_id)
                if change is not None:
                    hours.add(_hour(change))
        out.writes += _agent_writes(state.agents, sorted(hours))

    def _send_segments(
        self, partition: int, state: SegmentState, segments: list[Segment], out: Output
    ) -> None:
        """Segment rows for the store, batched. The store keeps the latest row per segment by
        its version, so any partition will do: the source's own keeps them in order."""
        rows = []
        for segment in segments:
            rows.append(orjson.dumps(segment.row(state.segment_config(segment))))
        target = partition % self.partitions.segments
        for chunk in _chunks(rows, ROWS_PER_MESSAGE):
            out.sends.append(Send(SEGMENTS_OUT, b"[" + b",".join(chunk) + b"]", partition=target))

    def _send_fcr(
        self, partition: int, state: SegmentState, updates: list[FcrUpdate], out: Output
    ) -> None:
        grouped: dict[int, list[FcrUpdate]] = defaultdict(list)
        for update in updates:
            key = customer_key(update.sid.tenant, update.customer_id)
            grouped[partition_for(key, self.partitions.fcr)].append(update)
        watermark = state.watermark_us
        # Every customer owner must learn the watermark, or its windows never close.
        advanced = watermark > self._sent_watermark.get(partition, -1)
        source = f"seg:{partition}"
        for p in range(self.partitions.fcr):
            items = grouped.get(p, [])
            if not items and not advanced:
                continue
            for chunk in _chunks(items, ITEMS_PER_MESSAGE) if items else [[]]:
                message = codec.encode_fcr_message(source, watermark, chunk)
                out.sends.append(Send(FCR, message, partition=p))
        self._sent_watermark[partition] = watermark


class FcrStage:
    name = "fcr"
    source = FCR
    tables = (CUSTOMERS, FCR_MARKS)

    def __init__(self, partitions: Partitions, zone_of: ZoneLookup) -> None:
        self.partitions = partitions
        self.zone_of = zone_of
        self.parts: dict[int, FcrTracker] = {}
        self.counters = StageCounters()
        self.publisher = Publisher()

    def watermark_key(self, partition: int) -> bytes:
        return key_for_partition("watermark-", partition, self.partitions.fcr).encode()

    def assigned(
        self, partition: int, tables: Mapping[str, TableItems], kept: object | None = None
    ) -> None:
        if partition in self.parts:
            return
        if isinstance(kept, FcrTracker):
            # Its output was all delivered before the revoke: nothing to announce again.
            self.parts[partition] = kept
            self.counters.kept += 1
            self.publisher.changed.add(partition)
            return
        tracker = FcrTracker(zone_of=self.zone_of)
        for _, value in tables[CUSTOMERS]():
            for fact in codec.decode_facts(value):
                tracker.upsert(fact)
        mark_key = self.watermark_key(partition)
        for key, value in tables[FCR_MARKS]():
            if key == mark_key:
                tracker.observe(int(value))
        tracker.flush()
        # Window closings the lost output announced are not replayed by any input: the first
        # batch after a restart re-publishes every interval this partition holds.
        tracker.intervals.changed.update(tracker.intervals.keys())
        self.parts[partition] = tracker
        self.counters.rebuilt += 1
        self.publisher.changed.add(partition)

    def revoked(self, partition: int) -> FcrTracker | None:
        self.publisher.forget(partition, fcr_key(partition))
        return self.parts.pop(partition, None)

    def owned(self) -> list[int]:
        return list(self.parts)

    def publications(self, partition: int, published_ms: int) -> list[tuple[bytes, bytes]]:
        """The partition's live FCR for the live topic, replacing the one published before."""
        tracker = self.parts[partition]
        now = tracker.watermark_us
        self.publisher.changed.discard(partition)
        publication = Publication(
            fcr_key(partition), self.publisher.version(partition), now, published_ms, 0, [],
            fcr=tracker.live_parts(now),
        )  # fmt: skip
        return [self.publisher.encode(publication)]

    def process(self, partition: int, messages: list[Message]) -> Output:
        tracker = self.parts[partition]
        out = Output()
        customers: set[tuple[str, str]] = set()
        before = tracker.watermark_us
        for value, _ in messages:
            _, watermark, updates = codec.decode_fcr_message(value)
            apply_fcr_updates(tracker, updates)
            tracker.observe(watermark)
            customers.update((u.sid.tenant, u.customer_id) for u in updates)
        self.counters.messages += len(messages)
        tracker.flush()
        for tenant, customer_id in customers:
            facts = tracker.customer_facts(tenant, customer_id)
            out.writes.append(
                (CUSTOMERS, customer_key(tenant, customer_id), codec.encode_facts(facts))
            )
        if tracker.watermark_us > before:
            out.writes.append(
                (FCR_MARKS, self.watermark_key(partition), str(tracker.watermark_us).encode())
            )
        changed = tracker.intervals.take_changed()
        partials = [(key, tracker.intervals.totals[key]) for key in sorted(changed)]
        version = messages[-1][1] if messages else 0
        out.sends += _partials_sends(
            f"fcr:{partition}", version, partials, self.partitions.partials
        )
        if messages:
            self.publisher.includes(partition, version)
        self.publisher.changed.add(partition)
        return out


@dataclass(frozen=True, slots=True)
class _IntervalsKept:
    """What an interval owner's partition holds, handed back by `revoked`."""

    held: Held
    totals: dict[tuple[str, str, str], list[int]]


def _group(text: str) -> tuple[str, str, str]:
    tenant, queue, channel, _ = orjson.loads(text)
    return tenant, queue, channel


class IntervalStage:
    name = "intervals"
    source = PARTIALS
    tables = (HELD,)

    def __init__(self, queue_config: QueueLookup) -> None:
        self.parts: dict[int, Held] = {}
        # Per partition and (tenant, queue, channel): the counts summed over every interval
        # held, kept as intervals change, so /metrics costs one line per group, not a merge
        # per interval held (which grows all day: 110-180 ms a scrape in the soak's 5th
        # minute, docs/reliability.md).
        self.totals: dict[int, dict[tuple[str, str, str], list[int]]] = {}
        self.counters = StageCounters()
        # Each published row names the settings version its interval is counted with.
        self._queue_config = cached_lookup(queue_config)

    def assigned(
        self, partition: int, tables: Mapping[str, TableItems], kept: object | None = None
    ) -> None:
        if partition in self.parts:
            return
        if isinstance(kept, _IntervalsKept):
            self.parts[partition], self.totals[partition] = kept.held, kept.totals
            self.counters.kept += 1
            return
        held = {key.decode(): codec.decode_held(value) for key, value in tables[HELD]()}
        self.parts[partition] = held
        totals: dict[tuple[str, str, str], list[int]] = {}
        for text, sources in held.items():
            group = _group(text)
            total = totals.setdefault(group, zero_counts())
            move_counts(total, zero_counts(), merge_counts(c for _, c in sources.values()))
        self.totals[partition] = totals
        self.counters.rebuilt += 1

    def revoked(self, partition: int) -> _IntervalsKept | None:
        held = self.parts.pop(partition, None)
        totals = self.totals.pop(partition, None)
        if held is None or totals is None:
            return None
        return _IntervalsKept(held, totals)

    def process(self, partition: int, messages: list[Message]) -> Output:
        state = self.parts[partition]
        out = Output()
        touched: dict[str, IntervalKey] = {}
        before: dict[str, list[int]] = {}  # each touched interval's counts before the batch
        for value, _ in messages:
            message = codec.decode_partials(value)
            for raw_key, counts in message.partials:
                key = IntervalKey(*raw_key)
                text = codec.interval_key_text(key)
                held = state.setdefault(text, {})
                if text not in before:
                    before[text] = merge_counts(c for _, c in held.values())
                current = held.get(message.source)
                # A partial older than the one held (a stale sender after a rebalance) loses.
                if current is None or message.version >= current[0]:
                    held[message.source] = (message.version, counts)
                touched[text] = key
        self.counters.messages += len(messages)
        totals = self.totals.setdefault(partition, {})
        for text, key in touched.items():
            held = state[text]
            out.writes.append((HELD, text.encode(), codec.encode_held(held)))
            merged = merge_counts([counts for _, counts in held.values()])
            group = (key.tenant, key.queue, key.channel)
            move_counts(totals.setdefault(group, zero_counts()), before[text], merged)
            row = published_row(key, merged, self._queue_config(*key).version)
            out.sends.append(Send(INTERVALS_OUT, orjson.dumps(row), key=text.encode()))
        return out
