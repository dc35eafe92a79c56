"""The rule every converter keeps: a segment a record opens is closed by that record or by a
later record of the same contact; where the end cannot be known the converter says so
(`open_segments()`, counted and dead-lettered by `ccpipe convert`), never silently.

Property-tested over all converters: random contacts (answered with hold and after-contact
work, abandoned, moved on unanswered to another queue or to a callback, transferred by the
agent, sent out of the platform, outbound), each told as its platform records it, delivered
in any order the platform may deliver them. With every record delivered, nothing is left
open; with records missing, every segment left open is named by `open_segments()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.adapters import FORMATS, converter_for
from pipeline.core.clock import US_PER_S, format_utc
from tests.adapters.queue_log_writer import QueueLogWriter
from tests.adapters.samples import convert_lines

T0 = 1795338000  # 2026-11-22T09:00:00Z
INSTANCE = "arn:aws:connect:eu-west-1:111122223333:instance/8f1400f1-4492-46a2-85ac-90b2a7a5fdb8"
QUEUES = ("support", "billing", "sales")
CLOSING = frozenset({"contact.abandoned", "contact.transferred", "contact.ended"})


@dataclass(frozen=True)
class Visit:
    queue: str
    enqueued: int  # epoch seconds
    wait: int
    # answered | abandoned | moved (unanswered, on to the next visit) | sent_out (last only)
    outcome: str
    talk: int = 0
    hold: int = 0
    acw: int = 0
    callback: bool = False  # reached by a queued callback from the visit before

    @property
    def left(self) -> int:
        return self.enqueued + self.wait

    @property
    def ended(self) -> int:
        return self.left + self.talk + self.hold


@dataclass(frozen=True)
class Contact:
    key: str
    visits: tuple[Visit, ...]
    outbound: bool

    def agent_transferred(self, index: int) -> bool:
        return index + 1 < len(self.visits) and self.visits[index].outcome == "answered"


@st.composite
def contacts(draw: st.DrawFn, key: str) -> Contact:
    queues = draw(st.permutations(QUEUES))[: draw(st.integers(1, 3))]
    at = T0 + draw(st.integers(0, 3600))
    visits = []
    for index, queue in enumerate(queues):
        last = index == len(queues) - 1
        outcome = draw(
            st.sampled_from(
                ("answered", "abandoned", "sent_out") if last else ("answered", "moved")
            )
        )
        callback = bool(visits) and visits[-1].outcome == "moved" and draw(st.booleans())
        visit = Visit(
            queue,
            at,
            draw(st.integers(1, 300)),
            outcome,
            draw(st.integers(1, 600)) if outcome == "answered" else 0,
            draw(st.integers(0, 60)) if outcome == "answered" else 0,
            draw(st.integers(0, 120)) if outcome == "answered" else 0,
            callback,
        )
        visits.append(visit)
        at = visit.ended if outcome == "answered" else visit.left
    return Contact(key, tuple(visits), draw(st.booleans()) and len(visits) == 1)


def iso(epoch: int) -> str:
    return format_utc(epoch * US_PER_S)


# Platform writers: a contact as the platform's records, and the groups whose order the
# platform keeps (records within a group stay in order; groups interleave freely).


def connect_ctr(contact: Contact) -> list[list[bytes]]:
    records = []
    for index, visit in enumerate(contact.visits):
        own = f"{contact.key}-{index}"
        last = index == len(contact.visits) - 1
        method = "OUTBOUND" if contact.outbound else "INBOUND"
        if index:
            before = contact.visits[index - 1]
            method = "TRANSFER" if before.outcome == "answered" else "QUEUE_TRANSFER"
            method = "CALLBACK" if visit.callback else method
        agent = None
        if visit.outcome == "answered":
            agent = {
                "ARN": f"{INSTANCE}/agent/a1",
                "Username": "a1",
                "ConnectedToAgentTimestamp": iso(visit.left),
                "AgentInteractionDuration": visit.talk,
                "CustomerHoldDuration": visit.hold,
                "AfterContactWorkDuration": visit.acw,
                "AfterContactWorkStartTimestamp": iso(visit.ended),
                "AfterContactWorkEndTimestamp": iso(visit.ended + visit.acw),
            }
        sent_out = visit.outcome == "sent_out"
        record = {
            "ContactId": own,
            "InitialContactId": f"{contact.key}-0" if index else None,
            "PreviousContactId": f"{contact.key}-{index - 1}" if index else None,
            "NextContactId": None if last else f"{contact.key}-{index + 1}",
            "InitiationMethod": method,
            "InitiationTimestamp": iso(visit.enqueued),
            "Channel": "VOICE",
            "Queue": {
                "ARN": f"{INSTANCE}/queue/{visit.queue}",
                "Name": visit.queue,
                "EnqueueTimestamp": iso(visit.enqueued),
                "DequeueTimestamp": iso(visit.left),
            },
            "Agent": agent,
            "DisconnectTimestamp": iso(visit.ended if agent else visit.left),
            "TransferCompletedTimestamp": iso(visit.left) if sent_out else None,
            "TransferredToEndpoint": {"Address": "+15550100", "Type": "TELEPHONE_NUMBER"}
            if sent_out
            else None,
        }
        records.append([json.dumps(record).encode()])
    return records  # records come one by one, in any order


def connect_events(contact: Contact) -> list[list[bytes]]:
    steps = []
    for index, visit in enumerate(contact.visits):
        own = f"{contact.key}-{index}"
        method = "OUTBOUND" if contact.outbound else "INBOUND"
        if index:
            before = contact.visits[index - 1]
            method = "TRANSFER" if before.outcome == "answered" else "QUEUE_TRANSFER"
            method = "CALLBACK" if visit.callback else method
        base = {
            "contactId": own,
            "channel": "VOICE",
            "initiationMethod": method,
            "initiationTimestamp": iso(visit.enqueued),
            "queueInfo": {"queueArn": f"{INSTANCE}/queue/{visit.queue}"},
        }
        base["queueInfo"]["enqueueTimestamp"] = iso(visit.enqueued)
        if index:
            base |= {"previousContactId": f"{contact.key}-{index - 1}"}
            base |= {"initialContactId": f"{contact.key}-0"}
            steps.append({**base, "eventType": "INITIATED"})
        steps.append({**base, "eventType": "QUEUED"})
        agent = {"agentArn": f"{INSTANCE}/agent/a1", "connectedToAgentTimestamp": iso(visit.left)}
        if visit.outcome == "answered":
            steps.append({**base, "eventType": "CONNECTED_TO_AGENT", "agentInfo": agent})
            steps.append(
                {
                    **base,
                    "eventType": "DISCONNECTED",
                    "agentInfo": agent,
                    "disconnectTimestamp": iso(visit.ended),
                    "disconnectReason": "CUSTOMER_DISCONNECT",
                }
            )
            if visit.acw:
                done = {
                    "afterContactWorkStartTimestamp": iso(visit.ended),
                    "afterContactWorkEndTimestamp": iso(visit.ended + visit.acw),
                }
                steps.append({**base, "eventType": "COMPLETED", "agentInfo": agent | done})
        else:
            # Contact events say nothing of a transfer out of Connect: it is a hang-up here.
            reason = "CONTACT_FLOW_DISCONNECT" if visit.outcome == "moved" else None
            reason = reason or "CUSTOMER_DISCONNECT"
            steps.append(
                {
                    **base,
                    "eventType": "DISCONNECTED",
                    "disconnectTimestamp": iso(visit.left),
                    "disconnectReason": reason,
                }
            )
    envelope = "Amazon Connect Contact Event"
    return [[json.dumps({"detail-type": envelope, "detail": step}).encode()] for step in steps]


def taskrouter(contact: Contact) -> list[list[bytes]]:
    events = []
    task = f"WT{contact.key}-0"
    attributes = {"call_sid": f"CA{contact.key}"}
    if contact.outbound:
        attributes["direction"] = "outbound"

    def event(kind: str, at: int, queue: str = "") -> bytes:
        fields = {
            "EventType": kind,
            "Sid": f"EV{task}{kind}{at}",
            "Timestamp": str(at),
            "TaskSid": task,
            "TaskQueueSid": f"WQ{queue}",
            "TaskQueueName": queue,
            "TaskChannelUniqueName": "voice",
            "TaskAttributes": json.dumps(attributes),
            "WorkerSid": "WK1",
        }
        return urlencode(fields).encode()

    for index, visit in enumerate(contact.visits):
        if index and contact.visits[index - 1].outcome == "answered":
            task = f"WT{contact.key}-{index}"  # a Flex transfer makes a new task
        events.append(event("task-queue.entered", visit.enqueued, visit.queue))
        if visit.outcome == "answered":
            events.append(event("reservation.accepted", visit.left, visit.queue))
            events.append(event("task.wrapup", visit.ended, visit.queue))
            events.append(event("task.completed", visit.ended + visit.acw, visit.queue))
        elif visit.outcome != "moved":  # a task moved by its workflow enters the next queue
            events.append(event("task.canceled", visit.left, visit.queue))
    return [events]  # one task's events come in order


def genesys(contact: Contact) -> list[list[bytes]]:
    participants: list[dict[str, Any]] = []
    for index, visit in enumerate(contact.visits):
        queue_id = f"id-{visit.queue}"
        handed = visit.outcome != "abandoned"
        segment = {
            "segmentStart": iso(visit.enqueued),
            "segmentEnd": iso(visit.left),
            "queueId": queue_id,
            "segmentType": "interact",
            "disconnectType": "transfer" if handed else "peer",
        }
        media = "callback" if visit.callback else "voice"
        acd = {"participantName": visit.queue, "purpose": "acd"}
        participants.append(acd | {"sessions": [{"mediaType": media, "segments": [segment]}]})
        if visit.outcome != "answered":
            continue
        busy = [("interact", visit.left, visit.left + visit.talk)]
        if visit.hold:
            busy.append(("hold", visit.left + visit.talk, visit.ended))
        segments = [
            {"segmentStart": iso(a), "segmentEnd": iso(b), "queueId": queue_id, "segmentType": k}
            for k, a, b in busy
        ]
        segments[-1]["disconnectType"] = "transfer" if contact.agent_transferred(index) else "peer"
        if visit.acw:
            segments.append(
                {
                    "segmentStart": iso(visit.ended),
                    "segmentEnd": iso(visit.ended + visit.acw),
                    "queueId": queue_id,
                    "segmentType": "wrapup",
                    "wrapUpCode": "resolved",
                }
            )
        agent = {"purpose": "agent", "userId": "u1"}
        participants.append(agent | {"sessions": [{"mediaType": media, "segments": segments}]})
    whole = {
        "conversationId": contact.key,
        "originatingDirection": "outbound" if contact.outbound else "inbound",
        "participants": participants,
    }
    # While it goes on, the details query returns it with its last segment not yet over.
    early = json.loads(json.dumps(whole))
    for participant in early["participants"][-1:]:
        participant["sessions"][0]["segments"][-1].pop("segmentEnd")
    return [[json.dumps(early).encode(), json.dumps(whole).encode()]]


def asterisk_events(contact: Contact) -> list[dict[str, Any]]:
    """The contact as v1 events, for the queue_log writer. queue_log knows no unanswered
    move: the caller leaves the queue (an abandon, as Asterisk logs it) and enters the next."""
    events: list[dict[str, Any]] = []

    def add(visit: Visit, kind: str, at: int, **fields: Any) -> None:
        key = {"contact_id": contact.key, "queue": visit.queue}
        events.append({"type": kind, "ts": iso(at), **key, **fields})

    agent = f"PJSIP/{contact.key}"  # one agent per caller: their after-call work never meet
    for index, visit in enumerate(contact.visits):
        add(visit, "contact.offered", visit.enqueued, channel="voice")
        if visit.outcome != "answered":
            add(visit, "contact.abandoned", visit.left)
            continue
        add(visit, "contact.answered", visit.left, agent_id=agent)
        if contact.agent_transferred(index):
            to_queue = contact.visits[index + 1].queue
            add(visit, "contact.transferred", visit.ended, to_queue=to_queue)
        add(visit, "contact.ended", visit.ended, agent_id=agent, talk_s=visit.talk)
        add(visit, "contact.wrapup_ended", visit.ended + visit.acw, agent_id=agent, acw_s=visit.acw)
    return events


@dataclass(frozen=True)
class Platform:
    write: Callable[[Contact], list[list[bytes]]]
    options: dict[str, Any]
    # Whether the platform records the contacts its agents dial (they must give nothing).
    outbound: bool = True


PLATFORMS = {
    "connect-ctr": Platform(connect_ctr, {}),
    "connect-events": Platform(connect_events, {}),
    "taskrouter": Platform(taskrouter, {"contact_from": "attribute:call_sid"}),
    "genesys": Platform(genesys, {}),
    # queue_log has no outbound calls through queues: none are written.
    "asterisk": Platform(lambda contact: [], {}, outbound=False),
}


def test_every_converter_is_property_tested() -> None:
    assert sorted(PLATFORMS) == sorted(FORMATS)


def asterisk_lines(people: list[Contact]) -> list[bytes]:
    events = [event for contact in people for event in asterisk_events(contact)]
    events.sort(key=lambda event: event["ts"])
    return [line.encode() for line in QueueLogWriter().write(events)]


@st.composite
def deliveries(draw: st.DrawFn, fmt: str) -> tuple[list[Contact], list[bytes]]:
    """Contacts, and their records in an order the platform may deliver them."""
    platform = PLATFORMS[fmt]
    people = [draw(contacts(f"k{n}")) for n in range(draw(st.integers(1, 5)))]
    if not platform.outbound:
        people = [c for c in people if not c.outbound]
    if fmt == "asterisk":
        return people, asterisk_lines(people)
    groups = [group for contact in people for group in platform.write(contact)]
    order = draw(st.permutations([i for i, group in enumerate(groups) for _ in group]))
    cursor = [0] * len(groups)
    lines = []
    for group in order:  # each group's records keep their order within it
        lines.append(groups[group][cursor[group]])
        cursor[group] += 1
    return people, lines


def open_segments(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    offered = {(e["contact_id"], e["queue"]) for e in events if e["type"] == "contact.offered"}
    closed = {(e["contact_id"], e["queue"]) for e in events if e["type"] in CLOSING}
    return offered - closed


@pytest.mark.parametrize("fmt", list(PLATFORMS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_segment_opened_is_closed_when_every_record_comes(
    fmt: str, data: st.DataObject
) -> None:
    people, lines = data.draw(deliveries(fmt))
    converter = converter_for(fmt, **PLATFORMS[fmt].options)
    conversion = convert_lines(converter, lines)
    assert conversion.dead == []
    assert open_segments(conversion.events) == set()
    assert converter.open_segments() == []
    assert converter.unresolved() == []
    # Outbound contacts are no segments at all.
    outbound = {c.key for c in people if c.outbound}
    contact_events = [e for e in conversion.events if "contact_id" in e]
    assert not [e for e in contact_events if e["contact_id"].split(":")[0] in outbound]
    # Every visit is a segment (a record delivered again repeats its events, same ids).
    segments = {(e["contact_id"], e["queue"]) for e in contact_events}
    assert len(segments) == sum(len(c.visits) for c in people if not c.outbound)


@pytest.mark.parametrize("fmt", list(PLATFORMS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_segment_left_open_by_missing_records_is_named(fmt: str, data: st.DataObject) -> None:
    _people, lines = data.draw(deliveries(fmt))
    kept = data.draw(st.integers(0, len(lines)))
    converter = converter_for(fmt, **PLATFORMS[fmt].options)
    conversion = convert_lines(converter, lines[:kept])
    notes = converter.open_segments()
    left_open = open_segments(conversion.events)
    for contact_id, queue in left_open:
        assert any(f"contact {contact_id} offered in queue {queue} " in note for note in notes)
    assert len(notes) == len(left_open)
