"""Every ClickHouse SQL panel and variable of the dashboards runs on chdb and returns rows.

The store is filled through the KPI core with simulated traffic (tests/store/fill.py, what
`ccpipe load` writes), and each query gets the macros and variables Grafana would give it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_settings
from pipeline.core.agents import occupancy
from pipeline.core.events import AGENT_STATES
from pipeline.grafana.dashboards import all_dashboards
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.observability.dashboard_queries import Query, clickhouse_queries, expand_sql
from tests.store.fill import fill, simulated
from tests.store.test_agent_intervals import core_intervals

ROOT = Path(__file__).resolve().parents[2]
BOARDS = all_dashboards(load_settings(ROOT / "deploy" / "ccpipe.yaml", env={}).targets)
QUERIES = clickhouse_queries(BOARDS)
# The simulated day (2026-11-23) and dead letters stamped when written: a range holding both.
START = datetime(2020, 1, 1, tzinfo=UTC)
END = datetime(2100, 1, 1, tzinfo=UTC)


REPORT: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    # chdb serves one data directory per process: closed before another test opens its own.
    opened = open_store(f"chdb://{tmp_path_factory.mktemp('grafana-store') / 'store'}")
    try:
        migrate(opened, load_migrations())
        REPORT[:] = fill(opened, simulated(1500, seed=5))
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def variables(store: Store) -> dict[str, str]:
    """Values a person would pick: the tenant, the queue with the most segments, and the
    tenant's time zone."""
    queue = store.query(
        "SELECT queue FROM segment_facts GROUP BY queue ORDER BY count() DESC LIMIT 1"
    ).scalar()
    return {"tenant": "default", "queue": str(queue), "zone": "Europe/Oslo"}


def test_there_are_sql_panels_on_every_clickhouse_dashboard() -> None:
    boards = {q.board for q in QUERIES}
    assert {"ccpipe-history", "ccpipe-goals", "ccpipe-agents", "ccpipe-pipeline"} <= boards


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_each_sql_panel_returns_rows(store: Store, variables: dict[str, str], query: Query) -> None:
    sql = expand_sql(query.text, START, END, variables)
    assert "$" not in sql, sql
    result = store.query(sql)
    assert result.rows, f"{query}: no rows"
    # A variable's one column, or a panel's columns after the first (a time or a key).
    values = [value for row in result.rows for value in (row[1:] or row)]
    assert any(value is not None for value in values), f"{query}: only nulls"


def test_goal_table_has_one_row_per_goal(store: Store, variables: dict[str, str]) -> None:
    table = next(q for q in QUERIES if q.board == "ccpipe-goals" and "Where each goal" in q.panel)
    rows = store.query(expand_sql(table.text, START, END, variables)).dicts()
    assert [r["goal"] for r in rows] == ["sales-asa", "support-csat", "fcr-all"]  # by due date
    assert {r["status"] for r in rows} <= {"on track", "behind", "no data"}
    # At the end of the range every goal's plan has reached its target.
    assert [r["plan_now"] for r in rows] == pytest.approx([20.0, 0.88, 0.80])
    # Each actual is the core's report over that goal's tenant and queue, rolled up.
    sales = [r for r in REPORT if r["tenant"] == "default" and r["queue"] == "sales"]
    answered = sum(r["answered"] for r in sales)
    asa = sum((r["asa_s"] or 0) * r["answered"] for r in sales) / answered
    support = [r for r in REPORT if r["queue"] == "support"]
    responses = sum(r["csat_responses"] for r in support)
    csat = sum((r["csat"] or 0) * r["csat_responses"] for r in support) / responses
    fcr = sum(r["fcr_resolved"] for r in REPORT) / sum(r["fcr_eligible"] for r in REPORT)
    assert [r["actual"] for r in rows] == pytest.approx([asa, csat, fcr])


def test_agent_time_table_is_the_core_s_time_in_state(
    store: Store, variables: dict[str, str]
) -> None:
    """Each agent's time per state and occupancy in the queue, over the whole range: the
    core's `interval_seconds` summed, divided once as the catalogue's occupancy."""
    table = next(q for q in QUERIES if q.board == "ccpipe-agents" and "by agent" in q.panel
                 and "occupancy" in q.panel)  # fmt: skip
    rows = store.query(expand_sql(table.text, START, END, variables)).dicts()
    events = simulated(1500, seed=5)
    core = core_intervals(events, max(e.ts_us for e in events))
    expected: dict[str, list[int]] = {}
    for (tenant, agent, queue, _), seconds in core.items():
        if (tenant, queue) == (variables["tenant"], variables["queue"]):
            held = expected.setdefault(agent, [0] * len(seconds))
            for i, value in enumerate(seconds):
                held[i] += value
    assert len(rows) == len(expected) > 3
    for row in rows:
        seconds = expected[row["agent"]]
        assert [row[f"{state}_s"] for state in AGENT_STATES] == pytest.approx(
            [value / 1e6 for value in seconds]
        )
        assert row["occupancy"] == pytest.approx(occupancy(seconds))
