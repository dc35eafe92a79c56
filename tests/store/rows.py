"""Hand-built store rows for tests: segments, events and interval partial states."""

from __future__ import annotations

from itertools import count
from typing import Any

from pipeline.core.clock import interval_start_us, parse_rfc3339
from pipeline.core.events import AgentState
from pipeline.output_format import plain
from pipeline.sink.rows import agent_state_row
from pipeline.store import Store
from pipeline.store.tables import (
    AGENT_STATE_COLUMNS,
    AGENT_STATES,
    EVENT_COLUMNS,
    EVENTS,
    KPI_INTERVAL_COLUMNS,
    KPI_INTERVALS,
    SEGMENT_COLUMNS,
    SEGMENTS,
)

T0 = parse_rfc3339("2026-11-22T09:00:00Z")
S = 1_000_000  # microseconds in a second
VOICE = {"sl_threshold_us": 20 * S, "short_abandon_us": 5 * S, "fcr_window_us": 3600 * S}
_event_ids = count()


def segment(contact: str, offered_us: int, **fields: Any) -> dict[str, Any]:
    """A segment row with the contract's voice defaults; `fields` override any column.

    `outcome='answered'` with `wait_us` fills outcome_ts; `talk_us` marks it handled.
    """
    row: dict[str, Any] = dict.fromkeys(SEGMENT_COLUMNS)
    row.update(
        tenant="default",
        contact_id=contact,
        queue="q1",
        channel="voice",
        offered_ts=offered_us,
        transferred=0,
        csat_responses=0,
        csat_good=0,
        nps_responses=0,
        nps_promoters=0,
        nps_detractors=0,
        anomalies=0,
        version=1,
        **VOICE,
    )
    row.update(fields)
    row["interval_start"] = interval_start_us(row["offered_ts"])
    if row["outcome"] is not None and row["outcome_ts"] is None:
        row["outcome_ts"] = row["offered_ts"] + row["wait_us"]
    if row["talk_us"] is not None:
        row["hold_us"] = row["hold_us"] or 0
        row["ended_ts"] = row["ended_ts"] or row["offered_ts"] + 10 * 60 * S
        if row["answer_agent_id"] is None:
            row["answer_agent_id"] = row["end_agent_id"] = "a1"
    return row


def columnar(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[list[Any]]:
    return [[row[c] for row in rows] for c in columns]


def insert_segments(store: Store, rows: list[dict[str, Any]]) -> None:
    store.insert(SEGMENTS, SEGMENT_COLUMNS, columnar(rows, SEGMENT_COLUMNS))


def insert_agent_states(store: Store, events: list[AgentState]) -> None:
    """`agent_states` rows of `events`, as the sink writes them."""
    columns = [list(column) for column in zip(*map(agent_state_row, events), strict=True)]
    store.insert(AGENT_STATES, AGENT_STATE_COLUMNS, columns)


def set_watermark(store: Store, ts_us: int, tenant: str = "default") -> None:
    """Store one accepted event at `ts_us`: the watermark is the largest event time."""
    event = {
        "event_id": f"w{next(_event_ids)}",
        "tenant": tenant,
        "type": "agent.state",
        "ts": ts_us,
        "contact_id": None,
        "queue": None,
        "channel": None,
        "agent_id": "a1",
        "customer_id": None,
        "payload": "{}",
    }
    store.insert(EVENTS, EVENT_COLUMNS, columnar([event], EVENT_COLUMNS))


def interval_state(
    interval_us: int, source: str, version: int, queue: str = "q1", **counts: int
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(KPI_INTERVAL_COLUMNS, 0)
    row.update(tenant="default", queue=queue, channel="voice", interval_start=interval_us)
    row.update(max_wait_us=-1, settings_version="", source=source, version=version)
    row.update(counts)
    return row


def insert_interval_states(store: Store, rows: list[dict[str, Any]]) -> None:
    store.insert(KPI_INTERVALS, KPI_INTERVAL_COLUMNS, columnar(rows, KPI_INTERVAL_COLUMNS))


def report(store: Store, sql: str = "SELECT * FROM kpi_interval_report") -> list[dict[str, Any]]:
    """Report rows as `ccpipe kpis` prints them (interval_start in RFC 3339), sorted."""
    result = store.query(sql)
    rows = [
        {name: plain(value) if name == "interval_start" else value for name, value in row.items()}
        for row in result.dicts()
    ]
    return sorted(rows, key=lambda r: (r["tenant"], r["queue"], r["channel"], r["interval_start"]))
