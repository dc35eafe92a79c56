"""Writing report rows as JSONL, CSV or an aligned table."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, BinaryIO, TextIO

import orjson


def write_jsonl(rows: Sequence[dict[str, Any]], out: BinaryIO) -> None:
    for row in rows:
        out.write(orjson.dumps(row))
        out.write(b"\n")


def write_csv(rows: Sequence[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if row[f] is None else row[f] for f in fields])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_table(rows: Sequence[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    """Columns padded to their widest cell; numbers right-aligned, rates to 3 decimals."""
    cells = [[_cell(row[f]) for f in fields] for row in rows]
    widths = [max([len(f), *(len(r[i]) for r in cells)]) for i, f in enumerate(fields)]
    numeric = [bool(rows) and not isinstance(rows[0][f], str) for f in fields]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out.write(line(list(fields)) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row_cells in cells:
        out.write(line(row_cells) + "\n")
