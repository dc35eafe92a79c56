"""Rows as JSONL, CSV or an aligned table: what `ccpipe kpis`, `ccpipe sql` and the sink's
SQL endpoint print.

Values are rendered from Python values, not by ClickHouse, so chdb and a server print the
same bytes. Times print as RFC 3339 UTC with `Z`, fractional seconds only when there are
some, exactly as `ccpipe kpis` prints `interval_start`; JSONL and CSV print floats in full
(shortest repr that round-trips), so `ccpipe sql --format jsonl` of `kpi_interval_report`
can be compared with `ccpipe kpis` line for line. Only the table differs between the two,
in its `TableStyle`: a report rounds rates for people, a query result shows what is there.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, TextIO
from uuid import UUID

import orjson

from pipeline.core.clock import datetime_to_us, format_utc

FORMATS = ("table", "csv", "jsonl")


@dataclass(frozen=True, slots=True)
class TableStyle:
    """How the aligned table shows what JSONL and CSV write as it is."""

    null: str  # a missing value
    decimals: int | None  # floats rounded to this many places; None: in full
    count_rows: bool  # a last line "(N rows)"


# `ccpipe kpis`: rates to 3 places and `-` where a KPI has no value (nothing to divide by).
REPORT_TABLE = TableStyle(null="-", decimals=3, count_rows=False)
# `ccpipe sql`: the result as it is, NULL shown, and how many rows there are.
QUERY_TABLE = TableStyle(null="NULL", decimals=None, count_rows=True)


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


def write_rows(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    out: BinaryIO,
    style: TableStyle = QUERY_TABLE,
    numeric: Sequence[bool] | None = None,
) -> None:
    """`rows` (one value per column each) in format `fmt`, one of `FORMATS`. In a table,
    `numeric` columns are right-aligned; by default those whose values are all numbers."""
    if fmt == "jsonl":
        _write_jsonl(columns, rows, out)
        return
    with _text(out) as text:
        if fmt == "csv":
            _write_csv(columns, rows, text)
        elif fmt == "table":
            _write_table(columns, rows, text, style, numeric)
        else:
            raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def render(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    style: TableStyle = QUERY_TABLE,
) -> bytes:
    """What `write_rows` writes, as bytes."""
    out = io.BytesIO()
    write_rows(fmt, columns, rows, out, style)
    return out.getvalue()


@contextmanager
def _text(out: BinaryIO) -> Iterator[TextIO]:
    """`out` as UTF-8 text, "\n" kept as it is; `out` stays open."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        yield text
    finally:
        text.flush()
        text.detach()


def _write_jsonl(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: BinaryIO) -> None:
    for row in rows:
        record = {name: plain(value) for name, value in zip(columns, row, strict=True)}
        out.write(orjson.dumps(record))
        out.write(b"\n")


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def _write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])


def _table_cell(value: Any, style: TableStyle) -> str:
    if value is None:
        return style.null
    if isinstance(value, float) and style.decimals is not None:
        return f"{value:.{style.decimals}f}"
    return _cell(value)


def _write_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    out: TextIO,
    style: TableStyle,
    numeric: Sequence[bool] | None,
) -> None:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[_table_cell(v, style) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if numeric is None:
        numeric = [_numeric_column(rows, i) for i in range(len(columns))]

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
    if style.count_rows:
        out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


def _numeric_column(rows: Sequence[Sequence[Any]], index: int) -> bool:
    values = [row[index] for row in rows if row[index] is not None]
    return bool(values) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values
    )
