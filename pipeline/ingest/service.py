"""The ingest process, wired in one place: topics, clients, metrics, webhook, loop, signals.

`run_ingest` is what `ccpipe ingest` runs. Everything runs on one asyncio loop: the aiokafka
consumer and producer, the state reader, and, with `--http`, the TaskRouter webhook, which
shares the producer. SIGTERM or SIGINT ends it cleanly: what was read is checkpointed, the
group is left, the producer flushed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.config import ConfigError, Settings
from pipeline.ingest.loop import IngestLoop, Topics
from pipeline.ingest.metrics import IngestMetrics
from pipeline.ingest.records import Reader
from pipeline.ingest.state import MAX_STATE_BYTES, StateTopic
from pipeline.kafka.connection import BrokerConnection

log = logging.getLogger("ccpipe.ingest")

# Fetch a lot at once: single events are small and a round trip is the cost.
FETCH_MAX_BYTES = 16 * 1024 * 1024
PARTITION_FETCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class IngestOptions:
    make_reader: Callable[[], Reader]
    key_of: Callable[[bytes], bytes | None] | None = None  # with --http: the record's key
    http: bool = False
    metrics_port: int = 0  # 0: no /metrics


def run_ingest(settings: Settings, options: IngestOptions) -> int:
    try:
        problems = _ensure_topics(settings)
    except Exception as exc:  # the broker is not there, or refused: say so and stop
        print(f"ccpipe ingest: cannot prepare the topics on {settings.broker}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    if problems:
        for problem in problems:
            print(f"ccpipe ingest: {problem}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(settings, options))
    except ConfigError as exc:
        print(f"ccpipe ingest: {exc}", file=sys.stderr)
        return 2


async def _serve(settings: Settings, options: IngestOptions) -> int:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.errors import KafkaError
    from prometheus_client import CollectorRegistry, start_http_server

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    registry = CollectorRegistry()
    metrics = IngestMetrics.create(registry)
    signer = None
    if options.http:
        from pipeline.ingest.signature import TwilioSigner
        from pipeline.ingest.webhook import auth_token

        signer = TwilioSigner(auth_token(settings))
    closers: list[Callable[[], Any]] = []
    if options.metrics_port:
        server, _ = start_http_server(options.metrics_port, settings.web_host, registry)
        closers.append(server.shutdown)
    kwargs = BrokerConnection.from_settings(settings).aiokafka_kwargs()
    producer = AIOKafkaProducer(
        client_id="ccpipe-ingest",
        acks="all",
        linger_ms=5,
        max_batch_size=1024 * 1024,
        max_request_size=MAX_STATE_BYTES + 64 * 1024,
        **kwargs,
    )
    consumer = AIOKafkaConsumer(
        group_id=settings.ingest_group,
        client_id="ccpipe-ingest",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.broker_session_timeout_s * 1000,
        heartbeat_interval_ms=settings.broker_session_timeout_s * 200,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        **kwargs,
    )
    state_reader = AIOKafkaConsumer(
        client_id="ccpipe-ingest-state", enable_auto_commit=False, **kwargs
    )
    started: list[Any] = []
    runner = None
    try:
        for client in (producer, state_reader, consumer):
            await client.start()
            started.append(client)
        event_partitions = len(await producer.partitions_for(settings.events_topic))
        state_partitions = len(await producer.partitions_for(settings.ingest_state_topic))
        ingest = IngestLoop(
            consumer,
            producer,
            Topics(settings.ingest_topic, settings.events_topic, settings.dlq_topic),
            options.make_reader,
            metrics,
            event_partitions,
            StateTopic(state_reader, producer, settings.ingest_state_topic, state_partitions),
            linger_s=settings.ingest_linger_ms / 1000,
        )
        ingest.subscribe()
        if signer is not None:
            runner = await _start_webhook(settings, options, signer, producer, metrics)
        log.info(
            "ingesting %s as group %s into %s%s",
            settings.ingest_topic,
            settings.ingest_group,
            settings.events_topic,
            f"; TaskRouter callbacks on port {settings.webhook_port}" if runner else "",
        )
        await ingest.run(stop)
        return 0
    except KafkaError as exc:
        log.error("Kafka failed (%s); stopping: what was not committed is read again", exc)
        return 1
    finally:
        if runner is not None:
            await runner.cleanup()
        for client in reversed(started):
            await client.stop()
        for close in closers:
            close()


async def _start_webhook(
    settings: Settings, options: IngestOptions, signer: Any, producer: Any, metrics: IngestMetrics
) -> Any:
    from aiohttp import web

    from pipeline.ingest.webhook import TaskRouterWebhook

    assert options.key_of is not None
    webhook = TaskRouterWebhook(
        signer,
        producer,
        settings.ingest_topic,
        options.key_of,
        metrics,
        settings.webhook_url,
        settings.webhook_max_body_bytes,
    )
    runner = web.AppRunner(webhook.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.webhook_port).start()
    return runner


def _ensure_topics(settings: Settings) -> list[str]:
    """Create what is missing of the topics ingest reads and writes; return the mismatches."""
    from kafka import KafkaAdminClient

    from pipeline.ingest.topics import ingest_topics
    from pipeline.kafka.admin import ensure_topics, pipeline_topics

    connection = BrokerConnection.from_settings(settings)
    admin = KafkaAdminClient(client_id="ccpipe-ingest-topics", **connection.kafka_python_kwargs())
    try:
        outcomes = ensure_topics(admin, pipeline_topics(settings) + ingest_topics(settings))
    finally:
        admin.close()
    return [o.describe() for o in outcomes if o.status == "mismatch"]
