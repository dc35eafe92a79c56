"""The SQL view against the Python core on simulated traffic: equal to the last digit.

The simulation has late and duplicated events, transfers, abandons, surveys and repeat
customers; FCR windows are short enough to close within the simulated day.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest

from pipeline.cli import main
from pipeline.core.intervals import COUNT_FIELDS
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import fill, simulated
from tests.store.rows import report

ORDER = " ORDER BY tenant, queue, channel, interval_start"


class Filled(NamedTuple):
    path: Path
    store: Store
    expected: list[dict[str, Any]]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    path = tmp_path_factory.mktemp("equivalence") / "store"
    store = open_store(f"chdb://{path}")
    try:
        migrate(store, load_migrations())
        expected = fill(store, simulated(3000, seed=11))
        yield Filled(path, store, expected)
    finally:
        store.close()


def test_view_equals_the_core_report_field_by_field(filled: Filled) -> None:
    _, store, expected = filled
    got = report(store)
    assert len(got) == len(expected) > 100
    assert sum(r["fcr_eligible"] for r in expected) > 100  # FCR is really exercised
    assert sum(r["short_abandoned"] for r in expected) > 0
    assert got == expected


def test_stream_counts_and_sql_counts_agree(filled: Filled) -> None:
    _, store, _ = filled
    fields = ", ".join(COUNT_FIELDS)
    merged = store.query(
        f"SELECT tenant, queue, channel, interval_start, {fields} FROM kpi_intervals_merged{ORDER}"
    ).rows
    counted = store.query(
        f"SELECT tenant, queue, channel, interval_start, {fields} FROM kpi_interval_counts{ORDER}"
    ).rows
    assert merged == counted


def test_loading_the_same_events_again_changes_no_figure(
    filled: Filled,
) -> None:
    _, store, expected = filled
    fill(store, simulated(3000, seed=11))
    assert report(store) == expected
    assert (
        store.query("SELECT count() FROM segments FINAL").scalar()
        == store.query("SELECT count() FROM segment_facts").scalar()
    )


def test_sql_jsonl_prints_what_ccpipe_kpis_prints(
    filled: Filled,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path, _, expected = filled
    query = "SELECT * FROM kpi_interval_report" + ORDER
    assert main(["sql", "--store", f"chdb://{path}", "--format", "jsonl", query]) == 0
    printed = capsysbinary.readouterr().out
    assert printed == b"".join(orjson.dumps(row) + b"\n" for row in expected)
