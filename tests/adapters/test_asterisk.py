"""Asterisk queue_log: each documented line layout, wrap-up from pauses, bad lines."""

from __future__ import annotations

import json

import pytest

from pipeline.adapters import converter_for
from tests.adapters.samples import convert_lines, convert_sample


def kinds(events: list[dict[str, object]]) -> list[object]:
    return [event["type"] for event in events]


def test_the_documented_layouts() -> None:
    conversion = convert_sample(
        "asterisk", "asterisk-documented.queue_log", customer_from="callerid"
    )
    assert conversion.dead == []
    lines = conversion.by_line
    # The example line of the Asterisk docs: a ring not answered means nothing to v1.
    assert lines[1] == []
    assert lines[2] == [
        {
            "event_id": "asterisk:1366720300.303260:MYQUEUE:1366720300:offered",
            "type": "contact.offered",
            "ts": "2013-04-23T12:31:40Z",
            "contact_id": "1366720300.303260",
            "queue": "MYQUEUE",
            "channel": "voice",
            "customer_id": "8005551234",
        }
    ]
    assert lines[3][0]["agent_id"] == "SIP/8007"
    assert kinds(lines[3]) == ["contact.answered"]
    # COMPLETEAGENT(holdtime|calltime|origposition): talk is calltime; no hold in queue_log.
    assert (lines[4][0]["talk_s"], lines[4][0]["hold_s"]) == (194, 0)
    # ABANDON, EXITWITHTIMEOUT, EXITWITHKEY: the caller left without an agent.
    for number in (6, 8, 10):
        assert kinds(lines[number]) == ["contact.abandoned"]
    # A withheld caller id is no customer.
    assert "customer_id" not in lines[7][0]
    # TRANSFER(extension|context|holdtime|calltime|origposition).
    transferred, ended = lines[13]
    assert (transferred["type"], transferred["to_queue"]) == ("contact.transferred", "8010")
    assert (ended["type"], ended["talk_s"]) == ("contact.ended", 60)
    # ATTENDEDTRANSFER(method|data|holdtime|calltime|origposition).
    transferred, ended = lines[16]
    assert transferred["to_queue"] == "1366720650.303295"
    assert ended["talk_s"] == 97
    # Agents: login, added paused, unpaused, paused, logoff, removed.
    states = [(e["agent_id"], e["state"], e.get("queues")) for n in range(17, 23) for e in lines[n]]
    assert states == [
        ("Agent/1001", "available", None),
        ("SIP/8008", "away", ["MYQUEUE"]),
        ("SIP/8008", "available", ["MYQUEUE"]),
        ("SIP/8008", "away", ["MYQUEUE"]),
        ("Agent/1001", "offline", None),
        ("SIP/8008", "offline", ["MYQUEUE"]),
    ]
    assert lines[23] == lines[24] == []  # QUEUESTART, CONFIGRELOAD


def test_an_attended_link_transfer_logs_two_channels_before_its_times() -> None:
    line = (
        b"1366720700|1366720600.303290|MYQUEUE|SIP/8008|ATTENDEDTRANSFER|LINK|"
        b"Local/8010@from-internal-00000012;1|Local/8010@from-internal-00000012;2|3|97|1"
    )
    transferred, ended = converter_for("asterisk").convert(line)
    assert transferred["to_queue"] == "Local/8010@from-internal-00000012;1"
    assert ended["talk_s"] == 97


ACW_LINES = [
    b"1795338000|100.1|support|NONE|ENTERQUEUE||+15551230001|1",
    b"1795338010|100.1|support|PJSIP/alice|CONNECT|10|100.2|3",
    b"1795338100|100.1|support|PJSIP/alice|COMPLETECALLER|10|90|1",
    b"1795338100|NONE|support|PJSIP/alice|PAUSE|wrap",
    b"1795338100|NONE|sales|PJSIP/alice|PAUSE|wrap",
    b"1795338100|NONE|NONE|PJSIP/alice|PAUSEALL|wrap",
    b"1795338145|NONE|support|PJSIP/alice|UNPAUSE|",
    b"1795338145|NONE|sales|PJSIP/alice|UNPAUSE|",
    b"1795338145|NONE|NONE|PJSIP/alice|UNPAUSEALL|",
    # A second pause with the same reason, with no call between: no second wrap-up.
    b"1795338200|NONE|support|PJSIP/alice|PAUSE|wrap",
    b"1795338260|NONE|support|PJSIP/alice|UNPAUSE|",
]


def test_the_pause_after_a_call_is_its_wrap_up_when_its_reason_says_so() -> None:
    conversion = convert_lines(converter_for("asterisk", acw_pause_reason="wrap"), ACW_LINES)
    wrapups = [e for e in conversion.events if e["type"] == "contact.wrapup_ended"]
    assert wrapups == [
        {
            "event_id": "asterisk:100.1:support:wrapup_ended",
            "type": "contact.wrapup_ended",
            "ts": "2026-11-22T09:02:25Z",
            "contact_id": "100.1",
            "queue": "support",
            "agent_id": "PJSIP/alice",
            "acw_s": 45,
        }
    ]
    pause_states = {e["state"] for n in (4, 5, 6) for e in conversion.by_line[n]}
    assert pause_states == {"acw"}


def test_a_pause_after_the_agent_took_another_call_does_not_wrap_the_earlier_one() -> None:
    lines = [
        *ACW_LINES[:3],
        b"1795338300|100.3|support|NONE|ENTERQUEUE||+15551230002|1",
        b"1795338305|100.3|support|PJSIP/alice|CONNECT|5|100.4|2",
        b"1795338320|NONE|support|PJSIP/alice|PAUSE|wrap",
        b"1795338330|NONE|support|PJSIP/alice|UNPAUSE|",
    ]
    conversion = convert_lines(converter_for("asterisk", acw_pause_reason="wrap"), lines)
    assert "contact.wrapup_ended" not in kinds(conversion.events)


def test_other_pauses_are_away_and_wrap_nothing() -> None:
    conversion = convert_lines(converter_for("asterisk", acw_pause_reason="ACW"), ACW_LINES)
    assert "contact.wrapup_ended" not in kinds(conversion.events)
    assert {e["state"] for e in conversion.by_line[4]} == {"away"}


def test_after_call_work_survives_a_checkpoint_between_pause_and_unpause() -> None:
    before = converter_for("asterisk", acw_pause_reason="wrap")
    convert_lines(before, ACW_LINES[:4])
    assert before.unresolved() == ["agent PJSIP/alice was still in after-call work"]
    after = converter_for("asterisk", acw_pause_reason="wrap")
    after.restore(json.loads(json.dumps(before.state())))
    events = convert_lines(after, ACW_LINES[4:]).events
    assert [e["acw_s"] for e in events if e["type"] == "contact.wrapup_ended"] == [45]


@pytest.mark.parametrize("channel", ["voice", "callback"])
def test_the_channel_is_an_option(channel: str) -> None:
    (offered,) = converter_for("asterisk", channel=channel).convert(ACW_LINES[0])
    assert offered["channel"] == channel
    assert "customer_id" not in offered  # the caller id is not the customer unless asked


def test_unmappable_lines_are_dead_lettered_and_the_rest_converted() -> None:
    conversion = convert_sample("asterisk", "asterisk-unmappable.queue_log")
    assert conversion.dead == [
        (2, "not a queue_log line (epoch|callid|queue|agent|event|data...)"),
        (3, "epoch: 'yesterday' is not an epoch time"),
        (4, "CONNECT names no queue member"),
        (5, "'TELEPORT' is not a queue_log event this converter knows"),
        (6, "COMPLETECALLER calltime: 'abc' is not a number of seconds"),
    ]
    assert kinds(conversion.events) == ["contact.offered", "contact.abandoned"]


def test_a_pause_reason_is_why_the_agent_is_away() -> None:
    lines = [
        b"1795338000|NONE|support|PJSIP/alice|PAUSE|Lunch",
        b"1795338001|NONE|NONE|PJSIP/alice|PAUSEALL|Lunch",
        b"1795338100|NONE|support|PJSIP/alice|PAUSE|",
    ]
    conversion = convert_lines(converter_for("asterisk"), lines)
    assert [(e["state"], e.get("reason")) for e in conversion.events] == [
        ("away", "Lunch"),
        ("away", "Lunch"),
        ("away", None),  # a pause without a reason says none
    ]
