"""The ingest loop: poll, read, pack, send; at each checkpoint flush, save state, commit.

    getmany -> Reader.read each record (records.py) -> Packer.add (batches.py)
            -> full batches sent as they fill; a partial one once it has lingered
    checkpoint (every second, on revocation, at the end):
            send what is packed -> await every delivery (batches and dead letters)
            -> save each stateful partition's state with its offset, await it (state.py)
            -> commit the input offsets

The order is the guarantee (at least once): an input offset is committed only after every
batch produced from the records before it, and the state that followed them, are
acknowledged. A crash anywhere replays records after the last checkpoint against the state of
that checkpoint; the adapters' deterministic event ids make the replayed events duplicates
the workers ignore. A delivery that fails stops the loop with the error: nothing after the
last checkpoint is committed, and the next start replays it.

One asyncio lock serialises the loop's work with the rebalance listener, which checkpoints
everything before partitions go and restores each partition's state before it is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from pipeline.ingest.batches import Batch, Packer
from pipeline.ingest.metrics import IngestMetrics
from pipeline.ingest.records import Reader
from pipeline.ingest.state import Checkpoint, StateTopic

log = logging.getLogger("ccpipe.ingest")

# Records per poll: large, since a record costs microseconds and a poll a round trip.
POLL_RECORDS = 20_000
# The longest a poll waits when the input is quiet, so lingering batches leave on time.
POLL_CEILING_S = 0.1
# How often offsets (and states) are committed: what a crash replays at most.
COMMIT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Topics:
    input: str
    events: str
    dlq: str


@dataclass
class Part:
    """One input partition: its reader, the offset after the last record read, and the
    offset of the last checkpoint (None until one is known)."""

    reader: Reader
    next_offset: int | None = None
    saved: int | None = None


class IngestLoop:
    def __init__(
        self,
        consumer: Any,
        producer: Any,
        topics: Topics,
        make_reader: Callable[[], Reader],
        metrics: IngestMetrics,
        event_partitions: int,
        state: StateTopic | None = None,
        linger_s: float = 0.05,
        commit_interval_s: float = COMMIT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.consumer = consumer
        self.producer = producer
        self.topics = topics
        self.make_reader = make_reader
        self.metrics = metrics
        self.state = state
        self.linger_s = linger_s
        self.commit_interval_s = commit_interval_s
        self.clock = clock
        self.packer = Packer(event_partitions)
        self.parts: dict[int, Part] = {}
        self.lock = asyncio.Lock()
        self._deliveries: list[asyncio.Future[Any]] = []
        # Dead letters of the records read, sent with the next batches: (value, key, headers)
        self._dead_letters: list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]] = []
        self._pending_since: float | None = None
        self._last_checkpoint = clock()
        self._records = 0
        self._events = 0
        self._dead: Tally[str] = Tally()

    def subscribe(self) -> None:
        self.consumer.subscribe([self.topics.input], listener=_Handover(self))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then checkpoint what was read."""
        poll_ms = max(1, int(min(self.linger_s, POLL_CEILING_S) * 1000))
        while not stop.is_set():
            polled = await self.consumer.getmany(timeout_ms=poll_ms, max_records=POLL_RECORDS)
            async with self.lock:
                await self.step(polled)
        async with self.lock:
            await self.checkpoint()

    async def step(self, polled: dict[Any, list[Any]]) -> None:
        """Read what one poll brought; send full batches, lingering ones, and checkpoint when
        it is time. Called with the lock held."""
        for tp, records in polled.items():
            part = self.parts.get(tp.partition)
            if part is not None and records:
                self._take(tp.partition, part, records)
        await self._send_dead_letters()
        await self._send(self.packer.take())
        now = self.clock()
        if self.packer.pending:
            if self._pending_since is None:
                self._pending_since = now
            elif now - self._pending_since >= self.linger_s:
                await self._send(self.packer.drain())
        if now - self._last_checkpoint >= self.commit_interval_s:
            await self.checkpoint()

    def _take(self, partition: int, part: Part, records: Sequence[Any]) -> None:
        read = part.reader.read
        add = self.packer.add
        start = part.next_offset
        taken = 0
        for record in records:
            # A record before the partition's position was fetched before a seek: skip it.
            if start is not None and record.offset < start:
                continue
            reasons = read(record.value, add)
            if reasons:
                self._dead_letter(partition, record, reasons, part.reader)
            taken += 1
        if taken:
            part.next_offset = records[-1].offset + 1
            self._records += taken

    def _dead_letter(
        self, partition: int, record: Any, reasons: Sequence[str], reader: Reader
    ) -> None:
        for reason in reasons:
            self._dead[reader.kind(reason)] += 1
            headers = [
                ("reason", reason.encode()),
                ("source", f"{self.topics.input}:{partition}:{record.offset}".encode()),
            ]
            self._dead_letters.append((record.value, record.key, headers))

    async def _send_dead_letters(self) -> None:
        letters, self._dead_letters = self._dead_letters, []
        for value, key, headers in letters:
            delivery = await self.producer.send(
                self.topics.dlq, value=value, key=key, headers=headers
            )
            self._deliveries.append(delivery)

    async def _send(self, batches: Iterable[Batch]) -> None:
        send = self.producer.send
        topic = self.topics.events
        for batch in batches:
            delivery = await send(
                topic, value=batch.value, key=batch.key, partition=batch.partition
            )
            self._deliveries.append(delivery)
            self.metrics.batch_events.observe(batch.events)
            self._events += batch.events
        if not self.packer.pending:
            self._pending_since = None

    async def checkpoint(self) -> None:
        """Send what is packed, wait for every delivery, save states, commit. With the lock."""
        await self._send_dead_letters()
        await self._send(self.packer.drain())
        await self._delivered()
        offsets = {}
        saves = []
        for partition, part in self.parts.items():
            if part.next_offset is None or part.next_offset == part.saved:
                continue
            if self.state is not None and part.reader.stateful:
                checkpoint = Checkpoint(part.next_offset, part.reader.state())
                saves.append(await self.state.save(self.topics.input, partition, checkpoint))
            offsets[TopicPartition(self.topics.input, partition)] = part.next_offset
        if saves:
            await asyncio.gather(*saves)
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:
                # The output and states are in Kafka; whoever owns the partitions now
                # starts from the saved states, or replays harmlessly from the commit.
                log.warning("offset commit failed after the output was acknowledged: %s", exc)
            else:
                self.metrics.commits.inc()
            for tp, offset in offsets.items():
                self.parts[tp.partition].saved = offset
        self._last_checkpoint = self.clock()
        self._publish()

    async def _delivered(self) -> None:
        deliveries, self._deliveries = self._deliveries, []
        for delivery in deliveries:
            await delivery

    def _publish(self) -> None:
        """Counters to Prometheus once a checkpoint, not per record; lag per partition."""
        metrics = self.metrics
        metrics.records.inc(self._records)
        metrics.events.inc(self._events)
        for kind, count in self._dead.items():
            metrics.dead_lettered.labels(kind).inc(count)
        self._records = self._events = 0
        self._dead.clear()
        for partition, part in self.parts.items():
            tp = TopicPartition(self.topics.input, partition)
            high = self.consumer.highwater(tp)
            if high is not None and part.next_offset is not None:
                metrics.lag.labels(self.topics.input, str(partition)).set(
                    max(0, high - part.next_offset)
                )

    # --- assignment -----------------------------------------------------------------------

    async def assigned(self, partitions: Iterable[Any]) -> None:
        """A reader per new partition; a stateful one starts from its saved state and offset."""
        async with self.lock:
            for tp in partitions:
                if tp.topic != self.topics.input or tp.partition in self.parts:
                    continue
                part = Part(self.make_reader())
                if self.state is not None and part.reader.stateful:
                    checkpoint = await self.state.load(self.topics.input, tp.partition)
                    if checkpoint is not None:
                        part.reader.restore(checkpoint.state)
                        self.consumer.seek(tp, checkpoint.offset)
                        part.next_offset = part.saved = checkpoint.offset
                self.parts[tp.partition] = part
            log.info("reading input partitions %s", sorted(self.parts))

    async def revoked(self, partitions: Iterable[Any]) -> None:
        """Checkpoint everything, then let the partitions go."""
        async with self.lock:
            await self.checkpoint()
            for tp in partitions:
                self.parts.pop(tp.partition, None)
                with contextlib.suppress(KeyError):  # no lag was published for it yet
                    self.metrics.lag.remove(self.topics.input, str(tp.partition))


class _Handover(ConsumerRebalanceListener):
    def __init__(self, loop: IngestLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._loop.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._loop.assigned(assigned)
