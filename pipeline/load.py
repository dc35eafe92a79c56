"""`ccpipe load`: backfill a store from a JSONL file through the KPI core the stream runs.

Each line is decoded with the stream's decoder; accepted events are written to `events` and
`agent_states` as they are read, in batches, bad lines to `dead_letters` (source: the file,
position: the line number, item: the index in a batch line). The events also go through a
`KpiState`, as in `ccpipe kpis`; at the end every segment's state goes to `segments` and
every interval's full merged state to `kpi_intervals`, as the stream publishes them
(source "stream", version 0, so any row the stream itself writes later wins).

Running it twice on the same file changes nothing that a documented query shows: every
table replaces rows by their identity (event, segment + version, interval + source + version,
input position), and each batch carries a dedup token made from its rows, so the second
run's inserts are even dropped whole where the store has tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline.config import Settings
from pipeline.core.events import AnyEvent
from pipeline.core.intervals import COUNT_FIELDS, SETTINGS_VERSION
from pipeline.core.kpi_state import KpiState
from pipeline.report import BATCH_LINES, Progress
from pipeline.sink.rows import LOAD_VERSION, STREAM_SOURCE, Row, decoded_rows, interval_row
from pipeline.store import Store
from pipeline.store.tables import (
    AGENT_STATES,
    DEAD_LETTERS,
    EVENTS,
    KPI_INTERVALS,
    LAYOUTS,
    SEGMENT_COLUMNS,
    SEGMENTS,
)

# Rows per INSERT: large batches, few parts (a load is one big write, not a live feed).
LOAD_BATCH_ROWS = 50_000


@dataclass(slots=True)
class LoadResult:
    lines: int = 0
    events: int = 0
    bad: int = 0
    duplicates: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # rows written per table


class _TableWriter:
    """Rows of one table, written in batches of `LOAD_BATCH_ROWS` with a content token."""

    def __init__(self, store: Store, table: str, result: LoadResult, batch_rows: int) -> None:
        self._store = store
        self._table = table
        self._result = result
        self._batch_rows = batch_rows
        self._rows: list[Row] = []

    def add(self, rows: Iterable[Row]) -> None:
        self._rows.extend(rows)
        if len(self._rows) >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        # The token names these rows exactly: the same rows again (a second load) are dropped
        # whole, other rows (another file, other thresholds) never are.
        digest = hashlib.blake2b(orjson.dumps(rows), digest_size=16).hexdigest()
        columns = LAYOUTS[self._table]
        data = [list(column) for column in zip(*rows, strict=True)]
        self._store.insert(self._table, columns, data, dedup_token=f"load:{self._table}:{digest}")
        self._result.rows[self._table] = self._result.rows.get(self._table, 0) + len(rows)


def load_lines(
    lines: Iterable[bytes],
    store: Store,
    settings: Settings,
    source: str,
    progress: Progress | None = None,
    batch_rows: int = LOAD_BATCH_ROWS,
    on_bad: Callable[[int, str], None] | None = None,
) -> LoadResult:
    """Write everything the stream would derive from `lines` into `store`."""
    result = LoadResult()
    writers = {
        table: _TableWriter(store, table, result, batch_rows)
        for table in (EVENTS, AGENT_STATES, DEAD_LETTERS, SEGMENTS, KPI_INTERVALS)
    }
    state = KpiState(settings.queue)
    pending: list[AnyEvent] = []
    number = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        events, rows = decoded_rows(line.rstrip(b"\r\n"), source, -1, number)
        for table, table_rows in rows.items():
            if table_rows:
                writers[table].add(table_rows)
        for letter in rows[DEAD_LETTERS]:
            result.bad += 1
            if on_bad is not None:
                on_bad(number, letter[4])
        pending.extend(events)
        if len(pending) >= BATCH_LINES:
            _apply(state, pending, result)
            pending = []
            if progress is not None:
                progress.tick(number, result.bad)
    _apply(state, pending, result)
    result.lines = number
    result.duplicates = state.segments.duplicates
    for table in (EVENTS, AGENT_STATES, DEAD_LETTERS):
        writers[table].flush()
    state.flush()
    writers[SEGMENTS].add(segment_rows(state))
    writers[KPI_INTERVALS].add(interval_rows(state))
    writers[SEGMENTS].flush()
    writers[KPI_INTERVALS].flush()
    if progress is not None:
        progress.done()
    return result


def _apply(state: KpiState, events: list[AnyEvent], result: LoadResult) -> None:
    state.apply(events)
    result.events += len(events)


def segment_rows(state: KpiState) -> list[Row]:
    """Every offered segment's current row, as the stream publishes it to cc.segments."""
    segments = state.segments
    rows = []
    for segment in segments.segments.values():
        if segment.offered is None:
            continue  # waits for its offer, as in the stream
        row: dict[str, Any] = segment.row(segments.segment_config(segment))
        rows.append(tuple(row[c] for c in SEGMENT_COLUMNS))
    return rows


def interval_rows(state: KpiState) -> list[Row]:
    """Every interval's full merged state, as the stream publishes it to cc.kpi.intervals
    (an interval whose segments all moved away keeps a row with offered 0, which replaces
    an older state of it, exactly as the stream's does)."""
    rows = []
    for key in sorted(state.segments.intervals.keys()):
        counts = state.interval_counts(key)
        named: dict[str, Any] = dict(zip(COUNT_FIELDS, counts, strict=True))
        named[SETTINGS_VERSION] = state.segments.queue_config(*key).version
        rows.append(interval_row(key, named, STREAM_SOURCE, LOAD_VERSION))
    return rows
