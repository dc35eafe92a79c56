"""What every platform adapter is: a converter from one raw record to v1 event dicts.

A converter takes one record as the platform sends it (a JSON object, a form body, a
`queue_log` line), and returns the v1 events it means, in the order they happened. A record
that carries nothing the contract counts (an IVR-only contact, a ring that was not answered)
gives an empty list; a record the converter cannot read or map raises `AdapterError` with the
reason, for the dead-letter output. Nothing else is ever dropped.

Event ids are built from the record's own identity (platform, contact, queue, event, time),
never from a counter or a clock, so the same input converted twice gives the same ids and a
replay deduplicates downstream. Converters that must pair two records (a connect with its
queue entry, a transfer with the contact it became) keep that as small JSON-able state that
`state()` returns and `restore()` takes back, so a worker can checkpoint it with its offsets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from pipeline.core.clock import US_PER_S, format_utc, parse_rfc3339
from pipeline.core.events import AGENT_STATES, CHANNELS

Event = dict[str, Any]

# How many open pairings (contacts in flight, transfers waiting for their other half) a
# converter remembers. A contact centre has far fewer contacts in flight at once; the bound
# only keeps a converter fed with a never-ending stream from growing without end.
DEFAULT_CAPACITY = 200_000


class AdapterError(ValueError):
    """A record that cannot be converted, and why (the dead-letter reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class Converter(Protocol):
    """One platform's format to v1 events; see the module docstring for the rules."""

    source: str

    def convert(self, record: bytes) -> list[Event]:
        """The v1 events of one record; raises `AdapterError` when it cannot be mapped."""
        ...

    def state(self) -> dict[str, Any]:
        """The pairing state, JSON-able, for a checkpoint (empty for stateless converters)."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back a state that `state()` returned."""
        ...

    def unresolved(self) -> list[str]:
        """Pairings still waiting for their other record, described for the end of a file."""
        ...


class EventFactory:
    """Builds v1 event dicts with deterministic ids: `<source>:<identity parts>:<kind>`."""

    def __init__(self, source: str, tenant: str | None = None) -> None:
        self.source = source
        self.tenant = tenant

    def make(self, type_: str, identity: Iterable[object], ts_us: int, **fields: Any) -> Event:
        """One event; fields that are None are left out (the contract's optional fields)."""
        kind = type_.rsplit(".", 1)[1]
        event: Event = {
            "event_id": ":".join([self.source, *(str(part) for part in identity), kind]),
            "type": type_,
            "ts": format_utc(ts_us),
        }
        if self.tenant is not None:
            event["tenant"] = self.tenant
        for name, value in fields.items():
            if value is not None:
                event[name] = value
        return event


def in_time_order(events: list[Event]) -> list[Event]:
    """The events sorted by their time (stable: same-time events keep their order)."""
    events.sort(key=lambda event: parse_rfc3339(event["ts"]))
    return events


def seconds(us: int) -> int | float:
    """A duration in microseconds as JSON seconds: an integer when it is whole."""
    whole, rest = divmod(us, US_PER_S)
    return whole if rest == 0 else us / US_PER_S


def rfc3339_us(value: object, what: str) -> int:
    """An RFC 3339 timestamp (the form AWS and Twilio write) in microseconds."""
    if not isinstance(value, str):
        raise AdapterError(f"{what}: expected an RFC 3339 timestamp, got {value!r}")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise AdapterError(f"{what}: {value!r} is not an RFC 3339 timestamp") from None


def epoch_us(value: object, what: str, unit_us: int = US_PER_S) -> int:
    """Epoch seconds (or another unit), integer or decimal, as exact microseconds."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdapterError(f"{what}: {value!r} is not an epoch time") from None
    if not number.is_finite() or number < 0:
        raise AdapterError(f"{what}: {value!r} is not an epoch time")
    return int(number * unit_us)


def duration_us(value: object, what: str) -> int:
    """A non-negative duration in whole or decimal seconds, as microseconds."""
    if isinstance(value, bool) or value is None:
        raise AdapterError(f"{what}: expected a number of seconds, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdapterError(f"{what}: {value!r} is not a number of seconds") from None
    if not number.is_finite() or number < 0:
        raise AdapterError(f"{what}: {value!r} is not a duration")
    return int(number * US_PER_S)


def channel_of(name: str, channel_map: Mapping[str, str], what: str) -> str:
    """A platform channel name through the converter's map (case-insensitive) to a v1 one."""
    mapped = channel_map.get(name.lower())
    if mapped is None:
        known = ", ".join(sorted(channel_map))
        raise AdapterError(
            f"{what} {name!r} has no v1 channel (known: {known}); map it with "
            f"--channel-map {name}=<{'|'.join(CHANNELS)}>"
        )
    return mapped


def checked_channel_map(
    defaults: Mapping[str, str], extra: Mapping[str, str] | None
) -> dict[str, str]:
    """The defaults with the user's entries on top; keys lower-cased, values checked."""
    merged = {key.lower(): value for key, value in defaults.items()}
    for key, value in (extra or {}).items():
        if value not in CHANNELS:
            raise ValueError(f"channel map {key}={value}: {value!r} is not one of {CHANNELS}")
        merged[key.lower()] = value
    return merged


def checked_state_map(
    defaults: Mapping[str, str], extra: Mapping[str, str] | None
) -> dict[str, str]:
    """Agent activity/state names to v1 agent states; keys lower-cased, values checked."""
    merged = {key.lower(): value for key, value in defaults.items()}
    for key, value in (extra or {}).items():
        if value not in AGENT_STATES:
            raise ValueError(f"state map {key}={value}: {value!r} is not one of {AGENT_STATES}")
        merged[key.lower()] = value
    return merged


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """`NAME=VALUE` command-line items to a dict (the last one of a name wins)."""
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{what}: {item!r} is not NAME=VALUE")
        pairs[name] = value
    return pairs


def attribute_path(spec: str, option: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    """Parse `none`, one of `allowed`, or `attribute:a.b.c`; returns the path or (word,)."""
    if spec == "none":
        return None
    if spec in allowed:
        return (spec,)
    prefix, sep, path = spec.partition(":")
    if prefix == "attribute" and sep and path:
        return ("attribute", *path.split("."))
    choices = "|".join(("none", *allowed, "attribute:NAME"))
    raise ValueError(f"{option} {spec!r}: expected {choices}")


def dig(obj: object, path: Iterable[str]) -> object:
    """Follow keys through nested dicts; None where one is missing."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def text_or_none(value: object) -> str | None:
    """A non-empty string form of an identifier, or None."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


# Caller ids that name no one: as a customer id they would make every withheld caller one
# customer, and each of their calls a repeat of the others (FCR).
WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable"})


def customer_or_none(value: object) -> str | None:
    """A customer id read from the record, or None when it is absent or withheld."""
    customer = text_or_none(value)
    if customer is None or customer.lower() in WITHHELD:
        return None
    return customer


class BoundedMap:
    """An insertion-ordered dict that forgets its oldest entries past `capacity`.

    Pairing state for a stream: a contact whose other half never comes must not be kept
    forever. `items` is JSON-able as it stands (keys are strings, values lists or scalars).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.forgotten = 0

    def put(self, key: str, value: Any) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)
            self.forgotten += 1

    def get(self, key: str) -> Any:
        return self.items.get(key)

    def pop(self, key: str) -> Any:
        return self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)

    def dump(self) -> list[list[Any]]:
        return [[key, value] for key, value in self.items.items()]

    def load(self, rows: Iterable[Iterable[Any]]) -> None:
        self.items.clear()
        for key, value in rows:
            self.put(str(key), value)
