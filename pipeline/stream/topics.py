"""Creating the worker's topics: the public ones, its repartition topics and table changelogs.

Created with their partitions before Faust starts (`ccpipe topics create`, and the worker at
start-up): a worker whose consumer subscribed before Faust had declared them was seen to
settle into a group without them, leaving them unassigned for minutes.
"""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.kafka.admin import EVENTS_RETENTION_MS, TopicSpec
from pipeline.stream.topology import TABLES, changelog_topic_name, topics

CHANGELOG_SEGMENT_MS = 10 * 60 * 1000


def internal_topics(settings: Settings, partitions: int | None = None) -> list[TopicSpec]:
    """The worker's own topics: repartition topics (deleted by retention) and changelogs."""
    count = int(partitions if partitions is not None else settings.partitions)
    delete = {"cleanup.policy": "delete", "retention.ms": str(EVENTS_RETENTION_MS)}
    specs = [TopicSpec(t.name, count, delete) for t in topics(settings).values() if t.internal]
    # A restore reads a changelog from its start: compaction bounds that to the live keys
    # (and drops the contacts retention deleted), but it only cleans closed segments, and
    # Kafka's default rolls one after 7 days. The soak's restores grew with every write made.
    changelog = {"cleanup.policy": "compact", "segment.ms": str(CHANGELOG_SEGMENT_MS)}
    specs += [
        TopicSpec(changelog_topic_name(settings, table), count, changelog) for table in TABLES
    ]
    return specs


def ensure_worker_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create what is missing of every topic the worker reads or writes; return the problems
    (a topic with another partition count or cleanup policy), empty when all is well."""
    from kafka import KafkaAdminClient

    from pipeline.kafka.admin import ensure_topics, pipeline_topics
    from pipeline.kafka.connection import BrokerConnection

    connection = BrokerConnection.from_settings(settings)
    timeout_ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        client_id=f"{settings.app_id}-topics",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        **connection.kafka_python_kwargs(),
    )
    try:
        specs = pipeline_topics(settings) + internal_topics(settings)
        outcomes = ensure_topics(admin, specs, timeout_s=timeout_s)
    finally:
        admin.close()
    return [o.describe() for o in outcomes if o.status == "mismatch"]
