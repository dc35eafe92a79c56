"""The decoder never crashes: every input is an event or a rejection that says why."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.events import TYPE_NAMES, Rejection, decode_message

VALID: dict[str, dict[str, Any]] = {
    "contact.offered": {"contact_id": "c", "queue": "q", "channel": "voice", "customer_id": "u"},
    "contact.answered": {"contact_id": "c", "queue": "q", "agent_id": "a"},
    "contact.abandoned": {"contact_id": "c", "queue": "q"},
    "contact.transferred": {"contact_id": "c", "queue": "q", "to_queue": "r"},
    "contact.ended": {"contact_id": "c", "queue": "q", "agent_id": "a", "talk_s": 1.5},
    "contact.wrapup_ended": {"contact_id": "c", "queue": "q", "agent_id": "a", "acw_s": 3},
    "survey.response": {"contact_id": "c", "queue": "q", "csat": 4},
    "agent.state": {"agent_id": "a", "state": "busy", "queues": ["q"]},
}
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)
NAMED = re.compile(r"`[^`]+`|not JSON|batch item")


def _is_empty_array(data: bytes) -> bool:
    try:
        return orjson.loads(data) == []
    except orjson.JSONDecodeError:
        return False


def _check(data: bytes) -> None:
    events, rejections = decode_message(data)
    for rejection in rejections:
        assert isinstance(rejection, Rejection)
        assert rejection.reason and NAMED.search(rejection.reason), rejection.reason
    # Only an empty batch (`[]`) holds nothing to process or to dead-letter.
    empty_batch = _is_empty_array(data)
    assert len(events) + len(rejections) >= 1 or empty_batch


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_rejected_with_a_reason_or_decoded(data: bytes) -> None:
    _check(data)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(TYPE_NAMES),
    drop=st.sets(st.sampled_from(["event_id", "type", "ts", "contact_id", "queue", "agent_id"])),
    replace=st.dictionaries(
        st.sampled_from(
            ["ts", "csat", "nps", "talk_s", "channel", "state", "queues", "tenant", "event_id"]
        ),
        JSON_VALUES,
        max_size=3,
    ),
)
def test_mutated_events_are_accepted_or_rejected_naming_the_field(
    kind: str, drop: set[str], replace: dict[str, Any]
) -> None:
    event = {"event_id": "e1", "type": kind, "ts": "2026-11-22T09:00:00.5+01:00", **VALID[kind]}
    for name in drop:
        event.pop(name, None)
    event.update(replace)
    data = orjson.dumps(event)
    _check(data)
    _events, rejections = decode_message(data)
    if rejections:
        # The reason names a field of the event, or the rule for the whole object.
        reason = rejections[0].reason
        fields = [*event, *drop, "(event)", "csat`/`nps"]
        assert any(re.search(rf"`{re.escape(f)}[`\[.]", reason) for f in fields), reason


def test_a_batch_judges_each_event_alone() -> None:
    good = {
        "event_id": "e1",
        "type": "contact.abandoned",
        "ts": "2026-11-22T09:00:00Z",
        "contact_id": "c",
        "queue": "q",
    }
    bad = dict(good, event_id="e2", ts="yesterday")
    events, rejections = decode_message(orjson.dumps([good, bad, dict(good, event_id="e3")]))
    assert [e.event_id for e in events] == ["e1", "e3"]
    assert len(rejections) == 1 and "`ts`" in rejections[0].reason
    assert orjson.loads(rejections[0].raw) == bad


def test_a_batch_with_a_non_object_is_rejected_whole() -> None:
    good = {
        "event_id": "e1",
        "type": "contact.abandoned",
        "ts": "2026-11-22T09:00:00Z",
        "contact_id": "c",
        "queue": "q",
    }
    data = orjson.dumps([good, 5])
    events, rejections = decode_message(data)
    assert events == [] and rejections[0].raw == data
    assert "batch item 1" in rejections[0].reason
