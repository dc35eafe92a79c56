"""`JoinGuard` on the real broker: a subscribed kafka-python consumer whose polls time out
inside its group join still ends up holding its partitions.

With back-to-back 1 ms polls kafka-python 3.0.12 strands the member on every start (its first
join assigns nothing, since the topics' partitions are not known yet; the rejoin that
follows finishes after a poll gave up on it and is never applied). The sink polls for
0.2-0.5 s, where a loaded machine hits the same gap about one start in 20.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from pipeline.kafka.admin import TopicSpec, ensure_topics
from pipeline.kafka.join_guard import JoinGuard
from tests.progress_deadline import ProgressDeadline

pytestmark = pytest.mark.kafka

PARTITIONS = 4
TOPICS = 3
SHORT_POLL_MS = 1
# Without the guard every start of this loop stranded (measured: 5 of 5, each left
# rebalancing with 0 of 12 partitions), so three of three holding them is the guard's doing.
STARTS = 3


@pytest.fixture
def topics(kafka_broker: str, topic_prefix: str) -> Iterator[list[str]]:
    """Three topics of four partitions, created before anyone subscribes; deleted after."""
    names = [f"{topic_prefix}.join-{i}" for i in range(TOPICS)]
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="ccpipe-test")
    ensure_topics(admin, [TopicSpec(name, PARTITIONS) for name in names])
    try:
        yield names
    finally:
        admin.delete_topics(names)
        admin.close()


def held_after_short_polls(consumer: KafkaConsumer, guard: JoinGuard, quiet_s: float) -> int:
    """Poll for 1 ms at a time until the consumer holds every partition, or until neither
    its partitions nor its group state have changed for `quiet_s`; how many it holds."""
    patience = ProgressDeadline(quiet_s=quiet_s)
    while True:
        consumer.poll(timeout_ms=SHORT_POLL_MS)
        guard.check()
        held = len(consumer.assignment())
        if held == PARTITIONS * TOPICS:
            return held
        if patience.expired((held, consumer.group_metadata().state, guard.rejoins)):
            return held


@pytest.mark.parametrize("start", range(1, STARTS + 1))
def test_a_consumer_polling_for_a_millisecond_still_gets_its_partitions(
    kafka_broker: str, topics: list[str], topic_prefix: str, start: int
) -> None:
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker,
        group_id=f"{topic_prefix}-join-{start}",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
    )
    guard = JoinGuard(consumer)
    try:
        consumer.subscribe(topics)
        # Quiet for longer than the guard's hold: it gets the chance to act before this gives up.
        held = held_after_short_polls(consumer, guard, quiet_s=30.0)
        assert held == PARTITIONS * TOPICS, (
            f"holds {held} of {PARTITIONS * TOPICS} partitions, group state "
            f"{consumer.group_metadata().state}, {guard.rejoins} rejoins asked"
        )
    finally:
        consumer.close(autocommit=False)
