"""The sink process, wired in one place: store, schema, metrics, SQL endpoint, consumer, loop.

`run_sink` is what `ccpipe sink` runs; everything it builds is closed on the way out, and
SIGTERM or SIGINT ends it cleanly (what is held is written if the store takes it at once).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry, start_http_server

from pipeline.config import ConfigError, Settings
from pipeline.sink.consumer import SinkLoop, build_consumer, sink_group
from pipeline.sink.metrics import SinkMetrics
from pipeline.sink.owner import SqlEndpoint
from pipeline.sink.policy import Backoff, FlushPolicy
from pipeline.sink.rows import stream_routes
from pipeline.store import Store, StoreBusy, StoreError, StoreUnavailable, open_store
from pipeline.store.migrations import MigrationError, load_migrations, migrate
from pipeline.store.url import ChdbURL, parse_store_url

log = logging.getLogger("ccpipe.sink")


@dataclass(frozen=True)
class SinkOptions:
    """What `ccpipe sink` takes beside the settings (which hold the batch size and ports)."""

    group: str | None = None
    migrate: bool = True
    backoff: Backoff = field(default_factory=Backoff)


def flush_policy(settings: Settings) -> FlushPolicy:
    """The sink's batching, from `sink_batch_rows` and `sink_batch_seconds`; ValueError when
    they cannot be used."""
    return FlushPolicy(rows=settings.sink_batch_rows, seconds=settings.sink_batch_seconds)


def run_sink(settings: Settings, options: SinkOptions) -> int:
    policy = flush_policy(settings)
    stopping = threading.Event()
    loop: SinkLoop | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if loop is not None:
            loop.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    try:
        store = open_store(settings.store)
    except StoreBusy as exc:
        print(f"ccpipe sink: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"ccpipe sink: {exc}", file=sys.stderr)
        return 2
    closers: list[Any] = [store.close]
    try:
        registry = CollectorRegistry()
        metrics = SinkMetrics.create(registry)
        where = []
        port = settings.sink_metrics_port  # 0: no /metrics
        if port:
            server, _ = start_http_server(port, settings.web_host, registry)
            closers.append(server.shutdown)
            where.append(f"metrics on http://{settings.web_host}:{port}/metrics")
        if not _store_ready(store, metrics, options, stopping):
            return 0 if stopping.is_set() else 1
        location = parse_store_url(settings.store)
        if isinstance(location, ChdbURL) and not location.in_memory:
            endpoint = SqlEndpoint(store, location.path, settings.sink_sql_port)
            endpoint.start()
            closers.append(endpoint.close)
            where.append(f"read-only SQL on {endpoint.url}")
        group = options.group or sink_group(settings)
        try:
            consumer = build_consumer(settings, group)
        except (KafkaError, ConfigError) as exc:
            log.error("cannot consume from Kafka at %s: %s", settings.broker, exc)
            return 1
        loop = SinkLoop(consumer, stream_routes(settings), store, metrics, policy, options.backoff)
        if stopping.is_set():
            loop.stop()
        loop.subscribe()
        log.info(
            "consuming %s as group %s into %s, batches of %d rows or %.1f s; %s",
            ", ".join(loop.topics),
            group,
            store.display_url,
            policy.rows,
            policy.seconds,
            "; ".join(where) or "no metrics endpoint",
        )
        try:
            loop.run()
        except StoreError as exc:
            log.error("the store refused a batch (%s); stopping without committing it", exc)
            return 1
        except KafkaError as exc:
            log.error("Kafka failed (%s); stopping: what was not committed is read again", exc)
            return 1
        log.info("stopped")
        return 0
    finally:
        for close in reversed(closers):
            close()


def _store_ready(
    store: Store, metrics: SinkMetrics, options: SinkOptions, stopping: threading.Event
) -> bool:
    """Wait until the store answers (with backoff), then migrate it; False if it cannot be."""
    attempt = 0
    while True:
        try:
            if options.migrate:
                done = migrate(store, load_migrations())
                if done:
                    log.info("applied %d migrations to %s", len(done), store.display_url)
            else:
                store.query("SELECT 1")
            metrics.store_up.set(1)
            return True
        except StoreUnavailable as exc:
            metrics.store_up.set(0)
            delay = options.backoff.delay(attempt)
            if attempt == 0:
                log.warning("ClickHouse unreachable at start (%s); retrying with backoff", exc)
            attempt += 1
            if stopping.wait(delay):
                return False
        except (MigrationError, StoreError) as exc:
            log.error("%s: %s", store.display_url, exc)
            return False
