"""The adapters' sample inputs (tests/data/adapters/) and what the tests do with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pipeline.adapters import AdapterError, Converter, converter_for
from pipeline.config import load_settings
from pipeline.report import report_from_lines

DATA = Path(__file__).resolve().parent.parent / "data" / "adapters"


@dataclass
class Conversion:
    events: list[dict[str, Any]] = field(default_factory=list)
    # (line number, reason) of each record the converter could not map
    dead: list[tuple[int, str]] = field(default_factory=list)
    # line number -> the events of that line
    by_line: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def convert_lines(converter: Converter, lines: list[bytes]) -> Conversion:
    result = Conversion()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events = converter.convert(line)
        except AdapterError as exc:
            result.dead.append((number, exc.reason))
            continue
        result.by_line[number] = events
        result.events.extend(events)
    return result


def sample_lines(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().splitlines()


def convert_sample(fmt: str, name: str, **options: Any) -> Conversion:
    return convert_lines(converter_for(fmt, **options), sample_lines(name))


def report_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`ccpipe kpis` on the events (its Python API)."""
    lines = [orjson.dumps(event) for event in events]
    return report_from_lines(lines, load_settings(env={}))


def report_by_queue(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`ccpipe kpis` on the events, one row per queue (one interval here)."""
    rows = report_rows(events)
    by_queue = {row["queue"]: row for row in rows}
    assert len(by_queue) == len(rows), "the life-cycle samples fit in one interval per queue"
    return by_queue


# The life cycle every platform's sample plays, 2026-11-22 from 09:00 UTC, voice (SL 20 s,
# short abandon 5 s):
#   1. support, answered after 12 s; 180 s talk + 30 s hold (or 210 s talk); 60 s ACW
#   2. support, answered after 45 s; 300 s talk; 30 s ACW
#   3. support, abandoned after 40 s
#   4. support, abandoned after 3 s (a short abandon)
#   5. support, answered after 10 s; 60 s talk; transferred to billing; no ACW
#   6. billing, the same contact, answered after 10 s; 100 s talk + 20 s hold; 20 s ACW
# By hand, support: SL = answered within 20 s (1, 5) / (answered 3 + abandoned 1) = 2/4;
# ASA = (12 + 45 + 10) / 3; abandon rate = 1 / (offered 5 - short 1); AHT = (210 + 60 +
# 300 + 30 + 60) / 3 = 220. Billing: SL 1/1, ASA 10, AHT 120 + 20 = 140.
SUPPORT = {
    "offered": 5,
    "answered": 3,
    "abandoned": 1,
    "short_abandoned": 1,
    "answered_within_sl": 2,
    "service_level": 2 / 4,
    "asa_s": (12 + 45 + 10) / 3,
    "max_wait_s": 45.0,
    "abandon_rate": 1 / (5 - 1),
    "handled": 3,
    "aht_s": (210 + 60 + 300 + 30 + 60) / 3,
    "transferred": 1,
}
BILLING = {
    "offered": 1,
    "answered": 1,
    "abandoned": 0,
    "short_abandoned": 0,
    "answered_within_sl": 1,
    "service_level": 1.0,
    "asa_s": 10.0,
    "abandon_rate": 0.0,
    "handled": 1,
    "aht_s": 140.0,
    "transferred": 0,
}


def kpis_of(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in expected}
