"""What every platform adapter is: a converter from one raw record to v1 event dicts.

A converter takes one record as the platform sends it (a JSON object, a form body, a
`queue_log` line), and returns the v1 events it means, in the order they happened. A record
that carries nothing the contract counts (an IVR-only contact, a ring that was not answered)
gives an empty list; a record the converter cannot read or map raises `AdapterError` with the
reason, for the dead-letter output. Nothing else is ever dropped.

Event ids are built from the record's own identity (platform, contact, queue, event, time),
never from a counter or a clock, so the same input converted twice gives the same ids and a
replay deduplicates downstream (`event_factory`). Converters that must pair two records (a
connect with its queue entry, a transfer with the contact it became) keep that as small
JSON-able state that `state()` returns and `restore()` takes back, so a worker can checkpoint
it with its offsets (`pairing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

Event = dict[str, Any]


class AdapterError(ValueError):
    """A record that cannot be converted, and why (the dead-letter reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class PlatformConverter(Protocol):
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


@runtime_checkable
class Converter(PlatformConverter, Protocol):
    """What `converter_for` gives: a platform converter with its segment ledger."""

    def open_segments(self) -> list[str]:
        """Segments offered and not yet closed (answered and ended, abandoned or
        transferred), described for the end of a file (`segment_ledger`)."""
        ...
