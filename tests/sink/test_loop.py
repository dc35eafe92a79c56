"""The sink loop over an in-memory consumer and a real chdb store: batching, commit order,
crashes between insert and commit, outages, rebalances. Time is a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from pipeline.sink.consumer import SinkLoop
from pipeline.sink.metrics import SinkMetrics
from pipeline.sink.policy import Backoff, FlushPolicy
from pipeline.sink.rows import stream_routes
from pipeline.store import Store, StoreError, StoreUnavailable
from tests.sink.memory_consumer import Broker, FakeClock, MemoryConsumer
from tests.sink.streams import SETTINGS, Expected, assert_complete, figures, stream_output

GROUP = "ccpipe-sink"
POLICY = FlushPolicy(rows=200, seconds=1.0)
POLL_RECORDS = 5  # messages per poll: an events message holds about 20 events here
BACKOFF = Backoff(first_s=0.5, cap_s=4.0, jitter=False)


class Crash(Exception):
    """A process death, simulated: nothing after it runs (no commit, no close)."""


class FlakyStore:
    """A real store behind a link the test can cut: inserts fail with StoreUnavailable while
    `down()` says so, or are refused with StoreError when `refuse` is set."""

    def __init__(self, store: Store, down: Callable[[], bool] = lambda: False) -> None:
        self.store = store
        self.down = down
        self.refuse = False
        self.attempts = 0

    def insert(self, table: str, columns: Sequence[str], data: Any, **kwargs: Any) -> int:
        self.attempts += 1
        if self.refuse:
            raise StoreError(f"no column like that in {table}")
        if self.down():
            raise StoreUnavailable("ClickHouse at test is unreachable: connection refused")
        return self.store.insert(table, columns, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class Outage:
    """The store goes down at its `start`-th insert and comes back `seconds` later."""

    def __init__(self, clock: FakeClock, start: int, seconds: float) -> None:
        self.clock = clock
        self.start = start
        self.seconds = seconds
        self.began: float | None = None
        self.store: FlakyStore | None = None

    def __call__(self) -> bool:
        assert self.store is not None
        if self.began is None and self.store.attempts >= self.start:
            self.began = self.clock.now
        return self.began is not None and self.clock.now < self.began + self.seconds

    @property
    def on(self) -> bool:
        return self.began is not None and self.clock.now < self.began + self.seconds


def flaky_store(store: Store, clock: FakeClock, start: int, seconds: float) -> FlakyStore:
    outage = Outage(clock, start, seconds)
    flaky = FlakyStore(store, down=outage)
    outage.store = flaky
    return flaky


class Sink:
    """One sink process: a consumer of the group, a loop, fresh metrics."""

    def __init__(
        self,
        broker: Broker,
        store: Any,
        clock: FakeClock,
        after_write: Callable[[], None] | None = None,
        policy: FlushPolicy = POLICY,
    ) -> None:
        self.consumer = MemoryConsumer(broker, GROUP, clock)
        self.registry = CollectorRegistry()
        self.metrics = SinkMetrics.create(self.registry)
        self.loop = SinkLoop(
            self.consumer,
            stream_routes(SETTINGS),
            store,
            self.metrics,
            policy,
            BACKOFF,
            after_write=after_write,
            clock=clock,
            poll_records=POLL_RECORDS,
        )
        self.loop.subscribe()

    def run_until_caught_up(self, max_steps: int = 5000) -> None:
        for _ in range(max_steps):
            if self.consumer.caught_up():
                return
            self.loop.step()
        raise AssertionError("the sink did not catch up")

    def value(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def written(self) -> float:
        return sum(
            self.value("ccpipe_sink_rows_written_total", table=t)
            for t in ("events", "agent_states", "dead_letters", "segments", "kpi_intervals")
        )


@pytest.fixture
def output() -> tuple[Broker, Expected]:
    return stream_output(seed=3)


def test_the_store_ends_with_the_rows_of_ccpipe_kpis(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, expected = output
    sink = Sink(broker, store, FakeClock())
    sink.run_until_caught_up()
    assert_complete(store, expected)
    assert len(expected.report) > 50
    # Batches by size: many inserts, none far above the limit (one poll's overshoot).
    commits = len(sink.consumer.commits)
    assert commits >= 5
    count = sink.value("ccpipe_sink_batch_rows_count", table="events")
    total = sink.value("ccpipe_sink_batch_rows_sum", table="events")
    assert count >= 5 and total / count > POLICY.rows / 2


def test_offsets_are_committed_only_once_the_rows_are_in_the_store(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, _ = output
    seen: list[tuple[int, int]] = []
    sink: Sink

    def after_write() -> None:
        # The rows are in; the commit has not happened yet.
        rows = store.query("SELECT count() FROM events").scalar()
        seen.append((rows, len(sink.consumer.commits)))

    sink = Sink(broker, store, FakeClock(), after_write=after_write)
    sink.run_until_caught_up()
    assert len(seen) == len(sink.consumer.commits) >= 5
    for index, (rows, commits_before) in enumerate(seen):
        assert commits_before == index  # never committed ahead of a write
        assert rows > 0


def test_a_small_trickle_is_written_once_its_time_is_up(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, _ = output
    clock = FakeClock()
    started = clock.now
    sink = Sink(broker, store, clock, policy=FlushPolicy(rows=10**9, seconds=2.0))
    while not sink.consumer.commits:
        sink.loop.step()
    assert clock.now - started >= 2.0


@pytest.mark.parametrize("crash_at", [1, 4])
def test_a_crash_between_insert_and_commit_leaves_every_row_once(
    store: Store, output: tuple[Broker, Expected], crash_at: int
) -> None:
    broker, expected = output
    clock = FakeClock()
    writes = 0

    def crash_after_insert() -> None:
        nonlocal writes
        writes += 1
        if writes == crash_at:
            raise Crash

    first = Sink(broker, store, clock, after_write=crash_after_insert)
    with pytest.raises(Crash):
        first.run_until_caught_up()
    assert len(first.consumer.commits) == crash_at - 1  # the batch it wrote is uncommitted
    written_before = first.written()
    assert written_before > 0

    second = Sink(broker, store, clock)  # the restarted process: same group, same store
    second.run_until_caught_up()
    assert_complete(store, expected)
    # The crashed batch really was written twice: the replay did not skip it.
    total = expected.events + expected.segments + expected.dead_letters + expected.agent_states
    assert first.written() + second.written() > total


def test_an_unreachable_store_pauses_consumption_and_loses_nothing(
    store: Store, output: tuple[Broker, Expected], caplog: pytest.LogCaptureFixture
) -> None:
    broker, expected = output
    clock = FakeClock()
    flaky = flaky_store(store, clock, start=8, seconds=30.0)  # mid-stream, 30 s
    outage = flaky.down
    assert isinstance(outage, Outage)
    sink = Sink(broker, flaky, clock)
    during: list[tuple[int, bool, float, float, float]] = []
    commits_at_outage: list[int] = []

    def watch(consumer: MemoryConsumer) -> None:
        if outage.on:
            if not commits_at_outage:
                commits_at_outage.append(len(consumer.commits))
            during.append(
                (
                    consumer.uncommitted(),
                    consumer.paused() == consumer.assignment(),
                    sink.value("ccpipe_sink_store_up"),
                    sink.value("ccpipe_sink_paused"),
                    sink.value("ccpipe_sink_buffered_rows"),
                )
            )

    sink.consumer.on_poll.append(watch)
    with caplog.at_level(logging.WARNING, logger="ccpipe.sink"):
        sink.run_until_caught_up()
    assert_complete(store, expected)
    # Mid-stream: commits before the outage, and after it.
    assert 0 < commits_at_outage[0] < len(sink.consumer.commits)

    waits = [d for d in during if d[1]]
    assert len(waits) >= 5, "the writer should have waited, polling, while the store was down"
    # Nothing was read while paused: what was uncommitted stayed the one batch held.
    assert len({d[0] for d in waits}) == 1
    assert all(store_up == 0 and paused == 1 for _, _, store_up, paused, _ in waits)
    # One batch held, at most one poll's worth over the limit (a segments message can hold
    # a few hundred rows).
    assert max(d[4] for d in waits) < POLICY.rows + POLL_RECORDS * 500
    failures = sum(
        sink.value("ccpipe_sink_insert_failures_total", table=t, kind="unavailable")
        for t in ("events", "agent_states", "dead_letters", "segments", "kpi_intervals")
    )
    assert 3 <= failures <= 12  # backoff: 0.5, 1, 2, 4, 4, ... seconds, not a busy loop
    assert sink.value("ccpipe_sink_store_up") == 1 and sink.value("ccpipe_sink_paused") == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("ClickHouse unreachable" in m for m in messages) == 1
    assert sum("ClickHouse is back" in m for m in messages) == 1


def test_partitions_revoked_during_an_outage_are_read_again(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, expected = output
    clock = FakeClock()
    flaky = flaky_store(store, clock, start=8, seconds=10.0)
    outage = flaky.down
    assert isinstance(outage, Outage)
    sink = Sink(broker, flaky, clock)
    rebalanced = False

    def rebalance_once(consumer: MemoryConsumer) -> None:
        nonlocal rebalanced
        if not rebalanced and outage.on:
            rebalanced = consumer.rebalance_at_next_poll = True

    sink.consumer.on_poll.append(rebalance_once)
    sink.run_until_caught_up()
    assert rebalanced
    assert_complete(store, expected)


def test_a_refused_batch_stops_the_sink_without_committing_it(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, _ = output
    flaky = FlakyStore(store)
    sink = Sink(broker, flaky, FakeClock())
    for _ in range(10):
        sink.loop.step()
    commits = len(sink.consumer.commits)
    flaky.refuse = True
    with pytest.raises(StoreError, match="no column"):
        sink.run_until_caught_up()
    assert len(sink.consumer.commits) == commits
    refused = sum(
        sink.value("ccpipe_sink_insert_failures_total", table=t, kind="refused")
        for t in ("events", "agent_states", "dead_letters", "segments", "kpi_intervals")
    )
    assert refused == 1


def test_an_unreadable_stream_message_is_dead_lettered_not_a_crash_loop(
    store: Store, output: tuple[Broker, Expected]
) -> None:
    broker, expected = output
    broker.append(SETTINGS.segments_topic, 0, b'[{"tenant": "default"}]')  # no other column
    broker.append(SETTINGS.intervals_topic, 1, b"not json", key=b"[]")
    sink = Sink(broker, store, FakeClock())
    sink.run_until_caught_up()
    letters = store.query(
        "SELECT source, reason FROM dead_letters FINAL WHERE source != {t:String} ORDER BY source",
        {"t": SETTINGS.events_topic},
    ).rows
    assert [source for source, _ in letters] == [SETTINGS.intervals_topic, SETTINGS.segments_topic]
    assert all(reason.startswith("cannot store this") for _, reason in letters)
    shown = figures(store)
    assert shown["report"] == expected.report
    assert shown["dead_letters rows"] == expected.dead_letters + 2
