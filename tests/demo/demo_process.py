"""`ccpipe demo` as a child process of a test, the way a person runs it in a terminal.

The demo runs in its own session, so "Ctrl-C" is SIGINT to its process group, as a terminal
sends it; its own children live in sessions of their own and get nothing from the terminal.
Its output goes to a file the test reads. `DemoRun.cleanup()` (called by the fixture whatever
happens) SIGKILLs anything of the run still alive, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.demo.broker import free_port
from tests.log_tail import log_tail
from tests.stream.worker_process import ccpipe_command, child_environment

T = TypeVar("T")
POLL_S = 0.2


class DemoRun:
    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.store = f"chdb://{folder / 'store'}"
        self.run_dir = folder / "run"
        self.out_path = folder / "demo.out"
        self.argv = [
            *ccpipe_command(),
            "demo",
            "--port",
            str(self.port),
            "--store",
            self.store,
            "--run-dir",
            str(self.run_dir),
            *args,
        ]
        self.started = time.monotonic()
        with self.out_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_environment(),
                cwd=folder,
                start_new_session=True,
            )
        self.seen: dict[int, psutil.Process] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, probe: Callable[[], T | None], deadline_s: float, what: str) -> T:
        """Poll `probe` until it returns something truthy; fail with the demo's output."""
        deadline = time.monotonic() + deadline_s
        while True:
            value = probe()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the demo ended ({self.process.returncode}) before {what}:\n"
                            f"{self.output()}{self.log_tails()}")  # fmt: skip
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {deadline_s} s:\n{self.output()}{self.log_tails()}")
            time.sleep(POLL_S)

    def wait_for_output(self, text: str, deadline_s: float) -> None:
        self.wait_until(lambda: text in self.output(), deadline_s, f"{text!r} in the output")

    def get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                body: bytes = response.read()
                return body
        except OSError:
            return None

    def wallboard(self) -> dict[str, Any] | None:
        body = self.get("/wallboard.json")
        return None if body is None else orjson.loads(body)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics by (name, sorted labels)."""
        body = self.get("/metrics")
        assert body is not None, "the worker's /metrics does not answer"
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
        }

    def tree(self) -> list[psutil.Process]:
        """The demo and every process under it now; remembered for `cleanup`."""
        root = psutil.Process(self.process.pid)
        found = [root, *root.children(recursive=True)]
        for process in found:
            self.seen.setdefault(process.pid, process)
        return found

    def interrupt(self, deadline_s: float) -> int:
        """Ctrl-C, as a terminal sends it; the demo's exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not stop {deadline_s} s after Ctrl-C:\n{self.output()}")

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for log in sorted(self.run_dir.glob("*.log")):
            parts.append(f"\n----- {log.name} -----\n" + log_tail(log, lines))
        return "".join(parts)

    def cleanup(self) -> None:
        with contextlib.suppress(psutil.Error):
            if self.process.poll() is None:
                self.tree()
        for process in [*self.seen.values()]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        psutil.wait_procs(list(self.seen.values()), timeout=10)


@contextlib.contextmanager
def running_demo(folder: Path, *args: str) -> Iterator[DemoRun]:
    run = DemoRun(folder, *args)
    try:
        yield run
    finally:
        run.cleanup()


def still_running(processes: list[psutil.Process]) -> list[str]:
    """The processes of the list that are still alive (zombies count as gone)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive


def sorted_rows(lines: bytes) -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in lines.splitlines() if line.strip()]
    return sorted(rows, key=lambda r: (r["tenant"], r["queue"], r["channel"], r["interval_start"]))
