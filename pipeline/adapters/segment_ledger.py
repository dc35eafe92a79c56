"""Which segments a converter has opened and not yet closed, kept for every converter alike.

A segment (contact, queue) is opened by its `contact.offered` and closed by its
`contact.abandoned`, `contact.transferred` or `contact.ended`. A converter closes each segment
it opens from the same record or a later record of the same contact; when a later record
never comes (a file cut short, a record lost, a platform that does not say), the segment
would wait for ever on a live board. The ledger makes that visible: `open_segments()` names
each one, `ccpipe convert` counts them and writes them to the dead letters. A closing event
seen before its offer (platforms deliver out of order) is remembered, so the offer does not
open what is already closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.adapters.converter import Event, PlatformConverter
from pipeline.adapters.pairing import DEFAULT_CAPACITY, PairingState

CLOSING = frozenset({"contact.abandoned", "contact.transferred", "contact.ended"})
# Names of the ledger's maps in a converter's checkpoint (beside the converter's own).
OPEN, CLOSED = "ledger_open", "ledger_closed"


class SegmentLedger:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.pairs = PairingState(capacity, OPEN, CLOSED)
        # segment key -> [contact_id, queue, offered ts]
        self.open = self.pairs[OPEN]
        # segment key -> 1
        self.closed = self.pairs[CLOSED]

    def record(self, events: list[Event]) -> None:
        for event in events:
            kind = event["type"]
            if kind != "contact.offered" and kind not in CLOSING:
                continue
            key = f"{event.get('tenant', '')}\x1f{event['contact_id']}\x1f{event['queue']}"
            if kind in CLOSING:
                self.open.pop(key)
                self.closed.put(key, 1)
            elif self.closed.get(key) is None:
                self.open.put(key, [event["contact_id"], event["queue"], event["ts"]])

    def notes(self) -> list[str]:
        return [
            f"contact {contact} offered in queue {queue} at {ts} was never closed: no "
            "answer and end, abandon or transfer came"
            for contact, queue, ts in self.open.items.values()
        ]


class LedgeredConverter:
    """A converter with its segment ledger: the same events, and `open_segments()`."""

    def __init__(self, inner: PlatformConverter, capacity: int = DEFAULT_CAPACITY) -> None:
        self.inner = inner
        self.source = inner.source
        self.ledger = SegmentLedger(capacity)

    def convert(self, record: bytes) -> list[Event]:
        events = self.inner.convert(record)
        self.ledger.record(events)
        return events

    def state(self) -> dict[str, Any]:
        return {**self.inner.state(), **self.ledger.pairs.state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.inner.restore({k: v for k, v in state.items() if k not in (OPEN, CLOSED)})
        self.ledger.pairs.restore(state)

    def unresolved(self) -> list[str]:
        return self.inner.unresolved()

    def open_segments(self) -> list[str]:
        return self.ledger.notes()
