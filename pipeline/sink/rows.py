"""Messages to table rows: each topic the sink reads, and what rows one message becomes.

Rows are tuples in the order of `pipeline.store.tables` layouts. Every row is a pure
function of its message (and the message's place in its topic), so a replayed message
gives the same rows, which the tables' replacing keys then collapse:

- `cc.events` (read directly, not republished by the stream): one `events` row per accepted
  event, one `agent_states` row per `agent.state`, one `dead_letters` row per rejection,
  keyed by (topic, partition, offset, index in the batch). Decoding here with the stream's
  own decoder gives each rejection its exact place in its batch, which the dead-letter
  topic's messages (one per rejection, with only topic:partition:offset) cannot.
- `cc.segments`: a JSON array of segment rows (`Segment.row`); the latest by `version` wins.
- `cc.kpi.intervals`: one interval's full merged state (`published_row`), keyed by
  [tenant, queue, channel, interval_start_us]. Stored with `source` "stream" and the
  message's offset + 1 as its `version`: a key lives on one partition, whose offsets only
  grow, so the latest message wins. `ccpipe load` writes version 0: any stream row wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
import orjson

from pipeline.config import Settings
from pipeline.core.clock import parse_rfc3339
from pipeline.core.events import AgentState, AnyEvent, Rejection, decode_message, encode_event
from pipeline.core.intervals import COUNT_FIELDS, SETTINGS_VERSION
from pipeline.store.tables import (
    AGENT_STATES,
    DEAD_LETTERS,
    EVENTS,
    KPI_INTERVALS,
    SEGMENT_COLUMNS,
    SEGMENTS,
)

Row = tuple[Any, ...]
TableRows = dict[str, list[Row]]

# The `source` of the stream's merged interval rows, and of `ccpipe load`'s (see above).
STREAM_SOURCE = "stream"
LOAD_VERSION = 0


class Record(Protocol):
    """What the sink reads of a Kafka message (kafka-python's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def event_row(event: AnyEvent) -> Row:
    return (
        event.event_id,
        event.tenant,
        type(event).__struct_config__.tag,
        event.ts_us,
        getattr(event, "contact_id", None),
        getattr(event, "queue", None),
        getattr(event, "channel", None),
        getattr(event, "agent_id", None),
        getattr(event, "customer_id", None),
        encode_event(event).decode(),
    )


def agent_state_row(event: AgentState) -> Row:
    return (event.tenant, event.agent_id, event.ts_us, event.state, event.queues or [],
            event.event_id)  # fmt: skip


_raw_items = msgspec.json.Decoder(list[msgspec.Raw])


def rejected_items(data: bytes, rejections: Sequence[Rejection]) -> list[int]:
    """The index in its batch of each rejected event (0 when the whole message was)."""
    if not rejections:
        return []
    if len(rejections) == 1 and rejections[0].raw == data:
        return [0]
    try:
        items = [bytes(item) for item in _raw_items.decode(data)]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return list(range(len(rejections)))
    found, start = [], 0
    for rejection in rejections:
        index = start
        while index < len(items) and items[index] != rejection.raw:
            index += 1
        if index == len(items):  # not found again: keep the indexes distinct all the same
            index = start
        found.append(index)
        start = index + 1
    return found


def decoded_rows(
    data: bytes, source: str, partition: int, position: int
) -> tuple[list[AnyEvent], TableRows]:
    """One message or file line: its events, and its rows for events, agent_states and
    dead_letters (`position`: the Kafka offset, or the 1-based line number)."""
    events, rejections = decode_message(data)
    agents = [e for e in events if isinstance(e, AgentState)]
    letters = [
        (source, partition, position, item, rejection.reason, _text(rejection.raw))
        for item, rejection in zip(rejected_items(data, rejections), rejections, strict=True)
    ]
    return events, {
        EVENTS: [event_row(e) for e in events],
        AGENT_STATES: [agent_state_row(e) for e in agents],
        DEAD_LETTERS: letters,
    }


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def event_message_rows(record: Record) -> TableRows:
    return decoded_rows(record.value or b"", record.topic, record.partition, record.offset)[1]


def segment_message_rows(record: Record) -> TableRows:
    rows = orjson.loads(record.value or b"[]")
    if isinstance(rows, dict):  # a single row is accepted too
        rows = [rows]
    return {SEGMENTS: [tuple(row[c] for c in SEGMENT_COLUMNS) for row in rows]}


def interval_row(key: Sequence[Any], row: dict[str, Any], source: str, version: int) -> Row:
    tenant, queue, channel, start_us = key
    # A count added after the message was written (a count is only ever appended) reads 0:
    # the stream republishes every interval it holds when it restarts with the new counts.
    counts = (row.get(f, 0) for f in COUNT_FIELDS)
    settings_version = row.get(SETTINGS_VERSION, "")
    return (tenant, queue, channel, start_us, *counts, settings_version, source, version)


def interval_message_rows(record: Record) -> TableRows:
    row = orjson.loads(record.value or b"{}")
    if record.key:
        key = orjson.loads(record.key)
    else:  # a keyless row still names its interval
        key = [row["tenant"], row["queue"], row["channel"], parse_rfc3339(row["interval_start"])]
    return {KPI_INTERVALS: [interval_row(key, row, STREAM_SOURCE, record.offset + 1)]}


def unreadable_rows(record: Record, exc: Exception) -> TableRows:
    """A message of the stream's own topics that cannot be stored (written by something else,
    or by another version): kept in `dead_letters` with the reason, never a crash loop."""
    reason = f"cannot store this {record.topic} message: {type(exc).__name__}: {exc}"
    raw = _text(record.value or b"")
    return {DEAD_LETTERS: [(record.topic, record.partition, record.offset, 0, reason, raw)]}


@dataclass(frozen=True, slots=True)
class Route:
    """One topic the sink reads: the tables it feeds, and how a message becomes rows."""

    topic: str
    tables: tuple[str, ...]
    rows: Callable[[Record], TableRows]


def stream_routes(settings: Settings) -> list[Route]:
    # Every topic may feed dead_letters (an unreadable message goes there).
    return [
        Route(settings.events_topic, (EVENTS, AGENT_STATES, DEAD_LETTERS), event_message_rows),
        Route(settings.segments_topic, (SEGMENTS, DEAD_LETTERS), segment_message_rows),
        Route(settings.intervals_topic, (KPI_INTERVALS, DEAD_LETTERS), interval_message_rows),
    ]
