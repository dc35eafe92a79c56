"""`ccpipe kpis` end to end on a simulated file: wall time and peak memory (one run).

python -m bench.report_cli [--events 1000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from bench.events import simulated
from bench.record import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    path = simulated(max(1000, args.events * 100 // 700))
    with path.open("rb") as handle:
        n = sum(1 for _ in handle)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "kpis", str(path), "--quiet"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    record(
        "ccpipe kpis, whole run",
        f"{n:,} events in {wall:.1f} s ({n / wall:,.0f} events/s), peak RSS {peak_mb:,.0f} MB",
    )


if __name__ == "__main__":
    main()
