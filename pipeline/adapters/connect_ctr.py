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
        if enqueued is None or queue is None:
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
        transferred_out = any(
            ctr.get(name) for name in ("nextcontactid", "transfercompletedtimestamp")
        )
        agent = None
        if connected is not None:
            agent = fields.agent(agent_info)
            if agent is None:
                raise AdapterError("`Agent` has neither `ARN` nor `Username`")
            assert isinstance(agent_info, Mapping)
            events += self._handled(ctr, agent_info, key, contact_id, queue, agent, connected)
        elif not transferred_out:
            # Moved to another queue by a flow (QUEUE_TRANSFER) is no abandon: the contact
            # is still waiting, in the next queue.
            left = timestamp(ctr, "Queue.DequeueTimestamp") or timestamp(ctr, "DisconnectTimestamp")
            if left is None:
                raise AdapterError(
                    "a queued contact never connected has neither `Queue.DequeueTimestamp` "
                    "nor `DisconnectTimestamp`"
                )
            events.append(make("contact.abandoned", key, left, contact_id=contact_id, queue=queue))
        if transferred_out:
            transfer = self.pairing.contact(own, contact_id, queue, agent)
            if transfer is not None:
                events.append(transferred_event(fields.factory, transfer))
        previous = text_or_none(ctr.get("previouscontactid"))
        if previous is not None and str(ctr.get("initiationmethod")).lower() in TRANSFER_METHODS:
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
                connected,
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
