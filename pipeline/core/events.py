"""The v1 event contract as msgspec structs, and the decoder for Kafka messages and lines.

msgspec validates types, enums, ranges and required fields in C while it parses, which is
what makes decode+validate run at several hundred thousand events/s on one core. The JSON
Schemas in `schemas/` describe the same contract for other languages; a test keeps the two
in agreement on every example.

A message is one JSON object or a JSON array of objects (a batch). Each event of a batch is
judged alone; a message that is not JSON, or an array holding anything but objects, is
rejected whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec

from pipeline.core.clock import datetime_to_us, seconds_to_us

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
Channel = Literal["voice", "chat", "email", "sms", "social", "callback"]
AgentStateName = Literal["available", "busy", "acw", "away", "offline"]
CHANNELS: tuple[str, ...] = ("voice", "chat", "email", "sms", "social", "callback")
AGENT_STATES: tuple[str, ...] = ("available", "busy", "acw", "away", "offline")

# RFC 3339 date-time with a mandatory offset and at most microsecond precision. The calendar
# (no 30 February) is checked by datetime.fromisoformat after the shape matches.
_TS_SHAPE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


# gc=False: an event holds only strings, numbers and a list of strings, so it can never be
# part of a reference cycle. Untracked structs skip the collector's 16-byte header and are
# quicker to make (decode+validate ~10% faster, bench.core); segments keep their outcome
# events and agent boards their latest states.
class Event(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    """Fields every event has. `ts_us` is derived from `ts` on decode, never read from input."""

    event_id: NonEmpty
    ts: str
    tenant: NonEmpty = "default"
    # Renamed to a key no producer sends; __post_init__ overwrites it in any case.
    ts_us: int = msgspec.field(default=0, name="$ts_us")

    KEY_FIELD: ClassVar[str] = "contact_id"

    def __post_init__(self) -> None:
        ts = self.ts
        if _TS_SHAPE.fullmatch(ts) is None:
            raise ValueError(
                f"`ts`: {ts[:40]!r} is not an RFC 3339 timestamp with an offset "
                "and at most 6 fractional digits"
            )
        try:
            parsed = datetime.fromisoformat(ts.upper())
        except ValueError as exc:
            raise ValueError(f"`ts`: {ts!r} is not a valid date and time ({exc})") from None
        self.ts_us = datetime_to_us(parsed)


class ContactEvent(Event, kw_only=True):
    contact_id: NonEmpty
    queue: NonEmpty


class Offered(ContactEvent, tag="contact.offered", kw_only=True):
    channel: Channel
    customer_id: NonEmpty | None = None
    reason: str | None = None


class Answered(ContactEvent, tag="contact.answered", kw_only=True):
    agent_id: NonEmpty


class Abandoned(ContactEvent, tag="contact.abandoned", kw_only=True):
    pass


class Transferred(ContactEvent, tag="contact.transferred", kw_only=True):
    to_queue: NonEmpty
    agent_id: NonEmpty | None = None


class Ended(ContactEvent, tag="contact.ended", kw_only=True):
    agent_id: NonEmpty
    talk_s: Seconds
    hold_s: Seconds = 0.0
    talk_us: int = msgspec.field(default=0, name="$talk_us")
    hold_us: int = msgspec.field(default=0, name="$hold_us")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.talk_us = seconds_to_us(self.talk_s)
        self.hold_us = seconds_to_us(self.hold_s)


class WrapupEnded(ContactEvent, tag="contact.wrapup_ended", kw_only=True):
    agent_id: NonEmpty
    acw_s: Seconds
    resolved: bool | None = None
    disposition: str | None = None
    acw_us: int = msgspec.field(default=0, name="$acw_us")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.acw_us = seconds_to_us(self.acw_s)


class Survey(ContactEvent, tag="survey.response", kw_only=True):
    csat: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    nps: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.csat is None and self.nps is None:
            raise ValueError("`csat`/`nps`: a survey.response needs at least one of csat, nps")


class AgentState(Event, tag="agent.state", kw_only=True):
    agent_id: NonEmpty
    state: AgentStateName
    queues: list[NonEmpty] | None = None
    # Optional v1 fields (docs/events.md): why an agent is away (a break, training...), the
    # team the agent belongs to (wallboard filters), and how many contacts the agent can
    # handle at once (chat, email), for occupancy.
    reason: NonEmpty | None = None
    team: NonEmpty | None = None
    capacity: Annotated[int, msgspec.Meta(ge=1)] | None = None

    KEY_FIELD: ClassVar[str] = "agent_id"


AnyEvent = Offered | Answered | Abandoned | Transferred | Ended | WrapupEnded | Survey | AgentState
EVENT_TYPES: tuple[type[Event], ...] = (
    Offered,
    Answered,
    Abandoned,
    Transferred,
    Ended,
    WrapupEnded,
    Survey,
    AgentState,
)
TYPE_NAMES: tuple[str, ...] = tuple(str(cls.__struct_config__.tag) for cls in EVENT_TYPES)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input that is not processed: the original bytes and why, for the dead-letter output."""

    reason: str
    raw: bytes


_one = msgspec.json.Decoder(AnyEvent)
_many = msgspec.json.Decoder(list[AnyEvent])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_AT = re.compile(r" - at `\$(?:\[\d+\])?\.?([^`]*)`$")


def _reason(exc: msgspec.ValidationError) -> str:
    """msgspec says "Expected `int` <= 5 - at `$.csat`"; we say "`csat`: expected `int` <= 5"."""
    text = str(exc)
    match = _AT.search(text)
    if match is None:
        return text
    field = match.group(1) or "(event)"
    message = text[: match.start()]
    return f"`{field}`: {message[:1].lower()}{message[1:]}"


def decode_event(data: bytes | msgspec.Raw) -> AnyEvent | Rejection:
    """One JSON object to an event, or the reason it is rejected."""
    try:
        return _one.decode(data)
    except msgspec.ValidationError as exc:
        return Rejection(_reason(exc), bytes(data))
    except msgspec.DecodeError as exc:
        return Rejection(f"not JSON: {exc}", bytes(data))


def decode_message(data: bytes) -> tuple[list[AnyEvent], list[Rejection]]:
    """A Kafka message or a file line: one event, or a batch judged event by event."""
    start = data.lstrip()[:1]
    if start != b"[":
        result = decode_event(data)
        if isinstance(result, Rejection):
            return [], [result]
        return [result], []
    try:
        # Fast path: a whole valid batch decodes in one call.
        return _many.decode(data), []
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:
        items = _raw_list.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return [], [Rejection(f"not JSON: {exc}", data)]
    for index, item in enumerate(items):
        if bytes(item).lstrip()[:1] != b"{":
            return [], [Rejection(f"batch item {index} is not a JSON object", data)]
    events: list[AnyEvent] = []
    rejections: list[Rejection] = []
    for item in items:
        result = decode_event(item)
        if isinstance(result, Rejection):
            rejections.append(result)
        else:
            events.append(result)
    return events, rejections


def reason_kind(reason: str) -> str:
    """A bounded label for a rejection reason: the field it names, or its class."""
    if reason.startswith("not JSON"):
        return "not_json"
    if reason.startswith("batch item"):
        return "bad_batch"
    if reason.startswith("too late"):
        return "too_late"
    if reason.startswith("`") and "`" in reason[1:]:
        return "field:" + reason[1 : reason.index("`", 1)].split("[")[0]
    if "missing required field" in reason:
        return "missing_field"
    return "other"


def event_key(event: Event) -> str:
    """The contract's Kafka key: contact_id for contact and survey events, agent_id for agents."""
    return str(getattr(event, event.KEY_FIELD))


_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> bytes:
    """The event as contract JSON (derived microsecond fields left out)."""
    raw = msgspec.to_builtins(event)
    return _encoder.encode({k: v for k, v in raw.items() if not k.startswith("$")})
