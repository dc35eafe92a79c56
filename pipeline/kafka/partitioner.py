"""Kafka's default partitioner, so that our explicit partitions agree with Faust's and Java's.

Batches (the contract's "Batches") and the stream's internal messages are sent to explicit
partitions; each must be the partition the key maps to under the default partitioner, which
is also where a table with `use_partitioner=True` keeps that key's changelog.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=1 << 17)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a keyed message.

    Cached: murmur2 is pure Python here (about 6 us a key) and the stream asks again and
    again for the same customers and intervals.
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@lru_cache(maxsize=1024)
def key_for_partition(prefix: str, partition: int, partitions: int) -> str:
    """A stable key that lands on `partition`: for per-partition values in a keyed table."""
    n = 0
    while True:
        key = f"{prefix}{n}"
        if partition_for(key.encode(), partitions) == partition:
            return key
        n += 1
