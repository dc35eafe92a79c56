"""Following the live topic from its start into a `CentreView`.

No consumer group: every partition of the topic is assigned to this reader, read from the
beginning, then followed. Nothing is committed; a restarted reader reads it all again, which
is what makes a wallboard process stateless. The topic is created by the workers; a reader
that starts first waits for it.

Compaction keeps the latest publication of every key, but only in closed segments, and the
newest one (the topic's `segment.ms`, pipeline/kafka/admin.py) is never cleaned: a reader
starting cold finds every publication since the last clean. So what it reads on the way in
(up to the ends the partitions had when it started) is applied as the fully compacted topic
would be: the last message of each key only (`LatestPerKey`). Measured: a worker restarted
at the 10th minute of the soak spent 60 % of its event loop for 70 s applying 10 minutes of
publications one by one, while its own partitions fell behind (docs/reliability.md).
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
        tps = await _from_start(consumer, settings)
        await _read_to(consumer, await consumer.end_offsets(tps), view, stop=stop)
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
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while settings.live_topic not in await consumer.topics():
            if loop.time() - started > min(deadline_s, 10.0):
                raise LookupError(f"no live topic {settings.live_topic} on {settings.broker}")
            await asyncio.sleep(0.2)
        ends = await consumer.end_offsets(await _from_start(consumer, settings))
        return await _read_to(consumer, ends, view, deadline_s=deadline_s)
    finally:
        await consumer.stop()


class LatestPerKey:
    """The last value of each key in a run of the live topic's messages, in the order of those
    last messages: what the run would be once compacted, and all a reader needs of it (each
    publication replaces its key's before it; docs/live.md). A message without a key is not
    a publication: kept, for the view to refuse and count."""

    def __init__(self) -> None:
        self._values: dict[object, bytes | None] = {}
        self.read = 0

    def add(self, key: bytes | None, value: bytes | None) -> None:
        self.read += 1
        slot: object = key if key is not None else object()
        self._values.pop(slot, None)  # re-inserted: the order is that of the last messages
        self._values[slot] = value

    def values(self) -> list[bytes | None]:
        return list(self._values.values())


async def _read_to(
    consumer: Any,
    ends: dict[Any, int],
    view: CentreView,
    deadline_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Read every partition up to `ends`, then apply the last message of each key to `view`;
    how many messages were read. TimeoutError after `deadline_s` without a message (None:
    wait as long as it takes, or until `stop`)."""
    latest = LatestPerKey()
    loop = asyncio.get_running_loop()
    last_progress = loop.time()
    while await _behind(consumer, ends):
        if stop is not None and stop.is_set():
            return latest.read
        batches: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                latest.add(record.key, record.value)
        if batches:
            last_progress = loop.time()
        elif deadline_s is not None and loop.time() - last_progress > deadline_s:
            topics = sorted({tp.topic for tp in ends})
            raise TimeoutError(f"the live topic {', '.join(topics)} stopped moving")
    values = latest.values()
    view.superseded(latest.read - len(values))
    for value in values:
        view.apply(value)
    return latest.read


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
