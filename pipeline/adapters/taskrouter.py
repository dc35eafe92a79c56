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

Callbacks may come late, out of order or twice (Twilio retries one that failed), so each
milestone of a task is kept with the identity of the callback that brought it, and an event
that needs two of them leaves when the second arrives, whichever it is, with the ids it would
have had in order. A closed task is remembered a while (`CLOSED_CAPACITY`), so a late or
repeated callback of it still pairs. A repeat gives the same events again: the same ids, so
duplicates downstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import EventFactory
from pipeline.adapters.name_maps import channel_of, checked_channel_map, checked_state_map
from pipeline.adapters.pairing import DEFAULT_CAPACITY, BoundedMap, PairingState
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
# Task state slots, kept as a list so the state is JSON as it stands: the contact and queue,
# each milestone's time, and the identity of the callback that brought the wrap-up, the
# completion and the cancellation (their events may leave only when another milestone comes).
(CONTACT, QUEUE, ACCEPTED, AGENT, WRAPUP, WRAPUP_ID, COMPLETED, COMPLETED_ID, REASON, CANCELED,
 CANCELED_ID, ENTERED) = range(12)  # fmt: skip
SLOTS = 12
# Closed (completed or canceled) tasks remembered for late and repeated callbacks: Twilio
# retries within minutes, far fewer tasks than this close in that time.
CLOSED_CAPACITY = 10_000


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
        # TaskSid -> the task's slots (above): open tasks; contact_id -> [queue, agent_id,
        # entry time, entry identity]: the contact's latest segment, to see transfers.
        self.pairs = PairingState(opts.capacity, "tasks", "contacts", "outbound")
        self.tasks = self.pairs["tasks"]
        self.contacts = self.pairs["contacts"]
        # Recently closed tasks, fewer than the open ones: checkpointed with them.
        self.closed = BoundedMap(min(opts.capacity, CLOSED_CAPACITY))
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
                    self.closed.pop(str(fields.get("TaskSid")))
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
        task = self._known(task_sid) or _new_task(contact_id, queue)
        transfer = self._transfer(contact_id, queue, task[AGENT], ts, identity)
        if transfer is not None:
            events.append(transfer)
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
        # Milestones that came before this queue entry (late or retried callbacks) stay.
        task[CONTACT], task[QUEUE], task[ENTERED] = contact_id, queue, ts
        if task[CANCELED] is not None and task[ACCEPTED] is None:
            events.append(self._abandoned(task))
        self._keep(task_sid, task)
        return events

    def _transfer(
        self, contact_id: str, queue: str, agent: str | None, ts: int, identity: Identity
    ) -> Event | None:
        """The transfer a queue entry makes: from the contact's latest queue to this one or,
        for an entry that arrives after a later one of the same contact, from this queue to
        that later one's, with the later entry's id and time (the event it gave in order)."""
        latest = self.contacts.get(contact_id)  # [queue, agent, entry time, entry identity]
        entry = [queue, agent, ts, list(identity)]
        if latest is None or len(latest) < 4 or latest[2] is None or latest[2] <= ts:
            self.contacts.put(contact_id, entry)
            if latest is None or latest[0] == queue:
                return None
            source, target, at, ids, by = latest[0], queue, ts, identity, latest[1]
        elif latest[0] == queue:
            return None
        else:
            source, target, at, ids, by = queue, latest[0], latest[2], latest[3], agent
        return self.factory.make(
            "contact.transferred",
            ids,
            at,
            contact_id=contact_id,
            queue=source,
            to_queue=target,
            agent_id=by,
        )

    def _accepted(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self._task(task_sid, fields)
        agent = self._agent(fields)
        task[ACCEPTED], task[AGENT] = ts, agent
        self._note_agent(task, agent)
        events = [
            self.factory.make(
                "contact.answered",
                identity,
                ts,
                contact_id=task[CONTACT],
                queue=task[QUEUE],
                agent_id=agent,
            )
        ]
        # A wrap-up or completion that came first waited for this acceptance.
        events += self._after_acceptance(task)
        self._keep(task_sid, task)
        return events

    def _note_agent(self, task: list[Any], agent: str) -> None:
        """The agent of the contact's latest segment, when this task's is that segment."""
        latest = self.contacts.get(task[CONTACT])
        if latest is None:
            # Not entered yet (a late queue entry): the entry notes the agent when it comes.
            if task[ENTERED] is not None:
                self.contacts.put(task[CONTACT], [task[QUEUE], agent, task[ENTERED], None])
        elif latest[0] == task[QUEUE] and (len(latest) < 4 or latest[2] == task[ENTERED]):
            self.contacts.put(task[CONTACT], [latest[0], agent, *latest[2:]])

    def _canceled(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self._known(task_sid)
        if task is None:
            # Not (yet) seen in a queue: no segment, unless its queue entry comes late.
            contact_id = self._contact_id(task_sid, _attributes(fields))
            task = _new_task(contact_id, None)
        task[CANCELED], task[CANCELED_ID] = ts, list(identity)
        self._keep(task_sid, task)
        if task[ENTERED] is None or task[ACCEPTED] is not None:
            return []
        return [self._abandoned(task)]

    def _wrapup(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self._known(task_sid)
        if task is None or task[ACCEPTED] is None:
            # Kept: an acceptance that comes late (a retried callback) completes it.
            if task is not None or _names_queue(fields):
                task = task or self._task(task_sid, fields)
                task[WRAPUP], task[WRAPUP_ID] = ts, list(identity)
                self._keep(task_sid, task)
            raise AdapterError(f"task {task_sid} wraps up, but its acceptance was never seen")
        task[WRAPUP], task[WRAPUP_ID] = ts, list(identity)
        events = [self._ended(task, ts, identity)]
        if task[COMPLETED] is not None:  # its completion came first
            events.append(self._wrapped(task))
        self._keep(task_sid, task)
        return events

    def _completed(self, fields: Fields, ts: int, identity: Identity) -> list[Event]:
        task_sid = _task_sid(fields)
        task = self._known(task_sid)
        if task is None:
            if not _names_queue(fields):
                return []
            task = self._task(task_sid, fields)
        task[COMPLETED], task[COMPLETED_ID] = ts, list(identity)
        task[REASON] = text_or_none(fields.get("TaskCompletedReason"))
        self._keep(task_sid, task)
        if task[ACCEPTED] is None:
            return []
        if task[WRAPUP] is None:
            return [self._ended(task, ts, identity)]
        return [self._wrapped(task)]

    def _after_acceptance(self, task: list[Any]) -> list[Event]:
        """What a wrap-up or completion that came before the acceptance gives once it is in."""
        if task[WRAPUP] is not None:
            events = [self._ended(task, task[WRAPUP], task[WRAPUP_ID])]
            if task[COMPLETED] is not None:
                events.append(self._wrapped(task))
            return events
        if task[COMPLETED] is not None:
            return [self._ended(task, task[COMPLETED], task[COMPLETED_ID])]
        return []

    def _ended(self, task: list[Any], ts: int, identity: Iterable[Any]) -> Event:
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

    def _wrapped(self, task: list[Any]) -> Event:
        return self.factory.make(
            "contact.wrapup_ended",
            task[COMPLETED_ID],
            task[COMPLETED],
            contact_id=task[CONTACT],
            queue=task[QUEUE],
            agent_id=task[AGENT],
            acw_s=seconds(_elapsed(task[WRAPUP], task[COMPLETED], "wrap-up")),
            disposition=task[REASON],
        )

    def _abandoned(self, task: list[Any]) -> Event:
        return self.factory.make(
            "contact.abandoned",
            task[CANCELED_ID],
            task[CANCELED],
            contact_id=task[CONTACT],
            queue=task[QUEUE],
        )

    def _known(self, task_sid: str) -> list[Any] | None:
        """A copy of the task's slots, open or recently closed; None if it is not known."""
        task = self.tasks.get(task_sid) or self.closed.get(task_sid)
        if task is None:
            return None
        return [*task, *([None] * (SLOTS - len(task)))]

    def _keep(self, task_sid: str, task: list[Any]) -> None:
        """Store the task with the open ones, or with the closed once completed or canceled."""
        if task[COMPLETED] is not None or task[CANCELED] is not None:
            self.tasks.pop(task_sid)
            self.closed.put(task_sid, task)
        else:
            self.tasks.put(task_sid, task)

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
        task = self._known(task_sid)
        if task is not None and task[QUEUE] is not None:
            return task
        # Its queue entry was not seen (not subscribed, before this stream began, or not yet
        # come): the event names the task's queue itself.
        contact_id = self._contact_id(task_sid, _attributes(fields))
        if task is None:
            return _new_task(contact_id, self._queue(fields))
        task[CONTACT], task[QUEUE] = contact_id, self._queue(fields)
        return task

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
        return {**self.pairs.state(), "closed": self.closed.dump()}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.pairs.restore(state)
        self.closed.load(state.get("closed", []))

    def key(self, record: bytes) -> bytes | None:
        """The Kafka key of a raw record on an input topic: its contact for task events (so a
        contact's tasks pair in one partition), its worker for worker events."""
        fields = parse_record(record)
        task_sid = text_or_none(fields.get("TaskSid"))
        if task_sid is not None:
            return self._contact_id(task_sid, _attributes(fields)).encode()
        worker = text_or_none(fields.get("WorkerSid"))
        return None if worker is None else worker.encode()

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


def _new_task(contact_id: str, queue: str | None) -> list[Any]:
    task: list[Any] = [None] * SLOTS
    task[CONTACT], task[QUEUE] = contact_id, queue
    return task


def _names_queue(fields: Mapping[str, Any]) -> bool:
    return bool(
        text_or_none(fields.get("TaskQueueName")) or text_or_none(fields.get("TaskQueueSid"))
    )


def _elapsed(start_us: int, end_us: int, what: str) -> int:
    if end_us < start_us:
        raise AdapterError(f"{what} ends before it starts (events out of time order)")
    return end_us - start_us
