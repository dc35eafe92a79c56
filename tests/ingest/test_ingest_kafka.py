"""`ccpipe ingest` on the real broker: single events through ingest and a worker give the rows
of `ccpipe kpis`, whatever a SIGKILL of ingest interrupts; a converter's pairing state
survives a SIGKILL; TaskRouter callbacks over HTTP, signed or not, late, repeated, too large,
give the right rows and counters.

Waits are on conditions seen on the broker, with deadlines that restart while progress is
made; kills come at points observed on the broker, never after a fixed time.
"""

from __future__ import annotations

import hashlib
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from pipeline.adapters import converter_for
from pipeline.config import Settings, load_settings
from pipeline.ingest.signature import TwilioSigner
from pipeline.ingest.topics import ingest_topics
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.producer import produce_lines
from pipeline.report import report_from_lines
from pipeline.simulator.emit import simulate_events
from tests.adapters.samples import convert_lines, sample_lines
from tests.adapters.test_asterisk_simulated_day import round_trip
from tests.ingest.ingest_process import IngestProcess, ingest_settings
from tests.progress_deadline import ProgressDeadline
from tests.stream.test_worker_kafka import BAD_LINES, BAD_REASONS, Stream, difference, kpis
from tests.stream.worker_process import WorkerGroup

pytestmark = pytest.mark.kafka

PARTITIONS = 4
# Without progress for this long, a wait fails; any progress starts it again.
IDLE_TIMEOUT_S = 60.0
POLL_S = 0.2
SETTLED_GRACE_S = 3.0
TOKEN = "test-auth-token-0123456789abcdef"


def wait_for(probe: Callable[[], tuple[bool, Any]], what: str) -> None:
    """Until `probe()` says done; it also returns a marker of progress, and the deadline
    starts again whenever the marker changes."""
    patience = ProgressDeadline(quiet_s=IDLE_TIMEOUT_S)
    while True:
        started = time.monotonic()
        done, now = probe()
        if done:
            return
        if patience.expired(now):
            pytest.fail(f"waiting for {what}: {patience.describe()}: {now}")
        time.sleep(max(0.0, POLL_S - (time.monotonic() - started)))


class Broker:
    """The test's view of the broker: topics, a producer, offsets of groups and topics."""

    def __init__(self, settings: Settings, config: dict[str, Any]) -> None:
        self.settings = settings
        self.config = config
        self.input = str(config["ingest_topic"])
        self.group = str(config["ingest_group"])
        self.client = BrokerConnection.from_settings(settings).kafka_python_kwargs()
        self.admin = KafkaAdminClient(**self.client)
        combined = msgspec.structs.replace(settings, **config)
        ensure_topics(self.admin, pipeline_topics(combined) + ingest_topics(combined))
        self.producer = KafkaProducer(linger_ms=5, **self.client)
        self.consumer = KafkaConsumer(enable_auto_commit=False, **self.client)

    def close(self) -> None:
        self.producer.close(timeout=10)
        self.consumer.close()
        self.admin.close()

    def send_single(self, lines: list[bytes]) -> None:
        """One event per message, keyed by the contract key, as platforms send."""
        produce_lines(lines, self.producer, self.input, batch_size=1)

    def send_records(self, records: list[bytes], key: bytes | None) -> None:
        for record in records:
            self.producer.send(self.input, value=record, key=key)
        self.producer.flush()

    def partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def end(self, topic: str) -> int:
        return sum(self.consumer.end_offsets(self.partitions(topic)).values())

    def committed(self) -> int:
        try:
            found = self.admin.list_group_offsets(self.group).get(self.group, {})
        except KafkaError:
            return 0
        return sum(m.offset for tp, m in found.items() if tp.topic == self.input and m.offset > 0)

    def ingest_caught_up(self) -> tuple[bool, Any]:
        committed, end = self.committed(), self.end(self.input)
        return end > 0 and committed >= end, (committed, end)

    def read_all(self, topic: str) -> list[Any]:
        reader = KafkaConsumer(enable_auto_commit=False, **self.client)
        try:
            tps = self.partitions(topic)
            reader.assign(tps)
            reader.seek_to_beginning(*tps)
            ends = reader.end_offsets(tps)
            records: list[Any] = []
            while any(reader.position(tp) < ends[tp] for tp in tps):
                for batch in reader.poll(timeout_ms=500).values():
                    records += batch
            return records
        finally:
            reader.close()

    def events(self) -> dict[str, dict[str, Any]]:
        """Every event on the events topic, by id (a replayed one is there twice)."""
        out: dict[str, dict[str, Any]] = {}
        for record in self.read_all(self.settings.events_topic):
            for event in orjson.loads(record.value):
                previous = out.setdefault(event["event_id"], event)
                assert previous == event, "two events with one id differ"
        return out


@pytest.fixture
def broker(kafka_settings: Settings, topic_prefix: str) -> Iterator[Broker]:
    view = Broker(kafka_settings, ingest_settings(kafka_settings, topic_prefix))
    try:
        yield view
    finally:
        view.close()


@pytest.fixture
def ingest_folder(tmp_path: Path) -> Iterator[list[IngestProcess]]:
    started: list[IngestProcess] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


def test_single_events_through_ingest_and_a_worker_give_the_rows_of_ccpipe_kpis(
    broker: Broker,
    worker_group: WorkerGroup,
    ingest_folder: list[IngestProcess],
    tmp_path: Path,
) -> None:
    lines = [orjson.dumps(event) for event in simulate_events(4000, 31)] + list(BAD_LINES)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    expected = kpis(path)
    assert len(expected) > 500
    stream = Stream(broker.settings, worker_group)
    try:
        worker_group.spawn()
        ingest = IngestProcess(tmp_path / "ingest", broker.config)
        ingest_folder.append(ingest)
        ingest.start()
        half = len(lines) // 2
        broker.send_single(lines[:half])
        wait_for(lambda: (broker.committed() > 0, broker.committed()), "ingest's first commit")
        broker.send_single(lines[half:])
        ingest.kill()
        committed, end = broker.committed(), broker.end(broker.input)
        assert 0 < committed < end, f"the kill came after ingest had caught up ({committed})"
        ingest.start()

        settled_since: list[float] = []

        def rows_equal() -> tuple[bool, Any]:
            progress = stream.poll()
            caught_up, offsets = broker.ingest_caught_up()
            if not (caught_up and progress.settled and stream.intervals.at_end()):
                settled_since.clear()
                return False, (offsets, progress.describe(), len(stream.latest))
            if stream.rows() == expected:
                return True, None
            settled_since.append(time.monotonic())
            assert settled_since[-1] - settled_since[0] < SETTLED_GRACE_S, difference(
                stream.rows(), expected
            )
            return False, (offsets, progress.describe(), len(settled_since))

        wait_for(rows_equal, "the rows of ccpipe kpis")
        assert ingest.starts == 2 and ingest.running
    finally:
        stream.close()

    # Batched: the worker read far fewer messages than events, each within one partition.
    messages = broker.read_all(broker.settings.events_topic)
    assert len(messages) < len(lines) / 20
    dead = broker.read_all(broker.settings.dlq_topic)
    assert sorted({record.value for record in dead}) == sorted(BAD_LINES)
    for record in dead:
        headers = dict(record.headers)
        assert BAD_REASONS[BAD_LINES.index(record.value)] in headers["reason"].decode()
        assert headers["source"].decode().startswith(f"{broker.input}:")


ASTERISK = ["--from", "asterisk", "--customer-from", "callerid", "--acw-pause-reason", "ACW"]


def _queue_log() -> tuple[list[bytes], list[dict[str, Any]]]:
    """A simulated day's queue_log and the events its offline conversion gives."""
    lines, offline, dead_offline = round_trip()
    assert dead_offline == []
    return [line.encode() for line in lines], offline


def test_a_converter_s_pairing_state_survives_a_sigkill(
    broker: Broker, ingest_folder: list[IngestProcess], tmp_path: Path
) -> None:
    """A simulated day's queue_log (one Asterisk: one key, one partition) through ingest,
    killed mid-stream after a checkpoint: every event of the offline conversion comes out,
    no other, and no record is dead-lettered (a lost state would leave wrap-ups unpaired)."""
    records, offline = _queue_log()
    ingest = IngestProcess(tmp_path / "ingest", broker.config, ASTERISK)
    ingest_folder.append(ingest)
    ingest.start()
    third = len(records) // 3
    broker.send_records(records[:third], b"pbx-1")
    wait_for(broker.ingest_caught_up, "the first third committed")
    broker.send_records(records[third : 2 * third], b"pbx-1")
    wait_for(lambda: (broker.committed() > third, broker.committed()), "a commit in the second")
    # Stopped before the last third is sent, so the kill always leaves records to read after
    # the restart, whatever it had committed of the second (a quiet machine read it all
    # before the kill: "nothing was left to replay").
    ingest.pause()
    broker.send_records(records[2 * third :], b"pbx-1")
    ingest.kill()
    assert broker.committed() < broker.end(broker.input), "nothing was left to replay"
    ingest.start()
    wait_for(broker.ingest_caught_up, "the whole day committed")

    assert broker.events() == {event["event_id"]: event for event in offline}
    assert broker.read_all(broker.settings.dlq_topic) == []


def test_the_state_moves_with_its_partition_to_another_ingest_process(
    broker: Broker, ingest_folder: list[IngestProcess], tmp_path: Path
) -> None:
    """Two ingest processes in one group: the second's arrival moves partitions (the first
    checkpoints on revocation), then the first is killed (the second restores from the state
    topic). Whoever read the queue_log's partition when, the events are the offline ones."""
    records, offline = _queue_log()
    first = IngestProcess(tmp_path / "first", broker.config, ASTERISK)
    second = IngestProcess(tmp_path / "second", broker.config, ASTERISK)
    ingest_folder += [first, second]
    first.start()
    third = len(records) // 3
    broker.send_records(records[:third], b"pbx-1")
    wait_for(broker.ingest_caught_up, "the first third committed by the first process")
    second.start()

    def both_members() -> tuple[bool, Any]:
        try:
            info = broker.admin.describe_groups([broker.group])[broker.group]
        except KafkaError:
            return False, None
        members, state = info.get("members", []), info.get("group_state")
        return len(members) == 2 and state == "Stable", (len(members), state)

    wait_for(both_members, "a stable group of two")
    broker.send_records(records[third : 2 * third], b"pbx-1")
    wait_for(lambda: (broker.committed() > third, broker.committed()), "a commit by the two")
    first.kill()
    broker.send_records(records[2 * third :], b"pbx-1")
    wait_for(broker.ingest_caught_up, "the whole day committed by the second")

    assert second.running
    assert broker.events() == {event["event_id"]: event for event in offline}
    assert broker.read_all(broker.settings.dlq_topic) == []


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except urllib.error.URLError:
        return 0  # nothing listens (yet)


def _metric(port: int, sample: str) -> float:
    """One sample of /metrics, as written there (`name{labels}`); 0 if it is not there."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_taskrouter_callbacks_over_http(
    broker: Broker, ingest_folder: list[IngestProcess], tmp_path: Path
) -> None:
    """Signed callbacks, shuffled and partly repeated, give the report of the ordered life
    cycle; unsigned, wrongly signed and oversized ones are refused, counted and produce
    nothing; the auth token is in no log line."""
    options = ["--from", "taskrouter", "--http", "--contact-from", "attribute:call_sid"]
    ingest = IngestProcess(
        tmp_path / "ingest", broker.config, options, env={"CCPIPE_TWILIO_AUTH_TOKEN": TOKEN}
    )
    ingest_folder.append(ingest)
    ingest.start()
    url = f"http://127.0.0.1:{ingest.webhook_port}/taskrouter"
    wait_for(lambda: (_post(url, b"", {}) == 403, ingest.log()[-200:]), "the webhook to listen")
    signer = TwilioSigner(TOKEN)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    lines = sample_lines("taskrouter-lifecycle.txt")
    rng = random.Random(17)
    sent = lines + rng.sample(lines, k=len(lines) // 3)
    rng.shuffle(sent)
    refused = 0
    for number, line in enumerate(sent):
        if line.startswith(b"{"):
            body = line  # a JSON callback: Twilio signs the URL with the body's hash
            signed_url = f"{url}?bodySHA256={hashlib.sha256(body).hexdigest()}"
            headers = {"Content-Type": "application/json",
                       "X-Twilio-Signature": signer.sign(signed_url)}  # fmt: skip
        else:
            body, signed_url = line, url
            params = parse_qsl(line.decode(), keep_blank_values=True)
            headers = {**form, "X-Twilio-Signature": signer.sign(url, params)}
        if number % 5 == 0:  # a forged one before it: another token, or none
            forged = {**headers, "X-Twilio-Signature": TwilioSigner("wrong").sign(signed_url)}
            assert _post(signed_url, body, forged) == 403
            assert _post(signed_url, body, {k: v for k, v in headers.items()
                                            if k != "X-Twilio-Signature"}) == 403  # fmt: skip
            refused += 2
        assert _post(signed_url, body, headers) == 200
    big = b"EventType=task.created&Junk=" + b"x" * 70_000
    big_headers = {**form, "X-Twilio-Signature": signer.sign(url, parse_qsl(big.decode()))}
    assert _post(url, big, big_headers) == 413

    assert broker.end(broker.input) == len(sent)  # only the accepted ones were written
    wait_for(broker.ingest_caught_up, "ingest to convert every callback")
    produced = [orjson.dumps(event) for event in broker.events().values()]
    ordered = convert_lines(
        converter_for("taskrouter", contact_from="attribute:call_sid"), lines
    ).events
    settings = load_settings(env={})
    assert report_from_lines(produced, settings) == report_from_lines(
        [orjson.dumps(e) for e in ordered], settings
    )
    port = ingest.metrics_port
    counts = {
        outcome: _metric(port, f'ccpipe_ingest_webhook_requests_total{{outcome="{outcome}"}}')
        for outcome in ("accepted", "bad_signature", "too_large")
    }
    assert counts == {"accepted": len(sent), "bad_signature": refused + 1, "too_large": 1}
    ingest.stop()
    assert TOKEN not in ingest.log()
