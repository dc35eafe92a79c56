"""Query results as JSONL, CSV or an aligned table, identical for both stores.

Values are rendered from Python values, not by ClickHouse, so chdb and a server print the
same bytes. Times print as RFC 3339 UTC with `Z`, fractional seconds only when there are
some, exactly as `ccpipe kpis` prints `interval_start`; floats print in full (shortest
repr that round-trips), so `ccpipe sql --format jsonl` of `kpi_interval_report` can be
compared with `ccpipe kpis` line for line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, TextIO
from uuid import UUID

import orjson

from pipeline.core.clock import datetime_to_us, format_utc
from pipeline.store.base import QueryResult

FORMATS = ("table", "csv", "jsonl")


def plain(value: Any) -> Any:
    """A JSON-ready value: strings for times, decimals and ids; lists for tuples."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a server DateTime without zone: the server's (UTC here)
            value = value.replace(tzinfo=UTC)
        return format_utc(datetime_to_us(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def write_jsonl(result: QueryResult, out: BinaryIO) -> None:
    for row in result.rows:
        record = {name: plain(value) for name, value in zip(result.columns, row, strict=True)}
        out.write(orjson.dumps(record))
        out.write(b"\n")


def _text(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def write_csv(result: QueryResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_text(v) for v in row])


def write_table(result: QueryResult, out: TextIO) -> None:
    """Columns padded to their widest cell; numbers right-aligned; NULL shown as NULL."""
    columns = result.columns
    cells = [[("NULL" if v is None else _text(v)) for v in row] for row in result.rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [_numeric_column(result.rows, i) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row_cells in cells:
        out.write(line(row_cells) + "\n")
    out.write(f"({len(result.rows)} row{'' if len(result.rows) == 1 else 's'})\n")


def _numeric_column(rows: Sequence[tuple[Any, ...]], index: int) -> bool:
    values = [row[index] for row in rows if row[index] is not None]
    return bool(values) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values
    )
