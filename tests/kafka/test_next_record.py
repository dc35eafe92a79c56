"""`next_record_offset` on the real broker: a gap the log still holds is no hole; records
deleted before they were read are one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from pipeline.kafka.next_record import next_record_offset

pytestmark = pytest.mark.kafka

RECORDS = 10


@pytest.fixture
def topic(kafka_broker: str, topic_prefix: str) -> Iterator[str]:
    """A one-partition topic holding offsets 0-9; deleted afterwards."""
    name = f"{topic_prefix}.next-record"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="ccpipe-test")
    admin.create_topics([NewTopic(name, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    for i in range(RECORDS):
        producer.send(name, str(i).encode(), partition=0)
    producer.flush()
    producer.close()
    try:
        yield name
    finally:
        admin.delete_topics([name])
        admin.close()


def test_an_offset_the_log_holds_is_its_own_next_record(kafka_broker: str, topic: str) -> None:
    kwargs = {"bootstrap_servers": kafka_broker}
    assert next_record_offset(kwargs, topic, 0, 4, deadline_s=20) == 4


def test_records_deleted_before_they_were_read_are_skipped_to_the_log_start(
    kafka_broker: str, topic: str
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="ccpipe-test")
    try:
        admin.delete_records({TopicPartition(topic, 0): 6})
    finally:
        admin.close()
    kwargs = {"bootstrap_servers": kafka_broker}
    assert next_record_offset(kwargs, topic, 0, 2, deadline_s=20) == 6


def test_nothing_past_the_end_is_none_at_the_deadline(kafka_broker: str, topic: str) -> None:
    kwargs = {"bootstrap_servers": kafka_broker}
    assert next_record_offset(kwargs, topic, 0, RECORDS, deadline_s=1) is None
