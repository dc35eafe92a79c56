"""Event time as integer microseconds since the UTC epoch.

Integers keep thresholds exact: a wait of exactly 20.000 s is 20_000_000 us and is within
a 20 s threshold with no float doubt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

ZoneLookup = Callable[[str], ZoneInfo]  # tenant -> its time zone

US_PER_S = 1_000_000
INTERVAL_US = 15 * 60 * US_PER_S
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def datetime_to_us(value: datetime) -> int:
    """Microseconds since the epoch of an offset-aware datetime."""
    return (value - _EPOCH) // _ONE_US


def day_start_us(day: date, zone: ZoneInfo) -> int:
    """The first instant of `day` in `zone`. fold=0 reads a midnight that a DST gap skips
    with the offset before the gap, which lands on the gap's end: the day's real first
    instant."""
    return datetime_to_us(datetime(day.year, day.month, day.day, tzinfo=zone))


def us_to_datetime(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def local_day_start_us(now_us: int, zone: ZoneInfo) -> int:
    """The first instant of the local date of `now_us` in `zone`.

    fold=0 reads a midnight that a DST gap skips with the offset before the gap, which lands
    on the gap's end: the day's real first instant.
    """
    local = us_to_datetime(now_us).astimezone(zone)
    return datetime_to_us(datetime(local.year, local.month, local.day, tzinfo=zone))


class LocalDays:
    """The first instant of the local day of a time in a tenant's zone, one zone conversion
    per tenant and quarter-hour: every zone's midnight is on a UTC quarter-hour, so a
    quarter-hour lies in one local day. A conversion per call was a sixth of an FCR owner's
    rebuild (two per fact)."""

    __slots__ = ("_days", "_zone_of")

    def __init__(self, zone_of: ZoneLookup) -> None:
        self._zone_of = zone_of
        self._days: dict[tuple[str, int], int] = {}

    def __call__(self, tenant: str, ts_us: int) -> int:
        quarter = ts_us - ts_us % INTERVAL_US
        day = self._days.get((tenant, quarter))
        if day is None:
            day = self._days[(tenant, quarter)] = local_day_start_us(quarter, self._zone_of(tenant))
        return day

    def forget_before(self, ts_us: int) -> None:
        """Drop the quarter-hours before `ts_us` (they are looked up again if asked)."""
        for key in [key for key in self._days if key[1] < ts_us]:
            del self._days[key]


def interval_start_us(ts_us: int) -> int:
    """Start of the 15-minute interval, aligned to the UTC epoch, that holds `ts_us`."""
    return ts_us - ts_us % INTERVAL_US


def format_utc(us: int) -> str:
    """RFC 3339 UTC with a `Z`; fractional seconds only when there are some.

    `2026-11-22T09:15:00Z`, `2026-11-22T09:00:03.250000Z`.
    """
    dt = us_to_datetime(us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_to_us(seconds: float) -> int:
    """A duration in seconds (JSON number) rounded to the microsecond."""
    return round(seconds * US_PER_S)


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 timestamp with offset into microseconds (for tools and tests)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return datetime_to_us(dt)
