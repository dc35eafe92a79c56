"""`read_changelogs` on the real broker: the latest value of each key per partition, a key
whose latest record is a tombstone left out, partitions read together, an empty one too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from pipeline.kafka.changelog import read_changelogs

pytestmark = pytest.mark.kafka


@pytest.fixture
def topics(kafka_broker: str, topic_prefix: str) -> Iterator[tuple[str, str]]:
    """Two 2-partition topics; deleted afterwards."""
    names = (f"{topic_prefix}.changelog-a", f"{topic_prefix}.changelog-b")
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="ccpipe-test")
    admin.create_topics([NewTopic(name, 2, 1) for name in names])
    try:
        yield names
    finally:
        admin.delete_topics(list(names))
        admin.close()


def test_the_latest_value_of_each_key_and_tombstones_forget(
    kafka_broker: str, topics: tuple[str, str]
) -> None:
    a, b = topics
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    # 3,000 writes over 100 keys of a's partition 1, each key's latest the last i for it;
    # every key ending in 7 then deleted. One key of b's partition 0. a's partition 0 and b's
    # partition 1 stay empty (b's 1 is not asked for).
    for i in range(3000):
        producer.send(a, str(i).encode(), key=f"k{i % 100}".encode(), partition=1)
    for k in range(7, 100, 10):
        producer.send(a, None, key=f"k{k}".encode(), partition=1)
    producer.send(b, b"only", key=b"x", partition=0)
    producer.flush()
    producer.close()

    read = read_changelogs({"bootstrap_servers": kafka_broker}, [(a, 0), (a, 1), (b, 0)])

    expected = {f"k{k}".encode(): str(2900 + k).encode() for k in range(100) if k % 10 != 7}
    assert read == {(a, 0): {}, (a, 1): expected, (b, 0): {b"x": b"only"}}
