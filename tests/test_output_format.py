"""The one output-format module: the same rows in each format, and the two table styles of
`ccpipe kpis` (a report for people) and `ccpipe sql` (a query result as it is)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from pipeline.output_format import FORMATS, QUERY_TABLE, REPORT_TABLE, render

COLUMNS = ("queue", "interval_start", "offered", "service_level", "asa_s")
ROWS = [
    ("sales", datetime(2026, 11, 22, 9, 0, tzinfo=UTC), 12, 0.8333333333333334, None),
    ("support", datetime(2026, 11, 22, 9, 15, 0, 250000), 3, None, Decimal("4.5")),
]


def test_jsonl_and_csv_write_every_value_as_it_is() -> None:
    lines = render("jsonl", COLUMNS, ROWS).splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {
            "queue": "sales",
            "interval_start": "2026-11-22T09:00:00Z",
            "offered": 12,
            "service_level": 0.8333333333333334,
            "asa_s": None,
        },
        {
            # A time without a zone is the server's, which is UTC.
            "interval_start": "2026-11-22T09:15:00.250000Z",
            "queue": "support",
            "offered": 3,
            "service_level": None,
            "asa_s": "4.5",
        },
    ]
    table = list(csv.reader(io.StringIO(render("csv", COLUMNS, ROWS).decode())))
    assert table == [
        list(COLUMNS),
        ["sales", "2026-11-22T09:00:00Z", "12", "0.8333333333333334", ""],
        ["support", "2026-11-22T09:15:00.250000Z", "3", "", "4.5"],
    ]


def test_a_query_table_shows_nulls_full_floats_and_the_row_count() -> None:
    header, rule, first, second, count = (
        render("table", COLUMNS, ROWS, QUERY_TABLE).decode().splitlines()
    )
    assert header.split() == list(COLUMNS)
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split() == ["sales", "2026-11-22T09:00:00Z", "12", "0.8333333333333334", "NULL"]
    assert second.split() == ["support", "2026-11-22T09:15:00.250000Z", "3", "NULL", "4.5"]
    # Numbers are right-aligned under their header, text left-aligned.
    assert first.index("12") + 2 == header.index("offered") + len("offered")
    assert first.startswith("sales ") and second.startswith("support ")
    assert count == "(2 rows)"


def test_a_report_table_rounds_rates_and_marks_what_has_no_value() -> None:
    lines = render("table", COLUMNS, ROWS, REPORT_TABLE).decode().splitlines()
    assert len(lines) == 4  # header, rule and the rows: no count
    assert lines[2].split()[3:] == ["0.833", "-"]
    assert lines[3].split()[3:] == ["-", "4.5"]


def test_an_unknown_format_is_refused() -> None:
    assert set(FORMATS) == {"table", "csv", "jsonl"}
    with pytest.raises(ValueError, match="expected one of"):
        render("xml", COLUMNS, ROWS)
