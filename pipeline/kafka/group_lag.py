"""Has a consumer group caught up? Its committed offsets against the ends of its partitions.

The one answer for everything that waits on a group: the demo on its way down (the worker's
group, then the sink's, have committed everything there is before the memory-only broker
goes), the benchmarks and the tests.

The end of a partition is the high watermark of a fetch response, not a ListOffsets answer:
tansu 0.6 answers ListOffsets(latest) with the base offset of the last record batch plus
one, which is short of the end whenever that batch holds more than one record
(docs/demo.md), while its fetch responses carry the right high watermark; Apache Kafka gives
the same end either way. `lag()` reads the committed offsets first and the ends after, from
a consumer made for that reading (a consumer kept between readings can hand back a high
watermark fetched before the commits were read), so a group found caught up had committed
everything the partitions held when it was asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, Self

from pipeline.kafka.retriable import retrying

CLIENT_ID = "ccpipe-group-lag"
FETCH_DEADLINE_S = 5.0

Offsets = dict[tuple[str, int], int]  # (topic, partition) -> offset


def uncommitted(committed: Offsets, ends: Offsets) -> Offsets:
    """Messages per partition between the committed offset (none yet: the start) and the end."""
    return {tp: max(0, end - max(committed.get(tp, 0), 0)) for tp, end in ends.items()}


class GroupLag:
    """A consumer group's progress on some topics, over one admin client kept open (made at
    the first question, so that a broker not up yet fails a question, not the constructor)."""

    def __init__(self, kafka_kwargs: Mapping[str, Any], group: str, topics: Iterable[str]) -> None:
        self.group = group
        self.topics = tuple(topics)
        self._kwargs = dict(kafka_kwargs)

    @cached_property
    def admin(self) -> Any:
        """The admin client, also for callers with more to ask of the group (who owns what)."""
        from kafka import KafkaAdminClient

        return KafkaAdminClient(client_id=CLIENT_ID, **self._kwargs)

    def close(self) -> None:
        if "admin" in self.__dict__:
            self.admin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def committed(self) -> Offsets:
        """The group's committed offset of each partition of the topics it has committed
        (asked again while the broker has no coordinator for it yet: `retrying`)."""
        found = retrying(lambda: self.admin.list_group_offsets(self.group)).get(self.group, {})
        return {
            (tp.topic, tp.partition): meta.offset
            for tp, meta in found.items()
            if tp.topic in self.topics and meta is not None and meta.offset is not None
        }

    def ends(self) -> Offsets | None:
        """The end of every partition of the topics; see `high_watermarks`."""
        return high_watermarks(self._kwargs, self.topics)

    def lag(self) -> Offsets | None:
        """Messages per partition the group has not committed yet; None when an end could not
        be read in time."""
        committed = self.committed()
        ends = self.ends()
        return None if ends is None else uncommitted(committed, ends)

    def caught_up(self) -> bool:
        lag = self.lag()
        return lag is not None and not any(lag.values())


def high_watermarks(kafka_kwargs: Mapping[str, Any], topics: Iterable[str]) -> Offsets | None:
    """The high watermark of every partition of `topics` (those the broker does not know yet
    have none), read from fetch responses by a consumer made for this reading; None when one
    could not be read in time."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        client_id=CLIENT_ID,
        group_id=None,
        enable_auto_commit=False,
        # One small fetch per partition is all it takes to learn the high watermark.
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
        consumer.assign(partitions)
        consumer.seek_to_end()
        deadline = time.monotonic() + FETCH_DEADLINE_S
        while any(consumer.highwater(tp) is None for tp in partitions):
            if time.monotonic() > deadline:
                return None
            consumer.poll(timeout_ms=100, max_records=1)
        return {(tp.topic, tp.partition): consumer.highwater(tp) or 0 for tp in partitions}
    finally:
        consumer.close(autocommit=False)


def wait_caught_up(
    kafka_kwargs: Mapping[str, Any],
    groups: Mapping[str, Iterable[str]],
    deadline_s: float,
    cancelled: Callable[[], bool] = lambda: False,
    poll_s: float = 0.5,
) -> bool:
    """Wait until every group (by id, with its topics) has caught up, in order: a group's
    output is the next one's input, so each is checked once the one before it has caught up.
    False at the deadline, or as soon as `cancelled()` says so."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + deadline_s
    for group, topics in groups.items():
        with GroupLag(kafka_kwargs, group, topics) as watch:
            while True:
                if cancelled():
                    return False
                try:
                    if watch.caught_up():
                        break
                except (KafkaError, OSError):
                    pass  # a broker hiccup: ask again until the deadline
                if time.monotonic() > deadline:
                    return False
                time.sleep(poll_s)  # polling step of a wait with a deadline
    return True
