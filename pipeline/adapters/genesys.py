"""Genesys Cloud analytics conversation detail records to v1 events.

A detail record (one element of `conversations` in the answer of
`POST /api/v2/analytics/conversations/details/query`, or of a details job) is one whole
conversation: participants (customer, ivr, acd, agent...), each with sessions (one per media),
each with segments (alert, interact, hold, wrapup...) that start and, once over, end.

A v1 segment is one ACD visit: an `interact` segment of an `acd` participant, in the queue its
`queueId` names. It is offered at the visit's start, and its outcome is read from how it
ended and from the agent sessions in the same queue:

- an agent session in that queue with an `interact` segment after the visit started: answered
  when the visit handed the contact over (its end), or, for messaging, at the agent's first
  reply where the record has one (the first `tAgentResponseTime` metric); ended at the end
  of the agent's last interact or hold, talk = the interact segments, hold = the hold
  segments; wrapped up with the `wrapup` segment (`wrapUpCode` the disposition). An agent
  segment that ended by transfer (`disconnectType` transfer...) is a `contact.transferred`,
  to the queue of the next visit, else "external".
- no agent, ended by transfer: `contact.transferred` to the next visit's queue (a flow moved
  it, or the caller asked for a callback), else "external".
- no agent, ended otherwise (the customer hung up, a timeout): `contact.abandoned`.

A conversation still in progress (a queue or agent segment without `segmentEnd`) gives what
has happened so far; its segments stay open (the segment ledger names them) until a record of
it comes in which every visit is over. The ids are built from the conversation, the queue and
the visit's start, so the later record repeats the earlier events as duplicates. A
conversation whose direction is outbound is left out, as Amazon Connect's and Twilio's
outbound contacts. A callback is its own contact (`<conversationId>:callback`), since it is
often queued where the call it replaces waited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import EventFactory, in_time_order
from pipeline.adapters.name_maps import channel_of, checked_channel_map
from pipeline.adapters.pairing import DEFAULT_CAPACITY
from pipeline.adapters.record_fields import customer_or_none, json_object, text_or_none
from pipeline.adapters.times import rfc3339_us, seconds

# `mediaType`, and for `message` sessions their `messageType`, to v1 channels.
GENESYS_CHANNELS: dict[str, str] = {
    "voice": "voice",
    "callback": "callback",
    "chat": "chat",
    "email": "email",
    "webmessaging": "chat",
    "sms": "sms",
    "whatsapp": "social",
    "facebook": "social",
    "twitter": "social",
    "line": "social",
    "instagram": "social",
    "apple": "social",
}
# Media whose answer is the first agent reply (the contract), where the record has it.
REPLY_MEDIA = frozenset({"chat", "message", "email"})
AGENT_PURPOSES = frozenset({"agent", "user"})
TALK, HOLD, WRAPUP = "interact", "hold", "wrapup"


@dataclass(frozen=True)
class GenesysOptions:
    tenant: str | None = None
    # none | ani (the customer session's caller number)
    customer_from: str = "none"
    channel_map: Mapping[str, str] | None = None
    # Queue id to the name reports should show (else the acd participant's name, else the id).
    queue_names: Mapping[str, str] | None = None
    capacity: int = DEFAULT_CAPACITY


class Span(NamedTuple):
    kind: str
    start: int
    end: int | None
    queue: str | None
    disconnect: str
    wrapup_code: str | None


class Visit(NamedTuple):
    """One ACD interact segment: the contact waiting in one queue."""

    queue_id: str
    queue: str
    media: str
    channel: str
    start: int
    end: int | None
    disconnect: str


class AgentSession(NamedTuple):
    agent: str
    media: str
    spans: list[Span]
    first_reply: int | None


class GenesysConverter:
    source = "genesys"
    options_type = GenesysOptions

    def __init__(self, **options: Any) -> None:
        self.options = opts = GenesysOptions(**options)
        if opts.customer_from not in ("none", "ani"):
            raise ValueError(f"customer_from {opts.customer_from!r}: expected none|ani")
        self.factory = EventFactory(self.source, opts.tenant)
        self.channels = checked_channel_map(GENESYS_CHANNELS, opts.channel_map)
        self.queue_names = dict(opts.queue_names or {})

    def convert(self, record: bytes) -> list[Event]:
        obj = json_object(record)
        conversations = obj.get("conversations")
        if isinstance(conversations, list):  # a whole query answer on one line
            events: list[Event] = []
            for conversation in conversations:
                if not isinstance(conversation, dict):
                    raise AdapterError("`conversations` holds something that is not an object")
                events += self._conversation(conversation)
            return events
        return self._conversation(obj)

    def _conversation(self, conversation: Mapping[str, Any]) -> list[Event]:
        conversation_id = text_or_none(conversation.get("conversationId"))
        if conversation_id is None:
            raise AdapterError("`conversationId` is missing")
        participants = conversation.get("participants")
        if not isinstance(participants, list):
            raise AdapterError("`participants` is missing")
        if str(conversation.get("originatingDirection") or "").lower() == "outbound":
            return []
        visits = sorted(self._visits(participants), key=lambda visit: visit.start)
        agents = list(self._agent_sessions(participants))
        customer = self._customer(participants)
        events: list[Event] = []
        used: set[int] = set()
        for index, visit in enumerate(visits):
            later = visits[index + 1 :]
            events += self._visit(conversation_id, visit, later, agents, used, customer)
        return in_time_order(events)

    # Reading the record ------------------------------------------------------------------

    def _visits(self, participants: Iterable[Any]) -> Iterable[Visit]:
        for participant in participants:
            if not isinstance(participant, dict) or participant.get("purpose") != "acd":
                continue
            name = text_or_none(participant.get("participantName"))
            for session in _sessions(participant):
                media = _media(session)
                for span in _spans(session):
                    if span.kind != TALK or span.queue is None:
                        continue
                    queue = self.queue_names.get(span.queue) or name or span.queue
                    yield Visit(
                        span.queue,
                        queue,
                        media,
                        self._channel(session, media),
                        span.start,
                        span.end,
                        span.disconnect,
                    )

    def _agent_sessions(self, participants: Iterable[Any]) -> Iterable[AgentSession]:
        for participant in participants:
            if not isinstance(participant, dict) or participant.get("purpose") not in (
                AGENT_PURPOSES
            ):
                continue
            agent = text_or_none(participant.get("userId"))
            if agent is None:
                raise AdapterError("an agent participant has no `userId`")
            for session in _sessions(participant):
                spans = _spans(session)
                if any(span.kind == TALK for span in spans):
                    yield AgentSession(agent, _media(session), spans, _first_reply(session))

    def _channel(self, session: Mapping[str, Any], media: str) -> str:
        if media == "message":
            message_type = text_or_none(session.get("messageType"))
            if message_type is None:
                raise AdapterError("a `message` session has no `messageType`")
            return channel_of(message_type, self.channels, "Genesys messageType")
        return channel_of(media, self.channels, "Genesys mediaType")

    def _customer(self, participants: Iterable[Any]) -> str | None:
        if self.options.customer_from != "ani":
            return None
        for participant in participants:
            if isinstance(participant, dict) and participant.get("purpose") in (
                "customer",
                "external",
            ):
                for session in _sessions(participant):
                    ani = text_or_none(session.get("ani"))
                    if ani is not None:
                        return customer_or_none(ani.removeprefix("tel:"))
        return None

    # One visit ---------------------------------------------------------------------------

    def _visit(
        self,
        conversation_id: str,
        visit: Visit,
        later: list[Visit],
        agents: list[AgentSession],
        used: set[int],
        customer: str | None,
    ) -> list[Event]:
        contact_id = f"{conversation_id}:callback" if visit.media == "callback" else conversation_id
        identity = (conversation_id, visit.queue_id, visit.start // 1000)
        common = {"contact_id": contact_id, "queue": visit.queue}
        make = self.factory.make
        events = [
            make(
                "contact.offered",
                identity,
                visit.start,
                **common,
                channel=visit.channel,
                customer_id=customer,
            )
        ]
        handled = _answering(visit, agents, used)
        if handled is not None:
            return events + self._handled(identity, common, visit, later, handled)
        if visit.end is None:
            return events  # still waiting
        if visit.disconnect.startswith("transfer"):
            to_queue = _next_queue(later, visit.end)
            events.append(
                make("contact.transferred", identity, visit.end, **common, to_queue=to_queue)
            )
        else:
            events.append(make("contact.abandoned", identity, visit.end, **common))
        return events

    def _handled(
        self,
        identity: tuple[Any, ...],
        common: Mapping[str, str],
        visit: Visit,
        later: list[Visit],
        session: AgentSession,
    ) -> list[Event]:
        make = self.factory.make
        spans = [span for span in session.spans if span.queue in (None, visit.queue_id)]
        talks = [span for span in spans if span.kind == TALK]
        handed_over = visit.end if visit.end is not None else talks[0].start
        answered = handed_over
        if session.media in REPLY_MEDIA and session.first_reply is not None:
            answered = max(session.first_reply, handed_over)
        agent = {"agent_id": session.agent}
        events = [make("contact.answered", identity, answered, **common, **agent)]
        busy = [span for span in spans if span.kind in (TALK, HOLD)]
        if any(span.end is None for span in busy):
            return events  # still talking
        ended = max(span.end for span in busy if span.end is not None)
        talk = sum(_length(span) for span in busy if span.kind == TALK)
        hold = sum(_length(span) for span in busy if span.kind == HOLD)
        events.append(
            make(
                "contact.ended",
                identity,
                ended,
                **common,
                **agent,
                talk_s=seconds(talk),
                hold_s=seconds(hold),
            )
        )
        last = max(busy, key=lambda span: (span.end or 0, span.start))
        if last.disconnect.startswith("transfer"):
            to_queue = _next_queue(later, ended)
            events.append(
                make("contact.transferred", identity, ended, **common, **agent, to_queue=to_queue)
            )
        for span in spans:
            if span.kind == WRAPUP and span.end is not None:
                events.append(
                    make(
                        "contact.wrapup_ended",
                        identity,
                        max(span.end, ended),
                        **common,
                        **agent,
                        acw_s=seconds(_length(span)),
                        disposition=span.wrapup_code,
                    )
                )
                break
        return events

    # Checkpoint: each record is a whole conversation, so there is nothing to pair ---------

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        pass

    def unresolved(self) -> list[str]:
        return []


def _answering(visit: Visit, agents: list[AgentSession], used: set[int]) -> AgentSession | None:
    """The agent session that took this visit: in its queue, talking after it began, the
    first such not already matched to an earlier visit."""
    best: tuple[int, int] | None = None
    for index, session in enumerate(agents):
        if index in used:
            continue
        starts = [
            span.start
            for span in session.spans
            if span.kind == TALK and span.queue == visit.queue_id and span.start >= visit.start
        ]
        if starts and (best is None or min(starts) < best[0]):
            best = (min(starts), index)
    if best is None:
        return None
    used.add(best[1])
    return agents[best[1]]


def _next_queue(later: list[Visit], since: int) -> str:
    for visit in later:
        if visit.start >= since - 1_000_000:  # the next visit starts as this one ends
            return visit.queue
    return "external"


def _sessions(participant: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sessions = participant.get("sessions") or []
    if not isinstance(sessions, list):
        raise AdapterError("`sessions` is not a list")
    return [session for session in sessions if isinstance(session, dict)]


def _media(session: Mapping[str, Any]) -> str:
    media = text_or_none(session.get("mediaType"))
    if media is None:
        raise AdapterError("a session has no `mediaType`")
    return media.lower()


def _spans(session: Mapping[str, Any]) -> list[Span]:
    spans = []
    for segment in session.get("segments") or []:
        if not isinstance(segment, dict):
            continue
        start = rfc3339_us(segment.get("segmentStart"), "`segmentStart`")
        end_text = segment.get("segmentEnd")
        end = None if end_text in (None, "") else rfc3339_us(end_text, "`segmentEnd`")
        if end is not None and end < start:
            raise AdapterError("a segment ends before it starts")
        spans.append(
            Span(
                str(segment.get("segmentType") or "").lower(),
                start,
                end,
                text_or_none(segment.get("queueId")),
                str(segment.get("disconnectType") or "").lower(),
                text_or_none(segment.get("wrapUpCode")),
            )
        )
    return sorted(spans, key=lambda span: span.start)


def _first_reply(session: Mapping[str, Any]) -> int | None:
    """When the agent first replied: the first `tAgentResponseTime` metric's `emitDate`."""
    replies = [
        rfc3339_us(metric.get("emitDate"), "`emitDate`")
        for metric in session.get("metrics") or []
        if isinstance(metric, dict) and metric.get("name") == "tAgentResponseTime"
    ]
    return min(replies, default=None)


def _length(span: Span) -> int:
    assert span.end is not None
    return span.end - span.start
