"""Reading changelog partitions whole: the latest value of every key, what a restore needs.

A worker that starts owning a partition rebuilds its state from its tables' changelogs.
Faust's own recovery turns every changelog record into an event with its asyncio tasks: about
5,500 records a second in the soak, so a restarted worker paused the group for a minute at
the soak's 5th minute and nearly two at its 15th (docs/reliability.md). A plain consumer
reading the partitions in large fetches does the same work without that per-record cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CLIENT_ID = "ccpipe-changelog-reader"
POLL_MS = 500
# Large fetches: a restore reads whole partitions, and a record can be tens of kilobytes.
FETCH_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024


class ChangelogStalled(RuntimeError):
    """The broker gave nothing for the whole patience while the partitions were not read."""


def read_changelogs(
    kafka_kwargs: Mapping[str, Any],
    partitions: Sequence[tuple[str, int]],
    patience_s: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[tuple[str, int], dict[bytes, bytes]]:
    """Each (topic, partition) read from its start to the end it had when asked: the latest
    value of each key, a key whose latest record is a tombstone left out. Gives up with
    `ChangelogStalled` only after `patience_s` without a record while some were still due."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        client_id=CLIENT_ID,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        **kafka_kwargs,
    )
    tps = [TopicPartition(topic, partition) for topic, partition in partitions]
    values: dict[TopicPartition, dict[bytes, bytes]] = {tp: {} for tp in tps}
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        due = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        last_progress = clock()
        while due:
            batches = consumer.poll(timeout_ms=POLL_MS, max_records=100_000)
            for tp, records in batches.items():
                held = values[tp]
                for record in records:
                    if record.value is None:
                        held.pop(record.key, None)
                    else:
                        held[record.key] = record.value
            if batches:
                last_progress = clock()
            due = {tp for tp in due if consumer.position(tp) < ends[tp]}
            if due and clock() - last_progress > patience_s:
                behind = ", ".join(
                    f"{tp.topic}[{tp.partition}] at {consumer.position(tp)} of {ends[tp]}"
                    for tp in sorted(due)
                )
                raise ChangelogStalled(f"no changelog record for {patience_s:g} s: {behind}")
    finally:
        consumer.close(autocommit=False)
    return {(tp.topic, tp.partition): held for tp, held in values.items()}


def end_offsets(
    admin: Any, partitions: Sequence[tuple[str, int]], timeout_s: float
) -> dict[tuple[str, int], int]:
    """Each (topic, partition)'s end offset (`admin`: a kafka-python `KafkaAdminClient`).

    Only compared with another answer of the same broker: whether anything was written
    between the two. tansu answers the last record batch's base offset + 1, short of the end
    (docs/demo.md), but that still moves with every batch written."""
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    specs = {TopicPartition(topic, partition): OffsetSpec.LATEST for topic, partition in partitions}
    answer = admin.list_partition_offsets(specs, timeout_ms=int(timeout_s * 1000))
    return {(tp.topic, tp.partition): meta.offset for tp, meta in answer.items()}
