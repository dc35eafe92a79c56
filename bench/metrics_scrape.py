"""What one read of a worker's /metrics costs, on the state a day of events leaves.

    python -m bench.metrics_scrape [--events 300000] [--partitions 4] [--reads 20]

The simulated events run through the stream stages in memory (as bench.stages does), then the
worker's collector (`pipeline.stream.metrics`) is read `--reads` times: CPU time per read,
median. Beside it, in the same run, the contact counters computed the way they were before
(every held interval's partials merged at each read) against the totals the interval stage
now keeps as intervals change: the held intervals grow all day, the groups do not. Prometheus
reads every 15 s by default; the soak read every 0.25 s and that read took most of a worker's
core (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import msgspec
import orjson
from prometheus_client import generate_latest

from bench.record import record
from bench.stages import processed
from pipeline.config import Settings, load_settings
from pipeline.core.intervals import merge_counts
from pipeline.stream import stages
from pipeline.stream.local import LocalRuntime
from pipeline.stream.metrics import build_registry


class Worker:
    """What the collector reads of a worker (`pipeline.stream.metrics.Stages`)."""

    def __init__(self, settings: Settings, runtime: LocalRuntime) -> None:
        self.settings = settings
        self._stages = runtime.topology.stages

    @property
    def segment_stage(self) -> stages.SegmentStage:
        return self._stages.segments

    @property
    def fcr_stage(self) -> stages.FcrStage:
        return self._stages.fcr

    @property
    def interval_stage(self) -> stages.IntervalStage:
        return self._stages.intervals

    def lag(self) -> dict[tuple[str, int], int]:
        return {}


def per_interval_merge(stage: stages.IntervalStage) -> int:
    """The contact counters as computed before: a merge of every held interval's partials."""
    groups: set[tuple[str, str, str]] = set()
    for held in stage.parts.values():
        for text, sources in held.items():
            merge_counts([counts for _, counts in sources.values()])
            tenant, queue, channel, _ = orjson.loads(text)
            groups.add((tenant, queue, channel))
    return len(groups)


def kept_totals(stage: stages.IntervalStage) -> int:
    return sum(len(totals) for totals in stage.totals.values())


def cpu_ms(fn: Callable[[], object], reads: int) -> float:
    samples = []
    for _ in range(reads):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    runtime, events = processed(args.events, args.partitions)
    settings = msgspec.structs.replace(load_settings(env={}), partitions=args.partitions)
    worker = Worker(settings, runtime)
    registry, _ = build_registry(worker)
    intervals = worker.interval_stage
    held = sum(len(part) for part in intervals.parts.values())
    whole = cpu_ms(lambda: generate_latest(registry), args.reads)
    before = cpu_ms(lambda: per_interval_merge(intervals), args.reads)
    now = cpu_ms(lambda: kept_totals(intervals), args.reads)
    record(
        "worker /metrics read, a day's state",
        f"{whole:,.1f} ms CPU a read (median of {args.reads}); its contact counters: "
        f"{now:.3f} ms from the kept totals vs {before:,.1f} ms merging every held interval "
        f"as before ({before / max(now, 1e-6):,.0f}x); {held:,} intervals held, "
        f"{kept_totals(intervals):,} groups x partitions ({events:,} events, "
        f"{args.partitions} partitions)",
        packages=("prometheus-client", "msgspec"),
    )


if __name__ == "__main__":
    main()
