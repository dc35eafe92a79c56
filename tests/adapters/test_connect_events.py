"""Amazon Connect contact events: the documented samples, and what the mapping decides."""

from __future__ import annotations

import json
from typing import Any

from pipeline.adapters import converter_for
from tests.adapters.samples import convert_lines, convert_sample, sample_lines

INSTANCE = "arn:aws:connect:eu-west-1:111122223333:instance/8f1400f1-4492-46a2-85ac-90b2a7a5fdb8"


def test_the_documented_samples() -> None:
    conversion = convert_sample("connect-events", "connect-events-documented.jsonl")
    # "connected to an agent", a bare detail with camelCase keys: the answer, at the
    # agent-connect time, queue and agent named by the ids in their ARNs.
    assert conversion.by_line[1] == [
        {
            "event_id": "connect-events:11111111-1111-1111-1111-111111111111:answered",
            "type": "contact.answered",
            "ts": "2021-08-04T17:29:09Z",
            "contact_id": "11111111-1111-1111-1111-111111111111",
            "queue": "12345678-1234-1234-1234-123456789012",
            "agent_id": "12345678-1234-1234-1234-123456789012",
        }
    ]
    # "disconnected": the published sample disconnects at 17:18:37, before its agent
    # connected at 17:29:09. No talk time can come of that: dead-lettered, with why.
    assert conversion.dead == [
        (2, "`disconnectTimestamp` is before `connectedToAgentTimestamp`"),
    ]
    # The 2021 sample, in its envelope, with `AgentInfo`/`AgentArn` spelled in PascalCase and
    # no connect timestamp: the envelope time; the contact is the initial contact.
    assert conversion.by_line[3] == [
        {
            "event_id": "connect-events:11111111-1111-1111-1111-111111111111:answered",
            "type": "contact.answered",
            "ts": "2021-05-01T18:43:48Z",
            "contact_id": "11111111-2222-3333-4444-555555555555",
            "queue": "arn",
            "agent_id": "arn",
        }
    ]


def test_unmappable_events_are_dead_lettered_and_the_rest_converted() -> None:
    conversion = convert_sample("connect-events", "connect-events-unmappable.jsonl")
    reasons = dict(conversion.dead)
    assert sorted(reasons) == [2, 3, 4, 5]
    assert reasons[2].startswith("not JSON")
    assert "'TASK' has no v1 channel" in reasons[3]
    assert "--channel-map TASK=" in reasons[3]
    assert "'SOMETHING_NEW' is not a known step" in reasons[4]
    assert "Contact Lens Realtime Rules Matched" in reasons[5]
    assert [e["type"] for e in conversion.by_line[1]] == ["contact.offered"]
    assert [e["type"] for e in conversion.by_line[6]] == ["contact.abandoned"]


def test_a_channel_map_makes_tasks_convertible() -> None:
    conversion = convert_sample(
        "connect-events", "connect-events-unmappable.jsonl", channel_map={"TASK": "email"}
    )
    assert conversion.by_line[3][0]["channel"] == "email"
    assert 3 not in dict(conversion.dead)


def event(kind: str, contact: str, **detail: Any) -> bytes:
    body = {
        "eventType": kind,
        "contactId": contact,
        "channel": "VOICE",
        "initiationMethod": "INBOUND",
        "initiationTimestamp": "2026-11-22T10:00:00.000Z",
        **detail,
    }
    return json.dumps(
        {
            "detail-type": "Amazon Connect Contact Event",
            "time": "2026-11-22T10:30:00Z",
            "detail": body,
        }
    ).encode()


def queue_info(queue: str, enqueued: str) -> dict[str, str]:
    return {"queueArn": f"{INSTANCE}/queue/{queue}", "enqueueTimestamp": enqueued}


def test_a_queued_callback_is_the_callback_channel() -> None:
    converter = converter_for("connect-events")
    (offer,) = converter.convert(
        event(
            "QUEUED",
            "c1",
            initiationMethod="CALLBACK",
            queueInfo=queue_info("q1", "2026-11-22T10:00:05.000Z"),
        )
    )
    assert offer["channel"] == "callback"


def test_a_contact_never_queued_has_no_segment() -> None:
    converter = converter_for("connect-events")
    assert (
        converter.convert(event("DISCONNECTED", "c1", disconnectTimestamp="2026-11-22T10:01:00Z"))
        == []
    )
    assert converter.convert(event("INITIATED", "c1")) == []


def test_a_transfer_seen_before_the_contact_it_came_from_is_paired_when_that_arrives() -> None:
    """EventBridge does not order events: the new contact may be queued first."""
    converter = converter_for("connect-events", queue_names={"qa": "support", "qb": "billing"})
    successor = event(
        "QUEUED",
        "new",
        initialContactId="old",
        previousContactId="old",
        initiationMethod="TRANSFER",
        initiationTimestamp="2026-11-22T10:05:00.000Z",
        queueInfo=queue_info("qb", "2026-11-22T10:05:02.000Z"),
    )
    first = converter.convert(successor)
    assert [e["type"] for e in first] == ["contact.offered"]
    assert first[0]["contact_id"] == "old"
    assert converter.unresolved() == [
        "a contact was transferred in from contact old, whose own record never came"
    ]
    original = event("QUEUED", "old", queueInfo=queue_info("qa", "2026-11-22T10:00:05.000Z"))
    offered, transferred = converter.convert(original)
    assert offered["type"] == "contact.offered"
    assert transferred == {
        "event_id": "connect-events:old:transferred",
        "type": "contact.transferred",
        "ts": "2026-11-22T10:05:00Z",
        "contact_id": "old",
        "queue": "support",
        "to_queue": "billing",
    }
    assert converter.unresolved() == []


def test_customer_from_an_attribute_or_the_endpoint() -> None:
    detail = {
        "queueInfo": queue_info("q1", "2026-11-22T10:00:05.000Z"),
        "customerEndpoint": {"address": "+15551230001", "type": "TELEPHONE_NUMBER"},
        "attributes": {"AccountNumber": "A-42"},
    }
    record = event("QUEUED", "c1", **detail)
    assert "customer_id" not in converter_for("connect-events").convert(record)[0]
    by_endpoint = converter_for("connect-events", customer_from="endpoint").convert(record)
    assert by_endpoint[0]["customer_id"] == "+15551230001"
    # Attribute names are the customer's own: their case is kept.
    by_attribute = converter_for("connect-events", customer_from="attribute:AccountNumber").convert(
        record
    )
    assert by_attribute[0]["customer_id"] == "A-42"


def test_after_contact_work_from_the_completed_event() -> None:
    lines = sample_lines("connect-events-lifecycle.jsonl")
    conversion = convert_lines(
        converter_for("connect-events", tenant="acme"),
        lines,
    )
    wrapups = [e for e in conversion.events if e["type"] == "contact.wrapup_ended"]
    assert [(w["contact_id"][-1], w["acw_s"]) for w in wrapups] == [("1", 60), ("2", 30), ("5", 20)]
    assert all(e["tenant"] == "acme" for e in conversion.events)


def callback_steps() -> dict[str, bytes]:
    """A caller queued in q1 asks for a callback: Connect creates the callback contact
    (INITIATED, then QUEUED, `initiationMethod` CALLBACK, `previousContactId` the inbound)
    and a flow disconnects the inbound contact, no agent connected."""
    callback = {"initiationMethod": "CALLBACK", "previousContactId": "in1"}
    return {
        "queued": event("QUEUED", "in1", queueInfo=queue_info("q1", "2026-11-22T10:00:05.000Z")),
        "cb_initiated": event("INITIATED", "cb1", **callback),
        "cb_queued": event(
            "QUEUED",
            "cb1",
            initiationTimestamp="2026-11-22T10:01:30.000Z",
            queueInfo=queue_info("q1", "2026-11-22T10:01:30.000Z"),
            **callback,
        ),
        "disconnected": event(
            "DISCONNECTED",
            "in1",
            disconnectTimestamp="2026-11-22T10:01:31.000Z",
            disconnectReason="CONTACT_FLOW_DISCONNECT",
            queueInfo=queue_info("q1", "2026-11-22T10:00:05.000Z"),
        ),
    }


def test_a_queued_callback_request_is_a_transfer_not_an_abandon_in_any_order() -> None:
    steps = callback_steps()
    orders = [
        ["queued", "cb_initiated", "cb_queued", "disconnected"],
        ["queued", "disconnected", "cb_initiated", "cb_queued"],
        ["queued", "cb_initiated", "disconnected", "cb_queued"],
    ]
    for order in orders:
        converter = converter_for("connect-events")
        events = convert_lines(converter, [steps[name] for name in order]).events
        kinds = sorted((e["contact_id"], e["type"]) for e in events)
        assert kinds == [
            ("cb1", "contact.offered"),
            ("in1", "contact.offered"),
            ("in1", "contact.transferred"),
        ], order
        assert converter.unresolved() == [], order
    # Without the disconnect reason (older events) and with the callback unseen, a
    # disconnect with no agent is the caller hanging up.
    bare = json.loads(steps["disconnected"])
    del bare["detail"]["disconnectReason"]
    converter = converter_for("connect-events")
    converter.convert(steps["queued"])
    (abandon,) = converter.convert(json.dumps(bare).encode())
    assert abandon["type"] == "contact.abandoned"


def test_a_flow_disconnect_with_no_follow_on_contact_is_said_to_be_unknown() -> None:
    steps = callback_steps()
    converter = converter_for("connect-events")
    assert convert_lines(converter, [steps["queued"], steps["disconnected"]]).events[1:] == []
    assert converter.open_segments() == [
        "contact in1 offered in queue q1 at 2026-11-22T10:00:05Z was never closed: no answer "
        "and end, abandon or transfer came"
    ]


def test_an_outbound_contact_has_no_segment() -> None:
    converter = converter_for("connect-events")
    outbound = {"initiationMethod": "OUTBOUND"}
    steps = [
        event("QUEUED", "o1", queueInfo=queue_info("q1", "2026-11-22T10:00:05Z"), **outbound),
        event(
            "CONNECTED_TO_AGENT",
            "o1",
            queueInfo=queue_info("q1", "2026-11-22T10:00:05Z"),
            agentInfo={"agentArn": f"{INSTANCE}/agent/a1"},
            **outbound,
        ),
    ]
    assert convert_lines(converter, steps).events == []
