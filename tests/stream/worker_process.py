"""`ccpipe worker` as a child process, for tests against the real broker.

A `WorkerGroup` is one consumer group (one app id) of a test; `group.spawn()` starts a worker
of it as `ccpipe worker --config <its own YAML>`, with topics named by the test's prefix, its
state under the test's tmp_path and a free web port. Each worker's output goes to a log file
that survives restarts (`start` appends), so a failing test can show what the workers said
(tests/conftest.py adds the tails to the failure report).

The `worker_group` fixture ends every worker the group started (SIGTERM with a deadline, then
SIGKILL, always reaped), then deletes the topics of the test: every name, the internal and
changelog topics included, starts with the test's `topic_prefix`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pipeline.config import Settings

# Faust's clean shutdown (leave the group, flush the producer) takes a few seconds.
STOP_DEADLINE_S = 20.0
LOG_TAIL_LINES = 40
# Faust warns each time a batch's table writes overflow its producer buffer (100 messages),
# hundreds of times a run; a log tail without these lines shows what happened instead.
LOG_NOISE = ("producer buffer full size", "producer flush took")
# Faust reads these from the environment. With its defaults (60 s sessions), the partitions of
# a SIGKILLed worker stay with the dead member for a minute before another may take them; the
# broker's minimum session (6 s) keeps a test's failover within seconds.
FAILOVER_ENV = {
    "CCPIPE_BROKER_SESSION_TIMEOUT_S": "6",
    "BROKER_REBALANCE_TIMEOUT": "20",
}


def free_port() -> int:
    """A port nothing listens on now; the worker binds it a moment later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ccpipe_command() -> list[str]:
    """The `ccpipe` console script of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("ccpipe")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ccpipe")
    if found is None:
        raise RuntimeError("the ccpipe console script is not installed (pip install -e .)")
    return [found]


def child_environment() -> dict[str, str]:
    """The test's environment without CCPIPE_* settings, which would win over the YAML file;
    the broker's security variables (CCPIPE_BROKER_*) are kept for an external broker."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CCPIPE_") or name.startswith("CCPIPE_BROKER_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    """One `ccpipe worker`; it can be killed and started again with the same config."""

    def __init__(self, name: str, config: Path, log_path: Path, web_port: int) -> None:
        self.name = name
        self.config = config
        self.log_path = log_path
        self.web_port = web_port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ended_by_test = False
        # CCPIPE_* variables of this worker alone (they win over FAILOVER_ENV).
        self.env: dict[str, str] = {}

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"worker {self.name} is already running")
        self.starts += 1
        self.ended_by_test = False
        with self.log_path.open("ab") as log:
            log.write(f"===== {self.name}: start #{self.starts} =====\n".encode())
            log.flush()
            command = [*ccpipe_command(), "worker", "--config", str(self.config)]
            self.process = subprocess.Popen(
                [*command, "--web-port", str(self.web_port), "--loglevel", "info"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_environment() | FAILOVER_ENV | self.env,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def crashed(self) -> bool:
        """It ended, and not because the test ended it."""
        return self.process is not None and not self.running and not self.ended_by_test

    def kill(self) -> None:
        """SIGKILL: a crash, with whatever the worker had not flushed or committed lost."""
        if self.process is None:
            return
        self.ended_by_test = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """SIGTERM without waiting, so several workers' shutdowns overlap."""
        if self.process is not None and self.process.poll() is None:
            self.ended_by_test = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if the deadline passes; always reaped."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines() if not any(n in line for n in LOG_NOISE)]
        return "\n".join(kept[-lines:])


class WorkerGroup:
    """The workers of one consumer group: one app id, one set of topics, one folder."""

    def __init__(self, settings: Settings, app_id: str, folder: Path) -> None:
        self.settings = settings
        self.app_id = app_id
        self.folder = folder
        self.workers: list[WorkerProcess] = []

    def spawn(self, env: dict[str, str] | None = None) -> WorkerProcess:
        """A new worker of the group, started, with its own config, state and web port (and
        `env`, CCPIPE_* variables of its own)."""
        name = f"worker{len(self.workers) + 1}"
        folder = self.folder / name
        folder.mkdir(parents=True)
        config = folder / "ccpipe.yaml"
        s = self.settings
        config.write_text(
            yaml.safe_dump(
                {
                    "broker": s.broker,
                    "events_topic": s.events_topic,
                    "dlq_topic": s.dlq_topic,
                    "intervals_topic": s.intervals_topic,
                    "segments_topic": s.segments_topic,
                    "live_topic": s.live_topic,
                    "partitions": s.partitions,
                    "app_id": self.app_id,
                    "state_dir": str(folder / "state"),
                }
            ),
            encoding="utf-8",
        )
        worker = WorkerProcess(name, config, folder / "worker.log", free_port())
        worker.env = dict(env or {})
        self.workers.append(worker)
        worker.start()
        return worker

    def crashed(self) -> list[WorkerProcess]:
        return [worker for worker in self.workers if worker.crashed]

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.stop()

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(
            f"----- {w.name} (pid {w.process.pid if w.process else '-'}, "
            f"exit {w.process.returncode if w.process else '-'}, log {w.log_path}) -----\n"
            f"{w.log_tail(lines)}"
            for w in self.workers
        )


def forget_group(settings: Settings, app_id: str, prefix: str) -> None:
    """Delete the group and every topic named with `prefix`. Best effort: what is left
    behind costs the shared broker a little, nothing more."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from pipeline.kafka.connection import BrokerConnection

    kwargs = BrokerConnection.from_settings(settings).kafka_python_kwargs()
    try:
        admin = KafkaAdminClient(client_id="ccpipe-test-cleanup", **kwargs)
    except (KafkaError, OSError):
        return
    try:
        with contextlib.suppress(KafkaError):
            admin.delete_groups([app_id])
        names = [name for name in admin.list_topics() if name.startswith(prefix)]
        if names:
            admin.delete_topics(names)
    except KafkaError:
        pass
    finally:
        admin.close()


@contextlib.contextmanager
def group_of_workers(settings: Settings, topic_prefix: str, folder: Path) -> Iterator[WorkerGroup]:
    """An empty group of a test's workers; on the way out every one is stopped, then the
    group and the test's topics are deleted."""
    group = WorkerGroup(settings, f"{topic_prefix}-ccpipe", folder)
    try:
        yield group
    finally:
        group.stop_all()
        forget_group(settings, group.app_id, topic_prefix)


@pytest.fixture
def worker_group(
    kafka_settings: Settings, topic_prefix: str, tmp_path: Path
) -> Iterator[WorkerGroup]:
    """An empty group of this test's workers; every one is stopped at the end of the test."""
    with group_of_workers(kafka_settings, topic_prefix, tmp_path / "workers") as group:
        yield group
