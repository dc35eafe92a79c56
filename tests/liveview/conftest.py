"""The Kafka fixtures (tests/kafka/broker.py) and the worker processes of the stream tests."""

from tests.kafka.broker import kafka_broker, kafka_settings, topic_prefix

__all__ = ["kafka_broker", "kafka_settings", "topic_prefix"]
