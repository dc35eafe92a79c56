"""Where a consumer group resumes a partition: its committed offset, or the log's start."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.kafka.retriable import retrying


def start_offsets(
    admin: Any, group: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Per (topic, partition): the group's committed offset, never below the log's start.

    `admin` is a kafka-python `KafkaAdminClient`. A partition the group never committed, or
    whose committed records retention has deleted, starts at the earliest offset it still has
    (what `auto_offset_reset=earliest` does).
    """
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    tps = [TopicPartition(topic, partition) for topic, partition in partitions]
    if not tps:
        return {}
    # Asked again while the broker finds its feet (just started, or restarted mid-stream).
    committed = retrying(lambda: admin.list_group_offsets({group: tps})).get(group, {})
    earliest = retrying(
        lambda: admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
    )
    out = {}
    for tp in tps:
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset is not None else -1
        first = earliest[tp].offset if tp in earliest else 0
        out[(tp.topic, tp.partition)] = max(done, first, 0)
    return out
