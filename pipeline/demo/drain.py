"""Has a consumer group caught up? Its committed offsets against the partitions' high watermarks.

Used on the way down: the demo stops the feed, then waits until the worker's group and the
sink's group have committed everything there is, so that what the pipeline was sent is in
the store before the memory-only broker goes. The high watermark is read from a fetch
response, not from ListOffsets: tansu 0.6 answers ListOffsets(latest) with the base offset
of the last record batch plus one, which is short of the end whenever that batch holds more
than one record (docs/demo.md), while its fetch responses carry the right high watermark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

FETCH_DEADLINE_S = 5.0


def group_lag(
    kafka_kwargs: Mapping[str, Any], group: str, topics: Iterable[str]
) -> dict[tuple[str, int], int] | None:
    """Messages per partition of `topics` that `group` has not committed yet; None when a
    high watermark could not be read in time."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(client_id="ccpipe-demo-drain", **kafka_kwargs)
    consumer = KafkaConsumer(
        client_id="ccpipe-demo-drain",
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=1024,
        fetch_max_wait_ms=50,
        **kafka_kwargs,
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}
        committed_raw = admin.list_group_offsets({group: partitions}).get(group, {})
        committed = {
            tp: max(0, meta.offset) if meta is not None and meta.offset is not None else 0
            for tp, meta in ((tp, committed_raw.get(tp)) for tp in partitions)
        }
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, committed[tp])
        deadline = time.monotonic() + FETCH_DEADLINE_S
        while any(consumer.highwater(tp) is None for tp in partitions):
            if time.monotonic() > deadline:
                return None
            consumer.poll(timeout_ms=100, max_records=1)
        return {
            (tp.topic, tp.partition): max(0, (consumer.highwater(tp) or 0) - committed[tp])
            for tp in partitions
        }
    finally:
        consumer.close(autocommit=False)
        admin.close()


def wait_caught_up(
    kafka_kwargs: Mapping[str, Any],
    groups: Mapping[str, Iterable[str]],
    deadline_s: float,
    cancelled: Callable[[], bool] = lambda: False,
    poll_s: float = 0.5,
) -> bool:
    """Wait until every group has no lag on its topics, in order (a group's output is the
    next one's input, so each is checked once the one before it has caught up). False at
    the deadline, or as soon as `cancelled()` says so."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + deadline_s
    for group, topics in groups.items():
        names = list(topics)
        while True:
            if cancelled():
                return False
            try:
                lag = group_lag(kafka_kwargs, group, names)
            except (KafkaError, OSError):
                lag = None  # a broker hiccup: ask again until the deadline
            if lag is not None and not any(lag.values()):
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_s)
    return True
