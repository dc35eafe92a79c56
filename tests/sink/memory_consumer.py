"""An in-memory stand-in for kafka-python's KafkaConsumer, for the sink loop's own tests.

Partitioned logs with offsets, one consumer group's committed offsets, pause and resume,
seek, and rebalances on demand (every partition revoked, then assigned again from the
committed offsets, as kafka-python's default eager protocol does). Polls never sleep: they
advance a `FakeClock` by their timeout, so a test of backoff and batching by time runs in
no time and the same way every time. The real consumer runs in test_sink_kafka.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Broker:
    """Logs per (topic, partition), and committed offsets per group."""

    logs: dict[TopicPartition, list[Message]] = field(default_factory=dict)
    committed: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)

    def append(self, topic: str, partition: int, value: bytes, key: bytes | None = None) -> None:
        log = self.logs.setdefault(TopicPartition(topic, partition), [])
        log.append(Message(topic, partition, len(log), key, value))

    def end(self, tp: TopicPartition) -> int:
        return len(self.logs.get(tp, []))


class MemoryConsumer:
    def __init__(self, broker: Broker, group: str, clock: FakeClock, max_records: int = 10) -> None:
        self.broker = broker
        self.group = group
        self.clock = clock
        self.max_records = max_records
        self.listener: Any = None
        self.topics: list[str] = []
        self.positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self.rebalance_at_next_poll = False
        self.closed = False
        self.commits: list[dict[TopicPartition, int]] = []
        self.on_poll: list[Any] = []  # called at the start of every poll, with this consumer

    # --- what SinkLoop uses -----------------------------------------------------------------

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.topics = list(topics)
        self.listener = listener
        self._assign()

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        for hook in self.on_poll:
            hook(self)
        if self.rebalance_at_next_poll:
            self.rebalance_at_next_poll = False
            revoked = set(self.positions)
            if self.listener is not None:
                self.listener.on_partitions_revoked(revoked)
            self.positions.clear()
            self._paused.clear()
            self._assign()
        limit = max_records or self.max_records
        out: dict[TopicPartition, list[Message]] = {}
        taken = 0
        for tp in sorted(self.positions):
            if tp in self._paused or taken >= limit:
                continue
            log = self.broker.logs.get(tp, [])
            start = self.positions[tp]
            chunk = log[start : start + (limit - taken)]
            if chunk:
                out[tp] = chunk
                self.positions[tp] = start + len(chunk)
                taken += len(chunk)
        # An empty poll waits its whole timeout; a busy one takes a millisecond.
        self.clock.now += timeout_ms / 1000 if not out else 0.001
        return out

    def pause(self, *partitions: TopicPartition) -> None:
        self._paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        assert tp in self.positions, f"seek on {tp}, which is not assigned"
        self.positions[tp] = offset

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        plain = {tp: meta.offset for tp, meta in offsets.items()}
        self.commits.append(plain)
        self.broker.committed.setdefault(self.group, {}).update(plain)

    def close(self, autocommit: bool = True) -> None:
        self.closed = True

    # --- for the tests ----------------------------------------------------------------------

    def _assign(self) -> None:
        committed = self.broker.committed.get(self.group, {})
        assigned = [tp for tp in self.broker.logs if tp.topic in self.topics]
        for tp in assigned:
            self.positions[tp] = committed.get(tp, 0)
        if self.listener is not None:
            self.listener.on_partitions_assigned(set(assigned))

    def uncommitted(self) -> int:
        """Messages read (position) but not committed, over every partition."""
        committed = self.broker.committed.get(self.group, {})
        return sum(pos - committed.get(tp, 0) for tp, pos in self.positions.items())

    def caught_up(self) -> bool:
        committed = self.broker.committed.get(self.group, {})
        return all(committed.get(tp, 0) >= self.broker.end(tp) for tp in self.broker.logs
                   if tp.topic in self.topics)  # fmt: skip
