"""Every query in docs/queries.md runs on chdb and returns rows: the docs cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import fill, simulated

DOC = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
_SECTION = re.compile(r"^## (.+?)\n(.*?)(?=^## |\Z)", re.S | re.M)
_SQL = re.compile(r"```sql\n(.*?)```", re.S)
_PARAM = re.compile(r"--param (\w+)=(\S+)")


def doc_queries() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for title, body in _SECTION.findall(DOC.read_text(encoding="utf-8")):
        for sql in _SQL.findall(body):
            example = next(
                (line for line in sql.splitlines() if line.startswith("-- example:")), ""
            )
            found.append((title, sql, dict(_PARAM.findall(example))))
    return found


QUERIES = doc_queries()


def test_the_doc_has_the_queries_the_issue_asks_for() -> None:
    titles = " | ".join(title.lower() for title, _, _ in QUERIES)
    for topic in (
        "service level by hour and queue",
        "asa trend",
        "abandon pattern by wait time",
        "fcr by reason",
        "fcr by agent",
        "aht by agent",
        "intraday arrival profile",
        "peak hours",
        "interval report for a day",
        "csat and nps by queue and month",
        "service level have been at 30 s",
    ):
        assert topic in titles


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"chdb://{tmp_path_factory.mktemp('queries') / 'store'}")
    try:
        migrate(store, load_migrations())
        fill(store, simulated(2000, seed=5))
        yield store
    finally:
        store.close()


@pytest.mark.parametrize(("title", "sql", "params"), QUERIES, ids=[q[0] for q in QUERIES])
def test_doc_query_runs_and_returns_rows(
    filled: Store, title: str, sql: str, params: dict[str, str]
) -> None:
    placeholders = set(re.findall(r"\{(\w+):", sql))
    assert placeholders == set(params), "the -- example: line must give every parameter"
    result = filled.query(sql, params)
    assert result.rows, title
    assert len(set(result.columns)) == len(result.columns)


def test_stream_and_store_agree_on_the_filled_store(filled: Store) -> None:
    [(_, sql, params)] = [q for q in QUERIES if q[0].startswith("Do the stream")]
    [(intervals, differing)] = filled.query(sql, params).rows
    assert intervals > 0 and differing == 0
