"""Times and durations as platforms write them, read into the contract's microseconds."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pipeline.adapters.converter import AdapterError
from pipeline.core.clock import US_PER_S, parse_rfc3339


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
    number = _decimal(value)
    if number is None or not number.is_finite() or number < 0:
        raise AdapterError(f"{what}: {value!r} is not an epoch time")
    return int(number * unit_us)


def duration_us(value: object, what: str) -> int:
    """A non-negative duration in whole or decimal seconds, as microseconds."""
    if isinstance(value, bool) or value is None:
        raise AdapterError(f"{what}: expected a number of seconds, got {value!r}")
    number = _decimal(value)
    if number is None:
        raise AdapterError(f"{what}: {value!r} is not a number of seconds")
    if not number.is_finite() or number < 0:
        raise AdapterError(f"{what}: {value!r} is not a duration")
    return int(number * US_PER_S)


def _decimal(value: object) -> Decimal | None:
    """`value` (a number or its text) read exactly, as a decimal; None when it is neither."""
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None
