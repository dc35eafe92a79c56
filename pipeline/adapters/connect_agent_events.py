"""Amazon Connect agent event stream records (Kinesis) to v1 `agent.state` events.

An agent event (`AgentARN`, `EventType`, `CurrentAgentSnapshot`) says what the agent is doing
after it: the status chosen in the CCP (`AgentStatus.Name`) and the contacts on hand with
their states. The v1 state is read from both, the contacts first (an agent with a connected
contact is busy whatever the status, and one whose contact has `ENDED` is in after-contact
work, as AWS documents); the status otherwise: `Available` (or a `ROUTABLE` type) is
available, `Offline` (or `OFFLINE`) offline, any other (Break, Lunch, Training...) away, with
the status name as the `reason`. The agent's team is the deepest hierarchy group it belongs
to, else its routing profile; its capacity the most contacts its routing profile lets it take
on one channel (`Concurrency[].MaximumSlots`, where the record has it); its queues the
routing profile's inbound queues.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.adapters.connect import ConnectFields, arn_id
from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.record_fields import dig, text_or_none
from pipeline.adapters.times import rfc3339_us

# Contact states in a snapshot that make the agent busy (ringing or talking) or in ACW.
BUSY_STATES = frozenset({"incoming", "pending", "connecting", "connected", "connected_onhold"})
ACW_STATES = frozenset({"ended"})
HIERARCHY_LEVELS = ("level5", "level4", "level3", "level2", "level1")


def is_agent_event(obj: Mapping[str, Any]) -> bool:
    """Whether a (lower-cased) record is an agent event rather than a contact event."""
    return "agentarn" in obj and "eventtype" in obj and "contactid" not in obj


def agent_events(obj: Mapping[str, Any], fields: ConnectFields) -> list[Event]:
    kind = str(obj.get("eventtype") or "").upper()
    if kind == "HEART_BEAT":
        return []  # nothing changed
    if kind not in ("LOGIN", "LOGOUT", "STATE_CHANGE"):
        raise AdapterError(f"agent `EventType` {obj.get('eventtype')!r} is not a known one")
    arn = text_or_none(obj.get("agentarn"))
    event_id = text_or_none(obj.get("eventid"))
    if arn is None or event_id is None:
        raise AdapterError("an agent event needs `AgentARN` and `EventId`")
    ts = rfc3339_us(obj.get("eventtimestamp"), "`EventTimestamp`")
    snapshot = obj.get("currentagentsnapshot")
    snapshot = snapshot if isinstance(snapshot, Mapping) else {}
    if kind == "LOGOUT":
        state, reason = "offline", None
    else:
        state, reason = _state(snapshot)
    configuration = snapshot.get("configuration")
    configuration = configuration if isinstance(configuration, Mapping) else {}
    profile = configuration.get("routingprofile")
    profile = profile if isinstance(profile, Mapping) else {}
    return [
        fields.factory.make(
            "agent.state",
            (event_id,),
            ts,
            agent_id=arn_id(arn),
            state=state,
            queues=_queues(profile, fields),
            reason=reason,
            team=_team(configuration, profile),
            capacity=_capacity(profile),
        )
    ]


def _state(snapshot: Mapping[str, Any]) -> tuple[str, str | None]:
    contacts = snapshot.get("contacts") or []
    states = {
        str(contact.get("state") or "").lower()
        for contact in contacts
        if isinstance(contact, Mapping)
    }
    if states & BUSY_STATES:
        return "busy", None
    if states & ACW_STATES:
        return "acw", None
    name = text_or_none(dig(snapshot, ("agentstatus", "name")))
    if name is None:
        raise AdapterError("`CurrentAgentSnapshot.AgentStatus.Name` is missing")
    kind = str(dig(snapshot, ("agentstatus", "type")) or "").lower()
    if kind == "routable" or (not kind and name.lower() == "available"):
        return "available", None
    if kind == "offline" or (not kind and name.lower() == "offline"):
        return "offline", None
    return "away", name


def _queues(profile: Mapping[str, Any], fields: ConnectFields) -> list[str] | None:
    queues = [
        queue
        for info in profile.get("inboundqueues") or []
        if (queue := fields.queue(info)) is not None
    ]
    return queues or None


def _team(configuration: Mapping[str, Any], profile: Mapping[str, Any]) -> str | None:
    groups = configuration.get("agenthierarchygroups")
    if isinstance(groups, Mapping):
        for level in HIERARCHY_LEVELS:
            name = text_or_none(dig(groups, (level, "name")))
            if name is not None:
                return name
    return text_or_none(profile.get("name"))


def _capacity(profile: Mapping[str, Any]) -> int | None:
    slots = [
        entry.get("maximumslots")
        for entry in profile.get("concurrency") or []
        if isinstance(entry, Mapping)
    ]
    counts = [slot for slot in slots if isinstance(slot, int) and slot >= 1]
    return max(counts, default=None)
