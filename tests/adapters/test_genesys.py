"""Genesys Cloud analytics conversation detail records: Genesys's published examples, and
what the mapping decides.

`genesys-documented.jsonl` holds, as published: the two sample conversations of Genesys's
"conversation model to SQL" blueprint (GenesysCloudBlueprints/conversation-model-to-sql-
blueprint, `conversations/`), and the first conversation of the conversation detail query
result shown by Genesys's analytics query builder (MyPureCloud/developer-tools), a callback.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pipeline.adapters import converter_for
from tests.adapters.samples import convert_lines, convert_sample, report_by_queue, sample_lines

CHAT = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
CHAT_QUEUE = "a623d83c-96d7-4baa-af1f-d46ad6700d8b"
CHAT_AGENT = "50fcd33c-f432-4726-abc9-979f3ca01555"
CALLBACK = "5773eca4-0874-4617-a6e8-85591aa94609"
CALLBACK_QUEUE = "db3ceec4-eb54-48f7-bf52-373b86dd4ebc"


def documented(line: int) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(sample_lines("genesys-documented.jsonl")[line - 1])
    return record


def test_the_blueprint_chat_is_one_segment_with_genesys_own_figures() -> None:
    conversion = convert_sample("genesys", "genesys-documented.jsonl")
    key = f"genesys:{CHAT}:{CHAT_QUEUE}:1617280073388"
    # The queue is named by the acd participant ("Yuri"); the chat was handed to the agent
    # when the ACD segment ended (12:28:04.567); the agent talked, then held to the end.
    common = {"contact_id": CHAT, "queue": "Yuri"}
    assert conversion.by_line[1] == [
        {
            "event_id": f"{key}:offered",
            "type": "contact.offered",
            "ts": "2021-04-01T12:27:53.388000Z",
            **common,
            "channel": "chat",
        },
        {
            "event_id": f"{key}:answered",
            "type": "contact.answered",
            "ts": "2021-04-01T12:28:04.567000Z",
            **common,
            "agent_id": CHAT_AGENT,
        },
        {
            "event_id": f"{key}:ended",
            "type": "contact.ended",
            "ts": "2021-04-01T12:43:23.306000Z",
            **common,
            "agent_id": CHAT_AGENT,
            "talk_s": 374.561,
            "hold_s": 544.176,
        },
    ]
    (row,) = report_by_queue(conversion.by_line[1]).values()
    # By hand, and as the record's own metrics say: tAcd = tAnswered = 11179 ms, tTalk =
    # 374561 ms, tHeld = 544176 ms, tHandle = 918737 ms (no after-contact work).
    assert row["asa_s"] == 11.179
    assert row["aht_s"] == 918.737
    assert row["service_level"] == 1.0  # chat, 60 s


def test_the_blueprints_second_sample_is_dead_lettered_as_published() -> None:
    """Its timestamps are written `2021-04-2T15:30:51.418Z`: not RFC 3339 (nor ISO 8601)."""
    conversion = convert_sample("genesys", "genesys-documented.jsonl")
    assert conversion.dead == [
        (2, "`segmentStart`: '2021-04-2T15:30:51.422Z' is not an RFC 3339 timestamp")
    ]


def test_the_query_builders_callback() -> None:
    conversion = convert_sample(
        "genesys", "genesys-documented.jsonl", queue_names={CALLBACK_QUEUE: "callbacks"}
    )
    events = conversion.by_line[3]
    assert [e["type"] for e in events] == [
        "contact.offered",
        "contact.answered",
        "contact.ended",
        "contact.wrapup_ended",
    ]
    assert {e["contact_id"] for e in events} == {f"{CALLBACK}:callback"}
    assert {e["queue"] for e in events} == {"callbacks"}
    assert events[0]["channel"] == "callback"
    # Waited 11:50:49.582 to 11:50:51.649; talked 11:50:51.651 to 00:12:12.347 next day.
    assert events[1]["ts"] == "2016-09-05T11:50:51.649000Z"
    assert events[2]["talk_s"] == 44480.696
    # The wrap-up segment is empty, and is logged a moment before the talk ends: it ends
    # with the talk.
    assert events[3] == {
        "event_id": f"genesys:{CALLBACK}:{CALLBACK_QUEUE}:1473076249582:wrapup_ended",
        "type": "contact.wrapup_ended",
        "ts": "2016-09-06T00:12:12.347000Z",
        "contact_id": f"{CALLBACK}:callback",
        "queue": "callbacks",
        "agent_id": "cd707b2b-4dc8-4d88-9750-b1f412ef67e6",
        "acw_s": 0,
        "disposition": "ININ-OUTBOUND-PREVIEW-SKIPPED",
    }
    row = report_by_queue(events)["callbacks"]
    assert row["asa_s"] == 2.067


def in_progress(record: dict[str, Any]) -> dict[str, Any]:
    """The same conversation as a details query returns it while the agent still talks: no
    conversation end, the agent's hold not begun and the talk not ended."""
    early = copy.deepcopy(record)
    del early["conversationEnd"]
    for participant in early["participants"]:
        if participant["purpose"] == "agent":
            segments = participant["sessions"][0]["segments"]
            segments[:] = segments[:2]
            del segments[-1]["segmentEnd"]
    return early


def test_a_conversation_in_progress_stays_open_until_a_record_ends_it() -> None:
    converter = converter_for("genesys")
    whole = documented(1)
    early = converter.convert(json.dumps(in_progress(whole)).encode())
    assert [e["type"] for e in early] == ["contact.offered", "contact.answered"]
    assert converter.open_segments() == [
        f"contact {CHAT} offered in queue Yuri at 2021-04-01T12:27:53.388000Z was never "
        "closed: no answer and end, abandon or transfer came"
    ]
    late = converter.convert(json.dumps(whole).encode())
    assert late[:2] == early  # the same ids: duplicates downstream
    assert late[2]["type"] == "contact.ended"
    assert converter.open_segments() == []


def voice_conversation(*participants: dict[str, Any], direction: str = "inbound") -> bytes:
    return json.dumps(
        {
            "conversationId": "c1",
            "conversationStart": "2026-11-22T10:00:00.000Z",
            "conversationEnd": "2026-11-22T10:30:00.000Z",
            "originatingDirection": direction,
            "participants": list(participants),
        }
    ).encode()


def acd(name: str, media: str, start: str, end: str, disconnect: str) -> dict[str, Any]:
    return {
        "participantName": name,
        "purpose": "acd",
        "sessions": [
            {
                "mediaType": media,
                "segments": [
                    {
                        "segmentStart": start,
                        "segmentEnd": end,
                        "queueId": f"id-{name}",
                        "disconnectType": disconnect,
                        "segmentType": "interact",
                    }
                ],
            }
        ],
    }


def test_a_caller_who_asks_for_a_callback_is_transferred_to_it_not_abandoned() -> None:
    record = voice_conversation(
        acd("support", "voice", "2026-11-22T10:00:00.000Z", "2026-11-22T10:02:00.000Z", "transfer"),
        acd("support", "callback", "2026-11-22T10:02:00.000Z", "2026-11-22T10:20:00.000Z", "peer"),
    )
    converter = converter_for("genesys")
    events = converter.convert(record)
    kinds = [(e["type"], e["contact_id"], e.get("channel")) for e in events]
    assert kinds == [
        ("contact.offered", "c1", "voice"),
        ("contact.transferred", "c1", None),
        ("contact.offered", "c1:callback", "callback"),
        ("contact.abandoned", "c1:callback", None),
    ]
    assert events[1]["to_queue"] == "support"
    assert converter.unresolved() == []


def test_a_flow_transfer_out_with_no_queue_after_is_a_transfer_to_external() -> None:
    record = voice_conversation(
        acd("support", "voice", "2026-11-22T10:00:00.000Z", "2026-11-22T10:02:00.000Z", "transfer")
    )
    _offered, transferred = converter_for("genesys").convert(record)
    assert (transferred["type"], transferred["to_queue"]) == ("contact.transferred", "external")


def test_an_outbound_conversation_is_left_out() -> None:
    record = voice_conversation(
        acd("support", "voice", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:05.000Z", "peer"),
        direction="outbound",
    )
    assert converter_for("genesys").convert(record) == []


def test_messaging_is_answered_at_the_agents_first_reply_on_its_channel() -> None:
    queue = acd(
        "social", "message", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:30.000Z", "transfer"
    )
    queue["sessions"][0]["messageType"] = "whatsapp"
    agent = {
        "purpose": "agent",
        "userId": "u1",
        "sessions": [
            {
                "mediaType": "message",
                "messageType": "whatsapp",
                "metrics": [
                    {
                        "name": "tAgentResponseTime",
                        "value": 50000,
                        "emitDate": "2026-11-22T10:01:20.000Z",
                    },
                    {
                        "name": "tAgentResponseTime",
                        "value": 9000,
                        "emitDate": "2026-11-22T10:05:00.000Z",
                    },
                ],
                "segments": [
                    {
                        "segmentStart": "2026-11-22T10:00:30.000Z",
                        "segmentEnd": "2026-11-22T10:10:00.000Z",
                        "queueId": "id-social",
                        "segmentType": "interact",
                        "disconnectType": "client",
                    }
                ],
            }
        ],
    }
    events = converter_for("genesys").convert(voice_conversation(queue, agent))
    assert events[0]["channel"] == "social"
    assert events[1]["ts"] == "2026-11-22T10:01:20Z"  # the first reply, not the acceptance
    mapped = converter_for("genesys", channel_map={"whatsapp": "sms"})
    assert mapped.convert(voice_conversation(queue, agent))[0]["channel"] == "sms"


def test_a_whole_query_answer_on_one_line_is_its_conversations() -> None:
    answer = {"conversations": [documented(1), documented(3)], "totalHits": 2}
    whole = converter_for("genesys").convert(json.dumps(answer).encode())
    lines = [json.dumps(documented(1)).encode(), json.dumps(documented(3)).encode()]
    each = convert_lines(converter_for("genesys"), lines).events
    assert whole == each
