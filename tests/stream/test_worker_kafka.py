"""The stream worker (`ccpipe worker`, Faust) on the real Apache Kafka broker.

Each test produces simulated events (plus two bad lines) to its own topics, runs workers as
child processes (tests/stream/worker_process.py), and waits until the group has settled: its
committed offsets on the events topic and on both internal topics have reached their ends
(Faust commits an offset only after flushing what it produced, so nothing is in flight) and
the intervals topic has been read to its end. The latest interval row per key, rows whose
`offered` is 0 left out, must then equal `ccpipe kpis` on the same file, field by field.

Crashes are SIGKILLs at points observed on the broker, never after a fixed time. Workers run
with a 6 s session (worker_process.FAILOVER_ENV), so a dead member's partitions move on
within seconds.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import msgspec
import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from pipeline.config import Settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.producer import DEFAULT_MAX_BATCH_BYTES, ProduceCounts, produce_lines
from pipeline.simulator.emit import simulate_events
from pipeline.stream.topology import source_topic_names
from tests.kafka.broker import OwnBroker
from tests.progress_deadline import ProgressDeadline
from tests.stream.worker_process import (
    WorkerGroup,
    WorkerProcess,
    ccpipe_command,
    child_environment,
    group_of_workers,
)

pytestmark = pytest.mark.kafka

PARTITIONS = 4
# About 28,600 events: a worker gets through them in a couple of seconds.
SMALL_CONTACTS = 4000
# About 57,000 events in 25-event messages, fed in parts: work in flight at every kill point.
LARGE_CONTACTS = 8000
BATCH = 100
SMALL_BATCH = 25

POLL_S = 0.1
# A wait gives up once nothing has moved this long (tests/progress_deadline.py), however long
# it has taken in all: a loaded machine is slow, a stalled partition stands still.
SETTLE_QUIET_S = 90.0
STEP_QUIET_S = 60.0
READ_TIMEOUT_S = 60.0
# Parts of a live feed, and how many of them may be uncommitted at once.
FEED_PARTS = 8
FEED_AHEAD = 2
# A settled group has nothing in flight, so rows that still differ this long after are wrong.
SETTLED_GRACE_S = 3.0

BAD_LINES = (
    b"not json at all {",
    b'{"type":"contact.offered","event_id":"bad-1","contact_id":"c-bad",'
    b'"ts":"2026-11-23T09:00:00Z","channel":"voice"}',
)
BAD_REASONS = ("not JSON", "missing required field `queue`")

Row = dict[str, Any]


def row_key(row: Row) -> tuple[str, str, str, str]:
    return (row["tenant"], row["queue"], row["channel"], row["interval_start"])


def report_rows(rows: Iterable[Row]) -> list[Row]:
    """Rows as `ccpipe kpis` prints them: the report fields, offered > 0, in key order."""
    kept = [{f: row[f] for f in REPORT_FIELDS} for row in rows if row["offered"] != 0]
    return sorted(kept, key=row_key)


# --- the input: simulated events and `ccpipe kpis` on them ---------------------------------


@dataclass(frozen=True)
class EventFile:
    path: Path
    events: list[bytes]  # the simulator's lines
    lines: list[bytes]  # the whole file: the events, then BAD_LINES
    expected: list[Row]  # `ccpipe kpis` on the file


def kpis(path: Path) -> list[Row]:
    done = subprocess.run(
        [*ccpipe_command(), "kpis", str(path), "--format", "jsonl", "--quiet"],
        capture_output=True,
        env=child_environment(),
        check=True,
        timeout=120,
    )
    return report_rows(orjson.loads(line) for line in done.stdout.splitlines())


@pytest.fixture(scope="module")
def event_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, int], EventFile]:
    """The file of `contacts` simulated contacts and `seed`, made once per module."""
    made: dict[tuple[int, int], EventFile] = {}

    def make(contacts: int, seed: int) -> EventFile:
        if (contacts, seed) not in made:
            events = [orjson.dumps(event) for event in simulate_events(contacts, seed)]
            lines = events + list(BAD_LINES)
            path = tmp_path_factory.mktemp("events") / f"sim-{contacts}-{seed}.jsonl"
            path.write_bytes(b"\n".join(lines) + b"\n")
            made[contacts, seed] = EventFile(path, events, lines, kpis(path))
        return made[contacts, seed]

    return make


# --- watching the group and its output on the broker ---------------------------------------


@dataclass(frozen=True)
class Progress:
    """The group's committed offsets and the end offsets of the topics it consumes, read in
    that order: if every committed offset has reached its end, nothing is left in flight."""

    events_topic: str
    committed: dict[TopicPartition, int]
    ends: dict[TopicPartition, int]  # empty until the internal topics exist

    def _total(self, offsets: dict[TopicPartition, int]) -> int:
        return sum(offsets.get(tp, 0) for tp in self.ends if tp.topic == self.events_topic)

    @property
    def events_committed(self) -> int:
        return self._total(self.committed)

    @property
    def events_end(self) -> int:
        return self._total(self.ends)

    @property
    def settled(self) -> bool:
        return bool(self.ends) and all(
            self.committed.get(tp, 0) >= end for tp, end in self.ends.items()
        )

    def describe(self) -> str:
        topics = sorted({tp.topic for tp in self.ends})
        parts = []
        for topic in topics:
            tps = [tp for tp in self.ends if tp.topic == topic]
            done = sum(self.committed.get(tp, 0) for tp in tps)
            parts.append(f"{topic}: {done}/{sum(self.ends[tp] for tp in tps)}")
        return "committed/end offsets: " + ("; ".join(parts) or "topics not created yet")

    @property
    def moves(self) -> tuple[tuple[str, int, int], ...]:
        """What changes while the group makes progress: its committed offsets."""
        return tuple(sorted((tp.topic, tp.partition, o) for tp, o in self.committed.items()))

    def behind(self) -> str:
        """Every partition whose committed offset is short of its end, one a line."""
        lines = [
            f"  {tp.topic}[{tp.partition}]: committed {self.committed.get(tp, 'nothing')}, "
            f"end {end}"
            for tp, end in sorted(self.ends.items())
            if self.committed.get(tp, 0) < end
        ]
        return "partitions behind:\n" + "\n".join(lines) if lines else "no partition behind"


class TopicReader:
    """Every message of a topic from its start, read as it comes (no consumer group)."""

    def __init__(self, client: dict[str, Any], topic: str) -> None:
        self.consumer = KafkaConsumer(enable_auto_commit=False, **client)
        self.partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.records: list[ConsumerRecord] = []

    def read(self, timeout_ms: int = 0) -> list[ConsumerRecord]:
        new = [
            record
            for batch in self.consumer.poll(timeout_ms=timeout_ms).values()
            for record in batch
        ]
        self.records += new
        return new

    def at_end(self) -> bool:
        ends = self.consumer.end_offsets(self.partitions)
        return all(self.consumer.position(tp) >= ends[tp] for tp in self.partitions)

    def read_to_end(self, timeout_s: float = READ_TIMEOUT_S) -> list[ConsumerRecord]:
        deadline = time.monotonic() + timeout_s
        while not self.at_end():
            assert time.monotonic() < deadline, "the topic could not be read to its end"
            self.read(timeout_ms=int(POLL_S * 1000))
        return self.records

    def close(self) -> None:
        self.consumer.close()


def difference(actual: list[Row], expected: list[Row], limit: int = 5) -> str:
    """Which rows the stream lacks, adds or has with other values than `ccpipe kpis`."""
    got = {row_key(r): r for r in actual}
    want = {row_key(r): r for r in expected}
    out = [f"stream: {len(got)} rows; ccpipe kpis: {len(want)} rows"]
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    if missing:
        out.append(f"{len(missing)} rows missing from the stream, first {missing[:limit]}")
    if extra:
        out.append(f"{len(extra)} rows only in the stream, first {extra[:limit]}")
    differing = [k for k in sorted(want.keys() & got.keys()) if got[k] != want[k]]
    if differing:
        out.append(f"{len(differing)} rows differ; first, as field: (stream, ccpipe kpis):")
    for k in differing[:limit]:
        fields = {f: (got[k][f], want[k][f]) for f in REPORT_FIELDS if got[k][f] != want[k][f]}
        out.append(f"  {k}: {fields}")
    return "\n".join(out)


class Stream:
    """One test's topics, producer, readers and group of workers."""

    def __init__(self, settings: Settings, group: WorkerGroup) -> None:
        self.settings = settings
        self.group = group
        client = BrokerConnection.from_settings(settings).kafka_python_kwargs()
        self.admin = KafkaAdminClient(**client)
        ensure_topics(self.admin, pipeline_topics(settings, PARTITIONS))
        self.producer = KafkaProducer(
            linger_ms=5,
            batch_size=DEFAULT_MAX_BATCH_BYTES + 64 * 1024,
            max_request_size=2 * 1024 * 1024,
            **client,
        )
        self.offsets = KafkaConsumer(enable_auto_commit=False, **client)
        self.sources = list(
            source_topic_names(msgspec.structs.replace(settings, app_id=group.app_id))
        )
        self.source_partitions: list[TopicPartition] = []
        self.intervals = TopicReader(client, settings.intervals_topic)
        self.dlq = TopicReader(client, settings.dlq_topic)
        self.latest: dict[bytes, Row] = {}
        self.events_partitions = [
            TopicPartition(settings.events_topic, p) for p in range(PARTITIONS)
        ]
        self.pending: deque[list[bytes]] = deque()
        self.feed_batch = BATCH
        self.fed_ends: list[int] = []  # the events topic's total end offset after each part
        self.started = time.monotonic()

    def note(self, what: str, progress: Progress | None = None) -> None:
        """A timed line in the test's output (shown when it fails)."""
        state = f" ({progress.describe()})" if progress is not None else ""
        print(f"[{time.monotonic() - self.started:6.1f} s] {what}{state}")

    def close(self) -> None:
        self.producer.close(timeout=10)
        for client in (self.intervals, self.dlq, self.offsets, self.admin):
            client.close()

    def produce(self, lines: list[bytes], batch_size: int) -> ProduceCounts:
        return produce_lines(
            lines, self.producer, self.settings.events_topic, batch_size=batch_size
        )

    def feed(self, lines: list[bytes], parts: int, batch_size: int) -> None:
        """Send `lines` as a live source would, in `parts` parts while the waits poll: a part
        goes once the group has committed every part but the last one sent, so until the
        last part the events topic always holds input the group has not committed."""
        self.pending.extend(split(lines, *(i / parts for i in range(1, parts))))
        self.feed_batch = batch_size

    def _feed(self, progress: Progress) -> None:
        while self.pending and (
            len(self.fed_ends) < FEED_AHEAD
            or progress.events_committed >= self.fed_ends[-FEED_AHEAD]
        ):
            self.produce(self.pending.popleft(), self.feed_batch)
            ends = self.offsets.end_offsets(self.events_partitions)
            self.fed_ends.append(sum(ends.values()))

    def fed_parts_committed(self, progress: Progress) -> int:
        return sum(1 for end in self.fed_ends if progress.events_committed >= end)

    # The group's state, as the broker sees it.

    def progress(self) -> Progress:
        try:
            found = self.admin.list_group_offsets(self.group.app_id)[self.group.app_id]
            committed = {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}
        except KafkaError:  # no coordinator yet: the group has not formed
            committed = {}
        if not self.source_partitions:
            # The workers declare the internal topics; until then the group cannot be settled.
            if not set(self.sources) <= self.offsets.topics():
                return Progress(self.settings.events_topic, committed, {})
            self.source_partitions = [
                TopicPartition(topic, p) for topic in self.sources for p in range(PARTITIONS)
            ]
        ends = self.offsets.end_offsets(self.source_partitions)
        return Progress(self.settings.events_topic, committed, ends)

    def assignment(self) -> dict[str, set[int]] | None:
        """Events partitions per member of a stable group; None while it rebalances."""
        try:
            info = self.admin.describe_groups([self.group.app_id])[self.group.app_id]
        except KafkaError:
            return None
        if info.get("group_state") != "Stable":
            return None
        owned: dict[str, set[int]] = {}
        for member in info.get("members", []):
            assigned = (member.get("member_assignment") or {}).get("assigned_partitions", [])
            owned[member["member_id"]] = {
                p
                for a in assigned
                if a["topic"] == self.settings.events_topic
                for p in a["partitions"]
            }
        return owned

    def wait_for_assignment(
        self, accept: Callable[[dict[str, set[int]]], bool], what: str
    ) -> dict[str, set[int]]:
        """The events partitions per member, once the group is stable and `accept`s them."""
        found: dict[str, set[int]] = {}

        def condition(_: Progress) -> bool:
            owned = self.assignment()
            if owned is None or not accept(owned):
                return False
            found.update(owned)
            return True

        self.wait_until(condition, what)
        return found

    def rows(self) -> list[Row]:
        return report_rows(self.latest.values())

    def poll(self) -> Progress:
        """Take in new interval rows (the latest per key wins), read the group's progress,
        then send the next part of the feed if it is due."""
        for record in self.intervals.read(timeout_ms=int(POLL_S * 1000)):
            self.latest[record.key] = orjson.loads(record.value)
        progress = self.progress()
        self._feed(progress)
        return progress

    def _check_workers(self, what: str) -> None:
        crashed = self.group.crashed()
        if crashed:
            names = ", ".join(
                f"{w.name} (exit {w.process and w.process.returncode})" for w in crashed
            )
            pytest.fail(
                f"while waiting for {what}, a worker ended by itself: {names}", pytrace=False
            )

    def wait_until(
        self, condition: Callable[[Progress], bool], what: str, quiet_s: float = STEP_QUIET_S
    ) -> Progress:
        """Poll until `condition` holds; fail once the group's committed offsets have stood
        still for `quiet_s` (a slow group that moves is waited for)."""
        patience = ProgressDeadline(quiet_s)
        while True:
            self._check_workers(what)
            started = time.monotonic()
            progress = self.poll()
            if condition(progress):
                self.note(f"reached: {what}", progress)
                return progress
            if patience.expired(progress.moves):
                self._fail(f"no {what}", patience, progress)
            time.sleep(max(0.0, POLL_S - (time.monotonic() - started)))

    def wait_for_rows(self, expected: list[Row], quiet_s: float = SETTLE_QUIET_S) -> Progress:
        """Until the group has settled with exactly `expected` as its interval rows. The wait
        goes on while committed offsets move or interval rows come."""
        patience = ProgressDeadline(quiet_s)
        settled_since: float | None = None
        while True:
            self._check_workers("the interval rows")
            now = time.monotonic()
            progress = self.poll()
            if progress.settled and not self.pending and self.intervals.at_end():
                rows = self.rows()
                if rows == expected:
                    self.note(f"settled with the {len(rows)} rows of ccpipe kpis", progress)
                    return progress
                settled_since = settled_since or now
                if now - settled_since > SETTLED_GRACE_S:
                    pytest.fail(
                        "the group settled with interval rows that differ from ccpipe kpis:\n"
                        f"{difference(rows, expected)}\n{progress.describe()}",
                        pytrace=False,
                    )
            else:
                settled_since = None
            if patience.expired((progress.moves, len(self.intervals.records))):
                self._fail(f"equal rows ({difference(self.rows(), expected)})", patience, progress)
            time.sleep(max(0.0, POLL_S - (time.monotonic() - now)))

    def _fail(self, what: str, patience: ProgressDeadline, progress: Progress) -> NoReturn:
        """A wait that gave up: which partitions are behind, where; the workers' log tails
        follow in the report (tests/conftest.py)."""
        pytest.fail(
            f"{what}: {patience.describe()}\n{progress.describe()}\n{progress.behind()}",
            pytrace=False,
        )

    def kill_mid_stream(self, worker: WorkerProcess, progress: Progress) -> None:
        """SIGKILL `worker`, then check the group had input it had not committed yet."""
        worker.kill()
        self.note(f"killed {worker.name}", progress)
        assert not progress.settled and self.pending, (
            f"the kill came after the group had caught up, so it tests nothing: "
            f"{progress.describe()}"
        )


@pytest.fixture
def own_worker_group(
    kafka_settings: Settings, own_broker: OwnBroker, topic_prefix: str, tmp_path: Path
) -> Iterator[WorkerGroup]:
    """An empty group of workers on this module's own broker (tests/kafka/broker.py), which
    a test may kill: the shared broker never is."""
    settings = msgspec.structs.replace(kafka_settings, broker=own_broker.bootstrap)
    with group_of_workers(settings, topic_prefix, tmp_path / "workers") as group:
        yield group


@pytest.fixture
def own_stream(own_worker_group: WorkerGroup) -> Iterator[Stream]:
    under_test = Stream(own_worker_group.settings, own_worker_group)
    try:
        yield under_test
    finally:
        under_test.close()


@pytest.fixture
def stream(kafka_settings: Settings, worker_group: WorkerGroup) -> Iterator[Stream]:
    assert kafka_settings.partitions == PARTITIONS
    under_test = Stream(kafka_settings, worker_group)
    try:
        yield under_test
    finally:
        under_test.close()


def both_own_partitions(owned: dict[str, set[int]]) -> bool:
    return len(owned) == 2 and all(owned.values())


def split(lines: list[bytes], *shares: float) -> list[list[bytes]]:
    """`lines` cut at the given fractions, e.g. split(x, 1/3, 2/3) gives three parts."""
    cuts = [0, *(round(len(lines) * s) for s in shares), len(lines)]
    return [lines[a:b] for a, b in itertools.pairwise(cuts)]


# --- the tests -----------------------------------------------------------------------------


def test_one_worker_gives_the_rows_of_ccpipe_kpis(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    source = event_file(SMALL_CONTACTS, 11)
    stream.produce(source.lines, BATCH)
    stream.group.spawn()
    stream.wait_for_rows(source.expected)
    assert len(source.expected) > 500  # many intervals, so equality says something


def test_bad_events_are_dead_lettered_and_duplicates_change_nothing(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    source = event_file(SMALL_CONTACTS, 12)
    stream.produce(source.lines, BATCH)
    stream.group.spawn()
    stream.wait_until(lambda p: p.events_committed > 0, "the worker's first commit")
    # A slice sent again after the worker has seen it (the simulator adds its own duplicates).
    again = split(source.events, 0.2, 0.5)[1]
    stream.produce(again, SMALL_BATCH)
    stream.wait_for_rows(source.expected)

    dead = stream.dlq.read_to_end()
    assert sorted(record.value for record in dead) == sorted(BAD_LINES)
    for record in dead:
        headers = dict(record.headers)
        reason = headers["reason"].decode()
        wanted = BAD_REASONS[BAD_LINES.index(record.value)]
        assert wanted in reason, f"{record.value!r}: reason {reason!r}"
        assert headers["source"].decode().startswith(f"{stream.settings.events_topic}:")


@pytest.mark.parametrize("kill_at", ["first_row", "half_committed", "second_commit"])
def test_a_worker_killed_mid_stream_and_restarted_ends_with_the_same_rows(
    stream: Stream, event_file: Callable[[int, int], EventFile], kill_at: str
) -> None:
    source = event_file(LARGE_CONTACTS, 21)
    worker = stream.group.spawn()
    stream.feed(source.lines, FEED_PARTS, SMALL_BATCH)

    commits: list[int] = []

    def second_commit(p: Progress) -> bool:
        if p.events_committed and (not commits or commits[-1] != p.events_committed):
            commits.append(p.events_committed)
        return len(commits) >= 2

    conditions: dict[str, tuple[Callable[[Progress], bool], str]] = {
        "first_row": (lambda p: bool(stream.latest), "the first interval row"),
        "half_committed": (
            lambda p: 2 * stream.fed_parts_committed(p) >= FEED_PARTS,
            "half of the events committed",
        ),
        "second_commit": (second_commit, "the second commit of events offsets"),
    }
    condition, what = conditions[kill_at]
    # The kill must find input not yet committed (the feed keeps some in flight).
    stream.kill_mid_stream(
        worker, stream.wait_until(lambda p: condition(p) and not p.settled, what)
    )

    worker.start()
    stream.wait_for_rows(source.expected)


def test_a_rebalance_then_a_killed_worker_leave_the_survivor_with_the_same_rows(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    source = event_file(LARGE_CONTACTS, 22)
    first_part, rest = split(source.lines, 1 / 4)
    stream.produce(first_part, SMALL_BATCH)
    first = stream.group.spawn()
    stream.wait_until(lambda p: p.events_committed > 0, "the first worker's first commit")

    second = stream.group.spawn()
    stream.wait_for_assignment(both_own_partitions, "a rebalance that gives both workers work")
    before = stream.progress().events_committed
    stream.feed(rest, FEED_PARTS, SMALL_BATCH)
    at_kill = stream.wait_until(
        lambda p: p.events_committed > before, "a commit by the group of two"
    )
    stream.kill_mid_stream(first, at_kill)

    stream.wait_for_rows(source.expected)
    assert second.running
    owned = stream.wait_for_assignment(lambda owned: len(owned) == 1, "a group of one")
    assert list(owned.values()) == [set(range(PARTITIONS))]
    # The rebalance after the kill gave the survivor back what it held: kept, not rebuilt.
    restores = state_restores(second)
    assert restores[("segments", "kept")] >= 1, restores
    assert restores[("segments", "changelog")] >= 1, restores  # the dead worker's share


def test_a_static_member_killed_and_restarted_takes_its_partitions_back_alone(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    """With `worker_instance_id`, a worker SIGKILLed and started again within the session
    timeout gets its partitions back with no rebalance: the other worker never stops, its
    states are neither rebuilt nor even set aside, and the rows are those of `ccpipe kpis`."""
    source = event_file(LARGE_CONTACTS, 25)
    # A session long enough for a restart on a loaded machine: a dead static member keeps
    # its partitions that long (docs/stream.md).
    static = {"CCPIPE_BROKER_SESSION_TIMEOUT_S": "60"}
    first = stream.group.spawn(static | {"CCPIPE_WORKER_INSTANCE_ID": "first"})
    second = stream.group.spawn(static | {"CCPIPE_WORKER_INSTANCE_ID": "second"})
    owned = stream.wait_for_assignment(both_own_partitions, "both workers to own partitions")
    stream.feed(source.lines, FEED_PARTS, SMALL_BATCH)
    at_kill = stream.wait_until(
        lambda p: 2 * stream.fed_parts_committed(p) >= FEED_PARTS and not p.settled,
        "half of the events committed",
    )
    # Read once the survivor has processed: its states are built by then (a read right after
    # the assignment, under load, came before they were).
    before = state_restores(second)
    stream.kill_mid_stream(first, at_kill)
    first.start()
    stream.wait_for_rows(source.expected)
    assert second.running
    assert state_restores(second) == before, "the survivor went through a rebalance"
    assert sorted(stream.wait_for_assignment(both_own_partitions, "the same group").values(),
                  key=min) == sorted(owned.values(), key=min)  # fmt: skip


def state_restores(worker: WorkerProcess) -> dict[tuple[str, str], float]:
    """`ccpipe_state_restores_total` of a running worker, per (stage, source)."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    with urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=READ_TIMEOUT_S) as r:
        text = r.read().decode()
    return {
        (sample.labels["stage"], sample.labels["source"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "ccpipe_state_restores"
        for sample in family.samples
        if sample.name == "ccpipe_state_restores_total"
    }


def test_two_workers_from_the_start_give_the_rows_of_ccpipe_kpis(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    source = event_file(SMALL_CONTACTS, 13)
    stream.group.spawn()
    stream.group.spawn()
    stream.wait_for_assignment(both_own_partitions, "both workers to own events partitions")
    stream.produce(source.lines, BATCH)
    stream.wait_for_rows(source.expected)
    owned = stream.wait_for_assignment(both_own_partitions, "a stable group of two")
    assert sorted(len(partitions) for partitions in owned.values()) == [2, 2]


# --- faults around the workers ----------------------------------------------------------------


def test_the_broker_killed_and_restarted_mid_stream_leaves_the_same_rows(
    own_stream: Stream, own_broker: OwnBroker, event_file: Callable[[int, int], EventFile]
) -> None:
    """SIGKILL the broker (this module's own) while the worker has input in flight, start it
    again on the same data: the worker rides it out, no restart, and ends with the rows of
    `ccpipe kpis`."""
    stream = own_stream
    source = event_file(LARGE_CONTACTS, 23)
    worker = stream.group.spawn()
    stream.feed(source.lines, FEED_PARTS, SMALL_BATCH)
    at_kill = stream.wait_until(
        lambda p: 2 * stream.fed_parts_committed(p) >= FEED_PARTS and not p.settled,
        "half of the events committed",
    )
    own_broker.kill()
    stream.note("broker SIGKILLed", at_kill)
    assert worker.running
    took = own_broker.start()
    stream.note(f"broker answering again after {took:.1f} s")
    stream.wait_for_rows(source.expected)
    assert worker.running and worker.starts == 1, "the worker had to be restarted"


def test_a_worker_whose_state_directory_was_deleted_rebuilds_it_from_the_changelogs(
    stream: Stream, event_file: Callable[[int, int], EventFile]
) -> None:
    """Stop the worker after half the input, delete its state directory (a new disk), start
    it: the tables come back from their changelogs and the rows are those of `ccpipe kpis`
    (contacts open across the cut need the state of the first half)."""
    source = event_file(SMALL_CONTACTS, 24)
    first_half, second_half = split(source.lines, 1 / 2)
    stream.produce(first_half, SMALL_BATCH)
    worker = stream.group.spawn()
    stream.wait_until(lambda p: p.settled, "the first half committed")
    worker.stop()
    state = worker.config.parent / "state"
    assert state.is_dir() and any(state.iterdir()), "the worker kept no state on disk"
    shutil.rmtree(state)
    worker.start()
    stream.produce(second_half, SMALL_BATCH)
    stream.wait_for_rows(source.expected)
    assert state.is_dir()
