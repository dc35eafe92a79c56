"""FCR by close day and over 7 and 30 days, in SQL (`fcr_close_intervals`, migration 0011,
with the queries `pipeline/kpi_sql.py` renders from the catalogue), against the core's live
FCR.

Simulated days 40, 20, 6 and 3 days before the last one, and the last one, in a zone an
hour off UTC: some windows close on the edge of the 7-day figure and some before the
30-day one, and the SQL must draw the edges as `FcrTracker` and `live_fcr` do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import orjson
import pytest

from pipeline.core.catalogue import FCR_LIVE
from pipeline.core.clock import US_PER_S, datetime_to_us
from pipeline.core.events import AnyEvent, decode_message
from pipeline.core.fcr import FcrPart
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import live_fcr, local_day_start_us
from pipeline.kpi_sql import fcr_days_sql, fcr_trailing_sql
from pipeline.simulator.emit import DEFAULT_START_US, simulate_events
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import SETTINGS, fill

ZONE = "Europe/Oslo"
DAY_US = 86400 * US_PER_S
DAYS_BACK = (40, 20, 6, 3, 0)
TRAILING = tuple(live for live in FCR_LIVE if live.days)
Group = tuple[str, str, str]


def several_days() -> list[AnyEvent]:
    """A simulated day at each of DAYS_BACK, each with its own seed (own contacts)."""
    raw = []
    for seed, back in enumerate(DAYS_BACK, 20):
        raw += simulate_events(600, seed, DEFAULT_START_US - back * DAY_US)
    events, rejections = decode_message(orjson.dumps(raw))
    assert not rejections
    return events


class Filled(NamedTuple):
    store: Store
    watermark_us: int
    parts: list[FcrPart]
    closed: dict[tuple[str, str, str, int], list[int]]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    store = open_store(f"chdb://{tmp_path_factory.mktemp('fcr') / 'store'}")
    try:
        migrate(store, load_migrations())
        events = several_days()
        fill(store, events)
        state = KpiState(SETTINGS.queue, zone_of=lambda _: ZoneInfo(ZONE))
        state.apply(events)
        state.flush()
        watermark = state.fcr.watermark_us
        # Before `live_parts`, which forgets days older than any live figure reads.
        closed = {key: list(totals) for key, totals in state.fcr.closed.totals.items()}
        parts = state.fcr.live_parts(watermark)
        yield Filled(store, watermark, parts, closed)
    finally:
        store.close()


def _day_us(day: date) -> int:
    return datetime_to_us(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE)))


def test_the_watermark_is_the_same_in_sql(filled: Filled) -> None:
    sql = filled.store.query("SELECT any(watermark_us) FROM segment_facts").scalar()
    assert sql == filled.watermark_us


def test_by_close_day_equals_the_core(filled: Filled) -> None:
    rows = filled.store.query(fcr_days_sql(ZONE)).dicts()
    got = {}
    for row in rows:
        assert row["fcr_rate"] == row["resolved"] / row["eligible"]
        key = (row["tenant"], row["queue"], row["channel"], _day_us(row["close_day"]))
        got[key] = [row["eligible"], row["resolved"]]
    assert len({key[3] for key in got}) >= len(DAYS_BACK)  # several close days
    assert got == filled.closed


def test_a_utc_day_is_another_day(filled: Filled) -> None:
    """The zone matters: windows closing between 23:00 and 24:00 UTC are the next day in
    Oslo, so the two groupings differ (and the one in Oslo is the core's, above)."""

    def days(zone: str) -> dict[tuple[str, str, str, date], int]:
        rows = filled.store.query(fcr_days_sql(zone)).dicts()
        return {
            (r["tenant"], r["queue"], r["channel"], r["close_day"]): r["eligible"] for r in rows
        }

    assert days("UTC") != days(ZONE)
    assert sum(days("UTC").values()) == sum(days(ZONE).values())


def test_trailing_figures_equal_the_live_ones(filled: Filled) -> None:
    today = local_day_start_us(filled.watermark_us, ZoneInfo(ZONE))
    by_group: dict[Group, list[FcrPart]] = {}
    for part in filled.parts:
        by_group.setdefault(part.group, []).append(part)
    expected = {group: live_fcr(parts, today) for group, parts in by_group.items()}
    got: dict[Group, dict[str, tuple[int, int]]] = {}
    for row in filled.store.query(fcr_trailing_sql(ZONE)).dicts():
        assert _day_us(row["as_of"]) == today
        held = got.setdefault((row["tenant"], row["queue"], row["channel"]), {})
        for live in TRAILING:
            resolved, eligible = row[f"{live.name}_resolved"], row[f"{live.name}_eligible"]
            assert row[live.name] == (resolved / eligible if eligible else None)
            if eligible:
                held[live.name] = (resolved, eligible)
    trailing = {live.name for live in TRAILING}
    core = {
        group: {name: value for name, value in figures.items() if name in trailing}
        for group, figures in expected.items()
    }
    assert got == {group: figures for group, figures in core.items() if figures}
    # The edges are exercised: some closed days count in 30 days and not in 7.
    assert any(f["fcr_30d"][1] > f.get("fcr_7d", (0, 0))[1] for f in got.values())
    assert any("fcr_7d" in f for f in got.values())


def test_a_zone_is_a_name_not_sql() -> None:
    with pytest.raises(ValueError):
        fcr_days_sql("UTC') OR 1 = 1 --")
