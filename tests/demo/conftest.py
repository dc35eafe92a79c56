"""The real Kafka broker fixtures (tests/kafka/broker.py), for `ccpipe demo --broker`."""

from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, topic_prefix

__all__ = ["kafka_broker", "kafka_sasl", "kafka_settings", "topic_prefix"]
