"""The stream's topology run in one process over in-memory partitioned logs.

What the tests and the benchmarks drive: the same stages as the worker, the same loop over
`Topology.stages` as the Faust runtime, with Kafka replaced by lists. Each topic is a log per
partition with a committed offset per partition; each table a dict of key to (partition,
value), as a changelog holds each key in the partition of the batch that wrote it (a key need
not hash to it: an agent's changes are keyed by agent, tenant and hour). `step` gives every stage
a batch of each of its source's partitions, makes the output durable (`apply`), then commits.
A test that wants crashes overrides `apply` and skips the commit (tests/stream/harness.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.kafka.partitioner import partition_for
from pipeline.stream.stage import Message, Output, Stage, TableItems
from pipeline.stream.topology import Topology

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # (key, value, headers)


@dataclass
class Log:
    """One topic: its records per partition, and the offset committed per partition."""

    partitions: int
    records: dict[int, list[Record]] = field(default_factory=lambda: defaultdict(list))
    committed: dict[int, int] = field(default_factory=dict)

    def append(
        self,
        partition: int,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] | None = None,
    ) -> None:
        self.records[partition].append((key, value, list(headers or ())))

    def pending(self, partition: int) -> list[Message]:
        start = self.committed.get(partition, 0)
        records = self.records.get(partition, [])
        return [(records[o][1], o) for o in range(start, len(records))]

    def values(self) -> Iterable[Record]:
        for partition in sorted(self.records):
            yield from self.records[partition]


class LocalRuntime:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.logs = {role: Log(topic.partitions) for role, topic in topology.topics.items()}
        self.tables: dict[str, dict[bytes, tuple[int, bytes]]] = {
            name: {} for name in topology.tables
        }

    def _table_items(self, stage: Stage, partition: int) -> Mapping[str, TableItems]:
        def items(table: str) -> TableItems:
            return lambda: [(k, v) for k, (p, v) in self.tables[table].items() if p == partition]

        return {table: items(table) for table in stage.tables}

    def run_stage(self, stage: Stage, partition: int, messages: list[Message]) -> Output:
        """One batch of one partition through one stage, as every runtime calls it."""
        stage.assigned(partition, self._table_items(stage, partition))
        return stage.process(partition, messages)

    def apply(self, out: Output, partition: int) -> None:
        """Make a batch of `partition` durable: table writes (to that partition, as the
        changelogs take them), then sends."""
        for table, key, value in out.writes:
            if value is None:
                self.tables[table].pop(key, None)
            else:
                self.tables[table][key] = (partition, value)
        for send in out.sends:
            log = self.logs[send.topic]
            target = send.partition
            if target is None:
                target = 0 if send.key is None else partition_for(send.key, log.partitions)
            log.append(target, send.value, send.key, send.headers)

    def step(self, max_messages: int) -> bool:
        """Each stage takes at most `max_messages` of each partition of its source; every
        batch's output is applied, then its offsets committed. False when nothing was left."""
        progressed = False
        for stage in self.topology.stages:
            progressed |= self.step_stage(stage, max_messages)
        return progressed

    def step_stage(self, stage: Stage, max_messages: int) -> bool:
        """One batch of each partition of the stage's source; False when none had any."""
        log = self.logs[stage.source]
        progressed = False
        for partition in range(log.partitions):
            messages = log.pending(partition)[:max_messages]
            if not messages:
                continue
            progressed = True
            out = self.run_stage(stage, partition, messages)
            if self.finish(out, partition):
                log.committed[partition] = messages[-1][1] + 1
        return progressed

    def finish(self, out: Output, partition: int) -> bool:
        """Apply a batch's output; True when its offsets may be committed."""
        self.apply(out, partition)
        return True

    def run(self, max_messages: int = 50) -> None:
        while self.step(max_messages):
            pass
