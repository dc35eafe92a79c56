"""The Kafka test fixtures; other packages import them from tests.kafka.broker."""

from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, topic_prefix

__all__ = ["kafka_broker", "kafka_sasl", "kafka_settings", "topic_prefix"]
