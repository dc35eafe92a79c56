"""`ccpipe check`: a simulated week fed through the stream (the in-memory runtime) and stored
as the sink stores it reconciles; one tampered row is named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from pipeline.cli import main
from pipeline.config import Settings, load_settings
from pipeline.core.clock import datetime_to_us, format_utc, parse_rfc3339, us_to_datetime
from pipeline.liveview.view import CentreView
from pipeline.recompute import Scope
from pipeline.reconcile import day_differences, interval_differences, live_differences
from pipeline.sink.rows import (
    event_message_rows,
    interval_message_rows,
    segment_message_rows,
)
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from pipeline.store.tables import KPI_INTERVAL_COLUMNS, KPI_INTERVALS, LAYOUTS
from pipeline.stream import stages
from tests.core.builders import T0
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline

SETTINGS = load_settings(env={})
PARTITIONS = 3
DAYS = 7
# The live publications of the week's workers, as they would be on the live topic.
PUBLISHED: list[tuple[bytes, bytes]] = []
WEEK = Scope(datetime_to_us(T0) - 86400 * 10**6, datetime_to_us(T0) + (DAYS + 1) * 86400 * 10**6)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _week() -> list[bytes]:
    """Seven days of the stream tests' mix (duplicates, disorder, bad lines), each day's
    contacts its own, the customers shared (FCR crosses days)."""
    lines = []
    for day in range(DAYS):
        for line in mixed_events(seed=day, contacts=80):
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                lines.append(line)
                continue
            if not isinstance(event, dict) or "ts" not in event:
                lines.append(line)
                continue
            shifted = us_to_datetime(parse_rfc3339(event["ts"])) + timedelta(days=day)
            if shifted >= T0 + timedelta(days=DAYS):
                continue  # the mix's far-future event: the week ends on its last day
            event["ts"] = format_utc(datetime_to_us(shifted))
            if "contact_id" in event:
                event["contact_id"] = f"d{day}-{event['contact_id']}"
            lines.append(orjson.dumps(event))
    return lines


def _store_stream_output(store: Store, pipeline: LocalPipeline) -> None:
    """What the sink writes of the stream's three topics."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    logs = (
        (stages.EVENTS, event_message_rows),
        (stages.SEGMENTS_OUT, segment_message_rows),
        (stages.INTERVALS_OUT, interval_message_rows),
    )
    for log_name, rows_of in logs:
        for partition, records in sorted(pipeline.logs[log_name].records.items()):
            for offset, (key, value, _) in enumerate(records):
                for table, rows in rows_of(Record(log_name, partition, offset, key, value)).items():
                    tables.setdefault(table, []).extend(rows)
    for table, rows in tables.items():
        if rows:
            store.insert(table, LAYOUTS[table], [list(c) for c in zip(*rows, strict=True)])


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, CentreView]:
    """A store holding the stream's output of the week, and the live view at its end (the
    publications it was made of in `PUBLISHED`)."""
    pipeline = LocalPipeline(SETTINGS, PARTITIONS)
    pipeline.produce(_week(), batch=10)
    pipeline.run(max_messages=5)
    url = f"chdb://{tmp_path_factory.mktemp('check') / 'store'}"
    with open_store(url) as store:
        migrate(store, load_migrations())
        _store_stream_output(store, pipeline)
    centre = CentreView(PARTITIONS, SETTINGS.tenant_timezone)
    for p in range(PARTITIONS):
        published = [
            *pipeline.segment_stage.publications(p, published_ms=1_000),
            *pipeline.fcr_stage.publications(p, published_ms=1_000),
        ]
        PUBLISHED.extend(published)
        # A day part is taken once its source's recent part is there: apply them twice.
        for _, value in published * 2:
            centre.apply(value)
    return url, centre


def test_a_week_through_the_stream_reconciles(week: tuple[str, CentreView]) -> None:
    url, centre = week
    with open_store(url) as store:
        intervals = store.query("SELECT count() FROM kpi_intervals_merged").scalar()
        assert intervals > DAYS * 10  # a real week, not an empty one
        assert interval_differences(store, WEEK) == []
        assert day_differences(store, WEEK, ["UTC", "Europe/Paris"]) == []
        live = centre.live(per_channel=True)
        assert sum(t.windows["today"].counts[0] for t in live if t.channel) > 0
        assert live_differences(store, live, centre.watermark_us, SETTINGS.tenant_timezone) == []


def test_check_exits_0_on_the_week_and_1_naming_a_tampered_row(
    week: tuple[str, CentreView], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, centre = week
    args = ["check", "--store", url, "--from", "2026-11-22", "--to", "2026-11-28"]
    assert main(args) == 0
    assert "no differences" in capsys.readouterr().err
    with open_store(url) as store:
        row = store.query(
            "SELECT *, toUnixTimestamp64Micro(interval_start) AS start_us FROM kpi_intervals "
            "FINAL WHERE queue = 'sales' AND channel = 'voice' ORDER BY interval_start "
            "LIMIT 1 OFFSET 5"
        ).dicts()[0]
        row["interval_start"] = row["start_us"]
        row["answered"] += 1
        row["version"] += 1
        store.insert(KPI_INTERVALS, KPI_INTERVAL_COLUMNS,
                     [[row[c]] for c in KPI_INTERVAL_COLUMNS])  # fmt: skip
        tampered = f"{row['tenant']}/sales/voice {format_utc(row['start_us'])}"
        [difference] = interval_differences(store, WEEK)
        assert difference.row == tampered and difference.what == "differs in answered"
        [day] = day_differences(store, WEEK, ["UTC"])
        assert day.row.startswith(f"{row['tenant']}/sales/voice ") and "answered" in day.what
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"stream = segments: {tampered}: differs in answered" in err
    assert "2 differences" in err
    # Outside the range, nothing to see.
    assert main([*args[:3], "--from", "2026-12-01", "--to", "2026-12-02"]) == 0
    capsys.readouterr()
    assert centre.watermark_us > 0


@pytest.mark.kafka
def test_check_live_reads_the_live_topic_and_agrees_with_the_store(
    week: tuple[str, CentreView],
    kafka_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The week's publications on a real live topic: `--live` agrees with the store and
    counts the publications it read."""
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    url, _ = week
    settings = kafka_settings
    admin = KafkaAdminClient(bootstrap_servers=settings.broker, client_id="ccpipe-test")
    try:
        admin.create_topics([NewTopic(settings.live_topic, settings.partitions, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=settings.broker)
    for key, value in PUBLISHED * 2:
        producer.send(settings.live_topic, key=key, value=value, partition=0)
    producer.flush()
    producer.close()
    for name in ("broker", "live_topic"):
        monkeypatch.setenv(f"CCPIPE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    last_day = "2026-11-28"
    args = ["check", "--store", url, "--from", last_day, "--to", last_day, "--live"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "no differences" in err
    # Every message was sent twice: only the last of each key is applied.
    keys = {key for key, _ in PUBLISHED}
    assert f"{2 * len(PUBLISHED):,} publications read ({len(keys):,} the latest" in err
