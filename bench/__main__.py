"""`make bench`: every benchmark, each appending its result to docs/benchmarks.md.

The Kafka benchmarks share one broker, started here once (and stopped at the end if it was
not running before), so none of them pays for a broker start or stops it under another.
Sizes are chosen so the whole run stays under 15 minutes on a 2-core machine.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.kafka_env import broker

PURE = (
    ("bench.core",),
    ("bench.stages",),
    ("bench.metrics_scrape",),
    ("bench.agent_parts",),
    ("bench.memory",),
    ("bench.report_cli",),  # 1 M and 10 M events
    ("bench.sink_rows",),
    ("bench.erlang",),
    ("bench.staffing_live",),
    ("bench.live_topic",),
)
ON_KAFKA = (
    ("bench.worker_throughput", "--naive-seconds", "30", "--profile", "docs/profiles/worker.svg"),
    ("bench.latency", "--seconds", "45"),
    ("bench.recovery",),
    ("bench.scaling",),
    ("bench.live_latency", "--seconds", "40"),
    ("bench.wallboard_clients",),
    ("bench.ingest_throughput",),
)


def _run(command: tuple[str, ...]) -> bool:
    print(f"== {' '.join(command)}", flush=True)
    started = time.monotonic()
    ok = subprocess.run([sys.executable, "-m", *command]).returncode == 0
    print(f"== {command[0]}: {'done' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return ok


def main() -> int:
    started = time.monotonic()
    failed = [c[0] for c in PURE if not _run(c)]
    with broker():
        failed += [c[0] for c in ON_KAFKA if not _run(c)]
    print(f"== all benchmarks in {time.monotonic() - started:.0f} s; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
