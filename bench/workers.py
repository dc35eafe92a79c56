"""`ccpipe worker` processes for the benchmarks: start, measure, stop."""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(config: Path, log: Path, loglevel: str = "warning") -> subprocess.Popen[bytes]:
    """One worker with its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "--config", str(config),
             "--loglevel", loglevel],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def start_ingest(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`ccpipe ingest` with its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "ingest", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def start_wallboard(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`ccpipe wallboard` on `port`, with its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "wallboard", "--config", str(config),
             "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(process: subprocess.Popen[bytes] | psutil.Process) -> float:
    """User + system seconds of one process (a worker runs no children); nan once gone."""
    try:
        target = process if isinstance(process, psutil.Process) else psutil.Process(process.pid)
        times = target.cpu_times()
    except psutil.Error:
        return math.nan
    return float(times.user + times.system)
