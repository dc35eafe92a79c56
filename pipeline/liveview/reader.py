"""Following the live topic from its start into a `CentreView`.

No consumer group: every partition of the topic is assigned to this reader, read from the
beginning (the compacted topic holds the latest publication of every source), then followed.
Nothing is committed; a restarted reader reads it all again, which is what makes a wallboard
process stateless. The topic is created by the workers; a reader that starts first waits for
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pipeline.config import Settings
from pipeline.kafka.connection import BrokerConnection
from pipeline.liveview.view import CentreView

log = logging.getLogger(__name__)
# How long a fetch may wait for new messages: the wallboard's latency budget is a second.
FETCH_MAX_WAIT_MS = 100
RETRY_S = 1.0


async def follow(settings: Settings, view: CentreView, stop: asyncio.Event) -> None:
    """Read the live topic into `view` until `stop` is set; a broker that goes away is
    waited for (the view keeps what it has meanwhile, and marks it stale as it ages)."""
    from aiokafka.errors import KafkaError

    while not stop.is_set():
        try:
            await _follow(settings, view, stop)
        except KafkaError as exc:
            log.warning("reading the live topic %s: %s; again in %.0f s", settings.live_topic,
                        exc, RETRY_S)  # fmt: skip
            await _pause(stop, RETRY_S)


async def _follow(settings: Settings, view: CentreView, stop: asyncio.Event) -> None:
    consumer = await _started(settings, "live-reader")
    try:
        if not await _exists(consumer, settings.live_topic, stop):
            return
        await _from_start(consumer, settings)
        while not stop.is_set():
            batches: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    view.apply(record.value)
    finally:
        await consumer.stop()


async def read_to_end(settings: Settings, view: CentreView, deadline_s: float = 60.0) -> int:
    """Read the live topic from its start to the end it had when this began, into `view`:
    the whole centre's view now, once (`ccpipe check --live`). How many messages; raises
    TimeoutError if the end is not reached within `deadline_s` of no progress."""
    consumer = await _started(settings, "live-check")
    read = 0
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while settings.live_topic not in await consumer.topics():
            if loop.time() - started > min(deadline_s, 10.0):
                raise LookupError(f"no live topic {settings.live_topic} on {settings.broker}")
            await asyncio.sleep(0.2)
        ends = await consumer.end_offsets(await _from_start(consumer, settings))
        last_progress = loop.time()
        while await _behind(consumer, ends):
            batches: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    view.apply(record.value)
                    read += 1
            if batches:
                last_progress = loop.time()
            elif loop.time() - last_progress > deadline_s:
                raise TimeoutError(f"the live topic {settings.live_topic} stopped moving")
    finally:
        await consumer.stop()
    return read


async def _started(settings: Settings, role: str) -> Any:
    """A started consumer of no group (nothing is ever committed)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        client_id=f"{settings.app_id}-{role}",
        **BrokerConnection.from_settings(settings).aiokafka_kwargs(),
    )
    await consumer.start()
    return consumer


async def _from_start(consumer: Any, settings: Settings) -> list[Any]:
    """Every partition of the live topic assigned, from its start. The workers create the
    topic with the pipeline's partition count, and refuse to start when it has another
    (pipeline/stream/topics.py)."""
    from aiokafka import TopicPartition

    tps = [TopicPartition(settings.live_topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return tps


async def _behind(consumer: Any, ends: dict[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def _exists(consumer: Any, topic: str, stop: asyncio.Event) -> bool:
    """True once the topic exists; False if stopped first."""
    while not stop.is_set():
        if topic in await consumer.topics():
            return True
        log.info("waiting for the live topic %s", topic)
        await _pause(stop, RETRY_S)
    return False


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
