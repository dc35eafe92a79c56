"""The Kafka fixtures (tests/kafka/broker.py) and the worker processes of the stream tests."""

from __future__ import annotations

from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, own_broker, topic_prefix
from tests.stream.worker_process import worker_group

__all__ = [
    "kafka_broker",
    "kafka_sasl",
    "kafka_settings",
    "own_broker",
    "topic_prefix",
    "worker_group",
]
