"""The Kafka fixtures (tests/kafka/broker.py) and the worker processes (tests/stream)."""

from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, topic_prefix
from tests.stream.worker_process import worker_group

__all__ = ["kafka_broker", "kafka_sasl", "kafka_settings", "topic_prefix", "worker_group"]
