"""Interval state: mergeable counts and sums per (tenant, queue, channel, interval).

Two partial states of one interval (from two partitions, or two stages) add up to the
state over all their events; every rate is computed at read time by `report_row`, from the
KPIs of core/catalogue.py, so the stream, the offline report and the live board share one
formula (the SQL view is checked against the same catalogue). Each KPI is a single int/int
division: Python and ClickHouse both round that once, correctly, so the implementations
agree to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from pipeline.core.catalogue import KPIS
from pipeline.core.clock import format_utc


class IntervalKey(NamedTuple):
    tenant: str
    queue: str
    channel: str
    interval_start_us: int


# The mergeable counts, in the order they are stored and published. `max_wait_us` merges by
# max (-1 = no answered or abandoned segment); every other field merges by sum. A new count
# goes last: a vector published or kept by an older version is then a prefix of the new one.
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
    # Waits of every abandoned segment, short abandons included: with the answered waits and
    # those still waiting, the time customers were exposed to abandoning (live staffing's
    # patience estimate, docs/staffing.md).
    "wait_abandoned_sum_us",
    "abandoned_within_sl",
)
MAX_WAIT_INDEX = COUNT_FIELDS.index("max_wait_us")
N_COUNTS = len(COUNT_FIELDS)
NO_WAIT = -1

# The report's columns, in the order `ccpipe kpis` prints: the interval's key, then its counts
# and KPIs (core/catalogue.py defines each KPI): first the contract's fields, under its names,
# then ccpipe's own (the other service-level variants and the count they need).
KEY_FIELDS: tuple[str, ...] = ("tenant", "queue", "channel", "interval_start")
REPORT_FIELDS: tuple[str, ...] = (
    *KEY_FIELDS,
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
    "abandoned_within_sl",
    "service_level_connect",
    "service_level_answered",
)


# The field of a published interval row (and the column of `kpi_intervals`) that names the
# settings version its counts were computed with.
SETTINGS_VERSION = "settings_version"


def zero_counts() -> list[int]:
    counts = [0] * N_COUNTS
    counts[MAX_WAIT_INDEX] = NO_WAIT
    return counts


def move_counts(total: list[int], before: Sequence[int], after: Sequence[int]) -> None:
    """A sum over intervals, kept as one of them changes from `before` to `after`: every
    summed field moves by the difference; the maximum wait only rises (a maximum cannot be
    taken back out of a total)."""
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        if i == MAX_WAIT_INDEX:
            if new > total[i]:
                total[i] = new
        else:
            total[i] += new - old


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


# Each KPI of the catalogue as (name, numerator, denominator, scale, divisor), its terms as
# (index into the counts, sign): read at import, so a term that is no count fails at once.
_Terms = tuple[tuple[int, int], ...]


def _terms(terms: tuple[str, ...]) -> _Terms:
    return tuple(
        (COUNT_FIELDS.index(term.lstrip("-")), -1 if term.startswith("-") else 1) for term in terms
    )


_KPI_TERMS: tuple[tuple[str, _Terms, _Terms, int, int], ...] = tuple(
    (kpi.name, _terms(kpi.numerator), _terms(kpi.denominator), kpi.scale, kpi.divisor)
    for kpi in KPIS
)
# The report's counts and KPIs, in order: each a count's index, or -1 for a KPI.
_VALUES: tuple[tuple[str, int], ...] = tuple(
    (field, COUNT_FIELDS.index(field) if field in COUNT_FIELDS else -1)
    for field in REPORT_FIELDS[len(KEY_FIELDS) :]
)


def kpi_values(counts: Sequence[int]) -> dict[str, float | None]:
    """Every KPI of the catalogue from an interval's counts, each ONE int/int division."""
    values: dict[str, float | None] = {}
    for name, numerator, denominator, scale, divisor in _KPI_TERMS:
        top = 0
        for index, sign in numerator:
            top += sign * counts[index]
        top *= scale
        if not denominator:  # a largest value, negative while none was seen
            values[name] = top / divisor if top >= 0 else None
            continue
        bottom = 0
        for index, sign in denominator:
            bottom += sign * counts[index]
        bottom *= divisor
        values[name] = top / bottom if bottom else None
    return values


def report_row(key: IntervalKey, counts: Sequence[int]) -> dict[str, Any]:
    """The contract's KPI row for one interval, rates computed from the counts."""
    kpis = kpi_values(counts)
    row: dict[str, Any] = {
        "tenant": key.tenant,
        "queue": key.queue,
        "channel": key.channel,
        "interval_start": format_utc(key.interval_start_us),
    }
    for field, index in _VALUES:
        row[field] = kpis[field] if index < 0 else counts[index]
    return row


def published_row(
    key: IntervalKey, counts: Sequence[int], settings_version: str = ""
) -> dict[str, Any]:
    """An interval's full state as the stream publishes it: the report row, then the counts
    and sums that are not already report fields (so a consumer can merge or recompute), and
    the name of the settings version its counts were computed with (`QueueConfig.version`)."""
    row = report_row(key, counts)
    for name, value in zip(COUNT_FIELDS, counts, strict=True):
        if name not in row:
            row[name] = value
    row[SETTINGS_VERSION] = settings_version
    return row
