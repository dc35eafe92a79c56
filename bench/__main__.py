"""`make bench`: every benchmark, each appending its result to docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("bench.core", "bench.report_cli", "bench.sink_rows")


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        failed += subprocess.run([sys.executable, "-m", module]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
