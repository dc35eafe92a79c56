"""Run tests several times with CPU-bound processes beside them: the suite must hold under load.

    python -m tests.under_load [--runs 5] [--burners 2] [--keep DIR] [PYTEST ARGS...]

Starts `--burners` processes that spin a core each (`while 1: pass`), runs pytest with the
given arguments `--runs` times (each with its own `--basetemp` under `--keep`, so the
workers' logs of every run stay for reading), then ends the burners it started. Prints one
line per run (passed, failed, wall time, load average) and, from the workers' logs of the
run, how often a worker found a partition stalled and sought it back
(`pipeline/stream/faust_runtime.py`, `unstall`) or accepted a hole in a log. The exit status
is 1 when any run failed. docs/reliability.md records what it printed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SPIN = "while 1: pass"
# What the worker logs when the stall guard or the hole guard acts (faust_runtime.py).
STALL_LINE = "are in the log but not coming: seeking back"
HOLE_LINE = "are not in the log and are skipped"
# pytest's last line, "7 passed, 2 deselected in 1246.41s (0:20:46)" (between "=" unless -q).
SUMMARY = re.compile(r"^=* ?(\d+ \w+.*?) in ([\d.]+)s", re.MULTILINE)


@contextmanager
def burners(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes spinning a core each, ended (by their pid) on the way out."""
    spinning = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    try:
        yield spinning
    finally:
        for process in spinning:
            process.kill()
            process.wait()


@dataclass
class Run:
    number: int
    code: int
    summary: str
    wall_s: float
    load: float
    stalls: int
    holes: int

    def line(self) -> str:
        verdict = "passed" if self.code == 0 else f"FAILED (exit {self.code})"
        return (
            f"run {self.number}: {verdict}: {self.summary}; {self.wall_s:.0f} s, load average "
            f"{self.load:.1f}; stalled partitions sought back: {self.stalls}, holes: "
            f"{self.holes}"
        )


def count_in_logs(folder: Path, text: str) -> int:
    logs = [log for log in folder.rglob("*.log") if log.is_file()]
    return sum(log.read_text(errors="replace").count(text) for log in logs)


def run_once(number: int, pytest_args: list[str], keep: Path) -> Run:
    basetemp = keep / f"run{number}"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={basetemp}",
         *pytest_args],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    (keep / f"run{number}.out").write_text(done.stdout + done.stderr)
    found = SUMMARY.findall(done.stdout)
    summary = found[-1][0] if found else "no summary (see the output)"
    return Run(
        number,
        done.returncode,
        summary,
        wall,
        os.getloadavg()[0],
        count_in_logs(basetemp, STALL_LINE),
        count_in_logs(basetemp, HOLE_LINE),
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--burners", type=int, default=2, help="CPU-bound processes beside")
    parser.add_argument("--keep", type=Path, help="where each run's tmp folders stay")
    args, pytest_args = parser.parse_known_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="ccpipe-under-load-"))
    keep.mkdir(parents=True, exist_ok=True)
    print(
        f"{args.runs} runs of pytest {' '.join(pytest_args)} beside {args.burners} busy "
        f"processes on {os.cpu_count()} cores; output and logs in {keep}",
        flush=True,
    )
    runs = []
    with burners(args.burners):
        for number in range(1, args.runs + 1):
            runs.append(run_once(number, pytest_args, keep))
            print(runs[-1].line(), flush=True)
    passed = sum(1 for r in runs if r.code == 0)
    print(f"{passed} of {len(runs)} runs passed")
    return 0 if passed == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
