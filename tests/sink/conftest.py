"""Fixtures of the sink tests: chdb stores and Debian's clickhouse-server (tests/store), the
Kafka broker (tests/kafka) and stream workers as child processes (tests/stream)."""

from __future__ import annotations

from tests.kafka.broker import kafka_broker, kafka_settings, topic_prefix
from tests.store.conftest import clickhouse_server, empty_store, running_server, store
from tests.stream.worker_process import worker_group

__all__ = [
    "clickhouse_server",
    "empty_store",
    "kafka_broker",
    "kafka_settings",
    "running_server",
    "store",
    "topic_prefix",
    "worker_group",
]
