"""The sink's loop: poll, batch, write, then commit. At least once, with idempotent rows.

    poll -> Buffer.add (rows per table) -> FlushPolicy.due? -> Writer.write each table
         -> commit the offsets after each partition's last message -> clear

The order is the whole guarantee: offsets are committed only after every row they produced
is in ClickHouse, so a crash at any point loses nothing, and what it replays collapses in
the replacing tables (and is often dropped whole by its dedup token). The consumer never
auto-commits.

While the store is down the writer pauses every assigned partition and keeps polling
(`wait`), so the group keeps this member and nothing more is fetched. Partitions taken away
in a rebalance are handed over simply: what is held is dropped unwritten and read again
from the committed offsets by their next owner (at most one batch written twice, which
changes nothing). The rebalance listener only marks it: kafka-python runs listeners on its
IO thread, where a write or a commit may not block. After every poll a `JoinGuard` sends the
member to join again if kafka-python left its group join unfinished (a race of its 3.0
releases that leaves a sink alive with no partitions: pipeline/kafka/join_guard.py).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.join_guard import JoinGuard
from pipeline.sink.batches import Buffer
from pipeline.sink.metrics import SinkMetrics
from pipeline.sink.policy import DEFAULT_BACKOFF, Backoff, FlushPolicy
from pipeline.sink.rows import Route
from pipeline.sink.writer import Writer
from pipeline.store import Store

log = logging.getLogger("ccpipe.sink")

# Messages per poll: a poll's worth is added before the policy is asked again, so this bounds
# how far a batch can overshoot its row limit (an events message holds up to ~500 events).
POLL_RECORDS = 100
# The longest the loop blocks in one poll, so a stop request is seen promptly.
POLL_CEILING_S = 0.5


def sink_group(settings: Settings) -> str:
    return f"{settings.app_id}-sink"


def build_consumer(settings: Settings, group_id: str | None = None) -> KafkaConsumer:
    connection = BrokerConnection.from_settings(settings)
    return KafkaConsumer(
        group_id=group_id or sink_group(settings),
        client_id="ccpipe-sink",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=POLL_RECORDS,
        session_timeout_ms=settings.broker_session_timeout_s * 1000,
        heartbeat_interval_ms=settings.broker_session_timeout_s * 200,
        **connection.kafka_python_kwargs(),
    )


class SinkLoop:
    def __init__(
        self,
        consumer: KafkaConsumer,
        routes: Iterable[Route],
        store: Store,
        metrics: SinkMetrics,
        policy: FlushPolicy,
        backoff: Backoff = DEFAULT_BACKOFF,
        after_write: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        poll_records: int = POLL_RECORDS,
    ) -> None:
        self._consumer = consumer
        self._join_guard = JoinGuard(consumer)
        self._poll_records = poll_records
        self._routes = list(routes)
        self._buffer = Buffer(self._routes)
        self._metrics = metrics
        self._policy = policy
        self._clock = clock
        self._writer = Writer(store, metrics, self, backoff, clock)
        # A fault-injection point for tests: runs after every insert, before the commit.
        self._after_write = after_write
        self._stop = threading.Event()
        self._lost = False  # partitions were revoked: what is held is to be read again
        self._one_attempt = False  # no waiting between retries (shutdown)
        self._dropped: set[tuple[str, int]] = set()  # partitions rewound by the last drop

    @property
    def topics(self) -> list[str]:
        return [route.topic for route in self._routes]

    def subscribe(self) -> None:
        self._consumer.subscribe(self.topics, listener=_Handover(self))

    def stop(self) -> None:
        """Ask the loop to end (from a signal handler or another thread)."""
        self._stop.set()

    def run(self) -> None:
        """Consume until `stop`; then write what is held if the store takes it at once."""
        try:
            while not self._stop.is_set():
                self.step()
            self._one_attempt = True
            self.checkpoint()
        finally:
            self._consumer.close(autocommit=False)

    def step(self) -> None:
        """One poll; a write and a commit whenever a table's batch is full, and after the poll
        if the oldest message held has waited long enough."""
        buffer = self._buffer
        wait_s = min(self._policy.time_left(buffer.messages, buffer.age(self._clock())),
                     POLL_CEILING_S)  # fmt: skip
        records = self._consumer.poll(
            timeout_ms=math.ceil(wait_s * 1000), max_records=self._poll_records
        )
        self._join_guard.check()
        now = self._clock()
        taken = [record for batch in records.values() for record in batch]
        if self._lost:  # a rebalance in that poll: give up what was held, read it again
            self._lost = False
            self._drop()
            taken = [r for r in taken if (r.topic, r.partition) not in self._dropped]
        for index, record in enumerate(taken):
            buffer.add(record, now)
            self._metrics.messages.labels(record.topic).inc()
            # Checked per message, so a batch ends near its size even when one poll brings
            # many messages of hundreds of events each.
            if buffer.largest() >= self._policy.rows and not self.checkpoint():
                self._unread(taken[index + 1 :])
                return
        self._metrics.buffered_rows.set(buffer.rows())
        if self._policy.due(buffer.largest(), buffer.messages, buffer.age(self._clock())):
            self.checkpoint()

    def checkpoint(self) -> bool:
        """Write every table's batch, then commit; False if the batches were given up."""
        buffer = self._buffer
        if not buffer:
            return True
        self._dropped = set()
        self._metrics.buffered_rows.set(buffer.rows())
        for batch in buffer.batches():
            if not self._writer.write(batch):
                self._drop()
                return False
        if self._after_write is not None:
            self._after_write()
        self._commit()
        return True

    # --- Pause: how the writer holds consumption while the store is down --------------------

    def pause(self) -> None:
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.pause(*assigned)

    def wait(self, seconds: float) -> bool:
        deadline = self._clock() + seconds
        while True:
            if self._stop.is_set() or self._lost or self._one_attempt:
                return False
            left = deadline - self._clock()
            if left <= 0:
                return True
            self.pause()  # partitions assigned by a rebalance during the wait, too
            records = self._consumer.poll(timeout_ms=math.ceil(min(left, POLL_CEILING_S) * 1000))
            self._join_guard.check()
            self._unread(record for batch in records.values() for record in batch)

    def resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)

    # --- internals ------------------------------------------------------------------------

    def _commit(self) -> None:
        offsets = {
            TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in self._buffer.next_offsets().items()
        }
        try:
            self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The rows are in the store; whoever owns the partitions now reads them again,
            # and the replacing tables make that harmless.
            log.warning("offset commit failed after the write (%s): those rows will be "
                        "written again", exc)  # fmt: skip
        else:
            self._metrics.commits.inc()
        self._buffer.clear()
        self._metrics.buffered_rows.set(0)

    def _drop(self) -> None:
        """Forget the buffer unwritten: partitions still ours are read again from its start."""
        self._rewind(self._buffer.first_offsets())
        self._dropped = set(self._buffer.first_offsets())
        self._lost = False
        self._buffer.clear()
        self._metrics.buffered_rows.set(0)

    def _unread(self, records: Iterable[Any]) -> None:
        """Give back records taken from a poll but not buffered (after a batch was given up,
        or while paused, where only a rebalance can bring any): read them again later."""
        first: dict[tuple[str, int], int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            if tp not in self._dropped:  # a dropped buffer's rewind already goes further back
                first[tp] = min(first.get(tp, record.offset), record.offset)
        self._rewind(first)

    def _rewind(self, offsets: dict[tuple[str, int], int]) -> None:
        assigned = self._consumer.assignment()
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                self._consumer.seek(tp, offset)

    def revoked(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions are being taken away (kafka-python calls this on its IO thread, where
        nothing may block): mark what is held as lost; the loop drops it after the poll and
        the partitions' next owner reads it again from the committed offsets."""
        if self._buffer:
            self._lost = True


class _Handover(ConsumerRebalanceListener):
    def __init__(self, loop: SinkLoop) -> None:
        self._loop = loop

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._loop.revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("assigned %d partitions", len(assigned))
