"""Which source offsets an agent may process and commit: a contiguity guard.

Faust's own acks cannot be trusted across a rebalance (faust-streaming 0.15.3): it acks the
messages it skips as belonging to an old generation, treats a never-committed partition as
having no head gap, and its read-offset bookkeeping can drop re-fetched messages without a
word. Together they committed offsets whose messages no agent had seen. So the agents'
source topics run with Faust's acks off, and this guard decides instead, in the way Arroyo
cuts it: a partition starts where its committed offset (or the log's start) says, a message
is processed only when its offset is the next one expected, and the offset committed is the
next one after the last message whose output has been handed to the producer.

Kafka offsets in our source topics are contiguous (non-transactional producers, delete
retention), so a jump means messages were dropped on the way in: the caller seeks back. A
jump that persists for `hole_grace_s` may be a real hole in the log (a transaction marker, or
records deleted by retention before they were read): the caller then asks the log for its
first record at or after the next offset, and only offsets the log does not hold are skipped,
counted and reported (`skip_to`). Time alone never makes a hole: on a loaded machine a seek
back can take longer than any grace period, and skipping records that are there loses them.

Messages can also vanish at the end of a run, with no later one to show a gap: a partition
whose consumer position is past `expected`, with nothing past it queued for the agent, is
stalled and sought back (`stalled`). Every seek throws away what the client had fetched for
the partition, so a partition that is only slow (its next message queued, or still in the
fetch buffer) is left alone for `patience_s`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

TP = TypeVar("TP")


class Verdict(enum.Enum):
    PROCESS = "process"  # the next offset: process it
    SEEN = "seen"  # below the next offset: processed before (a replay), skip it
    GAP = "gap"  # beyond the next offset: something before it is missing, seek back


@dataclass
class _Partition:
    expected: int  # next offset to admit
    done: int  # next offset after the last one whose output went to the producer
    committed: int  # last offset committed (or the start)
    since: float  # when the partition last moved (started, or a message processed)
    gap_since: float | None = None  # when a jump past `expected` was first seen
    last_seek: float | None = None
    sought_to: int | None = None  # the offset of the last seek back
    resent: bool = False  # the sought offset has been handed to the stream since that seek
    delivered: int | None = None  # the last offset handed to the stream (since the last seek)


@dataclass
class Hole:
    """Offsets accepted as missing: [start, end)."""

    start: int
    end: int


@dataclass
class OffsetGuard(Generic[TP]):
    """Per owned partition: the next offset to process and what may be committed."""

    clock: Callable[[], float]
    hole_grace_s: float = 5.0
    reseek_every_s: float = 1.0
    # A partition whose next message is on its way (queued for the agent, or in the client's
    # fetch buffer) is not sought back before this: under load what is queued ahead of it can
    # take longer than `reseek_every_s` to drain, and a seek throws the fetch away.
    patience_s: float = 30.0
    _parts: dict[TP, _Partition] = field(default_factory=dict)
    holes: list[tuple[TP, Hole]] = field(default_factory=list)

    def known(self, tp: TP) -> bool:
        return tp in self._parts

    def start(self, tp: TP, offset: int) -> None:
        """Begin a partition at `offset`: its committed offset, or the log start."""
        self._parts[tp] = _Partition(
            expected=offset, done=offset, committed=offset, since=self.clock()
        )

    def revoke(self, tp: TP) -> None:
        self._parts.pop(tp, None)

    def owned(self) -> Iterable[TP]:
        return self._parts.keys()

    def expected(self, tp: TP) -> int:
        return self._parts[tp].expected

    def positions(self) -> dict[TP, int]:
        """Next offset to process per owned partition (for lag: highwater minus it)."""
        return {tp: part.done for tp, part in self._parts.items()}

    def admit(self, tp: TP, offset: int) -> Verdict:
        """Judge one message; PROCESS moves the partition past it."""
        part = self._parts[tp]
        if offset < part.expected:
            return Verdict.SEEN
        if offset > part.expected:
            if part.gap_since is None:
                part.gap_since = self.clock()
            return Verdict.GAP
        part.gap_since = None
        part.last_seek = None
        part.expected = offset + 1
        part.since = self.clock()
        return Verdict.PROCESS

    def hole_suspected(self, tp: TP) -> bool:
        """A gap has lasted `hole_grace_s` despite the seeks back: time to ask the log what
        it holds from the next offset on (`skip_to`)."""
        gap_since = self._parts[tp].gap_since
        return gap_since is not None and self.clock() - gap_since >= self.hole_grace_s

    def skip_to(self, tp: TP, first_present: int) -> bool:
        """The log's first record at or after the next offset is `first_present`: the offsets
        before it are a hole, skipped and recorded. True if there was one; False when the
        next offset is in the log after all (the gap was a loss on the way in: the grace
        period starts again and the caller keeps seeking back)."""
        part = self._parts[tp]
        if first_present <= part.expected:
            part.gap_since = self.clock()
            return False
        self.holes.append((tp, Hole(part.expected, first_present)))
        part.expected = first_present
        part.gap_since = None
        part.last_seek = None
        part.since = self.clock()
        return True

    def delivered(self, tp: TP, offset: int) -> None:
        """The consumer handed `offset` to the stream: it is queued for the agent."""
        part = self._parts.get(tp)
        if part is None:
            return
        part.delivered = offset
        if offset == part.sought_to:
            part.resent = True

    def quiet(self, tp: TP, highwater: int, after_s: float) -> bool:
        """Messages wait in the log past `expected` and none came for `after_s` (nor since the
        last seek): worth asking the consumer where it stands (`stalled`)."""
        part = self._parts[tp]
        if part.expected >= highwater:
            return False
        return self.clock() - max(part.since, part.last_seek or part.since) >= after_s

    def stalled(self, tp: TP, highwater: int, position: int | None, after_s: float) -> bool:
        """A quiet partition whose consumer `position` is past `expected` with nothing past it
        queued for the agent: the messages were handed out of the client and dropped on the
        way (nothing arrives, so no gap shows): seek back.

        Otherwise the partition is slow, not stalled: its next messages are queued for the
        agent, or still in the client's fetch buffer (position at `expected`) behind other
        partitions' records. Seeking it would throw away what was fetched (measured: after a
        worker restart the internal topics were sought back every 3 s and caught up at a
        fraction of the rate), so it waits `patience_s`.
        """
        if not self.quiet(tp, highwater, after_s):
            return False
        part = self._parts[tp]
        queued = part.delivered is not None and part.delivered >= part.expected
        handed_out = position is not None and position > part.expected
        if handed_out and not queued:
            return True
        # Queued or buffered that long, it was dropped after all (Faust skips what it queued
        # before a rebalance; `forget_deliveries` is the prompt way).
        return self.quiet(tp, highwater, self.patience_s)

    def forget_deliveries(self) -> None:
        """A rebalance: whatever was queued for the agents before it is dropped."""
        for part in self._parts.values():
            part.delivered = None
            part.resent = False

    def resumed(self, tps: Iterable[TP]) -> None:
        """Fetching resumes after a rebalance paused it (tables restored): the partitions'
        quiet time starts now, or the first fetch after a long recovery is sought away."""
        now = self.clock()
        for tp in tps:
            part = self._parts.get(tp)
            if part is not None:
                part.since = max(part.since, now)

    def done(self, tp: TP, next_offset: int) -> None:
        """The output of everything before `next_offset` is with the producer."""
        part = self._parts.get(tp)
        if part is not None:
            part.done = max(part.done, min(next_offset, part.expected))

    def rewind(self, tp: TP) -> None:
        """Processing failed after admission: admit again from the last finished offset."""
        part = self._parts.get(tp)
        if part is not None:
            part.expected = part.done

    def should_seek(self, tp: TP) -> bool:
        """Seek back to `expected` at most once per `reseek_every_s` while a gap lasts, and
        not while the sought offset is queued for the agent (up to `patience_s`).
        True means the caller seeks now: the seek is recorded."""
        part = self._parts[tp]
        now = self.clock()
        if part.last_seek is not None:
            waited = now - part.last_seek
            if waited < self.reseek_every_s:
                return False
            if part.resent and part.sought_to == part.expected and waited < self.patience_s:
                return False
        part.last_seek = now
        part.sought_to = part.expected
        part.resent = False
        part.delivered = None
        return True

    def committable(self) -> dict[TP, int]:
        """Offsets to commit: past what is with the producer, where it moved since the last."""
        return {tp: part.done for tp, part in self._parts.items() if part.done > part.committed}

    def mark_committed(self, offsets: dict[TP, int]) -> None:
        for tp, offset in offsets.items():
            part = self._parts.get(tp)
            if part is not None:
                part.committed = max(part.committed, offset)
