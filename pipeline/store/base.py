"""What every store does: run SQL, insert columnar batches, answer queries.

Two implementations sit behind this protocol (`ChdbStore`, embedded; `NativeStore`, a
ClickHouse server over TCP) and one contract suite tests both. SQL is ClickHouse SQL in
either; query parameters use ClickHouse's own `{name:Type}` placeholders, bound by the
engine, never pasted into the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Params = Mapping[str, Any]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StoreError(RuntimeError):
    """The store refused a statement (bad SQL, unknown table, type mismatch...)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached now; the same call may succeed later (retry with backoff)."""


class StoreBusy(StoreError):
    """A chdb path is open in another process: one owner per chdb store."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The single value of a one-row, one-column result."""
        if len(self.rows) != 1 or len(self.columns) != 1:
            raise StoreError(f"expected one value, got {len(self.rows)} rows")
        return self.rows[0][0]


class Store(Protocol):
    """A ClickHouse store. Not safe to share between processes; calls are serialised."""

    @property
    def display_url(self) -> str:
        """The store's URL with any password replaced by `***`."""
        ...

    @property
    def database(self) -> str: ...

    def ensure_database(self) -> None:
        """Create the store's database if it is missing (migrations start here)."""
        ...

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns no rows (DDL, INSERT ... SELECT)."""
        ...

    def query(self, sql: str, params: Params | None = None) -> QueryResult: ...

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        """Insert one batch given column by column (`data[i]` holds the values of
        `columns[i]`); returns the row count.

        Values are Python ints, floats, strings, None and lists; every DateTime64(6) column
        takes integer microseconds since the UTC epoch, as the KPI core emits them. One call
        is one INSERT (one part in ClickHouse): batch thousands of rows per call.
        `dedup_token` makes a retried identical batch a no-op where the server and table
        support `insert_deduplication_token`; the replacing engines make it safe without.
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...


def quote_identifier(name: str) -> str:
    """Backquote a table or column name after checking it is a plain identifier."""
    if not _IDENTIFIER.match(name):
        raise StoreError(f"not a plain identifier: {name!r}")
    return f"`{name}`"


def check_columnar(columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
    """The batch's row count, after checking every column has one."""
    if len(columns) != len(data):
        raise StoreError(f"{len(columns)} column names but {len(data)} columns of values")
    if not columns:
        raise StoreError("an insert needs at least one column")
    counts = {len(values) for values in data}
    if len(counts) != 1:
        raise StoreError(f"columns of different lengths in one batch: {sorted(counts)}")
    return counts.pop()


def quote_string(value: str) -> str:
    """A ClickHouse string literal (for settings values such as a dedup token)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
