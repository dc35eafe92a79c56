"""An in-memory stand-in for Kafka around the stream stages: partitioned logs with offsets,
keyed tables, commits, and crashes that lose whatever was not yet durable.

The stages are the production code; only the transport is simulated, so the replay and
recovery logic can be tested exhaustively without a broker (the integration tests in
tests/kafka/ run the same stages under Faust on a real one).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import orjson

from pipeline.config import Settings
from pipeline.stream import stages
from pipeline.stream.partitioning import partition_for
from pipeline.stream.stages import FcrStage, IntervalStage, Output, SegmentStage, Topology


@dataclass
class Log:
    partitions: int
    records: dict[int, list[bytes]] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)

    def append(self, partition: int, value: bytes) -> None:
        self.records.setdefault(partition, []).append(value)

    def pending(self, partition: int) -> list[tuple[bytes, int]]:
        start = self.committed.get(partition, 0)
        return [(v, o) for o, v in enumerate(self.records.get(partition, [])) if o >= start]


def event_partition(line: bytes, partitions: int) -> int:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return -1
    key = obj.get("contact_id") if obj.get("type") != "agent.state" else obj.get("agent_id")
    return partition_for(str(key).encode(), partitions)


class LocalPipeline:
    def __init__(self, settings: Settings, partitions: int, seed: int = 0) -> None:
        self.settings = settings
        self.topology = Topology.uniform(partitions)
        self.random = random.Random(seed)
        self.logs = {
            name: Log(partitions)
            for name in ("events", stages.FCR, stages.PARTIALS, stages.SEGMENTS_OUT, "out")
        }
        self.dlq: list[tuple[bytes, dict[str, bytes]]] = []
        self.tables: dict[str, dict[bytes, bytes]] = defaultdict(dict)
        self.intervals: dict[bytes, dict[str, object]] = {}
        self._new_stages()

    def _new_stages(self) -> None:
        self.seg = SegmentStage(self.settings, self.topology, "cc.events")
        self.fcr = FcrStage(self.topology)
        self.held = IntervalStage()

    # What pipeline.metrics reads of a worker (its `Stages` protocol).
    @property
    def segment_stage(self) -> SegmentStage:
        return self.seg

    @property
    def interval_stage(self) -> IntervalStage:
        return self.held

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages not yet committed per partition of the input log."""
        log = self.logs["events"]
        return {
            ("cc.events", p): len(records) - log.committed.get(p, 0)
            for p, records in log.records.items()
        }

    def produce(self, lines: list[bytes], batch: int = 1) -> None:
        """Events into the input log, as single messages or as per-partition batches."""
        grouped: dict[int, list[bytes]] = defaultdict(list)
        for line in lines:
            partition = event_partition(line, self.topology.events)
            if partition < 0:  # not JSON: sent alone, as `ccpipe produce` does
                self.logs["events"].append(0, line)
                continue
            grouped[partition].append(line)
        for p, items in grouped.items():
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                value = chunk[0] if batch == 1 else b"[" + b",".join(chunk) + b"]"
                self.logs["events"].append(p, value)

    def _items(self, table: str, partition: int, partitions: int) -> list[tuple[bytes, bytes]]:
        return [
            (k, v)
            for k, v in self.tables[table].items()
            if partition_for(k, partitions) == partition
        ]

    def _apply(self, out: Output, lose: float = 0.0) -> None:
        """Make the output durable; with `lose` > 0, each write/send is lost with that chance
        (a crash before the producer flushed)."""
        for table, key, value in out.writes:
            if self.random.random() >= lose:
                self.tables[table][key] = value
        for send in out.sends:
            if self.random.random() < lose:
                continue
            if send.topic == stages.DLQ:
                self.dlq.append((send.value, dict(send.headers or [])))
            elif send.topic == stages.INTERVALS_OUT:
                assert send.key is not None
                self.intervals[send.key] = orjson.loads(send.value)
            else:
                log = self.logs[send.topic]
                partition = send.partition
                if partition is None:
                    assert send.key is not None
                    partition = partition_for(send.key, log.partitions)
                log.append(partition, send.value)

    def assign_all(self) -> None:
        """Every segment partition assigned (rebuilt from its tables), as after a restart."""
        n = self.topology.events
        for p in range(n):
            self.seg.assigned(
                p,
                lambda p=p: self._items(stages.CONTACTS, p, n),
                lambda p=p: self._items(stages.AGENTS, p, n),
            )

    def step(self, max_messages: int, crash: bool = False) -> bool:
        """One batch of each stage on each partition; a crash loses part of that batch's
        output, does not commit, and restarts the stages from their tables."""
        progressed = False
        n = self.topology.events
        for p in range(n):
            messages = self.logs["events"].pending(p)[:max_messages]
            if messages:
                state = self.seg.assigned(
                    p,
                    lambda p=p: self._items(stages.CONTACTS, p, n),
                    lambda p=p: self._items(stages.AGENTS, p, n),
                )
                self._finish("events", p, messages, self.seg.process(p, state, messages), crash)
                progressed = True
        for p in range(self.topology.fcr):
            messages = self.logs[stages.FCR].pending(p)[:max_messages]
            if messages:
                tracker = self.fcr.assigned(
                    p,
                    lambda p=p: self._items(stages.CUSTOMERS, p, self.topology.fcr),
                    lambda p=p: self._items(stages.FCR_MARKS, p, self.topology.fcr),
                )
                out = self.fcr.process(p, tracker, messages)
                self._finish(stages.FCR, p, messages, out, crash)
                progressed = True
        for p in range(self.topology.partials):
            messages = self.logs[stages.PARTIALS].pending(p)[:max_messages]
            if messages:
                held = self.held.assigned(
                    p, lambda p=p: self._items(stages.HELD, p, self.topology.partials)
                )
                self._finish(stages.PARTIALS, p, messages, self.held.process(held, messages), crash)
                progressed = True
        if crash:
            self._new_stages()
        return progressed

    def _finish(
        self, log: str, partition: int, messages: list[tuple[bytes, int]], out: Output, crash: bool
    ) -> None:
        if crash:
            self._apply(out, lose=0.5)
            return
        self._apply(out)
        self.logs[log].committed[partition] = messages[-1][1] + 1

    def run(self, max_messages: int = 50, crash_every: int = 0) -> None:
        steps = 0
        while True:
            steps += 1
            crash = bool(crash_every) and steps % crash_every == 0
            if not self.step(max_messages, crash=crash) and not crash:
                return

    def rows(self) -> list[dict[str, object]]:
        from pipeline.core.intervals import REPORT_FIELDS

        rows = [
            {f: row[f] for f in REPORT_FIELDS}
            for row in self.intervals.values()
            if isinstance(row["offered"], int) and row["offered"] > 0
        ]
        rows.sort(key=lambda r: (r["tenant"], r["queue"], r["channel"], r["interval_start"]))
        return rows
