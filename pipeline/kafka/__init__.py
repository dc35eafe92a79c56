"""Kafka for ccpipe: client settings with security, topic creation, batched production."""
