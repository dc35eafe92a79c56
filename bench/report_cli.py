"""`ccpipe kpis` end to end on a simulated file: wall time and peak memory (one run a size).

    python -m bench.report_cli [--events 1000000 10000000]

The issue's target is `ccpipe kpis` over 10 M events in under 3 minutes and 4 GB. Each size
is one `ccpipe simulate` file (about 7 events a contact, made once and kept in .ccpipe/bench/;
10 M events take a minute or so to simulate the first time) and one `ccpipe kpis` process,
whose own peak RSS comes from `wait4` (RUSAGE_CHILDREN would be the largest of every child
so far, the simulator's included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.events import CACHE, simulated
from bench.record import record

TARGET_EVENTS = 10_000_000
TARGET_S = 180
TARGET_MB = 4096


def simulated_file(events: int) -> Path:
    """The cached simulation of about `events` events; says how long it took if it was made."""
    contacts = max(1000, events * 100 // 700)
    cached = (CACHE / f"sim-{contacts}-7.jsonl").exists()  # the name bench.events gives it
    start = time.perf_counter()
    path = simulated(contacts)
    if not cached:
        made_s = time.perf_counter() - start
        size_mb = path.stat().st_size / (1 << 20)
        print(f"simulated {contacts:,} contacts in {made_s:.0f} s ({size_mb:,.0f} MB, cached)")
    return path


def run_kpis(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `ccpipe kpis` over `path`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "kpis", str(path), "--quiet"],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events", type=int, nargs="+", default=[1_000_000, TARGET_EVENTS], metavar="N"
    )
    args = parser.parse_args()
    for events in args.events:
        path = simulated_file(events)
        with path.open("rb") as handle:
            n = sum(1 for _ in handle)
        wall, peak_mb = run_kpis(path)
        result = f"{n:,} events in {wall:.1f} s ({n / wall:,.0f} events/s), "
        result += f"peak RSS {peak_mb:,.0f} MB"
        if events >= TARGET_EVENTS:
            met = wall < TARGET_S and peak_mb < TARGET_MB
            result += f"; target < {TARGET_S} s in < {TARGET_MB:,} MB {'met' if met else 'not met'}"
        record("ccpipe kpis, whole run", result)


if __name__ == "__main__":
    main()
