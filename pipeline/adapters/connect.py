"""What Amazon Connect's two feeds share: field access, names, options and transfer pairing.

Amazon Connect's own samples spell the same field both ways (`AgentInfo` and `agentInfo`,
`AgentArn` and `agentArn`), so records are read with their keys lower-cased, except the
user-defined contact `Attributes`, whose names are the customer's and keep their case.

A transfer makes a new contact: the new one names the old in `PreviousContactId`, and all of
them share `InitialContactId`. The v1 `contact_id` is the initial contact's id, so both
segments belong to one contact (and FCR does not count a transfer as a repeat contact). The
`contact.transferred` event needs the old contact's queue and the new one's, which arrive in
two records in either order: `TransferPairing` holds whichever comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import EventFactory
from pipeline.adapters.name_maps import channel_of, checked_channel_map
from pipeline.adapters.pairing import DEFAULT_CAPACITY, PairingState
from pipeline.adapters.record_fields import (
    attribute_path,
    customer_or_none,
    dig,
    json_object,
    text_or_none,
)
from pipeline.adapters.times import rfc3339_us

CONNECT_CHANNELS: dict[str, str] = {"voice": "voice", "chat": "chat", "email": "email"}
# Initiation methods whose PreviousContactId is the contact this one continues. A queued
# callback is one: the inbound contact left its queue for the callback's queue, which the
# contract calls a transfer (the inbound record has `NextContactId` and no agent).
TRANSFER_METHODS = frozenset({"transfer", "queue_transfer", "callback"})
# Contacts the centre dials: no one waited in a queue, so no segment (as Twilio's outbound
# tasks, see taskrouter.py).
OUTBOUND_METHODS = frozenset({"outbound", "external_outbound"})


@dataclass(frozen=True)
class ConnectOptions:
    """What a Connect record cannot say by itself, set by the user (see docs/adapters.md)."""

    tenant: str | None = None
    # none | endpoint (CustomerEndpoint.Address, the caller's number) | attribute:NAME
    customer_from: str = "none"
    # Platform channel name (VOICE, CHAT, EMAIL, TASK) to v1 channel; TASK has no default.
    channel_map: Mapping[str, str] | None = None
    # Queue id (the last part of its ARN) to the name reports should show.
    queue_names: Mapping[str, str] | None = None
    # username (CTR only; falls back to id) | id (the last part of the agent ARN)
    agent_from: str = "username"
    capacity: int = DEFAULT_CAPACITY


class ConnectFields:
    """Options resolved once; reads the fields both Connect feeds have."""

    def __init__(self, source: str, options: ConnectOptions) -> None:
        self.factory = EventFactory(source, options.tenant)
        self.customer_path = attribute_path(options.customer_from, "customer_from", ("endpoint",))
        self.channels = checked_channel_map(CONNECT_CHANNELS, options.channel_map)
        self.queue_names = dict(options.queue_names or {})
        if options.agent_from not in ("username", "id"):
            raise ValueError(f"agent_from {options.agent_from!r}: expected username|id")
        self.agent_from = options.agent_from

    def contact_ids(self, record: Mapping[str, Any]) -> tuple[str, str]:
        """(this contact's own id, the v1 contact_id shared by its transfers)."""
        own = text_or_none(record.get("contactid"))
        if own is None:
            raise AdapterError("`ContactId` is missing")
        if initiation_method(record) == "callback":
            # A callback is queued again, often in the queue the caller left: as the same
            # contact it would be the same segment (contact, queue) a second time.
            return own, own
        return own, text_or_none(record.get("initialcontactid")) or own

    def channel(self, record: Mapping[str, Any]) -> str:
        name = text_or_none(record.get("channel"))
        if name is None:
            raise AdapterError("`Channel` is missing")
        if initiation_method(record) == "callback" and name.lower() == "voice":
            # A queued callback is a voice contact Connect dials back: the contract's own
            # `callback` channel, with its own service-level threshold.
            return "callback"
        return channel_of(name, self.channels, "Connect channel")

    def queue(self, queue_info: object, name_key: str = "name") -> str | None:
        """The queue's configured name, else its name in the record, else its id."""
        if not isinstance(queue_info, Mapping):
            return None
        arn = text_or_none(queue_info.get("arn") or queue_info.get("queuearn"))
        queue_id = arn_id(arn) if arn else text_or_none(queue_info.get("id"))
        if queue_id is not None and queue_id in self.queue_names:
            return self.queue_names[queue_id]
        return text_or_none(queue_info.get(name_key)) or queue_id

    def agent(self, agent_info: object) -> str | None:
        if not isinstance(agent_info, Mapping):
            return None
        if self.agent_from == "username":
            username = text_or_none(agent_info.get("username"))
            if username is not None:
                return username
        arn = text_or_none(agent_info.get("arn") or agent_info.get("agentarn"))
        return arn_id(arn) if arn else text_or_none(agent_info.get("id"))

    def customer(self, record: Mapping[str, Any]) -> str | None:
        path = self.customer_path
        if path is None:
            return None
        if path == ("endpoint",):
            return customer_or_none(dig(record, ("customerendpoint", "address")))
        return customer_or_none(dig(record.get("attributes"), path[1:]))


def initiation_method(record: Mapping[str, Any]) -> str:
    """`InitiationMethod`, lower-cased ("" when absent)."""
    return str(record.get("initiationmethod") or "").lower()


def is_outbound(record: Mapping[str, Any]) -> bool:
    return initiation_method(record) in OUTBOUND_METHODS


def arn_id(arn: str) -> str:
    """The resource id at the end of an ARN (`.../queue/<id>` -> `<id>`)."""
    return arn.rsplit("/", 1)[-1]


def lower_keys(value: Any, keep_case: bool = False) -> Any:
    """Keys lower-cased all the way down, except inside contact attributes."""
    if isinstance(value, dict):
        if keep_case:
            return value
        return {
            (key.lower() if isinstance(key, str) else key): lower_keys(
                item, keep_case=isinstance(key, str) and key.lower() == "attributes"
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [lower_keys(item) for item in value]
    return value


def load_object(record: bytes) -> dict[str, Any]:
    result: dict[str, Any] = lower_keys(json_object(record))
    return result


def timestamp(record: Mapping[str, Any], name: str) -> int | None:
    """An optional timestamp field named as Connect documents it (`Queue.EnqueueTimestamp`),
    read from the lower-cased record, in microseconds; None when absent or null."""
    value = dig(record, name.lower().split("."))
    if value is None or value == "":
        return None
    return rfc3339_us(value, f"`{name}`")


class Transfer(NamedTuple):
    contact_key: str  # the Connect ContactId that was transferred out
    contact_id: str
    queue: str
    agent_id: str | None
    to_queue: str
    ts_us: int


class TransferPairing:
    """Pairs a contact transferred out with the contact it became, whichever comes first.

    `pending` holds the contacts whose segment waits for its follow-on contact (it left its
    queue with no agent, for another queue or a callback), and why; a transfer made takes
    its contact out of it. (If that contact never comes, the segment ledger names the
    segment left open.)
    """

    def __init__(self, capacity: int) -> None:
        self.pairs = PairingState(capacity, "left", "waiting", "pending", "transferred")
        # ContactId -> [v1 contact_id, queue, agent_id]
        self.left = self.pairs["left"]
        # previous ContactId -> [to_queue, ts_us]
        self.waiting = self.pairs["waiting"]
        # ContactId -> what is still to come for its segment to close
        self.pending = self.pairs["pending"]
        # ContactId -> 1 once its transfer was made
        self.transferred = self.pairs["transferred"]

    def contact(
        self, key: str, contact_id: str, queue: str, agent_id: str | None
    ) -> Transfer | None:
        """A contact that may have been transferred out; the transfer if its successor came."""
        self.left.put(key, [contact_id, queue, agent_id])
        waiting = self.waiting.pop(key)
        if waiting is None:
            return None
        return self._made(Transfer(key, contact_id, queue, agent_id, waiting[0], waiting[1]))

    def successor(self, previous_key: str, to_queue: str, ts_us: int) -> Transfer | None:
        """A contact transferred in from `previous_key`; the transfer if that one was seen."""
        left = self.left.get(previous_key)
        if left is None:
            self.waiting.put(previous_key, [to_queue, ts_us])
            return None
        return self._made(Transfer(previous_key, left[0], left[1], left[2], to_queue, ts_us))

    def expect(self, key: str, why: str) -> None:
        """`key`'s segment closes when its follow-on contact comes (unless it already did)."""
        if self.transferred.get(key) is None:
            self.pending.put(key, why)

    def was_transferred(self, key: str) -> bool:
        return self.transferred.get(key) is not None

    def expected(self, key: str) -> bool:
        return self.pending.get(key) is not None

    def _made(self, transfer: Transfer) -> Transfer:
        self.pending.pop(transfer.contact_key)
        self.transferred.put(transfer.contact_key, 1)
        return transfer

    def unresolved(self) -> list[str]:
        return [
            f"a contact was transferred in from contact {key}, whose own record never came"
            for key in self.waiting.items
        ]


class ConnectFeed:
    """What both Connect converters are built of: the options, the fields, the transfer
    pairing, and a checkpoint that is the pairing's. Each feed adds its `convert`."""

    source: str
    options_type = ConnectOptions

    def __init__(self, **options: Any) -> None:
        self.options = ConnectOptions(**options)
        self.fields = ConnectFields(self.source, self.options)
        self.pairing = TransferPairing(self.options.capacity)

    def state(self) -> dict[str, Any]:
        return self.pairing.pairs.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        self.pairing.pairs.restore(state)

    def unresolved(self) -> list[str]:
        return self.pairing.unresolved()


def transferred_event(factory: EventFactory, transfer: Transfer) -> Event:
    return factory.make(
        "contact.transferred",
        (transfer.contact_key,),
        transfer.ts_us,
        contact_id=transfer.contact_id,
        queue=transfer.queue,
        to_queue=transfer.to_queue,
        agent_id=transfer.agent_id,
    )


def endpoint_address(record: Mapping[str, Any]) -> str | None:
    """Where a contact transferred out of Connect went (`TransferredToEndpoint.Address`),
    "external" when the record says it was (`TransferCompletedTimestamp`) but names no
    address; None when it was not sent out."""
    endpoint = record.get("transferredtoendpoint")
    if isinstance(endpoint, Mapping):
        return text_or_none(endpoint.get("address")) or "external"
    return "external" if record.get("transfercompletedtimestamp") else None
