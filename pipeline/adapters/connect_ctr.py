"""Amazon Connect contact records (CTRs, as streamed by Kinesis) to v1 events.

One record is one contact, written when it is over (after its after-contact work), so one
record gives the whole segment at once: offered at `Queue.EnqueueTimestamp`, answered at
`Agent.ConnectedToAgentTimestamp` or abandoned at `Queue.DequeueTimestamp`, ended with
`AgentInteractionDuration` talk and `CustomerHoldDuration` hold, and wrapped up with
`AfterContactWorkDuration`. A contact never queued (IVR only, an outbound dial) has no
segment and gives nothing. Transfers pair through `PreviousContactId` (see `connect.py`).
Connect may deliver a record again (updated attributes): the ids come from the contact id and
the event kind, so the second delivery is a duplicate downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.adapters.connect import (
    TRANSFER_METHODS,
    ConnectFeed,
    Transfer,
    endpoint_address,
    initiation_method,
    is_outbound,
    load_object,
    timestamp,
    transferred_event,
)
from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import in_time_order
from pipeline.adapters.record_fields import text_or_none
from pipeline.adapters.times import duration_us, seconds


class ConnectCtrConverter(ConnectFeed):
    source = "connect-ctr"

    def convert(self, record: bytes) -> list[Event]:
        ctr = load_object(record)
        fields = self.fields
        own, contact_id = fields.contact_ids(ctr)
        enqueued = timestamp(ctr, "Queue.EnqueueTimestamp")
        queue = fields.queue(ctr.get("queue"))
        if enqueued is None or queue is None or is_outbound(ctr):
            return []
        make = fields.factory.make
        key = (own,)
        events = [
            make(
                "contact.offered",
                key,
                enqueued,
                contact_id=contact_id,
                queue=queue,
                channel=fields.channel(ctr),
                customer_id=fields.customer(ctr),
            )
        ]
        agent_info = ctr.get("agent")
        connected = timestamp(ctr, "Agent.ConnectedToAgentTimestamp")
        next_contact = text_or_none(ctr.get("nextcontactid"))
        # Sent out of Connect (a number outside it): AWS says no later record comes, so
        # this record closes the segment with the transfer itself.
        sent_out = None if next_contact else endpoint_address(ctr)
        agent = None
        if connected is not None:
            agent = fields.agent(agent_info)
            if agent is None:
                raise AdapterError("`Agent` has neither `ARN` nor `Username`")
            assert isinstance(agent_info, Mapping)
            events += self._handled(ctr, agent_info, key, contact_id, queue, agent, connected)
        elif next_contact is None and sent_out is None:
            left = timestamp(ctr, "Queue.DequeueTimestamp") or timestamp(ctr, "DisconnectTimestamp")
            if left is None:
                raise AdapterError(
                    "a queued contact never connected has neither `Queue.DequeueTimestamp` "
                    "nor `DisconnectTimestamp`"
                )
            events.append(make("contact.abandoned", key, left, contact_id=contact_id, queue=queue))
        if sent_out is not None:
            out_at = (
                (timestamp(ctr, "Queue.DequeueTimestamp") if connected is None else None)
                or timestamp(ctr, "TransferCompletedTimestamp")
                or timestamp(ctr, "DisconnectTimestamp")
                or enqueued
            )
            out = Transfer(own, contact_id, queue, agent, sent_out, out_at)
            events.append(transferred_event(fields.factory, out))
        elif next_contact is not None:
            # Moved on to another contact (a transfer, a flow's queue move, a queued
            # callback): no abandon; that contact's record closes this segment.
            transfer = self.pairing.contact(own, contact_id, queue, agent)
            if transfer is not None:
                events.append(transferred_event(fields.factory, transfer))
        previous = text_or_none(ctr.get("previouscontactid"))
        if previous is not None and initiation_method(ctr) in TRANSFER_METHODS:
            started = timestamp(ctr, "InitiationTimestamp") or enqueued
            transfer = self.pairing.successor(previous, queue, started)
            if transfer is not None:
                events.append(transferred_event(fields.factory, transfer))
        return in_time_order(events)

    def _handled(
        self,
        ctr: Mapping[str, Any],
        agent_info: Mapping[str, Any],
        key: tuple[str],
        contact_id: str,
        queue: str,
        agent: str,
        connected: int,
    ) -> list[Event]:
        make = self.fields.factory.make
        talk = duration_us(
            agent_info.get("agentinteractionduration"), "`Agent.AgentInteractionDuration`"
        )
        held = agent_info.get("customerholdduration")
        hold = 0 if held is None else duration_us(held, "`Agent.CustomerHoldDuration`")
        ended = (
            timestamp(ctr, "Agent.AfterContactWorkStartTimestamp")
            or timestamp(ctr, "DisconnectTimestamp")
            or connected + talk + hold
        )
        events = [
            make(
                "contact.answered",
                key,
                first_reply(ctr) or connected,
                contact_id=contact_id,
                queue=queue,
                agent_id=agent,
            ),
            make(
                "contact.ended",
                key,
                ended,
                contact_id=contact_id,
                queue=queue,
                agent_id=agent,
                talk_s=seconds(talk),
                hold_s=seconds(hold),
            ),
        ]
        acw_value = agent_info.get("aftercontactworkduration")
        if acw_value is not None:
            acw = duration_us(acw_value, "`Agent.AfterContactWorkDuration`")
            done = timestamp(ctr, "Agent.AfterContactWorkEndTimestamp") or ended + acw
            events.append(
                make(
                    "contact.wrapup_ended",
                    key,
                    done,
                    contact_id=contact_id,
                    queue=queue,
                    agent_id=agent,
                    acw_s=seconds(acw),
                )
            )
        return events


def first_reply(ctr: Mapping[str, Any]) -> int | None:
    """A chat's first agent reply (`ChatMetrics.ContactMetrics.AgentFirstResponseTimestamp`),
    the contract's answer for chat; None where the record has none (voice, older records)."""
    if str(ctr.get("channel") or "").lower() == "voice":
        return None
    return timestamp(ctr, "ChatMetrics.ContactMetrics.AgentFirstResponseTimestamp")
