"""The Faust app: three agents, each a thin loop around one stage of `stages`.

    cc.events ──segments──> <app>-fcr (by customer) ──fcr──> <app>-interval-partials
        │                                                      (by interval) ──intervals──>
        ├─> cc.events.dlq, cc.segments                                        cc.kpi.intervals
        └─> <app>-interval-partials

Each agent takes a batch of messages (`take_events`, which works with tables), hands each
partition's share to its stage, then writes the stage's table values and sends its output
before the loop body ends. Faust acks the batch after the body and flushes the producer
before it commits offsets, so an offset is committed only after what it produced is durable.

Tables use `use_partitioner=True` with keys equal to their topic's message keys, so each key's
changelog lives in the partition of the messages that change it, whichever worker owns it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import faust
from faust.types import TP, TableT

from pipeline.config import Settings
from pipeline.kafka.connection import BrokerConnection
from pipeline.metrics import build_registry
from pipeline.stream import stages
from pipeline.stream.partitioning import partition_for
from pipeline.stream.stages import FcrStage, IntervalStage, Output, SegmentStage, Topology
from pipeline.stream.web import add_pages


def internal_topic_names(settings: Settings) -> dict[str, str]:
    """Names carry the app id: two apps on one broker must not share a repartition topic."""
    return {
        stages.FCR: f"{settings.app_id}-fcr-updates",
        stages.PARTIALS: f"{settings.app_id}-interval-partials",
    }


class Pipeline:
    """The app and its stages, so the worker's web pages and metrics can read the state."""

    def __init__(self, settings: Settings, web_port: int | None = None) -> None:
        self.settings = settings
        partitions = settings.partitions
        self.topology = Topology.uniform(partitions)
        connection = BrokerConnection.from_settings(settings)
        datadir = Path(settings.state_dir) / settings.app_id
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
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
            broker_heartbeat_interval=settings.broker_session_timeout_s / 5,
            producer_acks=-1,
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
        # Next offset to process per (topic, partition) this worker owns: lag = highwater - it.
        self.positions: dict[tuple[str, int], int] = {}
        self.registry, self.latency = build_registry(self)
        self._declare()
        add_pages(self)

    def _topic(self, name: str, internal: bool = False) -> faust.TopicT:
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.partitions,
            internal=internal,
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
            "events": self._topic(s.events_topic),
            stages.DLQ: self._topic(s.dlq_topic),
            stages.SEGMENTS_OUT: self._topic(s.segments_topic),
            stages.INTERVALS_OUT: self._topic(s.intervals_topic),
            stages.FCR: self._topic(internal[stages.FCR], internal=True),
            stages.PARTIALS: self._topic(internal[stages.PARTIALS], internal=True),
        }
        self.tables: dict[str, TableT[bytes, bytes]] = {
            name: self._table(name)
            for name in (
                stages.CONTACTS,
                stages.AGENTS,
                stages.CUSTOMERS,
                stages.FCR_MARKS,
                stages.HELD,
            )
        }
        batch, wait = s.batch_messages, s.batch_wait_ms / 1000
        app = self.app

        @app.agent(self.topics["events"], name="segments")
        async def segments(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for partition, messages in self._by_partition(events).items():
                    state = self.segment_stage.assigned(
                        partition,
                        self._items(stages.CONTACTS, partition),
                        self._items(stages.AGENTS, partition),
                    )
                    await self._perform(
                        partition, self.segment_stage.process(partition, state, messages)
                    )
                self._observe_latency(events)
                yield None

        @app.agent(self.topics[stages.FCR], name="fcr")
        async def fcr(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for partition, messages in self._by_partition(events).items():
                    tracker = self.fcr_stage.assigned(
                        partition,
                        self._items(stages.CUSTOMERS, partition),
                        self._items(stages.FCR_MARKS, partition),
                    )
                    await self._perform(
                        partition, self.fcr_stage.process(partition, tracker, messages)
                    )
                yield None

        @app.agent(self.topics[stages.PARTIALS], name="intervals")
        async def intervals(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                for partition, messages in self._by_partition(events).items():
                    held = self.interval_stage.assigned(
                        partition, self._items(stages.HELD, partition)
                    )
                    await self._perform(partition, self.interval_stage.process(held, messages))
                yield None

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
            self.revoke(revoked)

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages not yet processed per owned partition (highwater minus next offset)."""
        out = {}
        consumer = self.app.consumer
        for (topic, partition), position in list(self.positions.items()):
            try:
                highwater = consumer.highwater(TP(topic, partition))
            except Exception:
                continue
            if highwater is not None:
                out[(topic, partition)] = max(0, highwater - position)
        return out

    def _by_partition(self, events: Iterable[faust.EventT]) -> dict[int, list[tuple[bytes, int]]]:
        grouped: dict[int, list[tuple[bytes, int]]] = defaultdict(list)
        for event in events:
            message = event.message
            grouped[message.partition].append((message.value or b"", message.offset))
            self.positions[(message.topic, message.partition)] = message.offset + 1
        return grouped

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
            self.positions.pop((tp.topic, tp.partition), None)
            if kind == "events":
                self.segment_stage.revoked(tp.partition)
            elif kind == stages.FCR:
                self.fcr_stage.revoked(tp.partition)
            elif kind == stages.PARTIALS:
                self.interval_stage.revoked(tp.partition)

    def _items(self, table: str, partition: int) -> Callable[[], Iterable[tuple[bytes, bytes]]]:
        def items() -> Iterable[tuple[bytes, bytes]]:
            n = self.settings.partitions
            for key, value in list(self.tables[table].items()):
                if value is not None and partition_for(key, n) == partition:
                    yield key, value

        return items

    async def _perform(self, partition: int, out: Output) -> None:
        """Write the stage's table values, then send its output (all before the batch acks).

        Every key a stage writes belongs to the partition it consumed (the contract keys
        events by contact or agent, and our own topics are keyed the same way), so the
        changelog goes straight to that partition rather than through `table[key] = value`,
        which would hash the key again for each write.
        """
        for table_name, key, value in out.writes:
            table = self.tables[table_name]
            table.data[key] = value
            table.send_changelog(partition, key, value)
        for send in out.sends:
            await self.topics[send.topic].send(
                key=send.key, value=send.value, partition=send.partition, headers=send.headers
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
