"""Messages to rows: every topic the sink reads, bad input included."""

from __future__ import annotations

import orjson

from pipeline.config import load_settings
from pipeline.core.events import decode_message
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, published_row
from pipeline.core.kpi_state import KpiState
from pipeline.sink.batches import Buffer
from pipeline.sink.rows import (
    STREAM_SOURCE,
    event_message_rows,
    interval_message_rows,
    segment_message_rows,
    stream_routes,
)
from pipeline.store.tables import KPI_INTERVAL_COLUMNS, LAYOUTS, SEGMENT_COLUMNS
from tests.sink.memory_consumer import Message
from tests.store.rows import T0

SETTINGS = load_settings(env={})
OFFERED = (
    b'{"event_id":"e1","type":"contact.offered","ts":"2026-11-22T09:00:00.25Z",'
    b'"contact_id":"c1","queue":"sales","channel":"voice","customer_id":"k1"}'
)
AGENT = b'{"event_id":"e2","type":"agent.state","ts":"2026-11-22T09:00:01Z",' \
    b'"agent_id":"a1","state":"busy","queues":["sales"]}'  # fmt: skip
BAD_TYPE = b'{"event_id":"e3","type":"contact.teleported","ts":"2026-11-22T09:00:02Z"}'


def message(topic: str, value: bytes, offset: int = 7, key: bytes | None = None) -> Message:
    return Message(topic, 2, offset, key, value)


def test_an_events_batch_gives_events_agent_states_and_dead_letters() -> None:
    value = b"[" + b",".join([OFFERED, BAD_TYPE, AGENT, b"{}"]) + b"]"
    rows = event_message_rows(message("cc.events", value))
    assert [r[0] for r in rows["events"]] == ["e1", "e2"]
    assert all(len(r) == len(LAYOUTS["events"]) for r in rows["events"])
    offered = dict(zip(LAYOUTS["events"], rows["events"][0], strict=True))
    assert offered["ts"] == T0 + 250_000 and offered["customer_id"] == "k1"
    assert offered["type"] == "contact.offered" and offered["agent_id"] is None
    assert orjson.loads(offered["payload"])["event_id"] == "e1"
    assert rows["agent_states"] == [("default", "a1", T0 + 1_000_000, "busy", ["sales"], "e2")]
    # Each rejected event keeps its place in the batch: (topic, partition, offset, index).
    letters = rows["dead_letters"]
    assert [(r[0], r[1], r[2], r[3]) for r in letters] == [
        ("cc.events", 2, 7, 1),
        ("cc.events", 2, 7, 3),
    ]
    assert letters[0][5] == BAD_TYPE.decode()


def test_a_message_rejected_whole_is_item_zero_and_keeps_its_bytes() -> None:
    for value in (b"\xff\xfe not json", b"[1, 2]", BAD_TYPE):
        rows = event_message_rows(message("cc.events", value, offset=3))
        assert rows["events"] == []
        [letter] = rows["dead_letters"]
        assert letter[:4] == ("cc.events", 2, 3, 0)
        assert letter[5] == value.decode("utf-8", errors="backslashreplace")


def test_segment_and_interval_messages_carry_the_stream_state_as_rows() -> None:
    events, _ = decode_message(b"[" + OFFERED + b"]")
    state = KpiState(SETTINGS.queue)
    state.apply(events)
    state.flush()
    segment = next(iter(state.segments.segments.values()))
    config = SETTINGS.queue("default", "sales", "voice")
    value = orjson.dumps([segment.row(config)])
    [row] = segment_message_rows(message("cc.segments", value))["segments"]
    assert row == tuple(segment.row(config)[c] for c in SEGMENT_COLUMNS)

    key = IntervalKey("default", "sales", "voice", T0)
    counts = state.interval_counts(key)
    text_key = orjson.dumps(list(key))
    record = message("cc.kpi.intervals", orjson.dumps(published_row(key, counts)), 41, text_key)
    [row] = interval_message_rows(record)["kpi_intervals"]
    stored = dict(zip(KPI_INTERVAL_COLUMNS, row, strict=True))
    assert stored["interval_start"] == T0
    assert [stored[f] for f in COUNT_FIELDS] == counts
    # The latest message of a key wins: its offset + 1 is the version.
    assert (stored["source"], stored["version"]) == (STREAM_SOURCE, 42)


def test_tokens_name_the_messages_and_change_with_their_content() -> None:
    def token(values: list[bytes], first_offset: int = 0) -> str:
        buffer = Buffer(stream_routes(SETTINGS))
        for i, value in enumerate(values):
            buffer.add(message(SETTINGS.events_topic, value, first_offset + i), now=0.0)
        buffer.add(message(SETTINGS.segments_topic, b"[]", 5), now=0.0)
        return buffer.token("events")

    same = token([OFFERED, AGENT])
    assert same == token([OFFERED, AGENT])  # a replay of the same messages: the same token
    assert same.startswith(f"events:{SETTINGS.events_topic}/2/0-1:")
    assert "cc.segments" not in same  # only the topics that feed the table
    assert token([OFFERED, BAD_TYPE]) != same  # other content at the same offsets
    assert token([OFFERED, AGENT], first_offset=1) != same


def test_a_buffer_is_columnar_and_knows_its_offsets() -> None:
    buffer = Buffer(stream_routes(SETTINGS))
    buffer.add(message(SETTINGS.events_topic, b"[" + OFFERED + b"," + AGENT + b"]", 10), 1.0)
    buffer.add(message(SETTINGS.events_topic, BAD_TYPE, 11), 2.0)
    assert buffer.age(3.5) == 2.5 and buffer.messages == 2 and buffer.largest() == 2
    batches = {b.table: b for b in buffer.batches()}
    events = batches["events"]
    assert events.rows == 2 and events.data[0] == ["e1", "e2"]
    assert len(events.data) == len(events.columns) == len(LAYOUTS["events"])
    assert buffer.next_offsets() == {(SETTINGS.events_topic, 2): 12}
    assert buffer.first_offsets() == {(SETTINGS.events_topic, 2): 10}
    buffer.clear()
    assert not buffer and buffer.batches() == []
