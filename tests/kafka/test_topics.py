"""`ccpipe topics create` against the real broker: partitions, retention, idempotence."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.cli import main
from pipeline.config import Settings
from pipeline.kafka.admin import (
    EVENTS_RETENTION_MS,
    LIVE_SEGMENT_MS,
    ensure_topics,
    pipeline_topics,
)
from pipeline.stream.topics import internal_topics
from pipeline.stream.topology import changelog_topic_name

pytestmark = pytest.mark.kafka


@pytest.fixture
def admin(kafka_broker: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka_broker, client_id="ccpipe-test")
    yield client
    client.close()


@pytest.fixture
def topic_env(monkeypatch: pytest.MonkeyPatch, kafka_settings: Settings) -> Settings:
    """The CLI reads its settings from the environment: point it at this test's topics."""
    prefix = kafka_settings.events_topic.removesuffix(".cc.events")
    settings = msgspec.structs.replace(kafka_settings, app_id=f"{prefix}-ccpipe")
    names = (
        "broker",
        "events_topic",
        "dlq_topic",
        "intervals_topic",
        "segments_topic",
        "live_topic",
        "app_id",
    )
    for name in names:
        monkeypatch.setenv(f"CCPIPE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    return settings


def topic_names(settings: Settings) -> list[str]:
    """The public topics, then the workers' own (repartition topics and table changelogs)."""
    return [
        settings.events_topic,
        settings.dlq_topic,
        settings.intervals_topic,
        settings.segments_topic,
        settings.live_topic,
        *(spec.name for spec in internal_topics(settings)),
    ]


def configs(admin: KafkaAdminClient, topic: str) -> dict[str, str]:
    described = admin.describe_configs(
        [
            ConfigResource(
                ConfigResourceType.TOPIC,
                topic,
                configs=["cleanup.policy", "retention.ms", "segment.ms"],
            )
        ],
        config_filter="all",
    )
    return {name: entry["value"] for name, entry in described["topic"][topic].items()}


def test_create_makes_every_topic_with_its_partitions_and_retention(
    topic_env: Settings, admin: KafkaAdminClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics", "create", "--partitions", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("created with 3 partitions") == len(topic_names(topic_env)) == 12

    described = {t["name"]: t for t in admin.describe_topics(topic_names(topic_env))}
    assert {name: len(t["partitions"]) for name, t in described.items()} == {
        name: 3 for name in topic_names(topic_env)
    }
    events = configs(admin, topic_env.events_topic)
    assert {name: events[name] for name in ("cleanup.policy", "retention.ms")} == {
        "cleanup.policy": "delete",
        "retention.ms": str(EVENTS_RETENTION_MS),
    }
    assert configs(admin, topic_env.intervals_topic)["cleanup.policy"] == "compact"
    assert configs(admin, topic_env.segments_topic)["cleanup.policy"] == "delete"
    live = configs(admin, topic_env.live_topic)
    assert (live["cleanup.policy"], live["segment.ms"]) == ("compact", str(LIVE_SEGMENT_MS))
    changelog = changelog_topic_name(topic_env, "contacts")
    assert configs(admin, changelog)["cleanup.policy"] == "compact"


def test_create_again_is_a_no_op(topic_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "create", "--partitions", "2"]) == 0
    capsys.readouterr()
    assert main(["topics", "create", "--partitions", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("exists with 2 partitions") == len(topic_names(topic_env))
    assert "created" not in out


def test_another_partition_count_is_reported_as_a_mismatch(
    topic_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics", "create", "--partitions", "2"]) == 0
    capsys.readouterr()
    assert main(["topics", "create", "--partitions", "6"]) == 1
    err = capsys.readouterr().err
    assert f"{topic_env.events_topic}: MISMATCH: has 2 partitions, 6 wanted" in err
    assert "needs the pipeline's partition count" in err  # and says why it matters


def test_an_existing_topic_with_the_wrong_cleanup_policy_is_reported(
    kafka_settings: Settings, admin: KafkaAdminClient
) -> None:
    admin.create_topics(
        {kafka_settings.intervals_topic: {"num_partitions": 2, "replication_factor": 1}},
        wait_for_metadata=True,
    )
    outcomes = {o.name: o for o in ensure_topics(admin, pipeline_topics(kafka_settings, 2))}
    intervals = outcomes[kafka_settings.intervals_topic]
    assert intervals.status == "mismatch"
    assert intervals.problems == ("has cleanup.policy=delete, compact wanted",)
    assert outcomes[kafka_settings.events_topic].status == "created"


def test_topic_names_come_from_the_settings(kafka_settings: Settings) -> None:
    renamed = msgspec.structs.replace(kafka_settings, events_topic="x.events", partitions=7)
    specs = pipeline_topics(renamed)
    assert specs[0].name == "x.events"
    assert {spec.partitions for spec in specs} == {7}
