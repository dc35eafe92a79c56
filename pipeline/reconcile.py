"""`ccpipe check`: proof, for a range, that the figures agree wherever they are shown.

Three checks, each listing what differs (an empty list is the proof):

- the stream's interval rows equal the same intervals counted in SQL from the stored
  segments (the `kpi_reconciliation` view, every count);
- the intervals add up to the day: per local day, the sum of the day's interval rows equals
  the day counted in one piece from its segments (`kpi_day_reconciliation`);
- the live "today" equals the day's intervals: each queue's and channel's live `today`
  counts (the whole centre's view, `pipeline.liveview`) equal the sum of that day's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.core.clock import ZoneLookup, format_utc, us_to_datetime
from pipeline.core.intervals import COUNT_FIELDS, MAX_WAIT_INDEX
from pipeline.core.live import TODAY, QueueFigures
from pipeline.recompute import Scope
from pipeline.store import Store

# The counts the live board keeps per segment (FCR is judged by its own tracker, not per day;
# the longest wait is a max, not a sum).
_LIVE_COUNTS = tuple(
    i for i, name in enumerate(COUNT_FIELDS) if i != MAX_WAIT_INDEX and not name.startswith("fcr_")
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One row that does not agree: which check, which row, and what differs."""

    check: str
    row: str
    what: str

    def __str__(self) -> str:
        return f"{self.check}: {self.row}: {self.what}"


def interval_differences(store: Store, scope: Scope) -> list[Difference]:
    """Stream rows against the SQL view over the stored segments, interval by interval."""
    rows = store.query(
        "SELECT tenant, queue, channel, toUnixTimestamp64Micro(interval_start), in_stream, "
        f"in_segments, differences FROM kpi_reconciliation WHERE {scope.where()} "
        "ORDER BY tenant, queue, channel, interval_start",
        scope.params(),
    ).rows
    return [
        Difference(
            "stream = segments",
            f"{tenant}/{queue}/{channel} {format_utc(start)}",
            _what(in_stream, in_segments, "stream", "segments", differences),
        )
        for tenant, queue, channel, start, in_stream, in_segments, differences in rows
    ]


def day_differences(store: Store, scope: Scope, zones: Iterable[str]) -> list[Difference]:
    """The intervals of each local day (in each of the tenants' `zones`) against the day."""
    found = []
    for zone in sorted(set(zones)):
        rows = store.query(
            "SELECT tenant, queue, channel, day, in_intervals, in_segments, differences "
            "FROM kpi_day_reconciliation(timezone = {timezone:String}) "
            "WHERE day >= toDate(fromUnixTimestamp64Micro({from_us:Int64}), {timezone:String}) "
            "AND day < toDate(fromUnixTimestamp64Micro({to_us:Int64}), {timezone:String})"
            + (" AND queue = {queue:String}" if scope.queue is not None else "")
            + " ORDER BY tenant, queue, channel, day",
            {**scope.params(), "timezone": zone},
        ).rows
        found += [
            Difference(
                "intervals = day",
                f"{tenant}/{queue}/{channel} {day.isoformat()} ({zone})",
                _what(in_intervals, in_segments, "intervals", "segments", differences),
            )
            for tenant, queue, channel, day, in_intervals, in_segments, differences in rows
        ]
    return found


def live_differences(
    store: Store, live: Sequence[QueueFigures], now_us: int, zone_of: ZoneLookup
) -> list[Difference]:
    """Each live channel tile's `today` counts against the sum of that local day's interval
    rows in the store (tiles without a channel are sums of these)."""
    found = []
    for tile in live:
        if tile.channel is None:
            continue
        zone = zone_of(tile.tenant)
        day: date = us_to_datetime(now_us).astimezone(zone).date()
        columns = ", ".join(f"sum({COUNT_FIELDS[i]})" for i in _LIVE_COUNTS)
        stored = store.query(
            f"SELECT {columns} FROM kpi_intervals_merged WHERE tenant = {{tenant:String}} "
            "AND queue = {queue:String} AND channel = {channel:String} "
            "AND toDate(interval_start, {timezone:String}) = {day:Date}",
            {
                "tenant": tile.tenant,
                "queue": tile.queue,
                "channel": tile.channel,
                "timezone": str(zone),
                "day": day.isoformat(),
            },
        ).rows[0]
        counts = tile.windows[TODAY].counts
        differing = [
            f"{COUNT_FIELDS[i]} live {counts[i]} intervals {int(value or 0)}"
            for i, value in zip(_LIVE_COUNTS, stored, strict=True)
            if counts[i] != int(value or 0)
        ]
        if differing:
            found.append(
                Difference(
                    "live today = intervals",
                    f"{tile.tenant}/{tile.queue}/{tile.channel} {day.isoformat()}",
                    ", ".join(differing),
                )
            )
    return found


def _what(here: int, there: int, here_name: str, there_name: str, fields: list[str]) -> str:
    if not here:
        return f"only in {there_name}"
    if not there:
        return f"only in {here_name}"
    return "differs in " + ", ".join(fields)
