"""What the stream emits, made without Kafka, and the figures a store shows of it.

`stream_output` runs the stream's own stages (tests/stream/harness.py) over a seeded mix of
events (duplicates, disorder, two bad lines) and lays their output out as the sink's three
topics: the events topic as produced (batches per partition), the segments topic as the
stages sent it, and the intervals topic as compaction keeps it (the latest row per key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pipeline.config import Settings, load_settings
from pipeline.core.events import AgentState, decode_message
from pipeline.core.intervals import COUNT_FIELDS, REPORT_FIELDS
from pipeline.core.kpi_state import KpiState
from pipeline.kafka.partitioner import partition_for
from pipeline.report import report_from_lines
from pipeline.store import Store
from pipeline.stream import stages
from tests.sink.memory_consumer import Broker
from tests.store.rows import report
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline

SETTINGS = load_settings(env={})
PARTITIONS = 3


@dataclass(frozen=True)
class Expected:
    """What the store must show once everything is in: `ccpipe kpis`'s rows, and how many
    distinct rows each table holds."""

    report: list[dict[str, Any]]
    events: int
    agent_states: int
    segments: int
    dead_letters: int


def expected_for(lines: list[bytes], settings: Settings = SETTINGS) -> Expected:
    rows = [{f: r[f] for f in REPORT_FIELDS} for r in report_from_lines(lines, settings)]
    events, bad = [], 0
    for line in lines:
        decoded, rejections = decode_message(line)
        events += decoded
        bad += len(rejections)
    state = KpiState(settings.queue)
    state.apply(events)
    return Expected(
        report=rows,
        events=len({(e.tenant, e.ts_us, e.event_id) for e in events}),
        agent_states=len(
            {
                (e.tenant, e.agent_id, e.ts_us, e.event_id)
                for e in events
                if isinstance(e, AgentState)
            }
        ),
        segments=sum(1 for s in state.segments.segments.values() if s.offered is not None),
        dead_letters=bad,
    )


def stream_output(
    seed: int, contacts: int = 300, settings: Settings = SETTINGS
) -> tuple[Broker, Expected]:
    """The stream's output topics (named by `settings`), and what the store must show."""
    lines = mixed_events(seed, contacts)
    pipeline = LocalPipeline(SETTINGS, PARTITIONS)
    pipeline.produce(lines, batch=20)
    pipeline.run(max_messages=5)
    broker = Broker()
    for partition, records in sorted(pipeline.logs[stages.EVENTS].records.items()):
        for _, value, _ in records:
            broker.append(settings.events_topic, partition, value)
    for partition, records in sorted(pipeline.logs[stages.SEGMENTS_OUT].records.items()):
        for _, value, _ in records:
            broker.append(settings.segments_topic, partition, value)
    for key, row in sorted(pipeline.intervals.items()):
        broker.append(
            settings.intervals_topic, partition_for(key, PARTITIONS), orjson.dumps(row), key
        )
    return broker, expected_for(lines)


def figures(store: Store) -> dict[str, Any]:
    """What the documented queries would show: the report, the stream's merged interval
    figures, and the distinct rows of every table (FINAL)."""
    counts = ", ".join(COUNT_FIELDS)
    order = " ORDER BY tenant, queue, channel, interval_start"
    out: dict[str, Any] = {
        "report": report(store),
        "merged": store.query(
            f"SELECT tenant, queue, channel, interval_start, {counts} "
            f"FROM kpi_intervals_merged WHERE offered > 0{order}"
        ).rows,
        "counts": store.query(
            f"SELECT tenant, queue, channel, interval_start, {counts} "
            f"FROM kpi_interval_counts{order}"
        ).rows,
        "dead_letters": store.query(
            "SELECT source, partition, position, item, reason, raw FROM dead_letters FINAL "
            "ORDER BY source, partition, position, item"
        ).rows,
    }
    for table in ("events", "agent_states", "segments", "kpi_intervals", "dead_letters"):
        out[f"{table} rows"] = store.query(f"SELECT count() FROM {table} FINAL").scalar()
    return out


def assert_complete(store: Store, expected: Expected) -> dict[str, Any]:
    """The store holds exactly what `expected` says, each row once; returns its figures."""
    shown = figures(store)
    assert shown["report"] == expected.report
    assert shown["events rows"] == expected.events
    assert shown["agent_states rows"] == expected.agent_states
    assert shown["segments rows"] == expected.segments
    assert shown["dead_letters rows"] == expected.dead_letters
    # The stream's own figures agree with the SQL recomputation from the segments.
    assert shown["merged"] == shown["counts"]
    return shown
