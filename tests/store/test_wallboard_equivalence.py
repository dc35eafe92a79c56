"""The wallboard's figures against `ccpipe kpis` and the SQL views, on the same simulated
events: today's and the 7-day figures of /wallboard.json equal the interval rows of the same
span, summed before dividing (docs/kpis.md, "Wallboard figures")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.cli import main
from pipeline.config import Settings, load_settings
from pipeline.core.catalogue import KPI
from pipeline.core.clock import US_PER_S, parse_rfc3339
from pipeline.core.events import encode_event
from pipeline.core.live import local_day_start_us
from pipeline.kpi_sql import summed_sql
from pipeline.store import open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.liveview.expected import expected_page
from tests.store.fill import fill, simulated

SETTINGS: Settings = load_settings(env={})
CUT_US = parse_rfc3339("2026-11-23T15:00:00Z")
# The queue tile's figures over today, and over 7 days (the simulation is shorter than 7
# days, so the 7-day window holds every interval), by the KPI each shows.
QUEUE_TODAY = {
    "service_level_today": "service_level",
    "csat_today": "csat",
    "nps_today": "nps",
    "response_rate_today": "response_rate",
}
QUEUE_WEEK = {"csat_7d": "csat", "nps_7d": "nps", "response_rate_7d": "response_rate"}
CHANNEL_TODAY = {"service_level_today": "service_level"}
CHANNEL_WEEK = {"first_response_7d": "asa_s"}


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The page, `ccpipe kpis`'s rows and the SQL view's sums, over one simulated run."""
    tmp = tmp_path_factory.mktemp("wallboard-equivalence")
    # A wall screen in mid-afternoon: the events sent by then (some contacts still waiting).
    events = [event for event in simulated(1500, seed=21) if event.ts_us <= CUT_US]
    lines = [encode_event(event) for event in events]
    now, shown = expected_page(lines, SETTINGS)
    source = tmp / "events.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    store = open_store(f"chdb://{tmp / 'store'}")
    try:
        migrate(store, load_migrations())
        fill(store, events, SETTINGS)
        today = local_day_start_us(now, SETTINGS.tenant_timezone("default"))
        sql = {span: sql_figures(store, start) for span, start in (("today", today), ("week", 0))}
    finally:
        store.close()
    return {"now": now, "today": today, "shown": shown, "source": source, "sql": sql}


def sql_figures(store: Any, start_us: int) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Per (queue, None) and (queue, channel): every KPI summed from `kpi_interval_counts`
    (the SQL view over the stored segments) for intervals starting at or after `start_us`."""
    names = sorted({*QUEUE_TODAY.values(), *CHANNEL_WEEK.values()})
    columns = ", ".join(f"{summed_sql(KPI[name])} AS {name}" for name in names)
    where = f"WHERE toUnixTimestamp(interval_start) >= {start_us // US_PER_S}"
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for group, key in (("queue", "NULL"), ("queue, channel", "channel")):
        result = store.query(
            f"SELECT queue, {key} AS channel, {columns} FROM kpi_interval_counts "
            f"{where} GROUP BY {group}"
        )
        for row in result.dicts():
            out[(row.pop("queue"), row.pop("channel"))] = row
    return out


def kpis_rows(source: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["kpis", str(source), "--quiet"]) == 0
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


def summed(rows: Iterable[dict[str, Any]], *fields: str) -> list[int]:
    rows = list(rows)
    return [sum(row[field] for row in rows) for field in fields]


def test_today_s_service_level_and_response_rate_equal_ccpipe_kpis_summed(
    centre: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    today = datetime.fromtimestamp(centre["today"] / US_PER_S, UTC)
    rows = [
        row
        for row in kpis_rows(centre["source"], capsys)
        if datetime.fromisoformat(row["interval_start"]) >= today
    ]
    queues = centre["shown"]["queues"]
    assert len(queues) >= 3 and rows
    for queue in queues:
        mine = [row for row in rows if row["queue"] == queue["queue"]]
        within, answered, abandoned, offered = summed(
            mine, "answered_within_sl", "answered", "abandoned", "offered"
        )
        figures = queue["figures"]
        assert figures["service_level_today"] == pytest.approx(within / (answered + abandoned))
        assert figures["response_rate_today"] == pytest.approx(answered / offered)
        for channel in queue["channels"]:
            own = [row for row in mine if row["channel"] == channel["channel"]]
            within, answered, abandoned = summed(own, "answered_within_sl", "answered", "abandoned")
            expected = within / (answered + abandoned) if answered + abandoned else None
            assert channel["figures"]["service_level_today"] == pytest.approx(expected)


def test_today_s_and_the_week_s_figures_equal_the_sql_view_summed(centre: dict[str, Any]) -> None:
    checked = 0
    for queue in centre["shown"]["queues"]:
        for span, names in (("today", QUEUE_TODAY), ("week", QUEUE_WEEK)):
            sql = centre["sql"][span][(queue["queue"], None)]
            for figure, kpi in names.items():
                assert queue["figures"][figure] == pytest.approx(sql[kpi]), (queue["queue"], figure)
                checked += sql[kpi] is not None
        for channel in queue["channels"]:
            for span, names in (("today", CHANNEL_TODAY), ("week", CHANNEL_WEEK)):
                sql = centre["sql"][span].get((queue["queue"], channel["channel"]), {})
                for figure, kpi in names.items():
                    assert channel["figures"][figure] == pytest.approx(sql.get(kpi)), (
                        queue["queue"],
                        channel["channel"],
                        figure,
                    )
    assert checked >= 20  # real figures were compared, not only empty ones
