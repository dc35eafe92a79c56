"""The real Apache Kafka broker for tests, as a session fixture other test packages can reuse.

    from tests.kafka.broker import kafka_broker  # in a conftest.py, or
    pytest_plugins = ["tests.kafka.broker"]       # in the root conftest.py

`kafka_broker` is the bootstrap address ("127.0.0.1:19092"). The broker is started with
deploy/kafka/kafka.sh on CCPIPE_TEST_KAFKA_PORT (19092, so a development broker on 9092 is
never touched), with a SASL_PLAINTEXT listener two ports above; the first run fetches the
jars from Maven Central. A broker that already runs there is reused and left running; one
this session starts begins with empty data and is stopped at the session's end. With
CCPIPE_TEST_KAFKA_BOOTSTRAP set, that broker is used as it is and nothing is started.
The tests skip only when Java is missing.

Tests share the broker, so each one names its own topics (`topic_prefix`). A test that kills
a broker takes its own (`OwnBroker`, the `own_broker` fixture): another port, its data under
the test's folder, the jars shared; the shared broker is never stopped by a test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from pipeline.config import Settings, load_settings
from tests.log_tail import log_tail

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
TEST_PORT = int(os.environ.get("CCPIPE_TEST_KAFKA_PORT", "19092"))
SASL_PORT = TEST_PORT + 2
SASL_USER = "ccpipe"
SASL_PASSWORD = "ccpipe-test-secret"
# The first run resolves ~43 MB of jars from Maven Central; later starts take seconds.
START_TIMEOUT_S = 600


def _java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def _kafka_home() -> Path:
    """Where kafka.sh keeps jars, data and logs (its CCPIPE_KAFKA_HOME default)."""
    return Path(os.environ.get("CCPIPE_KAFKA_HOME", ROOT / ".ccpipe" / "kafka"))


def _script_env() -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_PORT": str(TEST_PORT),
        "KAFKA_SASL_PORT": str(SASL_PORT),
        "KAFKA_SASL_USER": SASL_USER,
        "KAFKA_SASL_PASSWORD": SASL_PASSWORD,
    }


def _kafka_sh(
    action: str, timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(KAFKA_SH), action],
        env=env or _script_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _answers(bootstrap: str) -> bool:
    """Does a Kafka broker answer metadata there? (deploy/kafka/probe.py, run as a script.)"""
    probe = ROOT / "deploy" / "kafka" / "probe.py"
    result = subprocess.run(
        [sys.executable, str(probe), bootstrap, "--timeout", "2"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """Bootstrap address of a running Kafka broker (started here if none runs)."""
    given = os.environ.get("CCPIPE_TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    if not _java_available():
        pytest.skip("Java is not installed: the Kafka tests need a JDK >= 17 (deploy/kafka)")
    if _answers(f"127.0.0.1:{TEST_PORT}"):
        # A broker another checkout (or a developer) started: use it, leave it running.
        yield f"127.0.0.1:{TEST_PORT}"
        return
    already_running = _kafka_sh("status", 30).returncode == 0
    if not already_running:
        # Every test names its own topics, so nothing of an earlier session is read again;
        # kept, they pile up (5,000 partitions after a day of runs) and a fresh start spends
        # its first minute loading them, which made topic creation time out under load.
        shutil.rmtree(_kafka_home() / "data" / str(TEST_PORT), ignore_errors=True)
    started = _kafka_sh("start", START_TIMEOUT_S)
    if started.returncode != 0:
        pytest.fail(
            f"deploy/kafka/kafka.sh start failed:\n{started.stdout}\n{started.stderr}",
            pytrace=False,
        )
    try:
        yield f"127.0.0.1:{TEST_PORT}"
    finally:
        if not already_running:
            _kafka_sh("stop", 120)


@pytest.fixture(scope="session")
def kafka_sasl(kafka_broker: str) -> tuple[str, str, str]:
    """(bootstrap, user, password) of the broker's SASL_PLAINTEXT listener (PLAIN and SCRAM)."""
    import socket

    if os.environ.get("CCPIPE_TEST_KAFKA_BOOTSTRAP"):
        pytest.skip("an external broker (CCPIPE_TEST_KAFKA_BOOTSTRAP) has no known SASL listener")
    try:
        socket.create_connection(("127.0.0.1", SASL_PORT), timeout=2).close()
    except OSError:
        pytest.skip(
            f"the running test broker has no SASL listener on {SASL_PORT} "
            f"(it was started without KAFKA_SASL_PORT; stop it with KAFKA_PORT={TEST_PORT} "
            "deploy/kafka/kafka.sh stop)"
        )
    return f"127.0.0.1:{SASL_PORT}", SASL_USER, SASL_PASSWORD


@pytest.fixture
def topic_prefix() -> str:
    """A prefix no other test uses, so tests sharing the broker never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_settings(kafka_broker: str, topic_prefix: str) -> Settings:
    """Default settings pointed at the test broker, with this test's own topic names."""
    settings = load_settings(env={})
    return msgspec.structs.replace(
        settings,
        broker=kafka_broker,
        events_topic=f"{topic_prefix}.cc.events",
        dlq_topic=f"{topic_prefix}.cc.events.dlq",
        intervals_topic=f"{topic_prefix}.cc.kpi.intervals",
        segments_topic=f"{topic_prefix}.cc.segments",
        live_topic=f"{topic_prefix}.cc.live",
        # Ingest's too: a shared broker keeps other runs' input, which must not be read again.
        ingest_topic=f"{topic_prefix}.cc.input",
        ingest_group=f"{topic_prefix}-ingest",
        ingest_state_topic=f"{topic_prefix}-ingest-state",
    )


def _two_free_ports() -> int:
    """A port that is free with the one above it (kafka.sh's controller listener)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        with socket.socket() as above:
            try:
                above.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _alive(pid: int) -> bool:
    """Running, not a zombie (the broker is not our child: kafka.sh starts it with setsid,
    so nobody may reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class OwnBroker:
    """A broker of one test module's own (deploy/kafka/kafka.sh on a free port), its data and
    log under `home`, the jars of the shared cache: a test may SIGKILL and restart it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _two_free_ports()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "KAFKA_PORT": str(self.port), "CCPIPE_KAFKA_HOME": str(home)}

    def _share_jars(self) -> None:
        shared = _kafka_home()
        if not (shared / "lib").is_dir():
            fetched = _kafka_sh(
                "fetch", START_TIMEOUT_S, {**os.environ, "CCPIPE_KAFKA_HOME": str(shared)}
            )
            if fetched.returncode != 0:
                pytest.fail(f"kafka.sh fetch failed:\n{fetched.stderr}", pytrace=False)
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.home / "lib").exists():
            (self.home / "lib").symlink_to(shared / "lib")

    def start(self) -> float:
        """Start it (again: the data stays); the seconds until it answered."""
        self._share_jars()
        started = time.monotonic()
        done = _kafka_sh("start", START_TIMEOUT_S, self.env)
        if done.returncode != 0:
            pytest.fail(f"kafka.sh start failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        return time.monotonic() - started

    def pid(self) -> int:
        return int((self.home / "run" / f"{self.port}.pid").read_text().strip())

    def kill(self, deadline_s: float = 30.0) -> None:
        """SIGKILL: a crash, nothing flushed; returns once the process is gone and its port
        closed (a JVM's first thread turns zombie while the others still hold its sockets)."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + deadline_s
        while _alive(pid) or _listening(self.port):
            assert time.monotonic() < deadline, f"the broker (pid {pid}) outlived SIGKILL"
            time.sleep(0.05)  # polling step of a wait with a deadline

    def stop(self) -> None:
        _kafka_sh("stop", 120, self.env)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.home / "run" / f"{self.port}.log", lines)


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    """A broker for this test module alone (a test may kill it), stopped at the module's end."""
    if not _java_available():
        pytest.skip("Java is not installed: the Kafka tests need a JDK >= 17 (deploy/kafka)")
    broker = OwnBroker(tmp_path_factory.mktemp("own-kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
