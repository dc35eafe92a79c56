"""The pipeline's topics, and creating them idempotently with kafka-python's admin client.

Faust needs its source and output topics to exist with their partition counts before the
workers start (the broker runs with auto.create.topics.enable=false), and every topic a worker
joins must have the same count, so an existing topic with another count is reported as a
mismatch rather than passed over.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DAY_MS = 24 * 3600 * 1000
EVENTS_RETENTION_MS = 7 * DAY_MS
# Kafka's default (7 days, or 1 GB) left a busy centre's live topic (1.5 MB/s) uncleaned for
# 11 minutes, and a quiet one's for a week: every reader starting read all of it.
LIVE_SEGMENT_MS = 60 * 1000
# Dead letters wait for a person to look at them, so they are kept longer than the events.
DLQ_RETENTION_MS = 30 * DAY_MS

# Kafka's error codes that mean "the topic is already there" and "no such topic".
_TOPIC_ALREADY_EXISTS = 36
_UNKNOWN_TOPIC = 3
# A broker just started applies new topics to its metadata only after loading its logs:
# one with 5,000 partitions showed topics 37 s after its controller had created them, so
# the wait for them to appear is never shorter than this.
VISIBLE_WAIT_S = 120.0


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)


def pipeline_topics(settings: Any, partitions: int | None = None) -> list[TopicSpec]:
    """The topics of the pipeline, named by the settings, all with the same partition count."""
    count = int(partitions if partitions is not None else settings.partitions)
    if count < 1:
        raise ValueError(f"a topic needs at least one partition, not {count}")
    delete = {"cleanup.policy": "delete"}
    # Every interval message carries the full current state of its key, so the latest
    # message per key is all a reader needs: compaction keeps exactly that.
    compact = {"cleanup.policy": "compact"}
    # Segment rows travel in per-partition batches (one message, many keys), which a compacted
    # topic refuses; the store keeps the latest row per segment (by its version) instead.
    return [
        TopicSpec(
            settings.events_topic, count, {**delete, "retention.ms": str(EVENTS_RETENTION_MS)}
        ),
        TopicSpec(settings.dlq_topic, count, {**delete, "retention.ms": str(DLQ_RETENTION_MS)}),
        TopicSpec(settings.intervals_topic, count, compact),
        TopicSpec(
            settings.segments_topic, count, {**delete, "retention.ms": str(EVENTS_RETENTION_MS)}
        ),
        # The latest publication of each source partition is the live view: compacted, in
        # segments rolled every minute, since only closed ones are cleaned and every reader
        # reads the topic from its start.
        TopicSpec(settings.live_topic, count, {**compact, "segment.ms": str(LIVE_SEGMENT_MS)}),
    ]


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    name: str
    status: Literal["created", "exists", "mismatch"]
    partitions: int
    wanted: int
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.status == "created":
            return f"{self.name}: created with {self.partitions} partitions"
        if self.status == "exists":
            return f"{self.name}: exists with {self.partitions} partitions"
        return f"{self.name}: MISMATCH: {'; '.join(self.problems)}"


class TopicError(RuntimeError):
    """The broker refused to create a topic, for a reason other than that it exists."""


def ensure_topics(
    admin: Any, specs: Iterable[TopicSpec], timeout_s: float = 30.0
) -> list[TopicOutcome]:
    """Create the topics that are missing; check partitions and cleanup policy of the others.

    `admin` is a kafka-python `KafkaAdminClient`. Returns one outcome per spec, in order.
    """
    specs = list(specs)
    existing = _partition_counts(admin, [spec.name for spec in specs])
    missing = [spec for spec in specs if spec.name not in existing]
    created: set[str] = set()
    if missing:
        response = admin.create_topics(
            {
                spec.name: {
                    "num_partitions": spec.partitions,
                    "replication_factor": -1,  # the broker's default.replication.factor
                    "configs": dict(spec.configs),
                }
                for spec in missing
            },
            timeout_ms=int(timeout_s * 1000),
            raise_errors=False,
        )
        for result in response["topics"]:
            code = result["error_code"]
            if code == 0:
                created.add(result["name"])
            elif code != _TOPIC_ALREADY_EXISTS:  # another process created it meanwhile
                raise TopicError(
                    f"cannot create topic {result['name']}: "
                    f"{result.get('error_message') or f'Kafka error code {code}'}"
                )
        visible_s = max(timeout_s, VISIBLE_WAIT_S)
        if created:
            admin.wait_for_topics(sorted(created), timeout_ms=int(visible_s * 1000))
        existing.update(_settled_counts(admin, [spec.name for spec in missing], visible_s))
    policies = _cleanup_policies(admin, [s.name for s in specs if s.name not in created])
    outcomes = []
    for spec in specs:
        count = existing.get(spec.name, 0)
        if spec.name in created:
            outcomes.append(TopicOutcome(spec.name, "created", count, spec.partitions))
            continue
        problems = []
        if count != spec.partitions:
            problems.append(f"has {count} partitions, {spec.partitions} wanted")
        wanted_policy = spec.configs.get("cleanup.policy")
        policy = policies.get(spec.name)
        if wanted_policy is not None and policy is not None and policy != wanted_policy:
            problems.append(f"has cleanup.policy={policy}, {wanted_policy} wanted")
        status: Literal["exists", "mismatch"] = "mismatch" if problems else "exists"
        outcomes.append(TopicOutcome(spec.name, status, count, spec.partitions, tuple(problems)))
    return outcomes


def _settled_counts(admin: Any, names: list[str], timeout_s: float) -> dict[str, int]:
    """Partition counts of topics just created, here or by another process at the same time
    (two workers starting on a fresh cluster): the broker can describe such a topic with no
    partitions yet (seen in CI: "has 0 partitions, 8 wanted"), so ask again until each has
    some, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = _partition_counts(admin, names)
        if all(counts.get(name, 0) > 0 for name in names) or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)  # polling step of a wait with a deadline


def _partition_counts(admin: Any, names: list[str]) -> dict[str, int]:
    counts = {}
    for topic in admin.describe_topics(names):
        if topic["error_code"] == _UNKNOWN_TOPIC:
            continue
        if topic["error_code"] != 0:
            raise TopicError(f"cannot describe topic {topic['name']}: error {topic['error_code']}")
        counts[topic["name"]] = len(topic["partitions"])
    return counts


def _cleanup_policies(admin: Any, names: list[str]) -> dict[str, str]:
    """cleanup.policy per topic, where the broker says (a best-effort check)."""
    if not names:
        return {}
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    # No config-name filter: tansu drops the connection on a DescribeConfigs that has one.
    # "all": the default filter ("modified") leaves out a policy that is the broker default.
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    try:
        described = admin.describe_configs(resources, config_filter="all").get("topic", {})
    except KafkaError:
        return {}
    policies = {}
    for name, configs in described.items():
        entry = configs.get("cleanup.policy")
        if entry is not None:
            policies[name] = str(entry["value"])
    return policies
