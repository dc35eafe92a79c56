"""Readers: valid events leave with their contract key, everything else as a reason."""

from __future__ import annotations

import pytest

from pipeline.core.events import decode_event
from pipeline.ingest.records import PlatformReader, V1Reader, reader_factory
from pipeline.ingest.state import Checkpoint, decode_checkpoint, encode_checkpoint
from tests.adapters.samples import sample_lines

OFFERED = (
    b'{"event_id":"e1","type":"contact.offered","ts":"2026-11-23T09:00:00Z",'
    b'"contact_id":"c1","queue":"q","channel":"voice"}'
)
AGENT = (
    b'{"event_id":"e2","type":"agent.state","ts":"2026-11-23T09:00:00Z",'
    b'"agent_id":"a1","state":"busy"}'
)


def read(
    reader: V1Reader | PlatformReader, record: bytes
) -> tuple[list[tuple[bytes, bytes]], list[str]]:
    out: list[tuple[bytes, bytes]] = []
    reasons = reader.read(record, lambda key, value: out.append((key, value)))
    return out, list(reasons)


def test_a_v1_event_leaves_as_it_came_with_its_key() -> None:
    assert read(V1Reader(), OFFERED) == ([(b"c1", OFFERED)], [])
    assert read(V1Reader(), AGENT) == ([(b"a1", AGENT)], [])


def test_a_v1_batch_is_judged_event_by_event() -> None:
    bad = (
        b'{"event_id":"e3","type":"contact.offered","ts":"2026-11-23T09:00:00Z","contact_id":"c2"}'
    )
    out, reasons = read(V1Reader(), b"[" + OFFERED + b"," + bad + b"," + AGENT + b"]")
    assert [key for key, _ in out] == [b"c1", b"a1"]
    assert decode_event(out[0][1]) == decode_event(OFFERED)  # the same event
    assert len(reasons) == 1 and "queue" in reasons[0]


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (b"not json", "not_json"),
        (b'{"type":"contact.offered"}', "missing_field"),
        (b"[1]", "bad_batch"),
    ],
)
def test_bad_v1_records_give_reasons_and_kinds(record: bytes, kind: str) -> None:
    reader = V1Reader()
    out, reasons = read(reader, record)
    assert out == [] and len(reasons) == 1
    assert reader.kind(reasons[0]) == kind


def test_a_platform_reader_converts_pairs_and_keeps_its_state() -> None:
    lines = sample_lines("taskrouter-lifecycle.txt")
    make = reader_factory("taskrouter", {"contact_from": "attribute:call_sid"})
    whole = make()
    expected = [e for line in lines for e in read(whole, line)[0]]
    first = make()
    head = [e for line in lines[:20] for e in read(first, line)[0]]
    saved = decode_checkpoint(encode_checkpoint(Checkpoint(20, first.state())))
    second = make()
    second.restore(saved.state)
    tail = [e for line in lines[20:] for e in read(second, line)[0]]
    assert saved.offset == 20
    assert head + tail == expected
    assert all(key.startswith(b"CA") or key.startswith(b"WK") for key, _ in expected)


def test_a_platform_reader_dead_letters_what_it_cannot_map() -> None:
    reader = reader_factory("asterisk", {})()
    out, reasons = read(reader, b"garbage")
    assert out == [] and len(reasons) == 1
    assert reader.kind(reasons[0]) == "unmapped"


def test_an_unknown_format_or_option_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        reader_factory("no-such-platform", {})
    with pytest.raises(ValueError):
        reader_factory("v1", {"tenant": "acme"})
    with pytest.raises(ValueError):
        reader_factory("asterisk", {"contact_from": "task"})
