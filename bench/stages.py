"""The worker's floor: the three stream stages alone, no Kafka and no Faust.

    python -m bench.stages [--events 300000] [--partitions 4] [--batch 20]

The events are keyed and batched as `ccpipe produce` does; then each stage of the topology
(`pipeline.stream.topology`, run by the in-memory runtime `pipeline.stream.local`) drains its
input in batches of `--batch` messages per partition, as the agents call it, its output going
to the next stage's partitions. CPU time, not wall time, is reported. What this costs per
event is what no tuning of the Kafka side can remove; the worker's CPU per event
(bench.worker_throughput) minus this is the cost of Faust, aiokafka and the broker round trips.
"""

from __future__ import annotations

import argparse
import time
from typing import TypeVar

import msgspec

from bench.events import simulated
from bench.kafka_env import prepared
from bench.record import record
from pipeline.config import load_settings
from pipeline.stream import stages, topology
from pipeline.stream.local import LocalRuntime
from pipeline.stream.stage import Output


class CountingRuntime(LocalRuntime):
    """Counts the table writes and sends the stages make."""

    produced = 0
    table_bytes = 0  # keys and values written to the tables: what their changelogs carry

    def apply(self, out: Output, partition: int) -> None:
        self.produced += len(out.writes) + len(out.sends)
        self.table_bytes += sum(len(k) + len(v or b"") for _, k, v in out.writes)
        super().apply(out, partition)


R = TypeVar("R", bound=LocalRuntime)


def fed(runtime_type: type[R], events: int, partitions: int) -> tuple[R, int]:
    """An in-memory runtime with about `events` simulated events on its events log, keyed
    and partitioned as `ccpipe produce` does, none processed yet; and their exact count."""
    path = simulated(max(1000, events * 100 // 700))
    count = sum(1 for _ in path.open("rb"))
    settings = msgspec.structs.replace(load_settings(env={}), partitions=partitions)
    runtime = runtime_type(topology.build(settings))
    for _, value, partition in prepared(path, partitions):
        assert partition is not None
        runtime.logs[stages.EVENTS].append(partition, value)
    return runtime, count


def processed(events: int, partitions: int) -> tuple[LocalRuntime, int]:
    """An in-memory runtime that has run about `events` simulated events through its stages,
    20 messages a batch (a day's state, for the benchmarks that read it); and their count."""
    runtime, count = fed(LocalRuntime, events, partitions)
    print(f"running {count:,} events through the stages...", flush=True)
    for stage in runtime.topology.stages:
        while runtime.step_stage(stage, 20):
            pass
    return runtime, count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--batch",
        type=int,
        default=20,
        help="messages per stage call (20: about what a worker's batch holds when it keeps up)",
    )
    args = parser.parse_args()
    runtime, events = fed(CountingRuntime, args.events, args.partitions)

    timings: dict[str, float] = {}
    for stage in runtime.topology.stages:
        start = time.process_time()
        while runtime.step_stage(stage, args.batch):
            pass
        timings[stage.name] = time.process_time() - start

    total = sum(timings.values())
    parts = ", ".join(f"{name} {1e6 * s / events:.1f} us" for name, s in timings.items())
    record(
        "stream stages alone (no Kafka, no Faust)",
        f"{events / total:,.0f} events/s, {1e6 * total / events:.1f} us an event ({parts}); "
        f"{runtime.produced / events:.2f} table writes + sends an event, "
        f"{runtime.table_bytes / events:,.0f} changelog bytes an event "
        f"({events:,} events, batches of {args.batch} messages)",
        packages=("msgspec", "orjson", "msgpack"),
    )


if __name__ == "__main__":
    main()
