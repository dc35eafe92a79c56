"""The in-memory runtime (`pipeline.stream.local`) with crashes that lose whatever was not yet
durable, and the inputs and outputs a test reads.

The stages and their wiring are the production code (`pipeline.stream.topology`); only the
transport is simulated, so the replay and recovery logic can be tested exhaustively without a
broker (tests/stream/test_worker_kafka.py runs the same stages under Faust on a real one).
"""

from __future__ import annotations

import random
from collections import defaultdict

import msgspec
import orjson

from pipeline.config import Settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.kafka.partitioner import partition_for
from pipeline.stream import stages, topology
from pipeline.stream.local import LocalRuntime
from pipeline.stream.stage import Output
from pipeline.stream.stages import FcrStage, IntervalStage, SegmentStage


def event_partition(line: bytes, partitions: int) -> int:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return -1
    key = obj.get("contact_id") if obj.get("type") != "agent.state" else obj.get("agent_id")
    return partition_for(str(key).encode(), partitions)


class LocalPipeline(LocalRuntime):
    def __init__(self, settings: Settings, partitions: int, seed: int = 0) -> None:
        self.settings = msgspec.structs.replace(settings, partitions=partitions)
        super().__init__(topology.build(self.settings))
        self.random = random.Random(seed)
        self._lose = 0.0
        self._hold_commits = False

    # What pipeline.stream.metrics reads of a worker (its `Stages` protocol).
    @property
    def segment_stage(self) -> SegmentStage:
        return self.topology.stages.segments

    @property
    def fcr_stage(self) -> FcrStage:
        return self.topology.stages.fcr

    @property
    def interval_stage(self) -> IntervalStage:
        return self.topology.stages.intervals

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages not yet committed per partition of the input log."""
        log = self.logs[stages.EVENTS]
        return {
            (self.settings.events_topic, p): len(records) - log.committed.get(p, 0)
            for p, records in log.records.items()
        }

    def produce(self, lines: list[bytes], batch: int = 1) -> None:
        """Events into the input log, as single messages or as per-partition batches."""
        events = self.logs[stages.EVENTS]
        grouped: dict[int, list[bytes]] = defaultdict(list)
        for line in lines:
            partition = event_partition(line, events.partitions)
            if partition < 0:  # not JSON: sent alone, as `ccpipe produce` does
                events.append(0, line)
                continue
            grouped[partition].append(line)
        for p, items in grouped.items():
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                events.append(p, chunk[0] if batch == 1 else b"[" + b",".join(chunk) + b"]")

    def apply(self, out: Output, partition: int) -> None:
        """With a crash pending, each write and send is lost with even chance (the producer
        never flushed it)."""
        if self._lose:
            out = Output(
                sends=[s for s in out.sends if self.random.random() >= self._lose],
                writes=[w for w in out.writes if self.random.random() >= self._lose],
            )
        super().apply(out, partition)

    def finish(self, out: Output, partition: int) -> bool:
        self.apply(out, partition)
        # A crashed batch commits nothing; nor does one cut short by a rebalance.
        return not self._lose and not self._hold_commits

    def assign_all(self) -> None:
        """Every partition of every stage assigned (rebuilt from its tables), as after a
        restart."""
        for stage in self.topology.stages:
            for p in range(self.logs[stage.source].partitions):
                stage.assigned(p, self._table_items(stage, p))

    def step_with_crash(self, max_messages: int, crash: bool) -> bool:
        """One batch of each stage on each partition; a crash loses part of that batch's
        output, commits nothing, and restarts the stages from their tables."""
        self._lose = 0.5 if crash else 0.0
        try:
            progressed = self.step(max_messages)
        finally:
            self._lose = 0.0
        if crash:
            self.topology = topology.build(self.settings)
        return progressed

    def rebalance_keeping(self) -> None:
        """A rebalance that gives every partition back to this worker with its tables
        unchanged: each stage takes back the state it held (the Faust runtime's
        `_take_back`), nothing read from the tables."""
        for stage in self.topology.stages:
            for p in range(self.logs[stage.source].partitions):
                kept = stage.revoked(p)
                stage.assigned(p, self._table_items(stage, p), kept)

    def run(self, max_messages: int = 50, crash_every: int = 0, rebalance_every: int = 0) -> None:
        """Steps until nothing is left. Every `crash_every`-th step crashes; every
        `rebalance_every`-th makes its output durable but commits no offset (the rebalance
        came first), then the partitions are revoked and given back with their states."""
        steps = 0
        while True:
            steps += 1
            crash = bool(crash_every) and steps % crash_every == 0
            rebalance = bool(rebalance_every) and steps % rebalance_every == 0
            self._hold_commits = rebalance
            try:
                progressed = self.step_with_crash(max_messages, crash)
            finally:
                self._hold_commits = False
            if rebalance:
                self.rebalance_keeping()
            if not progressed and not crash:
                return

    @property
    def dlq(self) -> list[tuple[bytes, dict[str, bytes]]]:
        return [(value, dict(headers)) for _, value, headers in self.logs[stages.DLQ].values()]

    @property
    def intervals(self) -> dict[bytes, dict[str, object]]:
        """The latest row per interval key, as a compacted topic keeps it."""
        latest: dict[bytes, dict[str, object]] = {}
        for key, value, _ in self.logs[stages.INTERVALS_OUT].values():
            assert key is not None
            latest[key] = orjson.loads(value)
        return latest

    def rows(self) -> list[dict[str, object]]:
        rows = [
            {f: row[f] for f in REPORT_FIELDS}
            for row in self.intervals.values()
            if isinstance(row["offered"], int) and row["offered"] > 0
        ]
        rows.sort(key=lambda r: (r["tenant"], r["queue"], r["channel"], r["interval_start"]))
        return rows
