"""`ccpipe recompute`: a threshold changed from a date mid-range rewrites only the rows from
that date, in place, to what the core computes with the settings in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.config import Settings, load_settings
from pipeline.core.clock import datetime_to_us
from pipeline.core.kpi_state import KpiState
from pipeline.load import interval_rows, load_lines
from pipeline.recompute import Scope, recompute
from pipeline.store import Store
from pipeline.store.tables import KPI_INTERVAL_COLUMNS
from tests.core.builders import T0, abandoned, answered, lines, offered
from tests.core.test_service_levels import _decoded

DAY_S = 86400
DAYS = 4
OLD = "queues:\n  q: {sl_threshold_s: 20}\n"
# From the third day (2026-11-24) the threshold is 40 s.
NEW = (
    "queues:\n  q:\n    - {sl_threshold_s: 20}\n"
    "    - {sl_threshold_s: 40, effective_from: 2026-11-24}\n"
)
EVERYTHING = Scope(datetime_to_us(T0) - DAY_S * 1_000_000, datetime_to_us(T0) + 9 * DAY_S * 10**6)


def _settings(tmp_path: Path, text: str, name: str) -> Settings:
    path = tmp_path / name
    path.write_text(text)
    return load_settings(path, env={})


def _events() -> list[dict[str, Any]]:
    """Each day: answered after 10 s and after 30 s, abandoned after 35 s, in two intervals."""
    events = []
    for day in range(DAYS):
        t = day * DAY_S
        events += [
            offered(t, f"fast{day}"), answered(t + 10, f"fast{day}"),
            offered(t + 1, f"slow{day}"), answered(t + 31, f"slow{day}"),
            offered(t + 1000, f"gone{day}"), abandoned(t + 1035, f"gone{day}"),
        ]  # fmt: skip
    return events


def _stored(store: Store) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The table's rows as the replacing engine keeps them, by interval."""
    rows = store.query(
        "SELECT *, toUnixTimestamp64Micro(interval_start) AS start_us "
        "FROM kpi_intervals FINAL ORDER BY interval_start"
    ).dicts()
    keyed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row["tenant"], row["queue"], row["channel"], row["start_us"])
        assert key not in keyed, f"two rows for {key}: recompute added instead of replacing"
        keyed[key] = row
    return keyed


def _expected(settings: Settings) -> dict[tuple[Any, ...], dict[str, Any]]:
    state = KpiState(settings.queue)
    state.apply(_decoded(_events()))
    state.flush()
    named = (dict(zip(KPI_INTERVAL_COLUMNS, row, strict=True)) for row in interval_rows(state))
    return {(r["tenant"], r["queue"], r["channel"], r["interval_start"]): r for r in named}


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in (*KPI_INTERVAL_COLUMNS[4:-2],)}


def test_a_threshold_change_mid_range_recomputes_only_the_rows_after_it(
    store: Store, tmp_path: Path
) -> None:
    old, new = _settings(tmp_path, OLD, "old.yaml"), _settings(tmp_path, NEW, "new.yaml")
    load_lines(lines(_events()), store, old, "test")
    before = _stored(store)
    assert len(before) == 2 * DAYS
    assert {row["answered_within_sl"] for row in before.values()} == {0, 1}

    result = recompute(store, new, EVERYTHING)

    after = _stored(store)
    assert after.keys() == before.keys()
    change = datetime_to_us(T0.replace(day=24, hour=0))
    moved = sorted(key for key in after if key[3] >= change)
    assert sorted(result.changed) == moved and len(moved) == 4
    for key, row in after.items():
        if key[3] < change:  # untouched: the same row, version and settings version
            assert row == before[key]
        else:
            assert row["version"] == before[key]["version"] + 1
            assert row["settings_version"].startswith("2026-11-24#")
    # What the core computes with the settings in force, row by row.
    expected = _expected(new)
    assert {key: _counts(row) for key, row in after.items()} == {
        key: _counts(row) for key, row in expected.items()
    }
    # The slow answer (30 s) is within 40 s: SL 1/2 -> 2/2 on the day's first interval; the
    # abandon (35 s) is within 40 s: Connect's 0/1 -> 1/1 on its second.
    assert result.largest["service_level"].old == 0.5
    assert result.largest["service_level"].new == 1.0
    assert (result.largest["service_level_connect"].old,
            result.largest["service_level_connect"].new) == (0.0, 1.0)  # fmt: skip
    assert "asa_s" not in result.largest  # no threshold moves a wait
    # Recomputing again changes nothing; with the old settings, everything goes back.
    assert recompute(store, new, EVERYTHING).changed == []
    back = recompute(store, old, EVERYTHING)
    assert sorted(back.changed) == moved
    assert {k: _counts(r) for k, r in _stored(store).items()} == {
        k: _counts(r) for k, r in before.items()
    }


def test_the_command_takes_days_a_queue_and_a_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"chdb://{tmp_path / 'store'}"
    old_path, new_path = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_path.write_text(OLD)
    new_path.write_text(NEW)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines(_events())) + b"\n")
    assert main(["load", str(events), "--store", url, "--config", str(old_path), "--quiet"]) == 0
    args = ["recompute", "--store", url, "--settings", str(new_path)]
    # Another queue: nothing to do.
    assert main([*args, "--from", "2026-11-22", "--to", "2026-11-25", "--queue", "r"]) == 0
    assert "0 rows changed" in capsys.readouterr().err
    # The 25th only: its two rows.
    assert main([*args, "--from", "2026-11-25", "--to", "2026-11-25"]) == 0
    err = capsys.readouterr().err
    assert "2 intervals with segments, 2 rows changed" in err
    assert "service_level: 0.5 -> 1 (default/q/voice 2026-11-25T09:00:00Z)" in err
    assert main([*args, "--from", "2026-11-26", "--to", "2026-11-25"]) == 2


def test_rows_of_other_sources_are_emptied_not_summed(store: Store, tmp_path: Path) -> None:
    """An interval stored as partial states of two sources (an older layout): recomputed, its
    merged figures are the recomputed row alone."""
    old = _settings(tmp_path, OLD, "old.yaml")
    load_lines(lines(_events()), store, old, "test")
    first = min(_stored(store))
    partial = dict.fromkeys(KPI_INTERVAL_COLUMNS, 0)
    partial.update(zip(("tenant", "queue", "channel", "interval_start"), first, strict=True))
    partial.update(offered=3, answered=3, max_wait_us=-1, settings_version="", source="seg:1",
                   version=7)  # fmt: skip
    store.insert(
        "kpi_intervals", KPI_INTERVAL_COLUMNS, [[partial[c]] for c in KPI_INTERVAL_COLUMNS]
    )
    assert recompute(store, old, EVERYTHING).changed == [first]
    merged = store.query(
        "SELECT offered, answered FROM kpi_intervals_merged ORDER BY interval_start LIMIT 1"
    ).rows
    assert merged == [(2, 2)]
    assert recompute(store, old, EVERYTHING).changed == []
