"""Twilio TaskRouter: the documented payloads, its three shapes, and the task life cycle."""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qsl, urlencode

import pytest

from pipeline.adapters import AdapterError, converter_for
from tests.adapters.samples import convert_lines, convert_sample, report_by_queue, sample_lines

TASK = "WT0000000000000000000000000000001"


def test_the_documented_payloads() -> None:
    conversion = convert_sample("taskrouter", "taskrouter-documented.txt")
    assert conversion.dead == []
    # An event callback without an event `Sid`: the id comes from what it is about.
    assert conversion.by_line[1] == [
        {
            "event_id": f"taskrouter:{TASK}:task-queue.entered:1735689570000000:offered",
            "type": "contact.offered",
            "ts": "2024-12-31T23:59:30Z",
            "contact_id": TASK,
            "queue": "Everyone",
            "channel": "voice",
        }
    ]
    # Twilio's Event Streams example: its payload says `reservation.created`, its type says
    # accepted, and the type is what it is.
    assert conversion.by_line[2] == [
        {
            "event_id": "taskrouter:EV0000000000000000000000000000001:answered",
            "type": "contact.answered",
            "ts": "2025-01-01T00:00:00Z",
            "contact_id": TASK,
            "queue": "Everyone",
            "agent_id": "WK0000000000000000000000000000001",
        }
    ]
    # `TimestampMs` is preferred over the whole seconds of `Timestamp`.
    assert conversion.by_line[3] == [
        {
            "event_id": "taskrouter:EV0000000000000000000000000000002:state",
            "type": "agent.state",
            "ts": "2025-01-01T00:10:00.123000Z",
            "agent_id": "WK0000000000000000000000000000001",
            "state": "away",
            "reason": "Break",  # the activity: why the agent is away
        }
    ]
    # A task canceled before this stream saw it in a queue has no segment.
    assert conversion.by_line[4] == []


def test_the_three_shapes_of_one_event_convert_alike() -> None:
    form = sample_lines("taskrouter-lifecycle.txt")[3]  # the first task-queue.entered
    params = dict(parse_qsl(form.decode()))
    assert params["EventType"] == "task-queue.entered"
    payload = {
        "sid": params["Sid"],
        "eventtype": params["EventType"],
        "timestamp": "2026-11-22T09:00:00.000Z",
        "task_sid": params["TaskSid"],
        "task_attributes": params["TaskAttributes"],
        "task_channel_unique_name": params["TaskChannelUniqueName"],
        "task_queue_sid": params["TaskQueueSid"],
        "task_queue_name": params["TaskQueueName"],
    }
    cloud_event = {
        "specversion": "1.0",
        "type": "com.twilio.taskrouter.task-queue.entered",
        "data": {"payload": payload},
    }
    shapes = [form, json.dumps(params).encode(), json.dumps(cloud_event).encode()]
    converted = [converter_for("taskrouter").convert(shape) for shape in shapes]
    assert converted[0] == converted[1] == converted[2]
    assert converted[0][0]["ts"] == "2026-11-22T09:00:00Z"


def callback(kind: str, seconds: int, **fields: str) -> bytes:
    base = {
        "EventType": kind,
        "Sid": f"EV{kind}{seconds}",
        "Timestamp": str(1795338000 + seconds),
        "TaskSid": "WT1",
        "TaskQueueSid": "WQ1",
        "TaskQueueName": "sales",
        "TaskChannelUniqueName": "chat",
        "TaskAttributes": json.dumps({"from": "+15551230001", "conversations": {"id": "K1"}}),
        "WorkerSid": "WK1",
        "WorkerName": "carol",
    }
    return urlencode({**base, **fields}).encode()


def test_a_task_completed_without_a_wrap_up_step_ends_there() -> None:
    converter = converter_for("taskrouter", agent_from="name", customer_from="attribute:from")
    offered = converter.convert(callback("task-queue.entered", 0))[0]
    assert offered["channel"] == "chat"
    assert offered["customer_id"] == "+15551230001"
    answered = converter.convert(callback("reservation.accepted", 30))[0]
    assert answered["agent_id"] == "carol"
    (ended,) = converter.convert(callback("task.completed", 200))
    assert ended["type"] == "contact.ended"
    assert ended["talk_s"] == 170
    assert converter.unresolved() == []


def test_the_completed_reason_is_the_disposition() -> None:
    converter = converter_for("taskrouter", contact_from="attribute:conversations.id")
    converter.convert(callback("task-queue.entered", 0))
    converter.convert(callback("reservation.accepted", 5))
    (ended,) = converter.convert(callback("task.wrapup", 65))
    assert (ended["contact_id"], ended["talk_s"]) == ("K1", 60)
    (wrapped,) = converter.convert(
        callback("task.completed", 80, TaskCompletedReason="resolved: refund issued")
    )
    assert wrapped["acw_s"] == 15
    assert wrapped["disposition"] == "resolved: refund issued"


def test_a_task_that_moves_queue_ends_its_first_segment_with_a_transfer() -> None:
    converter = converter_for("taskrouter")
    converter.convert(callback("task-queue.entered", 0))
    transferred, offered = converter.convert(
        callback("task-queue.entered", 60, TaskQueueSid="WQ2", TaskQueueName="escalations")
    )
    assert (transferred["type"], transferred["queue"], transferred["to_queue"]) == (
        "contact.transferred",
        "sales",
        "escalations",
    )
    assert "agent_id" not in transferred  # no agent had it
    assert (offered["queue"], offered["contact_id"]) == ("escalations", "WT1")


def test_activities_map_to_agent_states() -> None:
    converter = converter_for("taskrouter", activity_map={"Lunch": "away", "Coaching": "busy"})
    for activity, state in [("Available", "available"), ("Lunch", "away"), ("COACHING", "busy")]:
        (event,) = converter.convert(
            callback("worker.activity.update", 1, WorkerActivityName=activity)
        )
        assert event["state"] == state
    with pytest.raises(AdapterError, match="--activity-map Meeting="):
        converter.convert(callback("worker.activity.update", 2, WorkerActivityName="Meeting"))


def test_unmappable_events_are_dead_lettered_and_the_rest_converted() -> None:
    conversion = convert_sample("taskrouter", "taskrouter-unmappable.txt")
    reasons = dict(conversion.dead)
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "activity 'Lunch' has no v1 agent state" in reasons[2]
    assert "its acceptance was never seen" in reasons[3]
    assert reasons[4] == "neither JSON nor a form-encoded event callback"
    assert "'task.teleported' is not a known TaskRouter event" in reasons[5]
    assert [e["type"] for e in conversion.events] == ["contact.offered", "contact.abandoned"]


def _report(lines: list[bytes]) -> dict[str, dict[str, object]]:
    conversion = convert_lines(
        converter_for("taskrouter", contact_from="attribute:call_sid"), lines
    )
    return report_by_queue(conversion.events)


@pytest.mark.parametrize("seed", range(40))
def test_callbacks_out_of_order_and_repeated_give_the_same_report(seed: int) -> None:
    """Twilio retries a callback that failed, so any callback may come late or twice: the
    life cycle's callbacks shuffled, some repeated, make the report of the ordered ones."""
    lines = sample_lines("taskrouter-lifecycle.txt")
    rng = random.Random(seed)
    shuffled = lines + rng.sample(lines, k=len(lines) // 3)
    rng.shuffle(shuffled)
    assert _report(shuffled) == _report(lines)


def test_a_wrap_up_before_its_acceptance_is_dead_lettered_and_still_pairs() -> None:
    converter = converter_for("taskrouter")
    converter.convert(callback("task-queue.entered", 0))
    with pytest.raises(AdapterError, match="its acceptance was never seen"):
        converter.convert(callback("task.wrapup", 65))
    answered, ended = converter.convert(callback("reservation.accepted", 5))
    assert (answered["type"], ended["type"], ended["talk_s"]) == (
        "contact.answered",
        "contact.ended",
        60,
    )
    assert ended["event_id"] == "taskrouter:EVtask.wrapup65:ended"  # the id it has in order
    (wrapped,) = converter.convert(callback("task.completed", 80))
    assert wrapped["acw_s"] == 15
    assert converter.unresolved() == []


def test_a_repeated_completion_gives_the_same_event_again() -> None:
    converter = converter_for("taskrouter")
    for kind, at in [("task-queue.entered", 0), ("reservation.accepted", 5), ("task.wrapup", 65)]:
        converter.convert(callback(kind, at))
    first = converter.convert(callback("task.completed", 80))
    assert converter.convert(callback("task.completed", 80)) == first
    assert converter.convert(callback("task-queue.entered", 0))[0]["type"] == "contact.offered"
    assert converter.convert(callback("task.wrapup", 65))[0]["talk_s"] == 60


# Task attributes as Flex writes them. A Flex Flow's `channelType` is one of web, facebook,
# sms, whatsapp, line, custom, and for facebook, whatsapp and line the Send to Flex widget
# puts the task on the chat task channel (Twilio's FlexFlow reference).
def flex_attributes(channel_type: str, direction: str = "inbound") -> str:
    return json.dumps(
        {
            "from": f"{channel_type}:+15551230001",
            "name": f"{channel_type}:+15551230001",
            "channelType": channel_type,
            "channelSid": "CH00000000000000000000000000000001",
            "direction": direction,
        }
    )


@pytest.mark.parametrize("channel_type", ["whatsapp", "facebook", "line"])
def test_messaging_apps_on_the_chat_task_channel_are_social(channel_type: str) -> None:
    converter = converter_for("taskrouter")
    record = callback("task-queue.entered", 0, TaskAttributes=flex_attributes(channel_type))
    (offered,) = converter.convert(record)
    assert offered["channel"] == "social"
    # The user's map is heard, as for any other channel name.
    mapped = converter_for("taskrouter", channel_map={channel_type: "sms"})
    assert mapped.convert(record)[0]["channel"] == "sms"


def test_web_chat_and_an_unknown_channel_type_keep_the_task_channel() -> None:
    for channel_type, expected in (("web", "chat"), ("custom", "chat"), ("sms", "sms")):
        record = callback("task-queue.entered", 0, TaskAttributes=flex_attributes(channel_type))
        assert converter_for("taskrouter").convert(record)[0]["channel"] == expected


def test_an_outbound_task_is_left_out_to_its_end() -> None:
    """The Interactions API's documented agent-initiated SMS task, and a Flex outbound
    call: `direction` outbound. Later events of the task are left out too, even when they
    do not carry the attributes again."""
    documented = json.dumps(
        {
            "customerAddress": "+1311-555-2368",
            "flexChannelInviteSid": "KGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "conversationSid": "CHXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "channelType": "sms",
            "conversations": {
                "initiated_by": "Agent",
                "communication_channel": "Sms",
                "media": [{"conversation_sid": "CHXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}],
                "direction": "Outbound",
            },
            "customerName": "silly name",
            "flexInteractionChannelSid": "UOXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "initiatedBy": "agent",
            "direction": "outbound",
        }
    )
    call = json.dumps({"direction": "outbound", "to": "+15551230001", "from": "+442079460000"})
    for attributes, channel in ((documented, "sms"), (call, "voice")):
        converter = converter_for("taskrouter")
        records = [
            callback(
                "task-queue.entered",
                0,
                TaskAttributes=attributes,
                TaskChannelUniqueName=channel,
                TaskQueueName="Everyone",
            ),
            callback("reservation.accepted", 1, TaskAttributes=""),
            callback("task.wrapup", 60, TaskAttributes=""),
            callback("task.completed", 70, TaskAttributes=""),
        ]
        assert [converter.convert(record) for record in records] == [[], [], [], []]
        assert converter.unresolved() == []
        assert converter.state()["outbound"] == []
    inbound = converter_for("taskrouter")
    (offered,) = inbound.convert(callback("task-queue.entered", 0))
    assert offered["type"] == "contact.offered"


def test_an_agents_activity_gives_the_away_reason_and_the_team() -> None:
    """Flex Insights reads the team from the worker attribute `team_name`."""
    converter = converter_for("taskrouter", activity_map={"Training": "away"})
    worker = json.dumps({"full_name": "Alice", "team_name": "Billing Tier 1", "team_id": "t1"})
    fields = {
        "EventType": "worker.activity.update",
        "Sid": "EV1",
        "Timestamp": "1795338000",
        "WorkerSid": "WK1",
        "WorkerAttributes": worker,
    }
    (training,) = converter.convert(
        urlencode({**fields, "WorkerActivityName": "Training"}).encode()
    )
    assert (training["state"], training["reason"], training["team"]) == (
        "away",
        "Training",
        "Billing Tier 1",
    )
    (back,) = converter.convert(urlencode({**fields, "WorkerActivityName": "Available"}).encode())
    assert (back["state"], back["team"]) == ("available", "Billing Tier 1")
    assert "reason" not in back
