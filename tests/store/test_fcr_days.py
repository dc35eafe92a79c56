"""The FCR views (migration 0011) against the core's live FCR: by close day, 7 and 30 days.

Simulated days 40, 20, 6 and 3 days before the last one, and the last one, in a zone an
hour off UTC: some windows close on the edge of the 7-day figure and some before the
30-day one, and the views must draw the edges as `FcrTracker` and `live_fcr` do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import orjson
import pytest

from pipeline.core.catalogue import FCR_LIVE, KPI
from pipeline.core.clock import US_PER_S, datetime_to_us
from pipeline.core.events import AnyEvent, decode_message
from pipeline.core.fcr import FcrPart
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import live_fcr, local_day_start_us
from pipeline.kpi_sql import row_sql
from pipeline.simulator.emit import DEFAULT_START_US, simulate_events
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import SETTINGS, fill
from tests.store.test_views_catalogue import select_columns, view_statement

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
    rows = filled.store.query(
        "SELECT tenant, queue, channel, close_day, fcr_eligible, fcr_resolved, fcr_rate "
        f"FROM fcr_by_close_day(zone = '{ZONE}')"
    ).rows
    got = {}
    for tenant, queue, channel, day, eligible, resolved, rate in rows:
        assert rate == resolved / eligible
        got[(tenant, queue, channel, _day_us(day))] = [eligible, resolved]
    assert len({key[3] for key in got}) >= len(DAYS_BACK)  # several close days
    assert got == filled.closed


def test_trailing_figures_equal_the_live_ones(filled: Filled) -> None:
    today = local_day_start_us(filled.watermark_us, ZoneInfo(ZONE))
    by_group: dict[Group, list[FcrPart]] = {}
    for part in filled.parts:
        by_group.setdefault(part.group, []).append(part)
    expected = {group: live_fcr(parts, today) for group, parts in by_group.items()}
    columns = ", ".join(
        f"{live.name}_resolved, {live.name}_eligible, {live.name}" for live in TRAILING
    )
    rows = filled.store.query(
        f"SELECT tenant, queue, channel, as_of, {columns} FROM fcr_trailing(zone = '{ZONE}')"
    ).rows
    got: dict[Group, dict[str, tuple[int, int]]] = {}
    for tenant, queue, channel, as_of, *figures in rows:
        assert _day_us(as_of) == today
        held = got.setdefault((tenant, queue, channel), {})
        for i, live in enumerate(TRAILING):
            resolved, eligible, rate = figures[3 * i : 3 * i + 3]
            assert rate == (resolved / eligible if eligible else None)
            if eligible:
                held[live.name] = (resolved, eligible)
    core = {
        group: {name: value for name, value in figures.items() if name != "fcr_today"}
        for group, figures in expected.items()
    }
    assert got == {group: figures for group, figures in core.items() if figures}
    # The edges are exercised: some closed days count in 30 days and not in 7.
    assert any(f["fcr_30d"][1] > f.get("fcr_7d", (0, 0))[1] for f in got.values())
    assert any("fcr_7d" in f for f in got.values())


def test_the_views_divide_as_the_catalogue_defines_fcr() -> None:
    columns = select_columns(view_statement("fcr_by_close_day"))
    assert columns["fcr_rate"] == row_sql(KPI["fcr_rate"])
    trailing = select_columns(view_statement("fcr_trailing"))
    for live in TRAILING:
        assert trailing[live.name] == (
            f"if({live.name}_eligible = 0, NULL, {live.name}_resolved / {live.name}_eligible)"
        )
