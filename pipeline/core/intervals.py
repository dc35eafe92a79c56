"""Interval state: mergeable counts and sums per (tenant, queue, channel, interval).

Two partial states of one interval (from two partitions, or two stages) add up to the
state over all their events; every rate is computed at read time by `report_row`, so the
stream, the offline report and the SQL view share one formula. Divisions are written as a
single int/int division: Python and ClickHouse both round that once, correctly, so the three
implementations agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from pipeline.core.clock import US_PER_S, format_utc


class IntervalKey(NamedTuple):
    tenant: str
    queue: str
    channel: str
    interval_start_us: int


# The mergeable counts, in the order they are stored and published. `max_wait_us` merges by
# max (-1 = no answered or abandoned segment); every other field merges by sum.
COUNT_FIELDS: tuple[str, ...] = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_sl",
    "wait_answered_sum_us",
    "max_wait_us",
    "handled",
    "handle_sum_us",
    "transferred",
    "fcr_eligible",
    "fcr_resolved",
    "fcr_pending",
    "csat_responses",
    "csat_good",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
)
MAX_WAIT_INDEX = COUNT_FIELDS.index("max_wait_us")
N_COUNTS = len(COUNT_FIELDS)
NO_WAIT = -1

# The report's columns, exactly the contract's field names, in the order `ccpipe kpis` prints.
REPORT_FIELDS: tuple[str, ...] = (
    "tenant",
    "queue",
    "channel",
    "interval_start",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_sl",
    "service_level",
    "asa_s",
    "max_wait_s",
    "abandon_rate",
    "response_rate",
    "handled",
    "aht_s",
    "transferred",
    "transfer_rate",
    "fcr_eligible",
    "fcr_resolved",
    "fcr_rate",
    "fcr_pending",
    "csat_responses",
    "csat",
    "nps_responses",
    "nps",
)


def zero_counts() -> list[int]:
    counts = [0] * N_COUNTS
    counts[MAX_WAIT_INDEX] = NO_WAIT
    return counts


def merge_counts(parts: Iterable[Sequence[int]]) -> list[int]:
    """Combine partial states of one interval into the state over all their events."""
    total = zero_counts()
    for part in parts:
        for i, value in enumerate(part):
            if i == MAX_WAIT_INDEX:
                if value > total[i]:
                    total[i] = value
            else:
                total[i] += value
    return total


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def report_row(key: IntervalKey, counts: Sequence[int]) -> dict[str, Any]:
    """The contract's KPI row for one interval, rates computed from the counts."""
    c = dict(zip(COUNT_FIELDS, counts, strict=True))
    answered = c["answered"]
    abandoned = c["abandoned"]
    handled = c["handled"]
    max_wait = c["max_wait_us"]
    return {
        "tenant": key.tenant,
        "queue": key.queue,
        "channel": key.channel,
        "interval_start": format_utc(key.interval_start_us),
        "offered": c["offered"],
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": c["short_abandoned"],
        "answered_within_sl": c["answered_within_sl"],
        "service_level": _ratio(c["answered_within_sl"], answered + abandoned),
        "asa_s": _ratio(c["wait_answered_sum_us"], answered * US_PER_S),
        "max_wait_s": max_wait / US_PER_S if max_wait != NO_WAIT else None,
        "abandon_rate": _ratio(abandoned, c["offered"] - c["short_abandoned"]),
        "response_rate": _ratio(answered, c["offered"]),
        "handled": handled,
        "aht_s": _ratio(c["handle_sum_us"], handled * US_PER_S),
        "transferred": c["transferred"],
        "transfer_rate": _ratio(c["transferred"], answered),
        "fcr_eligible": c["fcr_eligible"],
        "fcr_resolved": c["fcr_resolved"],
        "fcr_rate": _ratio(c["fcr_resolved"], c["fcr_eligible"]),
        "fcr_pending": c["fcr_pending"],
        "csat_responses": c["csat_responses"],
        "csat": _ratio(c["csat_good"], c["csat_responses"]),
        "nps_responses": c["nps_responses"],
        "nps": _ratio(100 * (c["nps_promoters"] - c["nps_detractors"]), c["nps_responses"]),
    }


def published_row(key: IntervalKey, counts: Sequence[int]) -> dict[str, Any]:
    """An interval's full state as the stream publishes it: the report row, then the counts
    and sums that are not already report fields (so a consumer can merge or recompute)."""
    row = report_row(key, counts)
    for name, value in zip(COUNT_FIELDS, counts, strict=True):
        if name not in row:
            row[name] = value
    return row
