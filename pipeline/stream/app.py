"""The Faust app: three agents, each a thin loop around one stage of `stages`.

    cc.events ──segments──> <app>-fcr (by customer) ──fcr──> <app>-interval-partials
        │                                                      (by interval) ──intervals──>
        ├─> cc.events.dlq, cc.segments                                        cc.kpi.intervals
        └─> <app>-interval-partials

Each agent takes a batch of messages (`take_events`, which works with tables), hands each
partition's share to its stage, then writes the stage's table values and sends its output
before the loop body ends. Faust's acks are off for the agents' source topics (they lose
messages across a rebalance, see `offsets`): an `OffsetGuard` admits each partition's
offsets in order, and a timer flushes the producer and then commits what the guard says is
done, so an offset is committed only after what it produced is durable.

Tables use `use_partitioner=True` with keys equal to their topic's message keys, so each key's
changelog lives in the partition of the messages that change it, whichever worker owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, cast

import faust
from faust.types import TP, TableT

from pipeline.config import Settings
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.start_offsets import start_offsets
from pipeline.metrics import build_registry
from pipeline.stream import stages
from pipeline.stream.offsets import OffsetGuard, Verdict
from pipeline.stream.partitioning import partition_for
from pipeline.stream.stages import FcrStage, IntervalStage, Output, SegmentStage, Topology
from pipeline.stream.topics import TABLES, internal_topic_names
from pipeline.stream.transport import App
from pipeline.stream.web import add_pages

log = logging.getLogger(__name__)
COMMIT_INTERVAL_S = 1.0


class Pipeline:
    """The app and its stages, so the worker's web pages and metrics can read the state."""

    def __init__(self, settings: Settings, web_port: int | None = None) -> None:
        self.settings = settings
        partitions = settings.partitions
        self.topology = Topology.uniform(partitions)
        connection = BrokerConnection.from_settings(settings)
        datadir = Path(settings.state_dir) / settings.app_id
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = App(
            settings.app_id,
            **connection.faust_kwargs(),
            store="memory://",
            datadir=str(datadir),
            topic_partitions=partitions,
            topic_replication_factor=1,
            topic_allow_declare=True,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=1.0,
            broker_session_timeout=settings.broker_session_timeout_s,
            table_standby_replicas=settings.standby_replicas,
            broker_heartbeat_interval=settings.broker_session_timeout_s / 5,
            producer_acks=-1,
            producer_compression_type=None
            if settings.compression == "none"
            else settings.compression,
            web_enabled=True,
            web_bind=settings.web_host,
            web_port=web_port if web_port is not None else settings.web_port,
            autodiscover=False,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.segment_stage = SegmentStage(settings, self.topology, settings.events_topic)
        self.fcr_stage = FcrStage(self.topology)
        self.interval_stage = IntervalStage()
        self.guard: OffsetGuard[TP] = OffsetGuard(clock=time.monotonic)
        self._admin: Any = None
        self._holes_reported = 0
        # Table entries by partition, built after a rebalance when state is rebuilt.
        self._table_index: dict[str, dict[int, list[tuple[bytes, bytes]]]] = {}
        # Delivery futures of what was produced since the last commit.
        self._pending: list[Any] = []  # asyncio futures of aiokafka deliveries
        self.registry, self.latency = build_registry(self)
        self._declare()
        add_pages(self)

    def _topic(self, name: str, internal: bool = False, source: bool = False) -> faust.TopicT:
        # Source topics: Faust does not ack or commit them, the OffsetGuard does.
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.partitions,
            internal=internal,
            acks=not source,
        )

    def _table(self, name: str) -> TableT[bytes, bytes]:
        return self.app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=self.settings.partitions,
            use_partitioner=True,
        )

    def _declare(self) -> None:
        s = self.settings
        internal = internal_topic_names(s)
        self.topics: dict[str, faust.TopicT] = {
            "events": self._topic(s.events_topic, source=True),
            stages.DLQ: self._topic(s.dlq_topic),
            stages.SEGMENTS_OUT: self._topic(s.segments_topic),
            stages.INTERVALS_OUT: self._topic(s.intervals_topic),
            stages.FCR: self._topic(internal[stages.FCR], internal=True, source=True),
            stages.PARTIALS: self._topic(internal[stages.PARTIALS], internal=True, source=True),
        }
        self.tables: dict[str, TableT[bytes, bytes]] = {name: self._table(name) for name in TABLES}
        self._topic_names = {name: topic.get_topic_name() for name, topic in self.topics.items()}
        self._changelog_names = {
            name: table.changelog_topic.get_topic_name() for name, table in self.tables.items()
        }
        batch, wait = s.batch_messages, s.batch_wait_ms / 1000
        app = self.app

        @app.agent(self.topics["events"], name="segments")
        async def segments(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for tp, messages in (await self._admit(events)).items():
                    async with self._processing(tp, messages):
                        state = self.segment_stage.assigned(
                            tp.partition,
                            self._items(stages.CONTACTS, tp.partition),
                            self._items(stages.AGENTS, tp.partition),
                        )
                        await self._perform(
                            tp.partition,
                            self.segment_stage.process(tp.partition, state, messages),
                        )
                self._observe_latency(events)
                yield None

        @app.agent(self.topics[stages.FCR], name="fcr")
        async def fcr(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for tp, messages in (await self._admit(events)).items():
                    async with self._processing(tp, messages):
                        tracker = self.fcr_stage.assigned(
                            tp.partition,
                            self._items(stages.CUSTOMERS, tp.partition),
                            self._items(stages.FCR_MARKS, tp.partition),
                        )
                        await self._perform(
                            tp.partition, self.fcr_stage.process(tp.partition, tracker, messages)
                        )
                yield None

        @app.agent(self.topics[stages.PARTIALS], name="intervals")
        async def intervals(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for tp, messages in (await self._admit(events)).items():
                    async with self._processing(tp, messages):
                        held = self.interval_stage.assigned(
                            tp.partition, self._items(stages.HELD, tp.partition)
                        )
                        await self._perform(
                            tp.partition, self.interval_stage.process(held, messages)
                        )
                yield None

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
            self.revoke(revoked)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
            self._table_index.clear()  # recovery is about to change the tables

        @app.timer(interval=COMMIT_INTERVAL_S)
        async def commit_offsets() -> None:
            await self.commit()

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages not yet processed per owned partition (highwater minus next offset)."""
        out = {}
        consumer = self.app.consumer
        for tp, position in self.guard.positions().items():
            try:
                highwater = consumer.highwater(tp)
            except Exception:
                continue
            if highwater is not None:
                out[(tp.topic, tp.partition)] = max(0, highwater - position)
        return out

    async def _admit(self, events: Iterable[faust.EventT]) -> dict[TP, list[tuple[bytes, int]]]:
        """The messages of a batch to process, per partition, in offset order.

        A message of a partition this worker no longer owns is left to its owner; one already
        processed (a re-fetch) is skipped; a jump past the next offset means Faust dropped
        messages on the way in, so the partition is sought back to the next offset.
        """
        events = list(events)
        assignment = self.app.consumer.assignment()
        fresh = {
            e.message.tp
            for e in events
            if e.message.tp in assignment and not self.guard.known(e.message.tp)
        }
        if fresh:
            await self._start(fresh)
            # A rebalance may have come while the start offsets were read.
            assignment = self.app.consumer.assignment()
            for tp in fresh - assignment:
                self.guard.revoke(tp)
        grouped: dict[TP, list[tuple[bytes, int]]] = defaultdict(list)
        gaps: set[TP] = set()
        for event in events:
            message = event.message
            tp = message.tp
            if tp not in assignment or not self.guard.known(tp):
                continue
            verdict = self.guard.admit(tp, message.offset)
            if verdict is Verdict.PROCESS:
                grouped[tp].append((message.value or b"", message.offset))
            elif verdict is Verdict.GAP:
                gaps.add(tp)
        for tp in gaps:
            if self.guard.should_seek(tp):
                await self.app.consumer.seek(tp, self.guard.expected(tp))
        self._report_holes()
        return grouped

    async def _start(self, tps: set[TP]) -> None:
        """Begin newly owned partitions where the group left them."""
        group = self.settings.app_id
        starts = await asyncio.to_thread(
            start_offsets, self._admin_client(), group, [(tp.topic, tp.partition) for tp in tps]
        )
        for tp in tps:
            self.guard.start(tp, starts[(tp.topic, tp.partition)])

    def _admin_client(self) -> Any:
        if self._admin is None:
            from kafka import KafkaAdminClient

            connection = BrokerConnection.from_settings(self.settings)
            self._admin = KafkaAdminClient(
                client_id=f"{self.settings.app_id}-offsets", **connection.kafka_python_kwargs()
            )
        return self._admin

    def _report_holes(self) -> None:
        for tp, hole in self.guard.holes[self._holes_reported :]:
            log.error(
                "%s[%d]: offsets %d-%d never arrived within %.0f s and are skipped "
                "(a transaction marker, or records deleted by retention before they were read)",
                tp.topic,
                tp.partition,
                hole.start,
                hole.end - 1,
                self.guard.hole_grace_s,
            )
        self._holes_reported = len(self.guard.holes)

    @contextlib.asynccontextmanager
    async def _processing(self, tp: TP, messages: list[tuple[bytes, int]]) -> AsyncIterator[None]:
        """On success the partition is done up to its last message; on failure it is re-admitted."""
        try:
            yield
        except BaseException:
            self.guard.rewind(tp)
            raise
        self.guard.done(tp, messages[-1][1] + 1)

    async def commit(self) -> None:
        """Flush the producer, then commit the offsets whose output it now holds durably."""
        assignment = self.app.consumer.assignment()
        offsets = {tp: o for tp, o in self.guard.committable().items() if tp in assignment}
        if not offsets:
            return
        pending, self._pending = self._pending, []
        await self.app.producer.flush()
        for delivery in pending:
            # Resolved by callbacks just after the flush; a failure raises here, so nothing
            # is committed, the worker restarts and the replay sends it again.
            await delivery
        # Faust's own `commit()` goes by its acks, which are off for these topics; `_commit`
        # is the transport's plain offset commit (it drops partitions no longer assigned).
        if await cast(Any, self.app.consumer)._commit(offsets):
            self.guard.mark_committed(offsets)

    def _observe_latency(self, events: Iterable[faust.EventT]) -> None:
        now = time.time()
        for event in events:
            timestamp = event.message.timestamp
            if timestamp:
                self.latency.observe(max(0.0, now - timestamp))

    def revoke(self, revoked: Iterable[TP]) -> None:
        """Drop the state of partitions we no longer own; whoever owns them rebuilds it."""
        names = {topic.get_topic_name(): stage_name for stage_name, topic in self.topics.items()}
        for tp in revoked:
            kind = names.get(tp.topic)
            self.guard.revoke(tp)
            if kind == "events":
                self.segment_stage.revoked(tp.partition)
            elif kind == stages.FCR:
                self.fcr_stage.revoked(tp.partition)
            elif kind == stages.PARTIALS:
                self.interval_stage.revoked(tp.partition)

    def _items(self, table: str, partition: int) -> Callable[[], Iterable[tuple[bytes, bytes]]]:
        """A partition's entries of a table, for rebuilding its stage state after recovery.

        The memory store holds every owned partition's keys together; they are grouped by
        partition in one pass (one hash a key, not one a key per partition), and each
        partition's share is handed out once.
        """

        def items() -> Iterable[tuple[bytes, bytes]]:
            index = self._table_index.get(table)
            if index is None or partition not in index:
                index = self._table_index[table] = self._index_table(table)
            return index.pop(partition, [])

        return items

    def _index_table(self, table: str) -> dict[int, list[tuple[bytes, bytes]]]:
        n = self.settings.partitions
        index: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
        for key, value in list(self.tables[table].items()):
            if value is not None:
                index[partition_for(key, n)].append((key, value))
        return index

    async def _perform(self, partition: int, out: Output) -> None:
        """Write the stage's table values, then hand table changelogs and output to the producer.

        Straight to the transport's producer: Faust's `Topic.send` and `send_changelog` wrap
        each message in futures, a buffer and callbacks, tens of microseconds a message, and
        the stages produce about 0.4 messages per event. Every key a stage writes belongs to
        the partition it consumed (the contract keys events by contact or agent, and our own
        topics are keyed the same way), so its changelog goes to that partition. Delivery is
        checked in `commit`, before any offset is committed.
        """
        send = self.app.producer.send
        pending = self._pending
        for table_name, key, value in out.writes:
            self.tables[table_name].data[key] = value
            pending.append(
                await send(self._changelog_names[table_name], key, value, partition, None, None)
            )
        for message in out.sends:
            pending.append(
                await send(
                    self._topic_names[message.topic],
                    message.key,
                    message.value,
                    message.partition,
                    None,
                    message.headers,
                )
            )


def worker_for(app: faust.App, loglevel: str = "warning") -> Any:
    """A Faust worker whose root logger really stays at `loglevel`.

    Faust's terminal spinner leaves the root logger at DEBUG, so aiokafka and Faust build a
    debug record for every message produced (10 % of the worker's CPU, measured with
    py-spy); pinning the level drops them before they are made.
    """
    import logging

    from faust.worker import Worker

    class _Worker(Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            logger.setLevel(level or logging.WARNING)
            # "producer buffer full" is Faust telling itself to wait for the producer, once
            # per large batch of table writes: back-pressure working, not a problem.
            logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)

    return _Worker(app, loglevel=loglevel, quiet=True)
