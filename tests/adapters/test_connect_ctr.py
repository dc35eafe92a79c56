"""Amazon Connect contact records: the documented data model, and what the mapping decides."""

from __future__ import annotations

import json
from typing import Any

from pipeline.adapters import converter_for
from tests.adapters.samples import (
    convert_lines,
    convert_sample,
    report_by_queue,
    report_rows,
    sample_lines,
)

CONTACT = "7d0c3f2e-8a3b-4c51-9d2e-5f1a6b7c8d90"


def documented() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(sample_lines("connect-ctr-documented.jsonl")[0])
    return record


def test_the_documented_record_is_one_whole_segment() -> None:
    conversion = convert_sample("connect-ctr", "connect-ctr-documented.jsonl")
    common = {"contact_id": CONTACT, "queue": "BasicQueue"}
    assert conversion.events == [
        {
            "event_id": f"connect-ctr:{CONTACT}:offered",
            "type": "contact.offered",
            "ts": "2019-08-13T18:14:42Z",
            **common,
            "channel": "voice",
        },
        {
            "event_id": f"connect-ctr:{CONTACT}:answered",
            "type": "contact.answered",
            "ts": "2019-08-13T18:15:23Z",
            **common,
            "agent_id": "jdoe",
        },
        {
            "event_id": f"connect-ctr:{CONTACT}:ended",
            "type": "contact.ended",
            "ts": "2019-08-13T19:10:01Z",
            **common,
            "agent_id": "jdoe",
            "talk_s": 2257,
            "hold_s": 1021,
        },
        {
            "event_id": f"connect-ctr:{CONTACT}:wrapup_ended",
            "type": "contact.wrapup_ended",
            "ts": "2019-08-13T19:11:57Z",
            **common,
            "agent_id": "jdoe",
            "acw_s": 116,
        },
    ]
    (row,) = report_by_queue(conversion.events).values()
    assert row["asa_s"] == 41.0  # Queue.Duration, as Connect measured it
    assert row["aht_s"] == 2257 + 1021 + 116


def test_options_for_what_a_record_names_by_choice() -> None:
    record = json.dumps(documented()).encode()
    by_endpoint = converter_for("connect-ctr", customer_from="endpoint").convert(record)
    assert by_endpoint[0]["customer_id"] == "+16175550100"
    by_attribute = converter_for("connect-ctr", customer_from="attribute:AccountNumber")
    assert by_attribute.convert(record)[0]["customer_id"] == "4815162342"
    by_id = converter_for(
        "connect-ctr",
        agent_from="id",
        queue_names={"2a4ab1ee-5d6e-4f38-8d0d-7b45e4d7e1b0": "Tier 1"},
    ).convert(record)
    assert {e["queue"] for e in by_id} == {"Tier 1"}
    assert by_id[1]["agent_id"] == "87654321-4321-4321-4321-210987654321"


def test_a_withheld_number_is_no_customer() -> None:
    record = documented()
    record["CustomerEndpoint"]["Address"] = "anonymous"
    offered = converter_for("connect-ctr", customer_from="endpoint").convert(
        json.dumps(record).encode()
    )[0]
    assert "customer_id" not in offered


def test_a_record_delivered_again_gives_the_same_ids() -> None:
    """Connect redelivers a record when its attributes change; downstream dedups by id."""
    record = documented()
    first = converter_for("connect-ctr").convert(json.dumps(record).encode())
    record["Attributes"]["AccountNumber"] = "changed"
    record["LastUpdateTimestamp"] = "2019-08-14T08:00:00Z"
    again = converter_for("connect-ctr").convert(json.dumps(record).encode())
    assert [e["event_id"] for e in again] == [e["event_id"] for e in first]


def test_the_transfer_pairs_in_either_order() -> None:
    lines = sample_lines("connect-ctr-lifecycle.jsonl")
    # Lines 5 and 6 are the contact transferred out and the contact it became.
    in_order = convert_lines(converter_for("connect-ctr"), [lines[4], lines[5]]).events
    reversed_ = convert_lines(converter_for("connect-ctr"), [lines[5], lines[4]]).events
    transfers = [e for e in in_order if e["type"] == "contact.transferred"]
    assert len(transfers) == 1
    assert [e for e in reversed_ if e["type"] == "contact.transferred"] == transfers
    assert sorted(e["event_id"] for e in reversed_) == sorted(e["event_id"] for e in in_order)


def test_a_contact_moved_to_another_queue_unanswered_is_not_an_abandon() -> None:
    record = documented()
    record["Agent"] = None
    record["NextContactId"] = "11111111-0000-4000-8000-000000000002"
    record["TransferCompletedTimestamp"] = "2019-08-13T18:16:00Z"
    events = converter_for("connect-ctr").convert(json.dumps(record).encode())
    assert [e["type"] for e in events] == ["contact.offered"]


def test_an_ivr_only_contact_has_no_segment() -> None:
    conversion = convert_sample("connect-ctr", "connect-ctr-lifecycle.jsonl")
    assert conversion.by_line[7] == []


def test_unmappable_records_are_dead_lettered_and_the_rest_converted() -> None:
    conversion = convert_sample("connect-ctr", "connect-ctr-unmappable.jsonl")
    assert conversion.dead == [
        (2, "`ContactId` is missing"),
        (3, "`Queue.EnqueueTimestamp`: 'yesterday' is not an RFC 3339 timestamp"),
        (4, "not a JSON object"),
        (
            5,
            "Connect channel 'TASK' has no v1 channel (known: chat, email, voice); map it "
            "with --channel-map TASK=<voice|chat|email|sms|social|callback>",
        ),
    ]
    assert [e["type"] for e in conversion.by_line[1]] == ["contact.offered", "contact.abandoned"]


# Records below are the documented record (the data model's fields, as AWS spells them) with
# the fields that tell each case set as the data model describes them.
INBOUND = "aaaaaaaa-0000-4000-8000-000000000001"
CALLBACK = "aaaaaaaa-0000-4000-8000-000000000002"


def queued_callback_records() -> tuple[bytes, bytes]:
    """A caller waits 90 s in BasicQueue and asks to be called back: the inbound record has
    no agent and `NextContactId` the callback; the callback's record (`InitiationMethod`
    CALLBACK, `PreviousContactId` the inbound) is queued in BasicQueue and answered 20 min
    later."""
    inbound = documented()
    inbound.update(
        ContactId=INBOUND,
        Agent=None,
        NextContactId=CALLBACK,
        DisconnectReason="CONTACT_FLOW_DISCONNECT",
        DisconnectTimestamp="2019-08-13T18:16:12Z",
    )
    inbound["Queue"].update(DequeueTimestamp="2019-08-13T18:16:12Z", Duration=90)
    callback = documented()
    callback.update(
        ContactId=CALLBACK,
        InitialContactId=INBOUND,
        PreviousContactId=INBOUND,
        InitiationMethod="CALLBACK",
        InitiationTimestamp="2019-08-13T18:16:12Z",
    )
    callback["Queue"].update(
        EnqueueTimestamp="2019-08-13T18:16:12Z",
        DequeueTimestamp="2019-08-13T18:36:12Z",
        Duration=1200,
    )
    callback["Agent"].update(ConnectedToAgentTimestamp="2019-08-13T18:36:12Z")
    return json.dumps(inbound).encode(), json.dumps(callback).encode()


def test_a_queued_callback_is_a_transfer_to_the_callback_queue_in_either_order() -> None:
    inbound, callback = queued_callback_records()
    for order in ([inbound, callback], [callback, inbound]):
        converter = converter_for("connect-ctr")
        events = convert_lines(converter, order).events
        assert converter.unresolved() == []
        segments = {(e["contact_id"], e["type"]) for e in events}
        assert (INBOUND, "contact.abandoned") not in segments
        (transfer,) = [e for e in events if e["type"] == "contact.transferred"]
        assert transfer == {
            "event_id": f"connect-ctr:{INBOUND}:transferred",
            "type": "contact.transferred",
            "ts": "2019-08-13T18:16:12Z",
            "contact_id": INBOUND,
            "queue": "BasicQueue",
            "to_queue": "BasicQueue",
        }
        # The callback is its own segment (its own contact id, so not the inbound segment
        # a second time), on the callback channel.
        offers = {e["contact_id"]: e["channel"] for e in events if e["type"] == "contact.offered"}
        assert offers == {INBOUND: "voice", CALLBACK: "callback"}
    rows = report_by_channel(events)
    assert (rows["voice"]["offered"], rows["voice"]["abandoned"]) == (1, 0)
    assert rows["voice"]["transferred"] == 1
    assert (rows["callback"]["answered"], rows["callback"]["asa_s"]) == (1, 1200.0)


def report_by_channel(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`ccpipe kpis` rows by channel (one queue and one interval here)."""
    return {row["channel"]: row for row in report_rows(events)}


def test_a_contact_sent_out_of_connect_from_the_queue_is_transferred_there() -> None:
    """AWS: `TransferredToEndpoint` is set "if this contact was transferred out of Amazon
    Connect"; no later record comes, so this record closes the segment."""
    record = documented()
    record.update(
        Agent=None,
        TransferCompletedTimestamp="2019-08-13T18:15:30Z",
        TransferredToEndpoint={"Address": "+16175550199", "Type": "TELEPHONE_NUMBER"},
        DisconnectReason="THIRD_PARTY_DISCONNECT",
    )
    record["Queue"].update(DequeueTimestamp="2019-08-13T18:15:20Z", Duration=38)
    converter = converter_for("connect-ctr")
    events = converter.convert(json.dumps(record).encode())
    assert [e["type"] for e in events] == ["contact.offered", "contact.transferred"]
    assert events[1] == {
        "event_id": f"connect-ctr:{CONTACT}:transferred",
        "type": "contact.transferred",
        "ts": "2019-08-13T18:15:20Z",  # when it left the queue
        "contact_id": CONTACT,
        "queue": "BasicQueue",
        "to_queue": "+16175550199",
    }
    assert converter.unresolved() == []


def test_an_agent_transfer_to_an_outside_number_is_a_transfer() -> None:
    record = documented()
    record.update(
        TransferCompletedTimestamp="2019-08-13T19:10:01Z",
        TransferredToEndpoint={"Address": "+16175550199", "Type": "TELEPHONE_NUMBER"},
    )
    converter = converter_for("connect-ctr")
    events = converter.convert(json.dumps(record).encode())
    kinds = [e["type"] for e in events]
    assert kinds == [
        "contact.offered",
        "contact.answered",
        "contact.ended",
        "contact.transferred",
        "contact.wrapup_ended",
    ]
    transfer = events[3]
    assert (transfer["agent_id"], transfer["to_queue"], transfer["ts"]) == (
        "jdoe",
        "+16175550199",
        "2019-08-13T19:10:01Z",
    )
    assert converter.unresolved() == []


def test_an_outbound_contact_has_no_segment_even_with_a_queue() -> None:
    """An agent's outbound call names the routing profile's outbound queue; no one waited."""
    record = documented()
    record.update(InitiationMethod="OUTBOUND")
    assert converter_for("connect-ctr").convert(json.dumps(record).encode()) == []


def test_a_chat_is_answered_at_the_agents_first_reply() -> None:
    record = documented()
    record.update(
        Channel="CHAT",
        ChatMetrics={
            "ContactMetrics": {
                "AgentFirstResponseTimestamp": "2019-08-13T18:15:53.000Z",
                "AgentFirstResponseTimeInMillis": 30000,
            }
        },
    )
    events = converter_for("connect-ctr").convert(json.dumps(record).encode())
    (answered,) = [e for e in events if e["type"] == "contact.answered"]
    assert answered["ts"] == "2019-08-13T18:15:53Z"
    (row,) = report_by_channel(events).values()
    assert row["asa_s"] == 41 + 30  # the first-response time, not the acceptance


def test_a_contact_moved_on_whose_next_record_never_comes_is_said_to_be_open() -> None:
    record = documented()
    record.update(Agent=None, NextContactId="11111111-0000-4000-8000-000000000002")
    converter = converter_for("connect-ctr")
    converter.convert(json.dumps(record).encode())
    assert converter.open_segments() == [
        f"contact {CONTACT} offered in queue BasicQueue at 2019-08-13T18:14:42Z was never "
        "closed: no answer and end, abandon or transfer came"
    ]
