"""One whole view, whatever the number of workers: on the real broker, every worker's
`/wallboard.json` and `ccpipe wallboard`'s show the tiles one board over every event shows,
figure by figure, with 1, 2 or 3 workers over 8 partitions, and again after a worker is
SIGKILLed mid-feed."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaProducer

from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.producer import DEFAULT_MAX_BATCH_BYTES, produce_lines
from pipeline.simulator.emit import simulate_events
from tests.liveview.expected import Shown, expected_page, shown
from tests.progress_deadline import ProgressDeadline
from tests.stream.worker_process import (
    FAILOVER_ENV,
    WorkerGroup,
    ccpipe_command,
    child_environment,
    free_port,
)

pytestmark = pytest.mark.kafka

PARTITIONS = 8
CONTACTS = 1500
POLL_S = 0.2
# Views must settle while they change; this long without any change, they never will.
QUIET_S = 45.0
SESSION_S = float(FAILOVER_ENV["CCPIPE_BROKER_SESSION_TIMEOUT_S"])


@pytest.fixture
def settings(kafka_settings: Settings) -> Settings:
    return msgspec.structs.replace(kafka_settings, partitions=PARTITIONS)


@pytest.fixture
def group(settings: Settings, topic_prefix: str, tmp_path: Path) -> Iterator[WorkerGroup]:
    """This test's workers, over its 8-partition topics; all stopped at its end."""
    workers = WorkerGroup(settings, f"{topic_prefix}-ccpipe", tmp_path / "workers")
    try:
        yield workers
    finally:
        workers.stop_all()


@pytest.fixture(scope="module")
def events() -> list[bytes]:
    return [orjson.dumps(e) for e in simulate_events(CONTACTS, 11)]


def fetch(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/wallboard.json", timeout=5) as r:
            body: dict[str, Any] = json.loads(r.read())
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


class Wallboard:
    """`ccpipe wallboard` as a child process."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "wallboard.yaml"
        config.write_text(yaml.safe_dump(_config(settings)), encoding="utf-8")
        self.port = free_port()
        self.log_path = folder / "wallboard.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*ccpipe_command(), "wallboard", "--config", str(config), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
            )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _config(settings: Settings) -> dict[str, Any]:
    names = ("broker", "events_topic", "dlq_topic", "intervals_topic", "segments_topic",
             "live_topic", "partitions")  # fmt: skip
    return {name: getattr(settings, name) for name in names}


@pytest.fixture
def wallboard_process(settings: Settings, tmp_path: Path) -> Iterator[Wallboard]:
    process = Wallboard(settings, tmp_path / "wallboard")
    try:
        yield process
    finally:
        process.stop()


def produce(settings: Settings, lines: list[bytes]) -> None:
    client = BrokerConnection.from_settings(settings).kafka_python_kwargs()
    producer = KafkaProducer(
        linger_ms=5, max_request_size=2 * 1024 * 1024,
        batch_size=DEFAULT_MAX_BATCH_BYTES + 64 * 1024, **client,
    )  # fmt: skip
    try:
        produce_lines(lines, producer, settings.events_topic, batch_size=100)
        producer.flush()
    finally:
        producer.close()


def create_topics(settings: Settings) -> None:
    client = BrokerConnection.from_settings(settings).kafka_python_kwargs()
    admin = KafkaAdminClient(**client)
    try:
        ensure_topics(admin, pipeline_topics(settings, PARTITIONS))
    finally:
        admin.close()


def views_equal(
    ports: dict[str, int], want: tuple[int, Shown], deadline_s: float | None = None
) -> float:
    """Wait until every view shows the expected tiles and is whole; the seconds it took. The
    wait goes on while any view changes (a loaded machine is slow, not stuck), and fails
    after QUIET_S without a change, or past `deadline_s` if given, naming what differs."""
    patience = ProgressDeadline(QUIET_S)
    watermark, expected = want
    while True:
        bodies = {name: fetch(port) for name, port in ports.items()}
        states = {name: b and shown(b) for name, b in bodies.items()}
        quiet = patience.expired(orjson.dumps(states, option=orjson.OPT_SORT_KEYS))
        done = {
            name: b is not None
            and b["watermark_us"] == watermark
            and shown(b) == expected
            and b["status"]["whole"]
            for name, b in bodies.items()
        }
        took = patience.waited_s
        if all(done.values()):
            return took
        if quiet or (deadline_s is not None and took > deadline_s):
            raise AssertionError(_why(bodies, done, want, took))
        time.sleep(POLL_S)


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two JSON values differ: `path: got (want ...)` per leaf."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted({*got, *want}, key=str)
                for d in differences(got.get(k), want.get(k), f"{path}.{k}")]  # fmt: skip
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in differences(g, w, f"{path}[{i}]")]  # fmt: skip
    return [] if got == want else [f"{path}: {got!r} (want {want!r})"]


def _why(bodies: dict[str, Any], done: dict[str, bool], want: Any, took: float) -> str:
    watermark, expected = want
    queues = expected["queues"]
    lines = [f"after {took:.1f} s, views not equal to one board over every event:"]
    for name, body in bodies.items():
        if done[name]:
            continue
        if body is None:
            lines.append(f"  {name}: no answer")
            continue
        lines.append(f"  {name}: watermark {body['watermark_us']} (want {watermark}), "
                     f"status {body['status']}")  # fmt: skip
        got = {(q["tenant"], q["queue"]): q for q in body["queues"]}
        for q in queues:
            other = got.get((q["tenant"], q["queue"]))
            if other != q:
                lines.append(f"    {q['queue']}: {'; '.join(differences(other, q))}"[:900])
        if body["agents"] != expected["agents"]:
            lines.append(
                f"    agents: {'; '.join(differences(body['agents'], expected['agents']))}"[:900]
            )
    return "\n".join(lines)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_view_shows_the_whole_centre_whatever_the_number_of_workers(
    workers: int,
    settings: Settings,
    group: WorkerGroup,
    wallboard_process: Wallboard,
    events: list[bytes],
) -> None:
    create_topics(settings)
    spawned = [group.spawn() for _ in range(workers)]
    produce(settings, events)
    ports = {w.name: w.web_port for w in spawned} | {"ccpipe wallboard": wallboard_process.port}
    views_equal(ports, expected_page(events, settings))
    assert not group.crashed()


def test_after_a_worker_is_killed_mid_feed_every_view_is_whole_again(
    settings: Settings,
    group: WorkerGroup,
    wallboard_process: Wallboard,
    events: list[bytes],
) -> None:
    create_topics(settings)
    workers = [group.spawn() for _ in range(3)]
    half = len(events) // 2
    produce(settings, events[:half])
    ports = {w.name: w.web_port for w in workers} | {"ccpipe wallboard": wallboard_process.port}
    views_equal(ports, expected_page(events[:half], settings))
    victim = workers[1]
    victim.kill()
    produce(settings, events[half:])
    del ports[victim.name]
    # The dead worker's partitions move after the session timeout; then their new owner
    # restores them and publishes: within the session plus 10 s every view is whole again.
    took = views_equal(ports, expected_page(events, settings), deadline_s=SESSION_S + 10)
    assert took <= SESSION_S + 10
    assert group.crashed() == []
