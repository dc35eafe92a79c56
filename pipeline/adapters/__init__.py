"""Converters from contact-centre platforms' own formats to the v1 events of the contract.

`converter_for(name, **options)` is the one place that knows them all; `ccpipe convert` and
the worker's `--input-format` both call it. The mapping of each platform is written down in
docs/adapters.md.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pipeline.adapters.asterisk import AsteriskConverter
from pipeline.adapters.connect_ctr import ConnectCtrConverter
from pipeline.adapters.connect_events import ConnectEventsConverter
from pipeline.adapters.converter import AdapterError, Converter, Event
from pipeline.adapters.genesys import GenesysConverter
from pipeline.adapters.pairing import DEFAULT_CAPACITY
from pipeline.adapters.segment_ledger import LedgeredConverter
from pipeline.adapters.taskrouter import TaskRouterConverter

CONVERTERS: dict[str, type[Any]] = {
    "connect-events": ConnectEventsConverter,
    "connect-ctr": ConnectCtrConverter,
    "taskrouter": TaskRouterConverter,
    "asterisk": AsteriskConverter,
    "genesys": GenesysConverter,
}
FORMATS: tuple[str, ...] = tuple(CONVERTERS)


def converter_for(name: str, **options: Any) -> Converter:
    """A new converter for the format `name`, with its options (see each converter's module).

    Raises ValueError for an unknown format, an option the format does not take, or a bad
    option value.
    """
    try:
        cls = CONVERTERS[name]
    except KeyError:
        raise ValueError(f"unknown input format {name!r}: expected one of {FORMATS}") from None
    known = {option.name for option in fields(cls.options_type)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"{name} takes no option {', '.join(unknown)} (its options: {', '.join(sorted(known))})"
        )
    capacity = options.get("capacity", DEFAULT_CAPACITY)
    converter: Converter = LedgeredConverter(cls(**options), capacity)
    return converter


__all__ = ["FORMATS", "AdapterError", "Converter", "Event", "converter_for"]
