"""The worker's own topics: repartition topics and table changelogs, named by the app id.

Created with their partitions before Faust starts (`ccpipe topics create`, and the worker at
start-up): a worker whose consumer subscribed before Faust had declared them was seen to
settle into a group without them, leaving them unassigned for minutes.
"""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.kafka.admin import EVENTS_RETENTION_MS, TopicSpec
from pipeline.stream import stages

TABLES = (stages.CONTACTS, stages.AGENTS, stages.CUSTOMERS, stages.FCR_MARKS, stages.HELD)


def internal_topic_names(settings: Settings) -> dict[str, str]:
    """Names carry the app id: two apps on one broker must not share a repartition topic."""
    return {
        stages.FCR: f"{settings.app_id}-fcr-updates",
        stages.PARTIALS: f"{settings.app_id}-interval-partials",
    }


def changelog_topic_name(settings: Settings, table: str) -> str:
    """Faust's name for a table's changelog (`Table._changelog_topic_name`)."""
    return f"{settings.app_id}-{table}-changelog"


def internal_topics(settings: Settings, partitions: int | None = None) -> list[TopicSpec]:
    count = int(partitions if partitions is not None else settings.partitions)
    delete = {"cleanup.policy": "delete", "retention.ms": str(EVENTS_RETENTION_MS)}
    specs = [TopicSpec(name, count, delete) for name in internal_topic_names(settings).values()]
    specs += [
        TopicSpec(changelog_topic_name(settings, table), count, {"cleanup.policy": "compact"})
        for table in TABLES
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
