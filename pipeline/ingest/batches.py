"""Events packed per partition of the events topic into the contract's batch messages.

Each event goes to the partition its contract key maps to under Kafka's default partitioner
(`partition_for`, the one the workers use), so a batch never mixes partitions; within a
partition events keep the order they were added, so per-key order is kept. A batch leaves
when it holds `batch_events` events or would pass `max_bytes`; `drain()` takes the rest.
Pure: no Kafka here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.kafka.partitioner import partition_for
from pipeline.kafka.producer import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_BYTES


@dataclass(frozen=True, slots=True)
class Batch:
    partition: int
    key: bytes  # the first event's key: any of them maps to this partition
    value: bytes  # a JSON array of the events
    events: int


class Packer:
    def __init__(
        self,
        partitions: int,
        batch_events: int = DEFAULT_BATCH_SIZE,
        max_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> None:
        if partitions < 1 or batch_events < 1:
            raise ValueError("a packer needs at least one partition and one event a batch")
        self.partitions = partitions
        self.batch_events = batch_events
        self.max_bytes = max_bytes
        self._events: dict[int, list[bytes]] = {}
        self._keys: dict[int, bytes] = {}
        self._bytes: dict[int, int] = {}
        self.ready: list[Batch] = []
        self.pending = 0  # events held, not yet in a ready batch

    def add(self, key: bytes, event: bytes) -> None:
        """Hand one event (JSON object bytes) with its contract key."""
        partition = partition_for(key, self.partitions)
        events = self._events.get(partition)
        if events is None:
            self._events[partition] = [event]
            self._keys[partition] = key
            self._bytes[partition] = len(event) + 2
            self.pending += 1
            return
        size = self._bytes[partition] + len(event) + 1
        if size > self.max_bytes:
            self._close(partition)
            self.add(key, event)
            return
        events.append(event)
        self._bytes[partition] = size
        self.pending += 1
        if len(events) >= self.batch_events:
            self._close(partition)

    def take(self) -> list[Batch]:
        """The batches that are full, in the order they filled."""
        ready, self.ready = self.ready, []
        return ready

    def drain(self) -> list[Batch]:
        """Every batch, the partial ones too."""
        for partition in sorted(self._events):
            self._close(partition)
        return self.take()

    def _close(self, partition: int) -> None:
        events = self._events.pop(partition)
        key = self._keys.pop(partition)
        del self._bytes[partition]
        self.pending -= len(events)
        self.ready.append(Batch(partition, key, b"[" + b",".join(events) + b"]", len(events)))
