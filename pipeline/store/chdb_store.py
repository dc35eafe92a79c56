"""The embedded store: ClickHouse in this process through chdb, data in one directory.

chdb binds one process to one data directory, and ClickHouse locks that directory's
`status` file, so a chdb store has exactly one owner process at a time. Opening a path that
another process holds fails at once with `StoreBusy`, naming the holder's PID, rather than
chdb's generic initialisation error. Inside the owner, calls are serialised by a lock:
chdb runs one statement per connection at a time.
"""

from __future__ import annotations

import fcntl
import io
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.store.arrow_batch import arrow_table, arrow_type, ipc_stream
from pipeline.store.base import (
    Params,
    QueryResult,
    StoreBusy,
    StoreError,
    check_columnar,
    quote_identifier,
    quote_string,
)
from pipeline.store.url import MEMORY

# Results travel as Parquet: unlike chdb's Arrow output it keeps DateTime typed (Arrow
# output turns it into a bare UInt32) and an empty result keeps its column names.
# Compression and indexes only cost time for a buffer read once in this process.
_SESSION_SETTINGS = (
    "SET output_format_parquet_compression_method = 'none'",
    "SET output_format_parquet_write_bloom_filter = 0",
    "SET output_format_parquet_write_page_index = 0",
)


class ChdbStore:
    def __init__(self, path: str) -> None:
        import chdb

        self._path = path
        if path != MEMORY:
            Path(path).mkdir(parents=True, exist_ok=True)
            _refuse_if_held(Path(path))
        try:
            self._conn: Any = chdb.connect(path)
        except RuntimeError as exc:
            raise StoreError(f"cannot open chdb store {path}: {exc}") from None
        self._lock = threading.Lock()
        self._types: dict[str, dict[str, str]] = {}
        for statement in _SESSION_SETTINGS:
            self._conn.query(statement)

    @property
    def display_url(self) -> str:
        return f"chdb://{self._path}"

    @property
    def database(self) -> str:
        return "default"

    def ensure_database(self) -> None:
        """chdb's `default` database always exists."""

    def execute(self, sql: str, params: Params | None = None) -> None:
        with self._lock:
            self._types.clear()  # DDL may have changed a table we cached
            self._run(sql, "CSV", params)

    def query(self, sql: str, params: Params | None = None) -> QueryResult:
        with self._lock:
            try:
                data = self._run(sql, "Parquet", params).bytes()
                read = _read_parquet
            except StoreError as exc:
                # Parquet has no type for a bare NULL column (`Nothing`); Arrow has.
                if "conversion into Parquet" not in str(exc):
                    raise
                data = self._run(sql, "ArrowStream", params).bytes()
                read = _read_arrow
        if not data:
            return QueryResult([], [])
        table = read(data)
        columns = [column.to_pylist() for column in table.columns]
        return QueryResult(
            columns=list(table.column_names),
            rows=list(zip(*columns, strict=True)) if columns else [],
        )

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        rows = check_columnar(columns, data)
        if rows == 0:
            return 0
        target = quote_identifier(table)
        names = ", ".join(quote_identifier(c) for c in columns)
        settings = (
            f" SETTINGS insert_deduplication_token = {quote_string(dedup_token)}"
            if dedup_token
            else ""
        )
        with self._lock:
            if self._conn is None:
                raise StoreError("the chdb store is closed")
            types = self._column_types(table)
            missing = [c for c in columns if c not in types]
            if missing:
                raise StoreError(f"table {table} has no column {missing[0]}")
            batch = arrow_table(columns, [arrow_type(types[c]) for c in columns], data)
            try:
                with self._conn.send_insert(
                    f"INSERT INTO {target} ({names}){settings}", "ArrowStream"
                ) as inserter:
                    inserter.append(ipc_stream(batch))
                    inserter.finish()
            except RuntimeError as exc:
                raise StoreError(f"insert into {table} failed: {exc}") from None
        return rows

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ChdbStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, fmt: str, params: Params | None) -> Any:
        if self._conn is None:
            raise StoreError("the chdb store is closed")
        try:
            return self._conn.query(sql, fmt, params=_text_params(params))
        except RuntimeError as exc:  # chdb.ChdbError derives from it
            raise StoreError(str(exc)) from None

    def _column_types(self, table: str) -> dict[str, str]:
        types = self._types.get(table)
        if types is None:
            described = self._run(
                f"SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                f"AND table = {quote_string(table)}",
                "Parquet",
                None,
            ).bytes()
            rows = pq.read_table(io.BytesIO(described)).to_pylist() if described else []
            if not rows:
                raise StoreError(f"no table {table} in the chdb store (run `ccpipe migrate`)")
            types = self._types[table] = {r["name"]: r["type"] for r in rows}
        return types


def _read_parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def _read_arrow(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def _text_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """chdb binds parameters from their text form, as clickhouse-client's --param_x does."""
    if not params:
        return {}
    out = {}
    for name, value in params.items():
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif value is None:
            out[name] = "\\N"
        else:
            out[name] = str(value)
    return out


def _refuse_if_held(path: Path) -> None:
    """Fail clearly when another process owns this chdb path (ClickHouse flocks `status`)."""
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder_pid(status)
        if holder != os.getpid():
            who = f"process {holder}" if holder else "another process"
            raise StoreBusy(
                f"chdb store {path} is open in {who}; a chdb store has one owner at a time: "
                "stop that process, or query it through a ClickHouse server store"
            ) from None
    finally:
        os.close(fd)  # releases our probe lock, if we got it


def _holder_pid(status: Path) -> int | None:
    try:
        for line in status.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("PID:"):
                return int(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None
