"""v1 event dicts with deterministic ids, built from the record's own identity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.adapters.converter import Event
from pipeline.core.clock import format_utc, parse_rfc3339


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
