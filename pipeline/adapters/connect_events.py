"""Amazon Connect contact events (EventBridge `Amazon Connect Contact Event`) to v1 events.

Each event is one step of one contact: QUEUED is the offer, CONNECTED_TO_AGENT the answer,
DISCONNECTED the end of the talk (or the abandon, when no agent was connected), COMPLETED
the end of the after-contact work. The timestamps inside the event (`enqueueTimestamp`,
`connectedToAgentTimestamp`, `disconnectTimestamp`, ...) are the event times; the EventBridge
envelope's `time` is the fallback. The envelope is optional: a bare `detail` object is read
the same way. Transfers pair through `previousContactId` (see `connect.py`).

What contact events cannot say: hold time (a DISCONNECTED talk time is connect to
disconnect, holds included, so the handle time is still right), and the queue's name (only
its ARN: give names with `queue_names`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.adapters.connect import (
    TRANSFER_METHODS,
    ConnectFeed,
    initiation_method,
    is_outbound,
    load_object,
    timestamp,
    transferred_event,
)
from pipeline.adapters.connect_agent_events import agent_events, is_agent_event
from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import in_time_order
from pipeline.adapters.record_fields import text_or_none
from pipeline.adapters.times import duration_us, rfc3339_us, seconds

Detail = Mapping[str, Any]
DETAIL_TYPE = "Amazon Connect Contact Event"
# Steps with no v1 meaning: media set up, data updated, outbound dialling details. (An
# INITIATED contact that continues another one is noted, see `_initiated`.)
IGNORED = frozenset({"CONNECTED_TO_SYSTEM", "CONTACT_DATA_UPDATED", "AMD_DISABLED"})
# How a contact left its queue when the caller hung up: the one disconnect that is an
# abandon. Other reasons (a flow ended it, an API) wait for a follow-on contact.
CUSTOMER_DISCONNECT = "customer_disconnect"


class ConnectEventsConverter(ConnectFeed):
    source = "connect-events"

    def __init__(self, **options: Any) -> None:
        options.setdefault("agent_from", "id")
        if options["agent_from"] != "id":
            raise ValueError("agent_from: contact events name agents by ARN only; use `id`")
        super().__init__(**options)

    def convert(self, record: bytes) -> list[Event]:
        obj = load_object(record)
        if is_agent_event(obj):  # the agent event stream, on the same converter
            return agent_events(obj, self.fields)
        fallback: int | None = None
        detail: Mapping[str, Any] = obj
        if "detail" in obj:
            detail_type = obj.get("detail-type")
            if detail_type is not None and detail_type != DETAIL_TYPE:
                raise AdapterError(f"`detail-type` {detail_type!r} is not {DETAIL_TYPE!r}")
            if not isinstance(obj["detail"], dict):
                raise AdapterError("`detail` is not an object")
            detail = obj["detail"]
            if obj.get("time") is not None:
                fallback = rfc3339_us(obj["time"], "`time`")
        kind = str(detail.get("eventtype") or "").upper()
        if kind in IGNORED:
            return []
        if kind == "INITIATED":
            self._initiated(detail)
            return []
        handler = {
            "QUEUED": self._queued,
            "CONNECTED_TO_AGENT": self._connected,
            "DISCONNECTED": self._disconnected,
            "COMPLETED": self._completed,
        }.get(kind)
        if handler is None:
            raise AdapterError(f"`eventType` {detail.get('eventtype')!r} is not a known step")
        fields = self.fields
        own, contact_id = fields.contact_ids(detail)
        fields.channel(detail)  # a contact of an unmapped channel is rejected at every step
        queue = fields.queue(detail.get("queueinfo"))
        events = handler(detail, own, contact_id, queue, fallback)
        # Checked after the handler, so a malformed record is dead-lettered whatever its
        # direction.
        if is_outbound(detail):
            return []  # dialled by the centre: no one waited in a queue
        return in_time_order(events)

    def _initiated(self, detail: Detail) -> None:
        """A contact that continues another (a queued callback, a transfer) is created
        before the other one disconnects: note it, so that disconnect is not an abandon."""
        previous = text_or_none(detail.get("previouscontactid"))
        own = text_or_none(detail.get("contactid"))
        method = initiation_method(detail)
        if previous is None or previous == own or method not in TRANSFER_METHODS:
            return
        self.pairing.expect(
            previous,
            f"contact {previous} was continued by contact {own} ({method.upper()}), "
            "which was never queued",
        )

    def _queued(
        self, detail: Detail, own: str, contact_id: str, queue: str | None, fallback: int | None
    ) -> list[Event]:
        fields = self.fields
        queue = _required_queue(queue)
        ts = _at(timestamp(detail, "queueInfo.enqueueTimestamp"), fallback, "enqueueTimestamp")
        events = [
            fields.factory.make(
                "contact.offered",
                (own,),
                ts,
                contact_id=contact_id,
                queue=queue,
                channel=fields.channel(detail),
                customer_id=fields.customer(detail),
            )
        ]
        transfer = self.pairing.contact(own, contact_id, queue, None)
        if transfer is not None:
            events.append(transferred_event(fields.factory, transfer))
        previous = text_or_none(detail.get("previouscontactid"))
        continues = initiation_method(detail) in TRANSFER_METHODS
        if previous is not None and previous != own and continues:
            started = timestamp(detail, "initiationTimestamp") or ts
            transfer = self.pairing.successor(previous, queue, started)
            if transfer is not None:
                events.append(transferred_event(fields.factory, transfer))
        return events

    def _connected(
        self, detail: Detail, own: str, contact_id: str, queue: str | None, fallback: int | None
    ) -> list[Event]:
        queue = _required_queue(queue)
        agent = self._agent(detail)
        ts = _at(
            timestamp(detail, "agentInfo.connectedToAgentTimestamp"),
            fallback,
            "connectedToAgentTimestamp",
        )
        # Remember the agent, so a transfer out of this contact names who made it.
        transfer = self.pairing.contact(own, contact_id, queue, agent)
        events = [
            self.fields.factory.make(
                "contact.answered", (own,), ts, contact_id=contact_id, queue=queue, agent_id=agent
            )
        ]
        if transfer is not None:
            events.append(transferred_event(self.fields.factory, transfer))
        return events

    def _disconnected(
        self, detail: Detail, own: str, contact_id: str, queue: str | None, fallback: int | None
    ) -> list[Event]:
        enqueued = timestamp(detail, "queueInfo.enqueueTimestamp")
        if queue is None or enqueued is None:
            return []  # never queued: no segment
        ts = _at(timestamp(detail, "disconnectTimestamp"), fallback, "disconnectTimestamp")
        make = self.fields.factory.make
        connected = timestamp(detail, "agentInfo.connectedToAgentTimestamp")
        if connected is None:
            return self._left_unanswered(detail, own, contact_id, queue, ts)
        if ts < connected:
            raise AdapterError("`disconnectTimestamp` is before `connectedToAgentTimestamp`")
        return [
            make(
                "contact.ended",
                (own,),
                ts,
                contact_id=contact_id,
                queue=queue,
                agent_id=self._agent(detail),
                talk_s=seconds(ts - connected),
                hold_s=0,
            )
        ]

    def _left_unanswered(
        self, detail: Detail, own: str, contact_id: str, queue: str, ts: int
    ) -> list[Event]:
        """A queued contact disconnected with no agent: an abandon when the caller hung up;
        when it continues in another contact (a queued callback, a flow's queue move), that
        contact's QUEUED closes the segment with a transfer, whichever comes first."""
        pairing = self.pairing
        if pairing.was_transferred(own) or pairing.expected(own):
            return []
        reason = str(detail.get("disconnectreason") or CUSTOMER_DISCONNECT).lower()
        if reason == CUSTOMER_DISCONNECT:
            return [
                self.fields.factory.make(
                    "contact.abandoned", (own,), ts, contact_id=contact_id, queue=queue
                )
            ]
        pairing.expect(
            own,
            f"contact {own} left queue {queue} unanswered ({reason.upper()}) and no contact "
            "continuing it was queued: its outcome is unknown",
        )
        return []

    def _completed(
        self, detail: Detail, own: str, contact_id: str, queue: str | None, fallback: int | None
    ) -> list[Event]:
        start = timestamp(detail, "agentInfo.afterContactWorkStartTimestamp")
        end = timestamp(detail, "agentInfo.afterContactWorkEndTimestamp")
        value = dig_agent(detail, "aftercontactworkduration")
        if queue is None or (value is None and (start is None or end is None)):
            return []  # no agent, or no after-contact work: nothing to wrap up
        if value is not None:
            acw = duration_us(value, "`agentInfo.afterContactWorkDuration`")
        else:
            assert start is not None and end is not None
            acw = end - start
            if acw < 0:
                raise AdapterError("after-contact work ends before it starts")
        ts = end or _at(None, fallback, "afterContactWorkEndTimestamp")
        return [
            self.fields.factory.make(
                "contact.wrapup_ended",
                (own,),
                ts,
                contact_id=contact_id,
                queue=queue,
                agent_id=self._agent(detail),
                acw_s=seconds(acw),
            )
        ]

    def _agent(self, detail: Mapping[str, Any]) -> str:
        agent = self.fields.agent(detail.get("agentinfo"))
        if agent is None:
            raise AdapterError("`agentInfo.agentArn` is missing")
        return agent


def dig_agent(detail: Mapping[str, Any], name: str) -> object:
    info = detail.get("agentinfo")
    return info.get(name) if isinstance(info, Mapping) else None


def _required_queue(queue: str | None) -> str:
    if queue is None:
        raise AdapterError("`queueInfo.queueArn` is missing")
    return queue


def _at(ts: int | None, fallback: int | None, name: str) -> int:
    if ts is not None:
        return ts
    if fallback is None:
        raise AdapterError(f"`{name}` is missing and there is no envelope `time`")
    return fallback
