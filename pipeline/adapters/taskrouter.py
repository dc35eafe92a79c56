"""Twilio TaskRouter events to v1 events.

Reads the three shapes TaskRouter events come in: the Workspace event callback's POST body
(`EventType=task.created&TaskSid=...`, form-encoded), the same parameters as a JSON object
(as a relay into Kafka would write them), and Event Streams CloudEvents
(`com.twilio.taskrouter.*`, snake_case fields under `data.payload`).

A task is one contact's work item; a segment starts when it enters a queue:

- `task-queue.entered` -> `contact.offered` (queue `TaskQueueName`, channel from
  `TaskChannelUniqueName`, else the `channelType` attribute). Entering a second queue (a
  workflow step timed out, or a transfer task of the same contact) also ends the first
  segment with `contact.transferred`.
- `reservation.accepted` -> `contact.answered` (the agent is the worker).
- `task.canceled` before any acceptance -> `contact.abandoned`.
- `task.wrapup` -> `contact.ended`, talk = time since the reservation was accepted.
- `task.completed` -> `contact.wrapup_ended`, ACW = time since `task.wrapup` (or, for a task
  completed with no wrap-up step, `contact.ended` with the talk until then).
- `worker.activity.update` -> `agent.state`, through the activity map.

TaskRouter events carry no talk or wrap-up durations, so the converter remembers, per task,
when it was accepted and wrapped: that is its pairing state. TaskRouter knows no hold time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import EventFactory
from pipeline.adapters.name_maps import channel_of, checked_channel_map, checked_state_map
from pipeline.adapters.pairing import DEFAULT_CAPACITY, PairingState
from pipeline.adapters.record_fields import (
    attribute_path,
    customer_or_none,
    dig,
    json_object,
    text_or_none,
)
from pipeline.adapters.times import epoch_us, rfc3339_us, seconds

CLOUDEVENT_PREFIX = "com.twilio.taskrouter."
TASKROUTER_CHANNELS: dict[str, str] = {
    "voice": "voice",
    "chat": "chat",
    "sms": "sms",
    "email": "email",
    # Flex's `channelType` task attribute (a Flex Flow's channel type): its web chat, and the
    # messaging apps that arrive on the chat task channel.
    "web": "chat",
    "whatsapp": "social",
    "facebook": "social",
    "messenger": "social",
    "line": "social",
}
# Flex's default activities; any other name must be mapped (`activity_map`).
FLEX_ACTIVITIES: dict[str, str] = {
    "available": "available",
    "unavailable": "away",
    "break": "away",
    "offline": "offline",
}
# Event types with no v1 meaning (reservations that did not stick, routing bookkeeping,
# configuration changes). Transfers are seen as a queue change, not through these.
IGNORED_PREFIXES = ("activity.", "workflow.", "workspace.", "task-channel.", "task.transfer-")
IGNORED = frozenset(
    {
        "task.created",
        "task.updated",
        "task.deleted",
        "task.system-deleted",
        "reservation.created",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.canceled",
        "reservation.rescinded",
        "reservation.completed",
        "reservation.failed",
        "reservation.wrapup",
        "task-queue.created",
        "task-queue.deleted",
        "task-queue.timeout",
        "task-queue.moved",
        "task-queue.expression.updated",
        "worker.created",
        "worker.attributes.update",
        "worker.capacity.update",
        "worker.channel.availability.update",
        "worker.deleted",
    }
)
Fields = Mapping[str, Any]
Identity = tuple[Any, ...]
# Task state slots, kept as a list so the state is JSON as it stands.
CONTACT, QUEUE, ACCEPTED, AGENT, WRAPUP = range(5)


@dataclass(frozen=True)
class TaskRouterOptions:
    tenant: str | None = None
    # none | attribute:PATH (a task attribute, e.g. attribute:from)
    customer_from: str = "none"
    # task (the TaskSid) | attribute:PATH naming the contact across tasks (e.g. call_sid)
    contact_from: str = "task"
    # sid (WorkerSid) | name (WorkerName)
    agent_from: str = "sid"
    channel_map: Mapping[str, str] | None = None
    activity_map: Mapping[str, str] | None = None
    queue_names: Mapping[str, str] | None = None
    capacity: int = DEFAULT_CAPACITY


class TaskRouterConverter:
    source = "taskrouter"
    options_type = TaskRouterOptions

    def __init__(self, **options: Any) -> None:
        self.options = opts = TaskRouterOptions(**options)
        self.factory = EventFactory(self.source, opts.tenant)
        self.customer_path = attribute_path(opts.customer_from, "customer_from", ())
        self.contact_path = attribute_path(opts.contact_from, "contact_from", ("task",))
        if opts.agent_from not in ("sid", "name"):
            raise ValueError(f"agent_from {opts.agent_from!r}: expected sid|name")
        self.channels = checked_channel_map(TASKROUTER_CHANNELS, opts.channel_map)
        self.activities = checked_state_map(FLEX_ACTIVITIES, opts.activity_map)
        self.queue_names = dict(opts.queue_names or {})
        self.pairs = PairingState(opts.capacity, "tasks", "contacts", "outbound")
        # TaskSid -> [contact_id, queue, accepted_us, agent_id, wrapup_us]
        self.tasks = self.pairs["tasks"]
        # contact_id -> [queue, agent_id]: the contact's latest segment, to see transfers.
        self.contacts = self.pairs["contacts"]
        # TaskSid -> 1: outbound tasks, left out to their end (later events may not repeat
        # the attributes that say so).
        self.outbound = self.pairs["outbound"]

    def convert(self, record: bytes) -> list[Event]:
        fields = parse_record(record)
        kind = text_or_none(fields.get("EventType"))
        if kind is None:
            raise AdapterError("`EventType` is missing")
        handler = {
            "task-queue.entered": self._entered,
            "reservation.accepted": self._accepted,
            "task.canceled": self._canceled,
            "task.wrapup": self._wrapup,
            "task.completed": self._completed,
            "worker.activity.update": self._activity,
        }.get(kind)
        if handler is None:
            if kind in IGNORED or kind.startswith(IGNORED_PREFIXES):
                if kind in ("task.deleted", "task.system-deleted"):
                    self.tasks.pop(str(fields.get("TaskSid")))
                return []
            raise AdapterError(f"`EventType` {kind!r} is not a known TaskRouter event")
        ts = event_time(fields)
        if handler != self._activity and self._is_outbound(fields, kind):
            return []
        sid = text_or_none(fields.get("Sid"))
        # The event's own Sid is stable across redeliveries; without it, what it is about.
        identity = (sid,) if sid else (fields.get("TaskSid") or fields.get("WorkerSid"), kind, ts)
        return handler(fields, ts, identity)

    # Task life cycle -------------------------------------------------------------------

    def _entered(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        attributes = _attributes(fields)
        contact_id = self._contact_id(task_sid, attributes)
        queue = self._queue(fields)
        channel = self._channel(fields, attributes)
        events: list[Event] = []
        previous = self.contacts.get(contact_id)
        if previous is not None and previous[0] != queue:
            events.append(
                self.factory.make(
                    "contact.transferred",
                    identity,
                    ts,
                    contact_id=contact_id,
                    queue=previous[0],
                    to_queue=queue,
                    agent_id=previous[1],
                )
            )
        events.append(
            self.factory.make(
                "contact.offered",
                identity,
                ts,
                contact_id=contact_id,
                queue=queue,
                channel=channel,
                customer_id=self._customer(attributes),
            )
        )
        self.contacts.put(contact_id, [queue, None])
        self.tasks.put(task_sid, [contact_id, queue, None, None, None])
        return events

    def _accepted(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self._task(task_sid, fields)
        agent = self._agent(fields)
        task[ACCEPTED], task[AGENT] = ts, agent
        self.tasks.put(task_sid, task)
        self.contacts.put(task[CONTACT], [task[QUEUE], agent])
        return [
            self.factory.make(
                "contact.answered",
                identity,
                ts,
                contact_id=task[CONTACT],
                queue=task[QUEUE],
                agent_id=agent,
            )
        ]

    def _canceled(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task = self.tasks.pop(_task_sid(fields))
        if task is None or task[ACCEPTED] is not None:
            return []  # canceled before it entered a queue: no segment
        return [
            self.factory.make(
                "contact.abandoned", identity, ts, contact_id=task[CONTACT], queue=task[QUEUE]
            )
        ]

    def _wrapup(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self.tasks.get(task_sid)
        if task is None or task[ACCEPTED] is None:
            raise AdapterError(f"task {task_sid} wraps up, but its acceptance was never seen")
        task[WRAPUP] = ts
        self.tasks.put(task_sid, task)
        return [self._ended(task, ts, identity)]

    def _completed(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task = self.tasks.pop(_task_sid(fields))
        if task is None or task[ACCEPTED] is None:
            return []
        if task[WRAPUP] is None:
            return [self._ended(task, ts, identity)]
        return [
            self.factory.make(
                "contact.wrapup_ended",
                identity,
                ts,
                contact_id=task[CONTACT],
                queue=task[QUEUE],
                agent_id=task[AGENT],
                acw_s=seconds(_elapsed(task[WRAPUP], ts, "wrap-up")),
                disposition=text_or_none(fields.get("TaskCompletedReason")),
            )
        ]

    def _ended(self, task: list[Any], ts: int, identity: Identity) -> Event:
        return self.factory.make(
            "contact.ended",
            identity,
            ts,
            contact_id=task[CONTACT],
            queue=task[QUEUE],
            agent_id=task[AGENT],
            talk_s=seconds(_elapsed(task[ACCEPTED], ts, "talk")),
            hold_s=0,
        )

    def _channel(self, fields: Fields, attributes: Mapping[str, Any]) -> str:
        """The `channelType` attribute when it is mapped (WhatsApp, Facebook and LINE come
        on the chat task channel, and only it tells them apart), else the task channel."""
        channel_type = text_or_none(attributes.get("channelType"))
        if channel_type is not None and channel_type.lower() in self.channels:
            return self.channels[channel_type.lower()]
        channel_name = text_or_none(fields.get("TaskChannelUniqueName")) or channel_type
        if channel_name is None:
            raise AdapterError("neither `TaskChannelUniqueName` nor a `channelType` attribute")
        return channel_of(channel_name, self.channels, "TaskRouter channel")

    def _is_outbound(self, fields: Fields, kind: str) -> bool:
        """A task the agent started (Flex's outbound call, an agent-initiated message):
        `direction` outbound in its attributes. No one waited in a queue, so no segment,
        as Amazon Connect's outbound contacts."""
        task_sid = text_or_none(fields.get("TaskSid"))
        if task_sid is None:
            return False
        attributes = _attributes(fields) if fields.get("TaskAttributes") else {}
        if str(attributes.get("direction") or "").lower() == "outbound":
            self.outbound.put(task_sid, 1)
        known = self.outbound.get(task_sid) is not None
        if known and kind in ("task.completed", "task.canceled", "task.deleted"):
            self.outbound.pop(task_sid)
        return known

    # Agents ------------------------------------------------------------------------------

    def _activity(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        name = text_or_none(fields.get("WorkerActivityName"))
        if name is None:
            raise AdapterError("`WorkerActivityName` is missing")
        state = self.activities.get(name.lower())
        if state is None:
            raise AdapterError(
                f"activity {name!r} has no v1 agent state; map it with "
                f"--activity-map {name}=<available|busy|acw|away|offline>"
            )
        worker = _json_attributes(fields.get("WorkerAttributes"), "WorkerAttributes")
        return [
            self.factory.make(
                "agent.state",
                identity,
                ts,
                agent_id=self._agent(fields),
                state=state,
                # The activity says why an agent is away (Break, Lunch, Training...).
                reason=name if state == "away" else None,
                # Flex Insights' worker attribute for the agent's team.
                team=text_or_none(worker.get("team_name")),
            )
        ]

    # Fields ------------------------------------------------------------------------------

    def _task(self, task_sid: str, fields: Mapping[str, Any]) -> list[Any]:
        task = self.tasks.get(task_sid)
        if task is not None:
            return list(task)
        # Its queue entry was not seen (not subscribed, or before this stream began): the
        # event names the task's queue itself.
        contact_id = self._contact_id(task_sid, _attributes(fields))
        return [contact_id, self._queue(fields), None, None, None]

    def _contact_id(self, task_sid: str, attributes: Mapping[str, Any]) -> str:
        path = self.contact_path
        if path is None or path == ("task",):
            return task_sid
        return text_or_none(dig(attributes, path[1:])) or task_sid

    def _customer(self, attributes: Mapping[str, Any]) -> str | None:
        if self.customer_path is None:
            return None
        return customer_or_none(dig(attributes, self.customer_path[1:]))

    def _queue(self, fields: Mapping[str, Any]) -> str:
        queue_sid = text_or_none(fields.get("TaskQueueSid"))
        if queue_sid is not None and queue_sid in self.queue_names:
            return self.queue_names[queue_sid]
        queue = text_or_none(fields.get("TaskQueueName")) or queue_sid
        if queue is None:
            raise AdapterError("neither `TaskQueueName` nor `TaskQueueSid`")
        return queue

    def _agent(self, fields: Mapping[str, Any]) -> str:
        name = "WorkerSid" if self.options.agent_from == "sid" else "WorkerName"
        agent = text_or_none(fields.get(name))
        if agent is None:
            raise AdapterError(f"`{name}` is missing")
        return agent

    # Checkpoint --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self.pairs.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        self.pairs.restore(state)

    def unresolved(self) -> list[str]:
        return [
            f"task {sid} was still open (not completed or canceled)" for sid in self.tasks.items
        ]


def parse_record(record: bytes) -> dict[str, Any]:
    """Any of the three shapes to the callback's CamelCase parameters."""
    text = record.strip()
    if not text.startswith(b"{"):
        try:
            return dict(parse_qsl(text.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise AdapterError("neither JSON nor a form-encoded event callback") from None
    obj = json_object(text)
    if "specversion" not in obj:
        return obj
    kind = str(obj.get("type", ""))
    payload = dig(obj, ("data", "payload"))
    if not kind.startswith(CLOUDEVENT_PREFIX) or not isinstance(payload, dict):
        raise AdapterError(f"CloudEvent {kind!r} is not a TaskRouter event with a payload")
    fields = {_camel(key): value for key, value in payload.items()}
    # The envelope type names the event; trust it over the payload copy, which Twilio's own
    # published examples get wrong (a `reservation.accepted` whose payload says created).
    fields["EventType"] = kind.removeprefix(CLOUDEVENT_PREFIX)
    return fields


def _camel(key: str) -> str:
    if key == "eventtype":
        return "EventType"
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def event_time(fields: Mapping[str, Any]) -> int:
    """`TimestampMs` when there, else `Timestamp` (epoch seconds, or RFC 3339)."""
    ms = fields.get("TimestampMs")
    if ms not in (None, ""):
        return epoch_us(ms, "`TimestampMs`", unit_us=1000)
    value = fields.get("Timestamp")
    if value in (None, ""):
        raise AdapterError("`Timestamp` is missing")
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return epoch_us(text, "`Timestamp`")
    return rfc3339_us(text, "`Timestamp`")


def _task_sid(fields: Mapping[str, Any]) -> str:
    task_sid = text_or_none(fields.get("TaskSid"))
    if task_sid is None:
        raise AdapterError("`TaskSid` is missing")
    return task_sid


def _attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    return _json_attributes(fields.get("TaskAttributes"), "TaskAttributes")


def _json_attributes(raw: object, name: str) -> dict[str, Any]:
    """Task or worker attributes: a JSON object, as text (callbacks) or parsed (JSON)."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str | bytes):
        raise AdapterError(f"`{name}` is not a JSON object")
    try:
        attributes = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AdapterError(f"`{name}` is not a JSON object") from None
    if not isinstance(attributes, dict):
        raise AdapterError(f"`{name}` is not a JSON object")
    return attributes


def _elapsed(start_us: int, end_us: int, what: str) -> int:
    if end_us < start_us:
        raise AdapterError(f"{what} ends before it starts (events out of time order)")
    return end_us - start_us
