"""One input record to keyed v1 events, or the reasons it is dead-lettered.

A reader takes the record as it came (a v1 event or batch, or a platform's own record) and
hands each valid event to `emit(key, event_json)`, the contract key first; it returns the
reasons for what it could not take (empty when all was well). Every event is checked against
the contract before it leaves: a v1 producer's mistake, or a converter's bug, is a dead
letter, never bad output.

v1 single events, the hot path, leave as the bytes that came: decoding validates them and
yields the key; nothing is encoded again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import orjson

from pipeline.adapters import AdapterError, Converter
from pipeline.core.events import (
    AnyEvent,
    Rejection,
    decode_event,
    decode_message,
    encode_event,
    event_key,
    reason_kind,
)

Emit = Callable[[bytes, bytes], None]
CONVERTED_INVALID = "converted event is not valid v1"
NONE: tuple[str, ...] = ()


class Reader(Protocol):
    """Reads the records of one input partition; stateful readers pair records."""

    stateful: bool

    def read(self, record: bytes, emit: Emit) -> Sequence[str]: ...

    def kind(self, reason: str) -> str:
        """A bounded label for a reason (the dead-letter metric's)."""
        ...

    def state(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...


class V1Reader:
    """v1 events as the contract has them: one object, or a batch, per record."""

    stateful = False

    def read(self, record: bytes, emit: Emit) -> Sequence[str]:
        if record[:1] != b"{" and record.lstrip()[:1] == b"[":
            events, rejections = decode_message(record)
            for event in events:
                emit(event_key(event).encode(), encode_event(event))
            return [rejection.reason for rejection in rejections]
        result = decode_event(record)
        if isinstance(result, Rejection):
            return (result.reason,)
        emit(getattr(result, result.KEY_FIELD).encode(), record)
        return NONE

    def kind(self, reason: str) -> str:
        return reason_kind(reason)

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        pass


def checked_events(
    converter: Converter, record: bytes
) -> tuple[list[tuple[AnyEvent, bytes]], list[str]]:
    """The converter's events for `record`, each checked against the contract, with its JSON;
    and the reasons for what was refused. Raises AdapterError for a record it cannot map."""
    events = []
    reasons = []
    for event in converter.convert(record):
        encoded = orjson.dumps(event)
        checked = decode_event(encoded)
        if isinstance(checked, Rejection):
            reasons.append(f"{CONVERTED_INVALID}: {checked.reason}")
            continue
        events.append((checked, encoded))
    return events, reasons


class PlatformReader:
    """A platform's records through its converter (pipeline/adapters), which pairs records:
    its state is the partition's, saved with the offsets (state.py)."""

    stateful = True

    def __init__(self, converter: Converter) -> None:
        self.converter = converter

    def read(self, record: bytes, emit: Emit) -> Sequence[str]:
        try:
            events, reasons = checked_events(self.converter, record.rstrip(b"\r\n"))
        except AdapterError as exc:
            return (exc.reason,)
        for event, encoded in events:
            emit(event_key(event).encode(), encoded)
        return reasons

    def kind(self, reason: str) -> str:
        if reason.startswith(CONVERTED_INVALID):
            return "converted_invalid"
        if reason.startswith("not JSON"):
            return "not_json"
        return "unmapped"

    def state(self) -> dict[str, Any]:
        return self.converter.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        self.converter.restore(state)


def reader_factory(fmt: str, options: Mapping[str, Any]) -> Callable[[], Reader]:
    """New readers for the input format: `v1`, or a converter's name with its options.
    Raises ValueError for an unknown format or option (at once, not at the first record)."""
    if fmt == "v1":
        if options:
            raise ValueError(f"v1 input takes no converter option ({', '.join(sorted(options))})")
        return V1Reader
    from pipeline.adapters import converter_for

    converter_for(fmt, **options)

    def make() -> Reader:
        return PlatformReader(converter_for(fmt, **options))

    return make
