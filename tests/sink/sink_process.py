"""`ccpipe sink` as a child process, and the waiting the Kafka tests do around it.

Every wait polls a condition against a deadline; none sleeps a fixed time for
synchronisation. The `SinkProcess` is always ended by the test (SIGTERM with a deadline,
then SIGKILL) and its log is kept for the failure report.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from prometheus_client.parser import text_string_to_metric_families

from pipeline.config import Settings
from pipeline.core.catalogue import (
    SINK_BUFFERED_ROWS,
    SINK_COMMITS,
    SINK_INSERT_FAILURES,
    SINK_MESSAGES,
    SINK_ROWS_WRITTEN,
)
from tests.progress_deadline import ProgressDeadline
from tests.stream.worker_process import ccpipe_command, child_environment, free_port

POLL_S = 0.1
# The sink's series that move while it works (`SinkProcess.progress`).
_MOVING = frozenset(
    m.name
    for m in (
        SINK_MESSAGES,
        SINK_ROWS_WRITTEN,
        SINK_COMMITS,
        SINK_INSERT_FAILURES,
        SINK_BUFFERED_ROWS,
    )
)
STOP_DEADLINE_S = 20.0
T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    what: str,
    timeout_s: float = 60.0,
    check: Callable[[], None] | None = None,
    progress: Callable[[], Hashable] | None = None,
) -> T:
    """Poll `condition` until it returns something true. `check` runs before each poll and
    raises if waiting has become pointless (a process died).

    Without `progress` the wait fails after `timeout_s` (for what has a time of its own: an
    alert's `for`, an outage's length). With it, `timeout_s` is how long the state it
    returns may stand still (a `ProgressDeadline`): a loaded machine's slow sink is waited
    for as long as it moves, a stuck one fails as soon."""
    patience = ProgressDeadline(quiet_s=timeout_s)
    while True:
        started = time.monotonic()
        if check is not None:
            check()
        found = condition()
        if found:
            return found
        if progress is None:
            if patience.waited_s > timeout_s:
                raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        elif patience.expired(progress()):
            raise AssertionError(f"no {what}: {patience.describe()}")
        time.sleep(max(0.0, POLL_S - (time.monotonic() - started)))


def write_config(settings: Settings, path: Path, app_id: str, store: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "broker": settings.broker,
                "events_topic": settings.events_topic,
                "dlq_topic": settings.dlq_topic,
                "intervals_topic": settings.intervals_topic,
                "segments_topic": settings.segments_topic,
                "partitions": settings.partitions,
                "app_id": app_id,
                "store": store,
            }
        ),
        encoding="utf-8",
    )
    return path


class SinkProcess:
    def __init__(self, config: Path, log_path: Path, *args: str) -> None:
        self.config = config
        self.log_path = log_path
        self.metrics_port = free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *ccpipe_command(),
                    "sink",
                    "--config",
                    str(self.config),
                    "--metrics-port",
                    str(self.metrics_port),
                    *self.args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment(),
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> int | None:
        """SIGTERM, then SIGKILL after the deadline; the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def metrics(self) -> dict[str, float]:
        """Every sample of its /metrics, as `name{label=value,...}` -> value ({} if down)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return {}
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return out

    def metric_sum(self, prefix: str) -> float:
        return sum(v for k, v in self.metrics().items() if k.split("{")[0] == prefix)

    def progress(self) -> Hashable:
        """What moves while the sink works: its log and its counters (messages consumed,
        rows written, commits, failed inserts, rows held)."""
        counters = sorted((k, v) for k, v in self.metrics().items() if k.split("{")[0] in _MOVING)
        try:
            logged = self.log_path.stat().st_size
        except OSError:
            logged = 0
        return logged, tuple(counters)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"ccpipe sink exited with {self.process.returncode}:\n{self.log()[-3000:]}"
            )


def sql_endpoint(store_path: Path) -> Any:
    """The owner's endpoint URL from its owner file, once it exists (else None)."""
    import json

    try:
        return json.loads((store_path / ".owner.json").read_text())["url"]
    except (OSError, ValueError, KeyError):
        return None
