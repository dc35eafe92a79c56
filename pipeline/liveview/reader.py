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
    from aiokafka import AIOKafkaConsumer, TopicPartition

    connection = BrokerConnection.from_settings(settings)
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        client_id=f"{settings.app_id}-live-reader",
        **connection.aiokafka_kwargs(),
    )
    await consumer.start()
    try:
        if not await _exists(consumer, settings.live_topic, stop):
            return
        # The workers create the topic with the pipeline's partition count, and refuse to
        # start when it has another (pipeline/stream/topics.py).
        tps = [TopicPartition(settings.live_topic, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not stop.is_set():
            batches: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    view.apply(record.value)
    finally:
        await consumer.stop()


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
