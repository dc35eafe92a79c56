"""Reading a platform's record: a JSON object, nested fields, identifiers, customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from pipeline.adapters.converter import AdapterError

# Caller ids that name no one: as a customer id they would make every withheld caller one
# customer, and each of their calls a repeat of the others (FCR).
WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable"})


def json_object(record: bytes) -> dict[str, Any]:
    """The record as a JSON object; AdapterError when it is not JSON or not an object."""
    try:
        obj = orjson.loads(record)
    except orjson.JSONDecodeError as exc:
        raise AdapterError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise AdapterError("not a JSON object")
    return obj


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


def customer_or_none(value: object) -> str | None:
    """A customer id read from the record, or None when it is absent or withheld."""
    customer = text_or_none(value)
    if customer is None or customer.lower() in WITHHELD:
        return None
    return customer
