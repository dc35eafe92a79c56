"""`ccpipe check`: proof, for a range, that the figures agree wherever they are shown.

Three checks, each listing what differs (an empty list is the proof):

- the stream's interval rows equal the same intervals counted in SQL from the stored
  segments (the `kpi_reconciliation` view, every count);
- the intervals add up to the day: per local day, the sum of the day's interval rows equals
  the day counted in one piece from its segments (`day_sql`);
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
from pipeline.store.base import quote_string

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


# The counts a segment adds one of, and how `segment_facts` counts each over a day.
_DAY_COUNTS: dict[str, str] = {
    "offered": "count()",
    "answered": "sum(is_answered)",
    "abandoned": "sum(is_abandoned)",
    "short_abandoned": "sum(is_short_abandoned)",
    "answered_within_sl": "sum(within_sl)",
    "abandoned_within_sl": "sum(abandoned_within_sl)",
    "handled": "sum(is_handled)",
    "transferred": "sum(transferred)",
}


def day_sql(zone: str, queue: str | None) -> str:
    """Per local day in `zone` of the range, the sum of the day's stream interval rows against
    the day counted in one piece from its segments (offered that day); only days that differ.
    The zone is a constant of the query: ClickHouse 23.x refuses a parameter as a time zone."""
    tz = quote_string(zone)
    own = " AND queue = {queue:String}" if queue is not None else ""
    day_range = (
        f"day >= toDate(fromUnixTimestamp64Micro({{from_us:Int64}}), {tz}) "
        f"AND day < toDate(fromUnixTimestamp64Micro({{to_us:Int64}}), {tz}){own}"
    )
    summed = ", ".join(f"sum({c}) AS {c}" for c in _DAY_COUNTS)
    counted = ", ".join(f"toInt64({e}) AS {c}" for c, e in _DAY_COUNTS.items())
    differs = ", ".join(f"if(i.{c} != d.{c}, '{c}', '')" for c in _DAY_COUNTS)
    return (
        "SELECT tenant, queue, channel, day, i.in_intervals, d.in_segments, "
        f"arrayFilter(x -> x != '', [{differs}]) AS differences FROM "
        f"(SELECT tenant, queue, channel, toDate(interval_start, {tz}) AS day, "
        f"toUInt8(1) AS in_intervals, {summed} FROM kpi_intervals_merged "
        f"GROUP BY tenant, queue, channel, day HAVING {day_range}) AS i "
        f"FULL OUTER JOIN (SELECT tenant, queue, channel, toDate(offered_ts, {tz}) AS day, "
        f"toUInt8(1) AS in_segments, {counted} FROM segment_facts "
        f"GROUP BY tenant, queue, channel, day HAVING {day_range}) AS d "
        "USING (tenant, queue, channel, day) "
        "WHERE in_intervals = 0 OR in_segments = 0 OR notEmpty(differences) "
        "ORDER BY tenant, queue, channel, day"
    )


def day_differences(store: Store, scope: Scope, zones: Iterable[str]) -> list[Difference]:
    """The intervals of each local day (in each of the tenants' `zones`) against the day."""
    found = []
    for zone in sorted(set(zones)):
        rows = store.query(day_sql(zone, scope.queue), scope.params()).rows
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
