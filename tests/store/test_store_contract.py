"""One contract, two stores: chdb (embedded) and clickhouse-server over TCP.

The table uses only what Debian's clickhouse-server 18.16 accepts (no DateTime64), so the
same statements run on both; the full migrations run on chdb (test_migrations.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.store import Store, StoreError, StoreUnavailable, open_store
from tests.store.conftest import SERVER_PASSWORD, ClickHouseServer

TABLE = """
CREATE TABLE IF NOT EXISTS contract_rows
(
    tenant String,
    id String,
    n Int64,
    q Nullable(String),
    tags Array(String),
    ts DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, id)
"""
COLUMNS = ("tenant", "id", "n", "q", "tags", "ts", "version")
T0 = 1_795_338_000  # 2026-11-22T09:00:00Z in seconds: DateTime takes seconds


def batch(first: int, count: int, version: int = 1) -> list[list[object]]:
    ids = range(first, first + count)
    return [
        ["default"] * count,
        [f"c{i:06d}" for i in ids],
        [i * 1_000_000_007 for i in ids],  # beyond 32 bits
        [None if i % 3 == 0 else f"q{i % 4}" for i in ids],
        [[f"t{i % 2}"] * (i % 3) for i in ids],
        [T0 + i for i in ids],
        [version] * count,
    ]


@pytest.fixture(params=["chdb", pytest.param("native", marks=pytest.mark.clickhouse_server)])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    if request.param == "chdb":
        store = open_store(f"chdb://{tmp_path / 'store'}")
    else:
        server: ClickHouseServer = request.getfixturevalue("running_server")
        monkeypatch.setenv("CCPIPE_STORE_PASSWORD", SERVER_PASSWORD)
        store = open_store(server.url(database=f"contract_{tmp_path.name[-12:]}"))
    try:
        store.ensure_database()
        store.execute("DROP TABLE IF EXISTS contract_rows")
        store.execute(TABLE)
        yield store
    finally:
        store.close()


def test_columnar_batches_read_back_with_their_types(any_store: Store) -> None:
    assert any_store.insert("contract_rows", COLUMNS, batch(0, 1000)) == 1000
    any_store.insert("contract_rows", COLUMNS, batch(1000, 500))
    result = any_store.query(
        "SELECT count(), countIf(q IS NULL), sum(length(tags)), max(n) FROM contract_rows"
    )
    assert result.columns == ["count()", "countIf(isNull(q))", "sum(length(tags))", "max(n)"]
    assert result.rows == [(1500, 500, 1500, 1499 * 1_000_000_007)]
    row = any_store.query("SELECT * FROM contract_rows WHERE id = 'c000004'").dicts()[0]
    assert row["q"] == "q0" and row["tags"] == ["t0"]
    ts = row["ts"]
    assert isinstance(ts, datetime)
    assert ts.replace(tzinfo=ts.tzinfo or UTC).timestamp() == T0 + 4


def test_a_replayed_batch_leaves_no_visible_duplicate(any_store: Store) -> None:
    any_store.insert("contract_rows", COLUMNS, batch(0, 100, version=1))
    any_store.insert("contract_rows", COLUMNS, batch(0, 100, version=2))
    any_store.insert("contract_rows", COLUMNS, batch(0, 100, version=1))  # an old replay
    rows = any_store.query("SELECT count(), min(version) FROM contract_rows FINAL").rows
    assert rows == [(100, 2)]


def test_empty_batch_writes_nothing(any_store: Store) -> None:
    assert any_store.insert("contract_rows", COLUMNS, [[] for _ in COLUMNS]) == 0
    assert any_store.query("SELECT count() FROM contract_rows").scalar() == 0


def test_ragged_batch_is_refused_before_it_is_sent(any_store: Store) -> None:
    data = batch(0, 3)
    data[2] = data[2][:2]
    with pytest.raises(StoreError, match="different lengths"):
        any_store.insert("contract_rows", COLUMNS, data)


def test_bad_sql_is_a_store_error_not_unavailable(any_store: Store) -> None:
    with pytest.raises(StoreError) as info:
        any_store.query("SELECT no_such_column FROM contract_rows")
    assert not isinstance(info.value, StoreUnavailable)
    with pytest.raises(StoreError):
        any_store.insert("no_such_table", ("a",), [[1]])


def test_identifiers_are_checked(any_store: Store) -> None:
    with pytest.raises(StoreError, match="identifier"):
        any_store.insert("contract_rows; DROP TABLE x", ("id",), [["a"]])
