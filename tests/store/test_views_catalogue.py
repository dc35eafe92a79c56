"""The report views of pipeline/store/schema/ compute every KPI as the catalogue defines it.

Migrations are versioned data (an applied one is never edited), so this test reads them: in
the latest statement that creates each report view, the column of every KPI is the
catalogue's SQL (`pipeline/kpi_sql.row_sql`), and the columns are the report's, in order.
"""

from __future__ import annotations

import re

import pytest

from pipeline.core.catalogue import KPIS
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.kpi_sql import row_sql
from pipeline.store.migrations import load_migrations

REPORT_VIEWS = ("kpi_interval_report", "kpi_interval_report_with")


def view_statement(name: str) -> str:
    """The latest statement of the migrations that (re)creates view `name`."""
    create = re.compile(rf"^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?{name}\b", re.I)
    found = [
        statement
        for migration in load_migrations()
        for statement in migration.statements()
        if create.match(_code(statement))
    ]
    assert found, f"no migration creates {name}"
    return _code(found[-1])


def _code(sql: str) -> str:
    """The statement without comments, on one line, single-spaced."""
    return " ".join(re.sub(r"--[^\n]*", "", sql).split())


def select_columns(statement: str) -> dict[str, str]:
    """The outermost SELECT list as column name -> expression (`expr AS name`, or a column)."""
    start = re.search(r"\bAS SELECT\b", statement, re.I)
    assert start is not None, statement[:80]
    items, depth, item = [], 0, ""
    for token in re.findall(r"\(|\)|,|[^(),]+", statement[start.end() :]):
        if depth == 0 and re.search(r"\bFROM\b", token, re.I):
            item += re.split(r"\bFROM\b", token, maxsplit=1, flags=re.I)[0]
            break
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += token
    items.append(item)
    columns = {}
    for text in (item.strip() for item in items):
        expression, alias = re.fullmatch(r"(.*?)(?: AS (\w+))?", text).groups()  # type: ignore[union-attr]
        columns[alias or expression] = expression
    return columns


@pytest.mark.parametrize("view", REPORT_VIEWS)
def test_each_kpi_column_of_the_view_is_the_catalogue_formula(view: str) -> None:
    columns = select_columns(view_statement(view))
    assert list(columns) == list(REPORT_FIELDS)
    for kpi in KPIS:
        assert columns[kpi.name] == row_sql(kpi), kpi.name


def test_the_column_reader_sees_a_changed_formula() -> None:
    """The check can fail: a view that divides otherwise is told apart."""
    changed = view_statement("kpi_interval_report").replace(
        "answered_within_sl / (answered + abandoned)", "answered_within_sl / answered", 1
    )
    columns = select_columns(changed)
    service_level = next(kpi for kpi in KPIS if kpi.name == "service_level")
    assert columns["service_level"] != row_sql(service_level)
