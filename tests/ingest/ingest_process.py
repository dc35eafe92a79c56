"""`ccpipe ingest` as a child process for tests against the real broker: its own YAML (the
test's topic names), a log file that survives restarts, SIGKILL and start again."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from pipeline.config import Settings
from tests.stream.worker_process import ccpipe_command, child_environment, free_port


def ingest_settings(settings: Settings, prefix: str) -> dict[str, object]:
    """The YAML of an ingest process over the test's topics."""
    return {
        "broker": settings.broker,
        "events_topic": settings.events_topic,
        "dlq_topic": settings.dlq_topic,
        "intervals_topic": settings.intervals_topic,
        "segments_topic": settings.segments_topic,
        "partitions": settings.partitions,
        "ingest_topic": f"{prefix}.cc.input",
        "ingest_group": f"{prefix}-ingest",
        "ingest_state_topic": f"{prefix}-ingest-state",
    }


class IngestProcess:
    def __init__(
        self,
        folder: Path,
        config: Mapping[str, object],
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "ingest.yaml"
        self.metrics_port = free_port()
        self.webhook_port = free_port()
        self.config.write_text(
            yaml.safe_dump(
                {
                    **config,
                    "ingest_metrics_port": self.metrics_port,
                    "webhook_port": self.webhook_port,
                }
            )
        )
        self.log_path = folder / "ingest.log"
        self.args = list(args)
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"===== start #{self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    *ccpipe_command(),
                    "ingest",
                    "--config",
                    str(self.config),
                    "--loglevel",
                    "debug",
                    *self.args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment() | {"CCPIPE_BROKER_SESSION_TIMEOUT_S": "6"} | self.env,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        """SIGSTOP: it holds whatever it has, reads and commits nothing more until killed."""
        assert self.process is not None and self.process.poll() is None
        self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, deadline_s: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
