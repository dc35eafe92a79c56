"""The stream on Faust: every line of ccpipe that knows Faust is in this module.

The runtime is a loop over the topology (`pipeline.stream.topology`): one agent per stage,
subscribed to the stage's source topic. Each agent takes a batch of messages (`take_events`),
hands each partition's share to its stage (`stage.Stage`), and hands the stage's table
changelog records and sends to the producer before the loop body ends.

Faust's own machinery is bypassed where it lost or slowed things, and each such place is here:
1. Acks are off for the agents' source topics (Faust's acks lose messages across a rebalance:
   docs/stream.md): an `OffsetGuard` admits each partition's offsets in order, and a timer
   flushes the producer, awaits every delivery, then commits what the guard says is done
   with the consumer's plain offset commit (`_commit`).
2. No Faust tables: a table is its changelog topic. Its records are produced with the
   transport's aiokafka producer, as are the stages' sends (Faust's `send_changelog` and
   `Topic.send` cost tens of microseconds a message), and a partition's state is rebuilt from
   its changelog partitions read whole by a plain consumer (`pipeline.kafka.changelog`):
   Faust's recovery made an event of every record, ~5,500 a second, and paused the group
   for minutes as the state grew (docs/reliability.md). The worker then holds no second copy
   of its state as bytes. Faust revokes every partition at each rebalance; a partition that
   comes back to the same worker with its changelogs unchanged keeps the state it had
   (`_take_back`), so a survivor does not rebuild what it holds while a restarted worker
   rebuilds its own.
3. The changelog topic names are the topology's, created with the worker's other topics.
4. The worker consumer waits at most 100 ms for a fetch, not Faust's hard-coded 1.5 s, and
   hands every fetched message of the agents' source topics to the stream: Faust's read
   offsets (which drop a message below the last one delivered) are not consulted for them.
5. The root logger stays at the level asked for (`worker_for`).
6. The web pages (`/metrics` and `pipeline.wallboard.pages`) are plain aiohttp handlers added
   to Faust's aiohttp application.
7. Seeks back go through the consumer's own thread (`seek_wait`): Faust's `seek` calls aiokafka
   from the event loop's thread, which raced the fetcher and crashed the worker.
Besides the agents, a timer publishes the live state of each owned events partition to the
live topic, and a task follows that topic into the whole centre's view the pages show
(pipeline/liveview).
Moving to another runtime (Quix Streams, Arroyo) means replacing this module: docs/stream.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, cast

import faust
from aiohttp import web
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from pipeline.config import Settings
from pipeline.kafka.changelog import end_offsets, read_changelogs
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.next_record import next_record_offset
from pipeline.kafka.start_offsets import start_offsets
from pipeline.liveview.publication import publication_due
from pipeline.liveview.reader import follow
from pipeline.liveview.server import centre_view, view_collector
from pipeline.metrics_page import metrics_handler
from pipeline.stream.metrics import build_registry
from pipeline.stream.offsets import OffsetGuard, Verdict
from pipeline.stream.stage import Message, Output, Publishing, Stage, TableItems
from pipeline.stream.stages import LIVE, FcrStage, IntervalStage, SegmentStage
from pipeline.stream.topology import Topology, build
from pipeline.wallboard.pages import WallboardPages

log = logging.getLogger(__name__)
COMMIT_INTERVAL_S = 1.0
# How long the log may take to show its next record when a gap is checked for a hole.
HOLE_PROBE_S = 10.0
# An owned partition whose next messages are in the log yet none came for this long is sought
# back (see `unstall`): long against a batch wait, short against a session timeout.
STALL_S = 3.0
# How long to wait for the consumer's thread to say where a partition stands.
POSITION_WAIT_S = 1.0
# How long a rebalance may wait for the producer and the changelogs' end offsets before the
# revoked states are dropped (rebuilt if they come back): short against a session timeout.
KEEP_WAIT_S = 3.0
# faust-streaming 0.15.3 builds its worker consumer with `fetch_max_wait_ms=1500` and no
# setting to change it. aiokafka leaves partitions that still hold unread records out of its
# next fetch, so after any hiccup a fetch may cover only idle partitions and the broker holds
# it the full 1.5 s: measured, the worker then stayed 1.2-2 s behind at 2,000 events/s (p99
# over 4 s); with 100 ms it was back to ~250 ms within two seconds (docs/benchmarks.md). The
# cost is more empty fetch requests while idle.
FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _ReadOffsets(dict[TP, int | None]):
    """Faust's read offsets, with no offset for the topics Faust does not ack.

    Faust's consumer drops a fetched message whose offset is below the partition's read
    offset, and moves that offset after each delivery, also after a seek (it awaits the
    delivery first). Under load a run of old messages delivered after a seek back moves it
    past the ones the seek fetches again, and those are dropped without a word: measured,
    offsets 21-40 of an internal partition never reached its agent (docs/reliability.md).
    The agents' source topics run with acks off and the `OffsetGuard` skips what was
    processed before, so for them no message is dropped here.
    """

    def __init__(self, acks_enabled_for: Callable[[str], bool]) -> None:
        super().__init__()
        self._filtered = acks_enabled_for

    def __missing__(self, tp: TP) -> None:
        return None

    def __getitem__(self, tp: TP) -> int | None:
        return super().__getitem__(tp) if self._filtered(tp.topic) else None


class _Consumer(driver.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _ReadOffsets(lambda topic: self.app.topics.acks_enabled_for(topic))
        hand_over = self.callback

        async def delivering(message: Any) -> None:
            # Faust can drop a fetched message before this point (a rebalance, a paused
            # partition, its flow suspended): what got past it is queued for the agent.
            await hand_over(message)
            on_delivered = cast(App, self.app).on_delivered
            if on_delivered is not None:
                on_delivered(message.tp, message.offset)

        self.callback = delivering

    async def seek_back(self, tp: TP, offset: int) -> bool:
        """Seek on the consumer's own thread; False if the partition is no longer assigned.

        Faust's `seek` calls aiokafka from the event loop's thread while the consumer runs in
        its own: the fetcher's `fetched_records` then found a partition's records deleted
        under it (`KeyError`, the worker crashed; docs/reliability.md).
        """
        try:
            await self.seek_wait({tp: offset})
        except IllegalStateError:
            return False
        return True

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A faust.App whose consumer transport is the one above."""

    # Told each offset the consumer hands to the stream (the runtime's `OffsetGuard`).
    on_delivered: Callable[[TP, int], None] | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


class FaustRuntime:
    """The Faust app running the topology's stages; also the live view the pages read."""

    def __init__(self, settings: Settings, web_port: int | None = None) -> None:
        self.settings = settings
        self.topology: Topology = build(settings)
        self.app = _app(settings, web_port)
        self.guard: OffsetGuard[TP] = OffsetGuard(clock=time.monotonic)
        self.app.on_delivered = self.guard.delivered
        self._admin: Any = None
        self._holes_reported = 0
        # Delivery futures of what was produced since the last commit.
        self._pending: list[Any] = []  # asyncio futures of aiokafka deliveries
        self.registry, self.latency = build_registry(self)
        self.view = centre_view(settings)
        self.registry.register(view_collector(self.view, settings))
        self._published_at: dict[tuple[object, int], float] = {}
        # States of revoked partitions with their changelogs' end offsets at the revoke,
        # until the assignment after it says which come back (`_take_back`).
        self._kept: dict[tuple[Stage, int], tuple[object, dict[tuple[str, int], int]]] = {}
        self._taking_back: asyncio.Future[None] | None = None
        self._rebalances = 0
        # Agents inside a batch: a revoke waits for them, so their writes are in the log
        # before the changelogs' end offsets are taken.
        self._in_batch = 0
        self._no_batch = asyncio.Event()
        self._no_batch.set()
        self._stop = asyncio.Event()
        self._declare()
        self.pages = WallboardPages(
            self.view,
            settings.targets,
            settings.queue,
            settings.tenant_timezone,
            settings.headline_service_level,
        )
        self._mount_pages()

    # --- what the metrics and the pages read -------------------------------------------------

    @property
    def segment_stage(self) -> SegmentStage:
        return self.topology.stages.segments

    @property
    def fcr_stage(self) -> FcrStage:
        return self.topology.stages.fcr

    @property
    def interval_stage(self) -> IntervalStage:
        return self.topology.stages.intervals

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

    # --- declaration -------------------------------------------------------------------------

    def _declare(self) -> None:
        s = self.settings
        app = self.app
        sources = set(self.topology.sources)
        self.topics: dict[str, faust.TopicT] = {
            role: app.topic(
                topic.name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=topic.partitions,
                internal=topic.internal,
                # Source topics: Faust does not ack or commit them, the OffsetGuard does.
                acks=role not in sources,
            )
            for role, topic in self.topology.topics.items()
        }
        self._topic_names = {role: topic.name for role, topic in self.topology.topics.items()}
        for stage in self.topology.stages:
            self._agent(stage)

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
            self._rebalances += 1
            self._kept = await self._with_ends(self.revoke(revoked))

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
            self.guard.forget_deliveries()
            # Awaited by the agents too: fetching may resume before this handler ends.
            self._taking_back = asyncio.ensure_future(self._take_back(assigned))
            await self._taking_back

        @app.on_rebalance_complete.connect  # type: ignore[arg-type]
        async def on_recovered(app: faust.App, **kwargs: Any) -> None:
            # The tables are restored: build every owned partition's state now rather than at
            # its first message, so the live view is republished by a new owner even when no
            # message comes.
            await self.assign(self.app.consumer.assignment())

        @app.timer(interval=COMMIT_INTERVAL_S)
        async def commit_offsets() -> None:
            await self.commit()
            await self.unstall()

        @app.timer(interval=s.live_publish_interval_ms / 1000)
        async def publish_live() -> None:
            await self.publish_live()

        @app.task
        async def follow_live() -> None:
            await follow(s, self.view, self._stop)

    def _agent(self, stage: Stage) -> None:
        batch, wait = self.settings.batch_messages, self.settings.batch_wait_ms / 1000
        observe = stage is self.segment_stage  # latency from the events topic's timestamps

        async def agent(stream: Any) -> AsyncIterator[None]:
            async for events in stream.take_events(batch, within=wait):
                await self._taken_back()
                async with self._batch():
                    rebalances = self._rebalances
                    for tp, messages in (await self._admit(events)).items():
                        if self._rebalances != rebalances:
                            # Every partition starts again at its committed offset after a
                            # rebalance: the rest of this batch comes again.
                            break
                        async with self._processing(tp, messages):
                            stage.assigned(tp.partition, self._tables_of(stage, tp.partition))
                            out = stage.process(tp.partition, messages)
                            await self._perform(tp.partition, out)
                if observe:
                    self._observe_latency(events)
                yield None

        self.app.agent(self.topics[stage.source], name=stage.name)(agent)

    def _mount_pages(self) -> None:
        web_app: web.Application = cast(Any, self.app.web).web_app  # Faust's aiohttp driver
        router = web_app.router

        router.add_get("/metrics", metrics_handler(self.registry))
        for path, handler in self.pages.routes():
            router.add_get(path, handler)

        async def on_shutdown(_: Any) -> None:
            self._stop.set()
            self.pages.close()

        web_app.on_shutdown.append(on_shutdown)

    # --- offsets -------------------------------------------------------------------------------

    async def _admit(self, events: Iterable[faust.EventT]) -> dict[TP, list[Message]]:
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
        grouped: dict[TP, list[Message]] = defaultdict(list)
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
            if self.guard.known(tp) and self.guard.hole_suspected(tp):
                await self._look_for_hole(tp)
            # Each await may have seen the partition revoked.
            if self.guard.known(tp) and self.guard.should_seek(tp):
                await self._seek_back(tp)
        self._report_holes()
        return grouped

    async def _look_for_hole(self, tp: TP) -> None:
        """A gap that lasts: skip the offsets the log does not hold, if any."""
        expected = self.guard.expected(tp)
        kwargs = BrokerConnection.from_settings(self.settings).kafka_python_kwargs()
        first = await asyncio.to_thread(
            next_record_offset, kwargs, tp.topic, tp.partition, expected, HOLE_PROBE_S
        )
        if not self.guard.known(tp) or self.guard.expected(tp) != expected:
            return  # revoked (perhaps owned again) while the log was asked: the answer is old
        if first is not None and not self.guard.skip_to(tp, first):
            log.warning(
                "%s[%d]: offset %d is in the log but has not come for %.0f s: seeking back "
                "again",
                tp.topic, tp.partition, expected, self.guard.hole_grace_s,
            )  # fmt: skip

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
                "%s[%d]: offsets %d-%d are not in the log and are skipped (records deleted "
                "by retention before they were read, or a transaction marker)",
                tp.topic,
                tp.partition,
                hole.start,
                hole.end - 1,
            )
        self._holes_reported = len(self.guard.holes)

    @contextlib.asynccontextmanager
    async def _batch(self) -> AsyncIterator[None]:
        self._in_batch += 1
        self._no_batch.clear()
        try:
            yield
        finally:
            self._in_batch -= 1
            if not self._in_batch:
                self._no_batch.set()

    @contextlib.asynccontextmanager
    async def _processing(self, tp: TP, messages: list[Message]) -> AsyncIterator[None]:
        """On success the partition is done up to its last message; on failure it is re-admitted."""
        try:
            yield
        except BaseException:
            self.guard.rewind(tp)
            raise
        self.guard.done(tp, messages[-1][1] + 1)

    async def unstall(self) -> None:
        """Seek back an owned partition whose next messages are in the log but never come."""
        consumer = self.app.consumer
        for tp in list(self.guard.owned()):
            if not self.guard.known(tp):
                continue  # revoked while an earlier partition's seek waited
            try:
                highwater = consumer.highwater(tp)
            except Exception:
                continue
            if highwater is None or not self.guard.quiet(tp, highwater, STALL_S):
                continue
            position = await self._position(tp)
            if not self.guard.known(tp) or not self.guard.stalled(tp, highwater, position, STALL_S):
                continue
            if self.guard.should_seek(tp):
                log.warning(
                    "%s[%d]: offsets from %d up to %d are in the log but not coming: seeking "
                    "back to %d",
                    tp.topic, tp.partition, self.guard.expected(tp), highwater,
                    self.guard.expected(tp),
                )  # fmt: skip
                await self._seek_back(tp)

    async def _position(self, tp: TP) -> int | None:
        """The consumer's position: the offset after the last message it handed out."""
        try:
            return await asyncio.wait_for(self.app.consumer.position(tp), POSITION_WAIT_S)
        except (TimeoutError, IllegalStateError):
            return None  # being reset, or revoked: not known now

    async def _seek_back(self, tp: TP) -> None:
        consumer = cast(_Consumer, self.app.consumer)
        if not await consumer.seek_back(tp, self.guard.expected(tp)):
            # Revoked while the seek waited for the consumer's thread: its new owner starts
            # from the committed offset.
            self.guard.revoke(tp)

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

    def revoke(self, revoked: Iterable[TP]) -> dict[tuple[Stage, int], object]:
        """Stop owning partitions: whoever owns them next rebuilds their state, unless it
        is this worker and their changelogs did not change meanwhile. The states, per stage
        and partition."""
        kept: dict[tuple[Stage, int], object] = {}
        for tp in revoked:
            self.guard.revoke(tp)
            stage = self.topology.stage_of(tp.topic)
            if stage is not None:
                state = stage.revoked(tp.partition)
                if state is not None:
                    kept[(stage, tp.partition)] = state
                self._published_at.pop((stage, tp.partition), None)
        return kept

    def _changelog_partitions(self, stage: Stage, partition: int) -> list[tuple[str, int]]:
        return [(self.topology.changelogs[table], partition) for table in stage.tables]

    async def _changelog_ends(self, names: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The end offsets of changelog partitions; empty if the broker did not say in time."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(end_offsets, self._admin_client(), names, KEEP_WAIT_S),
                KEEP_WAIT_S + 1,
            )
        except Exception as exc:  # a broker away or slow: the states are rebuilt instead
            log.info("changelog end offsets not known (%r): states will be rebuilt", exc)
            return {}

    async def _with_ends(
        self, states: dict[tuple[Stage, int], object]
    ) -> dict[tuple[Stage, int], tuple[object, dict[tuple[str, int], int]]]:
        """Revoked states with their changelogs' end offsets once this worker's writes are
        in (Faust flushed the producer before the revoke; a write still to come moves an end
        offset, and that state is then rebuilt)."""
        if not states:
            return {}
        try:
            # An agent inside a batch finishes its partition's writes (the rest of its batch
            # is left); a state whose writes come later anyway is rebuilt (its end moved).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_batch.wait(), KEEP_WAIT_S)
            await asyncio.wait_for(self.app.producer.flush(), KEEP_WAIT_S)
        except Exception as exc:
            log.info("producer not flushed at the revoke (%r): states will be rebuilt", exc)
            return {}
        names = [n for stage, p in states for n in self._changelog_partitions(stage, p)]
        ends = await self._changelog_ends(names)
        out = {}
        for (stage, partition), state in states.items():
            mine = self._changelog_partitions(stage, partition)
            if all(name in ends for name in mine):
                out[(stage, partition)] = (state, {name: ends[name] for name in mine})
        log.info("%d of %d revoked state(s) kept until the assignment", len(out), len(states))
        return out

    async def _take_back(self, assigned: Iterable[TP]) -> None:
        """Hand back to their stages the revoked states of partitions assigned again whose
        changelogs no one wrote since the revoke (a write by another owner moves an end
        offset); the others are dropped, and rebuilt when first needed."""
        kept, self._kept = self._kept, {}
        back = {
            (stage, tp.partition)
            for tp in assigned
            if (stage := self.topology.stage_of(tp.topic)) is not None
            and (stage, tp.partition) in kept
        }
        if not back:
            return
        names = [n for stage, p in back for n in self._changelog_partitions(stage, p)]
        ends = await self._changelog_ends(names)
        taken = []
        for stage, partition in sorted(back, key=lambda k: (k[0].name, k[1])):
            state, at_revoke = kept[(stage, partition)]
            if all(ends.get(name) == end for name, end in at_revoke.items()):
                stage.assigned(partition, self._tables_of(stage, partition), state)
                taken.append(f"{stage.name}[{partition}]")
        log.info(
            "state kept across the rebalance for %s; %d partition(s) to rebuild",
            ", ".join(taken) or "no partition", len(back) - len(taken),
        )  # fmt: skip

    async def _taken_back(self) -> None:
        task = self._taking_back
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def assign(self, assignment: Iterable[TP]) -> None:
        """Start owning partitions: where the group left them, and their state rebuilt (or
        kept). An events partition's live state includes every message before its committed
        offset, which is the version it is published at until new messages come."""
        await self._taken_back()
        owned = [tp for tp in assignment if self.topology.stage_of(tp.topic) is not None]
        fresh = {tp for tp in owned if not self.guard.known(tp)}
        self.guard.resumed(owned)
        if fresh:
            await self._start(fresh)
        for tp in owned:
            stage = self.topology.stage_of(tp.topic)
            assert stage is not None
            stage.assigned(tp.partition, self._tables_of(stage, tp.partition))
            if stage in self.topology.publishing and self.guard.known(tp):
                cast(Publishing, stage).publisher.includes(
                    tp.partition, self.guard.expected(tp) - 1
                )

    async def publish_live(self) -> None:
        """Publish each owned partition that changed since its last publication, or whose
        last one is older than the heartbeat. Not part of any commit: a new owner rebuilds
        the state and publishes it again."""
        live = self.topology.topics[LIVE]
        now = time.monotonic()
        heartbeat = self.settings.live_heartbeat_s
        lag = self.lag()
        for stage in self.topology.publishing:
            changed = stage.publisher.changed
            source = self._topic_names[stage.source]
            for partition in stage.owned():
                if partition not in stage.owned():
                    # Revoked while an earlier partition's publication waited on the producer
                    # (seconds when the broker is down): its new owner publishes it.
                    continue
                last = self._published_at.get((stage, partition))
                behind = lag.get((source, partition), 0)
                if not publication_due(partition in changed, behind, last, now, heartbeat):
                    continue
                # A partition's messages to one partition of the live topic, in order: a
                # reader sees a new day part just before the recent part it goes with.
                target = partition % live.partitions
                for key, value in stage.publications(partition, int(time.time() * 1000)):
                    await self.app.producer.send(live.name, key, value, target, None, None)
                self._published_at[(stage, partition)] = now

    # --- tables and output -------------------------------------------------------------------

    def _tables_of(self, stage: Stage, partition: int) -> Mapping[str, TableItems]:
        """The partition's entries of each of the stage's tables, read from the changelogs
        only if the stage asks (it does when it rebuilds the partition's state), all of its
        tables in one read. The read blocks the event loop, on purpose: nothing else of this
        worker may touch the partition meanwhile, and the consumer's heartbeats go on in its
        own thread."""
        changelogs = self.topology.changelogs
        read: dict[str, dict[bytes, bytes]] = {}

        def items(table: str) -> Iterable[tuple[bytes, bytes]]:
            if not read:
                names = [(changelogs[t], partition) for t in stage.tables]
                kwargs = BrokerConnection.from_settings(self.settings).kafka_python_kwargs()
                started = time.monotonic()
                values = read_changelogs(kwargs, names)
                read.update({t: values[(changelogs[t], partition)] for t in stage.tables})
                log.info(
                    "%s[%d]: state read from %s in %.1f s (%s keys)",
                    stage.name, partition, ", ".join(changelogs[t] for t in stage.tables),
                    time.monotonic() - started, sum(len(v) for v in read.values()),
                )  # fmt: skip
            return read[table].items()

        return {table: partial(items, table) for table in stage.tables}

    async def _perform(self, partition: int, out: Output) -> None:
        """Write the stage's table values, then hand table changelogs and output to the producer.

        Every key a stage writes belongs to the partition it consumed (`stage`), so its
        changelog goes to that partition. Delivery is checked in `commit`, before any offset
        is committed.
        """
        send = self.app.producer.send
        pending = self._pending
        changelogs = self.topology.changelogs
        for table_name, key, value in out.writes:
            # A value of None is a tombstone: compaction drops the key.
            pending.append(await send(changelogs[table_name], key, value, partition, None, None))
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


def _app(settings: Settings, web_port: int | None) -> App:
    connection = BrokerConnection.from_settings(settings)
    datadir = Path(settings.state_dir) / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return App(
        settings.app_id,
        **connection.faust_kwargs(),
        store="memory://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.broker_session_timeout_s,
        consumer_group_instance_id=settings.worker_instance_id or None,
        broker_heartbeat_interval=settings.broker_session_timeout_s / 5,
        producer_acks=-1,
        producer_compression_type=None if settings.compression == "none" else settings.compression,
        web_enabled=True,
        web_bind=settings.web_host,
        web_port=web_port if web_port is not None else settings.web_port,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )


def worker_for(runtime: FaustRuntime, loglevel: str = "warning") -> Any:
    """A Faust worker whose root logger really stays at `loglevel`.

    Faust's terminal spinner leaves the root logger at DEBUG, so aiokafka and Faust build a
    debug record for every message produced (10 % of the worker's CPU, measured with
    py-spy); pinning the level drops them before they are made.
    """
    from faust.worker import Worker

    class _Worker(Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            logger.setLevel(level or logging.WARNING)
            # "producer buffer full" is Faust telling itself to wait for the producer, once
            # per large batch of table writes: back-pressure working, not a problem.
            logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)

    return _Worker(runtime.app, loglevel=loglevel, quiet=True)
