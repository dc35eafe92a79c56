"""The Kafka fixtures for the live Prometheus test (tests/kafka/broker.py)."""

from tests.kafka.broker import kafka_broker, kafka_settings, topic_prefix

__all__ = ["kafka_broker", "kafka_settings", "topic_prefix"]
