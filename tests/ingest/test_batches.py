"""Packing events per events partition: the partition the workers' partitioner gives each key,
never two partitions in one batch, the order of each key kept, sizes bounded."""

from __future__ import annotations

import random

import orjson

from pipeline.ingest.batches import Packer
from pipeline.kafka.partitioner import partition_for


def event(key: str, n: int) -> bytes:
    return orjson.dumps({"contact_id": key, "n": n, "pad": "x" * (n % 50)})


def test_batches_hold_one_partition_each_in_order_within_limits() -> None:
    rng = random.Random(3)
    packer = Packer(4, batch_events=7, max_bytes=600)
    sent = []
    batches = []
    for n in range(2000):
        key = f"c-{rng.randrange(60)}"
        sent.append((key, n))
        packer.add(key.encode(), event(key, n))
        batches += packer.take()
    batches += packer.drain()
    assert packer.pending == 0
    seen: dict[str, list[int]] = {}
    for batch in batches:
        items = orjson.loads(batch.value)
        assert len(items) == batch.events <= 7
        assert len(batch.value) <= 600
        assert {partition_for(i["contact_id"].encode(), 4) for i in items} == {batch.partition}
        assert partition_for(batch.key, 4) == batch.partition
        for item in items:
            seen.setdefault(item["contact_id"], []).append(item["n"])
    expected: dict[str, list[int]] = {}
    for key, n in sent:
        expected.setdefault(key, []).append(n)
    assert seen == expected  # every event once, each key in the order it came


def test_a_partial_batch_waits_until_drained() -> None:
    packer = Packer(2, batch_events=10)
    packer.add(b"a", b'{"x":1}')
    assert packer.take() == [] and packer.pending == 1
    (batch,) = packer.drain()
    assert batch.value == b'[{"x":1}]' and batch.events == 1
