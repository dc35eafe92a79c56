"""What the sink has consumed since its last commit: one columnar batch per table, and the
offsets those batches cover.

A batch is written whole (one INSERT per table) and only then are its offsets committed, so
everything here is either in ClickHouse or will be read again. Each table's dedup token
names the exact messages its rows came from: the (topic, partition, first offset, last
offset) ranges of the topics that feed the table, plus a digest of those messages, so a
replay of the same messages in the same batch is dropped whole by ClickHouse where it has
`insert_deduplication_token`, and a token is never reused for other rows (a re-created topic
restarts its offsets, but not its contents).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.sink.rows import Record, Route, Row, TableRows, unreadable_rows
from pipeline.store.tables import LAYOUTS

TopicPartition = tuple[str, int]
log = logging.getLogger("ccpipe.sink")


@dataclass(slots=True)
class _Span:
    """The messages of one partition in the buffer."""

    first: int
    last: int
    digest: Any = field(default_factory=lambda: hashlib.blake2b(digest_size=16))


@dataclass(frozen=True, slots=True)
class TableBatch:
    table: str
    columns: tuple[str, ...]
    data: list[list[object]]  # column by column
    rows: int
    token: str


class Buffer:
    """Rows per table and offsets per partition, since the last commit."""

    def __init__(self, routes: Iterable[Route], layouts: dict[str, tuple[str, ...]] = LAYOUTS):
        self._routes = {route.topic: route for route in routes}
        self._layouts = layouts
        self._rows: dict[str, list[Row]] = {}
        self._spans: dict[TopicPartition, _Span] = {}
        self.messages = 0
        self.started_at: float | None = None  # monotonic time of the first message

    def add(self, record: Record, now: float) -> None:
        """Take one message: its rows join their tables' batches."""
        route = self._routes[record.topic]
        try:
            rows: TableRows = route.rows(record)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("%s:%d:%d cannot be stored (%s): kept in dead_letters",
                        record.topic, record.partition, record.offset, exc)  # fmt: skip
            rows = unreadable_rows(record, exc)
        for table, table_rows in rows.items():
            if table_rows:
                self._rows.setdefault(table, []).extend(table_rows)
        tp = (record.topic, record.partition)
        span = self._spans.get(tp)
        if span is None:
            span = self._spans[tp] = _Span(record.offset, record.offset)
        span.last = record.offset
        span.digest.update(record.offset.to_bytes(8, "big", signed=True))
        value = record.value or b""
        span.digest.update(len(value).to_bytes(8, "big"))
        span.digest.update(value)
        self.messages += 1
        if self.started_at is None:
            self.started_at = now

    def age(self, now: float) -> float:
        return 0.0 if self.started_at is None else now - self.started_at

    def largest(self) -> int:
        return max((len(rows) for rows in self._rows.values()), default=0)

    def rows(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def batches(self) -> list[TableBatch]:
        """Each table's rows as one columnar batch, with its dedup token."""
        out = []
        for table in sorted(self._rows):
            rows = self._rows[table]
            columns = self._layouts[table]
            data = [list(column) for column in zip(*rows, strict=True)]
            out.append(TableBatch(table, columns, data, len(rows), self.token(table)))
        return out

    def token(self, table: str) -> str:
        feeding = {topic for topic, route in self._routes.items() if table in route.tables}
        spans = sorted(
            ((tp, span) for tp, span in self._spans.items() if tp[0] in feeding),
            key=lambda item: item[0],
        )
        ranges = ",".join(f"{t}/{p}/{s.first}-{s.last}" for (t, p), s in spans)
        digest = hashlib.blake2b(digest_size=16)
        for _, span in spans:
            digest.update(span.digest.digest())
        return f"{table}:{ranges}:{digest.hexdigest()}"

    def next_offsets(self) -> dict[TopicPartition, int]:
        """What to commit once every batch is written: the offset after each partition's last."""
        return {tp: span.last + 1 for tp, span in self._spans.items()}

    def first_offsets(self) -> dict[TopicPartition, int]:
        """Where to read again from if the buffer is dropped unwritten."""
        return {tp: span.first for tp, span in self._spans.items()}

    def clear(self) -> None:
        self._rows.clear()
        self._spans.clear()
        self.messages = 0
        self.started_at = None

    def __bool__(self) -> bool:
        return self.messages > 0
