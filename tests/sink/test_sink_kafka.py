"""The sink on the real Kafka broker: a crash between insert and commit, a ClickHouse server
stopped mid-stream and started again (Debian's 18.16 over TCP), ClickHouse unreachable for a
minute while a real Prometheus and Alertmanager page the on-call and then resolve, and the
whole stream
(`ccpipe worker` + `ccpipe sink` on chdb) against `ccpipe kpis`, queried from another
process through the sink's SQL endpoint.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from prometheus_client import CollectorRegistry

from pipeline.cli import main
from pipeline.config import Settings, load_settings
from pipeline.config_reader import Duration
from pipeline.core.catalogue import SINK_JOB, SINK_WRITING_RULE
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.connection import BrokerConnection
from pipeline.kafka.group_lag import GroupLag
from pipeline.kafka.producer import produce_lines
from pipeline.rules import rule_files
from pipeline.simulator.emit import simulate_events
from pipeline.sink.consumer import SinkLoop, build_consumer, sink_group
from pipeline.sink.metrics import SinkMetrics
from pipeline.sink.policy import Backoff, FlushPolicy
from pipeline.sink.rows import stream_routes
from pipeline.store import Store, StoreUnavailable, open_store
from tests.observability.alertmanager_process import (
    AlertmanagerProcess,
    WebhookReceiver,
    paging_config,
)
from tests.observability.binaries import need
from tests.observability.prometheus_process import PrometheusProcess
from tests.sink.sink_process import SinkProcess, sql_endpoint, wait_for, write_config
from tests.sink.streams import Expected, assert_complete, expected_for, figures, stream_output
from tests.store.conftest import ClickHouseServer
from tests.stream.worker_process import (
    WorkerGroup,
    ccpipe_command,
    child_environment,
    forget_group,
    free_port,
)

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]

BAD_LINES = [b"not json at all {", b'[{"type":"contact.offered","event_id":"b1"}, 7]']
ORDERED_REPORT = "SELECT * FROM kpi_interval_report ORDER BY tenant, queue, channel, interval_start"


class Crash(Exception):
    """The sink process dies here: nothing after it runs."""


@pytest.fixture
def settings(kafka_settings: Settings, topic_prefix: str) -> Iterator[Settings]:
    """This test's topics, created; the sink's group and the topics deleted after."""
    ours = msgspec.structs.replace(kafka_settings, app_id=f"{topic_prefix}-ccpipe")
    admin = KafkaAdminClient(**BrokerConnection.from_settings(ours).kafka_python_kwargs())
    try:
        ensure_topics(admin, pipeline_topics(ours, ours.partitions))
    finally:
        admin.close()
    yield ours
    forget_group(ours, sink_group(ours), topic_prefix)


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        linger_ms=5,
        max_request_size=2 * 1024 * 1024,
        **BrokerConnection.from_settings(settings).kafka_python_kwargs(),
    )


def simulated_lines(contacts: int, seed: int) -> list[bytes]:
    return [orjson.dumps(e) for e in simulate_events(contacts, seed)] + BAD_LINES


def sink_offsets(settings: Settings) -> GroupLag:
    """The sink group's committed offsets against the ends of its topics."""
    return GroupLag(
        BrokerConnection.from_settings(settings).kafka_python_kwargs(),
        sink_group(settings),
        (settings.events_topic, settings.segments_topic, settings.intervals_topic),
    )


def wait_for_every_row(
    settings: Settings,
    count: Callable[[str], int],
    expected: Expected,
    sink: SinkProcess,
    timeout_s: float = 60.0,
) -> None:
    """Until the store holds the expected rows of each table and the sink's group has
    committed every offset (the sink alive all along)."""
    want = {
        "events": expected.events,
        "agent_states": expected.agent_states,
        "dead_letters": expected.dead_letters,
    }
    offsets = sink_offsets(settings)
    try:
        wait_for(
            lambda: {t: count(t) for t in want} == want and offsets.caught_up(),
            "every row, and every offset committed",
            timeout_s=timeout_s,
            check=sink.check_alive,
            progress=lambda: (sink.progress(), tuple(count(t) for t in want)),
        )
    finally:
        offsets.close()


# --- a crash between insert and commit, in process ----------------------------------------


def test_a_crash_between_insert_and_commit_leaves_every_row_once(
    settings: Settings, store: Store
) -> None:
    broker, expected = stream_output(seed=8, contacts=400, settings=settings)
    sender = producer(settings)
    for tp, messages in sorted(broker.logs.items()):
        for m in messages:
            sender.send(tp.topic, value=m.value, key=m.key, partition=tp.partition)
    sender.flush(timeout=30)
    sender.close()
    offsets = sink_offsets(settings)
    writes: list[float] = []

    def crash_at_second_write() -> None:
        writes.append(time.monotonic())
        if len(writes) == 2:
            raise Crash

    def sink(
        after_write: Callable[[], None] | None = None,
    ) -> tuple[SinkLoop, KafkaConsumer, CollectorRegistry]:
        consumer = build_consumer(settings)
        registry = CollectorRegistry()
        metrics = SinkMetrics.create(registry)
        loop = SinkLoop(
            consumer,
            stream_routes(settings),
            store,
            metrics,
            FlushPolicy(rows=500, seconds=0.2),
            Backoff(first_s=0.1, cap_s=1.0),
            after_write=after_write,
        )
        loop.subscribe()
        return loop, consumer, registry

    def written(registry: CollectorRegistry) -> float:
        tables = ("events", "agent_states", "dead_letters", "segments", "kpi_intervals")
        values = [registry.get_sample_value("ccpipe_sink_rows_written_total", {"table": t})
                  for t in tables]  # fmt: skip
        return sum(v or 0.0 for v in values)

    try:
        first, consumer, first_metrics = sink(crash_at_second_write)
        with pytest.raises(Crash):
            wait_for(
                lambda: first.step(),  # returns None: only the crash ends this wait
                "crash",
                progress=lambda: (len(writes), len(consumer.assignment())),
            )
        consumer.close(autocommit=False)  # the dead process leaves; nothing more is committed
        assert not offsets.caught_up()

        second, consumer, second_metrics = sink()

        def caught_up() -> bool:
            second.step()
            return offsets.caught_up()

        wait_for(
            caught_up,
            "catching up by the restarted sink",
            progress=lambda: (written(second_metrics), len(consumer.assignment())),
        )
        consumer.close(autocommit=False)
    finally:
        offsets.close()
    assert_complete(store, expected)

    # The batch written before the crash was written again after it, and shows once.
    total = expected.events + expected.agent_states + expected.segments + expected.dead_letters
    assert written(first_metrics) + written(second_metrics) > total


# --- ClickHouse stopped mid-stream and started again (Debian's 18.16, TCP) -----------------

# The sink's tables as 18.16 accepts them: same names, columns and keys; times as Int64
# microseconds, plain Strings (no DateTime64 or LowCardinality in that version).
OLD_SERVER_TABLES = (
    """CREATE TABLE events (event_id String, tenant String, type String, ts Int64,
        contact_id Nullable(String), queue Nullable(String), channel Nullable(String),
        agent_id Nullable(String), customer_id Nullable(String), payload String)
    ENGINE = ReplacingMergeTree ORDER BY (tenant, ts, event_id)""",
    """CREATE TABLE agent_states (tenant String, agent_id String, ts Int64, state String,
        queues Array(String), event_id String)
    ENGINE = ReplacingMergeTree ORDER BY (tenant, agent_id, ts, event_id)""",
    """CREATE TABLE dead_letters (source String, partition Int32, position Int64,
        item UInt32, reason String, raw String)
    ENGINE = ReplacingMergeTree ORDER BY (source, partition, position, item)""",
)
BATCH_ROWS = 2000


@pytest.mark.clickhouse_server
def test_a_server_stopped_mid_stream_and_started_again_gets_every_row_once(
    settings: Settings, running_server: ClickHouseServer, tmp_path: Path, topic_prefix: str
) -> None:
    url = f"clickhouse://default:@127.0.0.1:{running_server.port}/sink_{topic_prefix}"
    with open_store(url) as store:
        store.ensure_database()
        for ddl in OLD_SERVER_TABLES:
            store.execute(ddl)
    lines = simulated_lines(2000, seed=4)
    expected = expected_for(lines)
    half = len(lines) // 2
    sender = producer(settings)
    produce_lines(lines[:half], sender, settings.events_topic, batch_size=100)
    config = write_config(settings, tmp_path / "sink.yaml", settings.app_id, url)
    sink = SinkProcess(
        config,
        tmp_path / "sink.log",
        "--no-migrate",
        "--batch-rows",
        str(BATCH_ROWS),
        "--batch-seconds",
        "0.2",
    )
    reader = open_store(url)

    def count(table: str) -> int:
        try:
            return int(reader.query(f"SELECT count() FROM {table} FINAL").scalar())
        except StoreUnavailable:
            return -1

    try:
        sink.start()
        wait_for(
            lambda: count("events") > 0,
            "first rows",
            check=sink.check_alive,
            progress=sink.progress,
        )
        running_server.kill()
        produce_lines(lines[half:], sender, settings.events_topic, batch_size=100)

        def waiting() -> bool:
            m = sink.metrics()
            return (
                m.get("ccpipe_sink_store_up") == 0
                and m.get("ccpipe_sink_paused") == 1
                and sink.metric_sum("ccpipe_sink_insert_failures_total") >= 2
            )

        wait_for(
            waiting,
            "sink seeing the server down, pausing, retrying",
            check=sink.check_alive,
            progress=sink.progress,
        )
        held = sink.metrics()["ccpipe_sink_buffered_rows"]
        # One batch held: events at most one message (100 events) over the limit, plus the
        # agent states among them (a subset of the events) and any dead letters.
        assert 0 < held <= 2 * (BATCH_ROWS + 100)
        assert "ClickHouse unreachable" in sink.log()

        running_server.start()
        wait_for_every_row(settings, count, expected, sink)
        m = sink.metrics()
        assert m["ccpipe_sink_store_up"] == 1 and m["ccpipe_sink_paused"] == 0
        assert "ClickHouse is back" in sink.log()
        # Exactly once: as many distinct keys as rows, and the rows the input holds.
        assert (
            count("events")
            == reader.query("SELECT uniqExact(tenant, ts, event_id) FROM events").scalar()
        )
        assert sink.stop() == 0
    finally:
        sink.stop()
        sender.close()
        reader.close()
        if running_server.process is None:
            running_server.start()


# --- ClickHouse unreachable for a minute, watched by Prometheus and Alertmanager ------------

OUTAGE_S = 60.0
# The alert's `for` in this test's rules (5 minutes in deploy/ccpipe.yaml), so it pages
# within the minute.
SINK_FAILING_FOR_S = 10
PAGE_DEADLINE_S = 120.0


def rules_for_outage(folder: Path) -> Path:
    """deploy/ccpipe.yaml's rules with `sink_failing_for` cut to seconds, in `folder`/rules."""
    deployed = load_settings(ROOT / "deploy" / "ccpipe.yaml", env={}).targets
    alerting = msgspec.structs.replace(
        deployed.alerting, sink_failing_for_s=Duration(SINK_FAILING_FOR_S)
    )
    targets = msgspec.structs.replace(deployed, alerting=alerting)
    (folder / "rules").mkdir(parents=True)
    for name, text in rule_files(targets, "tests/sink/test_sink_kafka.py").items():
        (folder / "rules" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.slow
@pytest.mark.clickhouse_server
def test_clickhouse_unreachable_for_a_minute_pages_then_resolves_and_loses_nothing(
    settings: Settings, running_server: ClickHouseServer, tmp_path: Path, topic_prefix: str
) -> None:
    """The sink rides out a minute without ClickHouse: every row lands once when it is back,
    and the on-call is paged (CcpipeSinkFailing, through the real Prometheus and
    Alertmanager with the committed alertmanager.yml routes) and then told it resolved."""
    prometheus_binary = need("prometheus")
    url = f"clickhouse://default:@127.0.0.1:{running_server.port}/outage_{topic_prefix}"
    with open_store(url) as store:
        store.ensure_database()
        for ddl in OLD_SERVER_TABLES:
            store.execute(ddl)
    lines = simulated_lines(2000, seed=9)
    expected = expected_for(lines)
    half = len(lines) // 2
    sender = producer(settings)
    config = write_config(settings, tmp_path / "sink.yaml", settings.app_id, url)
    sink = SinkProcess(config, tmp_path / "sink.log", "--no-migrate", "--batch-rows",
                       str(BATCH_ROWS), "--batch-seconds", "0.2")  # fmt: skip
    pager = WebhookReceiver()
    alertmanager = AlertmanagerProcess(
        tmp_path, paging_config(tmp_path, "pipeline-oncall", pager.url)
    )
    port = free_port()
    prometheus = PrometheusProcess(
        prometheus_binary,
        rules_for_outage(tmp_path / "prometheus"),
        port,
        [f"127.0.0.1:{port}"],  # no worker here: Prometheus stands in, so none is "down"
        jobs={SINK_JOB: [f"127.0.0.1:{sink.metrics_port}"]},
        rules=tmp_path / "prometheus",
        alertmanager=alertmanager.address,
    )
    reader = open_store(url)

    def count(table: str) -> int:
        try:
            return int(reader.query(f"SELECT count() FROM {table} FINAL").scalar())
        except StoreUnavailable:
            return -1

    def paged(status: str) -> list[dict[str, Any]]:
        sink.check_alive()
        return pager.pages("CcpipeSinkFailing", status)

    try:
        sink.start()
        alertmanager.start()
        prometheus.start()
        produce_lines(lines[:half], sender, settings.events_topic, batch_size=100)
        wait_for(
            lambda: count("events") > 0,
            "first rows",
            check=sink.check_alive,
            progress=sink.progress,
        )
        wait_for(
            lambda: prometheus.query(f'{SINK_WRITING_RULE}{{job="{SINK_JOB}"}} == 1'),
            "Prometheus to see the sink writing",
            check=sink.check_alive,
        )
        assert paged("firing") == []

        running_server.kill()
        killed = time.monotonic()
        produce_lines(lines[half:], sender, settings.events_topic, batch_size=100)
        firing = wait_for(lambda: paged("firing"), "the page", timeout_s=PAGE_DEADLINE_S)
        paged_after = time.monotonic() - killed
        assert firing[0]["labels"]["instance"] == f"127.0.0.1:{sink.metrics_port}"
        assert "cannot write to ClickHouse" in firing[0]["annotations"]["summary"]
        m = sink.metrics()
        assert m["ccpipe_sink_store_up"] == 0 and m["ccpipe_sink_paused"] == 1

        def outage_over() -> bool:
            # The alert must hold while ClickHouse is away: no resolution before it is back.
            assert paged("resolved") == [], "the page resolved while ClickHouse was down"
            return time.monotonic() - killed >= OUTAGE_S

        wait_for(outage_over, "a minute without ClickHouse", timeout_s=2 * OUTAGE_S)
        running_server.start()
        back = time.monotonic()

        wait_for_every_row(settings, count, expected, sink, PAGE_DEADLINE_S)
        resolved = wait_for(lambda: paged("resolved"), "the resolution", timeout_s=PAGE_DEADLINE_S)
        print(
            f"paged {paged_after:.0f} s after ClickHouse went, resolved "
            f"{time.monotonic() - back:.0f} s after it came back ({OUTAGE_S:.0f} s outage)"
        )
        assert resolved[0]["labels"]["instance"] == firing[0]["labels"]["instance"]
        # Nothing doubled: one row per distinct key, as many as the input holds.
        assert (
            count("events")
            == reader.query("SELECT uniqExact(tenant, ts, event_id) FROM events").scalar()
        )
        log = sink.log()
        assert "ClickHouse unreachable" in log and "ClickHouse is back" in log
        assert sink.stop() == 0
    finally:
        sink.stop()
        prometheus.stop()
        alertmanager.stop()
        pager.close()
        sender.close()
        reader.close()
        if running_server.process is None:
            running_server.start()


# --- the whole stream: ccpipe worker + ccpipe sink on chdb --------------------------------


def ask(url: str, sql: str) -> bytes:
    request = urllib.request.Request(f"{url}?format=jsonl", data=sql.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


STREAM_AGREES = """
SELECT count() AS intervals,
       countIf(s.offered != c.offered OR s.answered != c.answered
               OR s.fcr_eligible != c.fcr_eligible OR s.fcr_resolved != c.fcr_resolved
               OR s.handle_sum_us != c.handle_sum_us) AS differing
FROM (SELECT * FROM kpi_intervals_merged WHERE offered > 0) AS s
FULL OUTER JOIN kpi_interval_counts AS c
    ON s.tenant = c.tenant AND s.queue = c.queue AND s.channel = c.channel
    AND s.interval_start = c.interval_start
"""


def test_the_stream_fills_the_store_with_the_rows_of_ccpipe_kpis(
    settings: Settings, worker_group: WorkerGroup, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(simulated_lines(2000, seed=6)) + b"\n")
    kpis = subprocess.run(
        [*ccpipe_command(), "kpis", str(events), "--format", "jsonl", "--quiet"],
        capture_output=True,
        env=child_environment(),
        check=True,
        timeout=120,
    ).stdout
    assert kpis.count(b"\n") > 300
    sender = producer(settings)
    produce_lines(events.read_bytes().splitlines(), sender, settings.events_topic)
    sender.close()

    store_path = tmp_path / "store"
    config = write_config(settings, tmp_path / "sink.yaml", worker_group.app_id,
                          f"chdb://{store_path}")  # fmt: skip
    sink = SinkProcess(config, tmp_path / "sink.log", "--batch-seconds", "0.3")
    try:
        worker_group.spawn()
        sink.start()

        def alive() -> None:
            sink.check_alive()
            assert not worker_group.crashed(), worker_group.log_tails()

        url = wait_for(lambda: sql_endpoint(store_path), "the endpoint", check=alive)

        def settled() -> bool:
            if ask(url, ORDERED_REPORT) != kpis:
                return False
            agreed = orjson.loads(ask(url, STREAM_AGREES))
            return bool(agreed["intervals"] > 300 and agreed["differing"] == 0)

        wait_for(
            settled,
            "report equal to ccpipe kpis in the store",
            check=alive,
            progress=lambda: (sink.progress(), ask(url, "SELECT count() FROM events")),
        )

        # Another process asks through the owner: same bytes as `ccpipe kpis`.
        sql = [*ccpipe_command(), "sql", "--config", str(config)]
        routed = subprocess.run(
            [*sql, "--format", "jsonl", ORDERED_REPORT],
            capture_output=True,
            env=child_environment(),
            timeout=60,
        )
        assert routed.returncode == 0, routed.stderr
        assert routed.stdout == kpis
        refused = subprocess.run(
            [*sql, "DROP TABLE events"], capture_output=True, env=child_environment(), timeout=60
        )
        assert refused.returncode == 2
        assert b"read-only" in refused.stderr
        assert sink.stop() == 0
        assert sql_endpoint(store_path) is None  # the owner file goes with its owner
    finally:
        sink.stop()
    assert "ERROR" not in sink.log()

    # Loading the same file into the stream-filled store changes no figure: `ccpipe load`
    # writes what the sink wrote, and the stream's interval rows win over the loaded ones.
    # Only the dead letters grow: the same bad lines, met in another input (the file).
    with open_store(f"chdb://{store_path}") as store:
        before = figures(store)
    assert main(["load", str(events), "--store", f"chdb://{store_path}", "--quiet"]) == 0
    with open_store(f"chdb://{store_path}") as store:
        after = figures(store)
    letters = [after.pop(k) - before.pop(k) for k in ("dead_letters rows",)]
    assert letters == [len(BAD_LINES)]
    assert {row[0] for row in after.pop("dead_letters")} == {
        settings.events_topic,
        str(events.resolve()),
    }
    before.pop("dead_letters")
    assert after == before
