"""Amazon Connect agent event streams, read by the `connect-events` converter: the two samples
AWS publishes for working out after-contact work ("Use agent event streams to determine agent
ACW time", awsdocs/amazon-connect-admin-guide `doc_source/agent-event-streams.md`; an inline
`//` comment removed, as it makes the first one not JSON), and a custom status."""

from __future__ import annotations

import copy
import json
from typing import Any

from pipeline.adapters import converter_for
from tests.adapters.samples import convert_sample, sample_lines

SAMPLE = "connect-agent-events-documented.jsonl"


def test_the_documented_acw_samples() -> None:
    conversion = convert_sample("connect-events", SAMPLE)
    assert conversion.dead == []
    common = {
        "type": "agent.state",
        "agent_id": "agent-ARN",
        "queues": ["BasicQueue", "PrimaryQueue"],
        "team": "Basic Routing Profile",  # no hierarchy group: the routing profile
    }
    # The agent's contact has ENDED: after-contact work from 18:55:27.027 (AWS: "the agent
    # enters ACW at" that time) ...
    assert conversion.by_line[1] == [
        {
            "event_id": "connect-events:EventId-1:state",
            "ts": "2018-10-25T18:55:27.027000Z",
            **common,
            "state": "acw",
        }
    ]
    # ... to 18:55:32.032, when the snapshot has no contact and the status is Available:
    # 5.005 s of ACW, as AWS computes it.
    assert conversion.by_line[2] == [
        {
            "event_id": "connect-events:477f2c4f-cd1a-4785-b1a8-97023dc1229d:state",
            "ts": "2018-10-25T18:55:32.032000Z",
            **common,
            "state": "available",
        }
    ]


def later(**changes: Any) -> bytes:
    record: dict[str, Any] = json.loads(sample_lines(SAMPLE)[1])
    record = copy.deepcopy(record)
    snapshot = record["CurrentAgentSnapshot"]
    for name, value in changes.items():
        if name == "status":
            snapshot["AgentStatus"].update(value)
        elif name == "groups":
            snapshot["Configuration"]["AgentHierarchyGroups"] = value
        elif name == "concurrency":
            snapshot["Configuration"]["RoutingProfile"]["Concurrency"] = value
        else:
            record[name] = value
    return json.dumps(record).encode()


def test_a_custom_status_is_away_with_its_name_and_the_profile_gives_team_and_capacity() -> None:
    record = later(
        status={"Name": "Lunch"},
        groups={
            "Level1": {"ARN": "arn:...:agent-group/g1", "Name": "EMEA"},
            "Level2": {"ARN": "arn:...:agent-group/g2", "Name": "Billing Tier 1"},
        },
        # The current data model's routing profile concurrency, one entry per channel.
        concurrency=[
            {"Channel": "VOICE", "MaximumSlots": 1, "AvailableSlots": 1},
            {"Channel": "CHAT", "MaximumSlots": 3, "AvailableSlots": 3},
        ],
    )
    (event,) = converter_for("connect-events").convert(record)
    assert (event["state"], event["reason"], event["team"], event["capacity"]) == (
        "away",
        "Lunch",
        "Billing Tier 1",
        3,
    )


def test_login_logout_and_heartbeats() -> None:
    converter = converter_for("connect-events")
    assert converter.convert(later(EventType="HEART_BEAT")) == []
    (out,) = converter.convert(later(EventType="LOGOUT", EventId="e-out"))
    assert out["state"] == "offline"
    (offline,) = converter.convert(later(EventId="e-off", status={"Name": "Offline"}))
    assert offline["state"] == "offline"
    (typed,) = converter.convert(
        later(EventId="e-typed", status={"Name": "Ready to go", "Type": "ROUTABLE"})
    )
    assert (typed["state"], "reason" in typed) == ("available", False)
