"""Which record a partition's log holds first at or after an offset: is a gap really a hole?

A consumer that finds offsets missing cannot tell a record dropped on its way in (the log
still holds it) from a real hole (deleted by retention, a transaction's control record).
Reading the log once from that offset, with a consumer of its own, tells them apart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

CLIENT_ID = "ccpipe-next-record"
POLL_MS = 200


def next_record_offset(
    kafka_kwargs: Mapping[str, Any], topic: str, partition: int, offset: int, deadline_s: float
) -> int | None:
    """The offset of the first record at or after `offset` (the log's first, if retention
    has deleted `offset`); None when none came before the deadline."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        client_id=CLIENT_ID,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_kwargs,
    )
    tp = TopicPartition(topic, partition)
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            records = consumer.poll(timeout_ms=POLL_MS, max_records=1).get(tp)
            if records:
                return int(records[0].offset)
        return None
    finally:
        consumer.close(autocommit=False)
