"""The offline report: JSONL events in, one KPI row per interval out.

A thin driver of the KPI core: the same `KpiState` the stream runs. Bad lines are reported
with their line number and reason and never stop the run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pipeline.config import Settings
from pipeline.core.events import Rejection, decode_message
from pipeline.core.kpi_state import KpiState

BATCH_LINES = 4096


@dataclass(slots=True)
class BadLine:
    line: int
    reason: str
    raw: bytes


@dataclass(slots=True)
class ReportRun:
    rows: list[dict[str, Any]]
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    bad: int = 0
    anomalies: int = 0
    rejected: list[BadLine] = field(default_factory=list)


class Progress:
    """A progress line on stderr, at most every `every_s` seconds, only for long inputs."""

    def __init__(self, stream: TextIO | None, every_s: float = 2.0) -> None:
        self._stream = stream
        self._every = every_s
        self._start = time.monotonic()
        self._next = self._start + every_s
        self.shown = False

    def tick(self, lines: int, bad: int) -> None:
        if self._stream is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        rate = lines / max(now - self._start, 1e-9)
        self._stream.write(f"\r{lines:,} lines, {bad:,} bad, {rate:,.0f} lines/s ")
        self._stream.flush()
        self.shown = True

    def done(self) -> None:
        if self._stream is not None and self.shown:
            self._stream.write("\n")


def run_report(
    lines: Iterable[bytes],
    settings: Settings,
    on_bad: Callable[[BadLine], None] | None = None,
    progress: Progress | None = None,
) -> ReportRun:
    """Decode, apply and report. `on_bad` sees every rejected line as it is found."""
    state = KpiState(settings.queue)
    run = ReportRun(rows=[])
    batch: list[Any] = []
    number = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        events, rejections = decode_message(line.rstrip(b"\r\n"))
        if events:
            batch.extend(events)
        if rejections:
            _reject(run, number, rejections, on_bad)
        if len(batch) >= BATCH_LINES:
            state.apply(batch)
            run.events += len(batch)
            batch = []
            if progress is not None:
                progress.tick(number, run.bad)
    state.apply(batch)
    run.events += len(batch)
    run.lines = number
    run.rows = state.report()
    run.duplicates = state.segments.duplicates
    run.anomalies = sum(s.anomalies for s in state.segments.segments.values())
    if progress is not None:
        progress.done()
    return run


def _reject(
    run: ReportRun,
    number: int,
    rejections: list[Rejection],
    on_bad: Callable[[BadLine], None] | None,
) -> None:
    for rejection in rejections:
        bad = BadLine(number, rejection.reason, rejection.raw)
        run.bad += 1
        if on_bad is not None:
            on_bad(bad)
        else:
            run.rejected.append(bad)


def report_from_lines(lines: Iterable[bytes], settings: Settings) -> list[dict[str, Any]]:
    """The report rows of some JSONL lines (bad lines are skipped; see `run_report`)."""
    return run_report(lines, settings, on_bad=lambda _bad: None).rows


def read_lines(path: str) -> Iterator[bytes]:
    """Lines of a file, or of stdin for `-`, as bytes."""
    if path == "-":
        yield from sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        yield from handle
