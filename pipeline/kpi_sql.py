"""The catalogue's KPIs (pipeline/core/catalogue.py) written in ClickHouse SQL.

Two forms, each ONE division of two integers, as `report_row` divides, so ClickHouse and
Python round alike:

- `row_sql`: over one row of counts (a column per count field), as the report views of
  pipeline/store/schema/ compute it; tests/store checks every view against it.
- `summed_sql`: over many rows, summed before dividing (hours, days, queues rolled up), as
  the dashboards and docs/queries.md do: `sum(numerator) / nullIf(sum(denominator), 0)`.

FCR over days (catalogue `FCR_LIVE`) is a query over `fcr_close_intervals` in a tenant's time
zone: `fcr_days_sql` per close day, `fcr_trailing_sql` the 7- and 30-day figures.

Agents' ratios (occupancy, catalogue `StateRatio`) are over time per state, one column per
state in microseconds (`busy_us`...), as the agent views of pipeline/store/schema/ hold it:
`state_row_sql` and `state_summed_sql` are their two forms.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.core.catalogue import FCR_LIVE, KPI, Kpi, StateRatio, join_terms


def row_sql(kpi: Kpi) -> str:
    """`if(answered + abandoned = 0, NULL, answered_within_sl / (answered + abandoned))`."""
    top = join_terms(kpi.numerator, str)
    if not kpi.denominator:  # a largest value: negative while none was seen
        return f"if({top} < 0, NULL, {top} / {kpi.divisor})"
    if len(kpi.numerator) > 1:
        top = f"({top})"
    if kpi.scale != 1:
        top = f"({kpi.scale} * {top})"
    guard = join_terms(kpi.denominator, str)
    bottom = guard
    if kpi.divisor != 1:
        bottom = f"({bottom} * {kpi.divisor})"
    elif len(kpi.denominator) > 1:
        bottom = f"({bottom})"
    return f"if({guard} = 0, NULL, {top} / {bottom})"


def summed_terms(kpi: Kpi) -> tuple[str, str]:
    """The numerator and denominator summed over rows (scale and divisor applied), for a
    caller that sums them again (a trailing window) before it divides."""
    if not kpi.denominator:
        raise ValueError(f"{kpi.name} is a largest value, not a ratio of sums")
    top = join_terms(kpi.numerator, lambda field: f"sum({field})")
    if kpi.scale != 1:
        top = f"{kpi.scale} * ({top})" if len(kpi.numerator) > 1 else f"{kpi.scale} * {top}"
    bottom = join_terms(kpi.denominator, lambda field: f"sum({field})")
    if kpi.divisor != 1:
        if len(kpi.denominator) > 1:
            bottom = f"({bottom})"
        bottom = f"{bottom} * {kpi.divisor}"
    return top, bottom


def summed_sql(kpi: Kpi) -> str:
    """`sum(answered_within_sl) / nullIf(sum(answered) + sum(abandoned), 0)`: null for 0."""
    top, bottom = summed_terms(kpi)
    if len(kpi.numerator) > 1 and kpi.scale == 1:
        top = f"({top})"
    return f"{top} / nullIf({bottom}, 0)"


def state_column(state: str) -> str:
    """The column of an agent state's time in the agent views: `busy_us`."""
    return f"{state}_us"


def _state_sum(states: tuple[str, ...], column: Callable[[str], str]) -> str:
    return " + ".join(column(state_column(state)) for state in states)


def state_row_sql(ratio: StateRatio) -> str:
    """`if(busy_us + acw_us + available_us = 0, NULL, (busy_us + acw_us) / (...))`."""
    top = _state_sum(ratio.numerator, str)
    bottom = _state_sum(ratio.denominator, str)
    if len(ratio.numerator) > 1:
        top = f"({top})"
    divisor = f"({bottom})" if len(ratio.denominator) > 1 else bottom
    return f"if({bottom} = 0, NULL, {top} / {divisor})"


def state_summed_sql(ratio: StateRatio) -> str:
    """`(sum(busy_us) + sum(acw_us)) / nullIf(sum(busy_us) + ..., 0)`: null for 0."""
    top = _state_sum(ratio.numerator, lambda column: f"sum({column})")
    bottom = _state_sum(ratio.denominator, lambda column: f"sum({column})")
    if len(ratio.numerator) > 1:
        top = f"({top})"
    return f"{top} / nullIf({bottom}, 0)"


def _zone(zone: str) -> str:
    """A zone name (or a dashboard variable) as a SQL literal: ClickHouse wants a constant."""
    if "'" in zone or "\\" in zone:
        raise ValueError(f"not a time zone name: {zone!r}")
    return f"'{zone}'"


def fcr_days_sql(zone: str) -> str:
    """FCR per (tenant, queue, channel) and the local date in `zone` its windows closed:
    columns close_day, eligible, resolved, fcr_rate."""
    fcr = KPI["fcr_rate"]
    return f"""
SELECT
    tenant,
    queue,
    channel,
    toDate(close_start, {_zone(zone)}) AS close_day,
    sum(fcr_eligible) AS eligible,
    sum(fcr_resolved) AS resolved,
    {summed_sql(fcr)} AS {fcr.name}
FROM fcr_close_intervals
GROUP BY tenant, queue, channel, close_day
"""


def fcr_trailing_sql(zone: str) -> str:
    """The live FCR figures over days (`FCR_LIVE` with `days`) per (tenant, queue, channel),
    at the watermark's local date in `zone` (`as_of`): for each, `<name>_resolved`,
    `<name>_eligible` and `<name>`, the windows closed that date or the days-1 before it."""
    trailing = [live for live in FCR_LIVE if live.days]
    columns = []
    for live in trailing:
        within = f"close_day > as_of - {live.days}"
        columns += [
            f"sumIf(fcr_resolved, {within}) AS {live.name}_resolved",
            f"sumIf(fcr_eligible, {within}) AS {live.name}_eligible",
            f"{live.name}_resolved / nullIf({live.name}_eligible, 0) AS {live.name}",
        ]
    listed = ",\n    ".join(columns)
    longest = max(live.days for live in trailing)
    return f"""
SELECT
    tenant,
    queue,
    channel,
    as_of,
    {listed}
FROM
(
    SELECT
        tenant, queue, channel, fcr_eligible, fcr_resolved,
        toDate(close_start, {_zone(zone)}) AS close_day,
        toDate((SELECT max(ts) FROM events), {_zone(zone)}) AS as_of
    FROM fcr_close_intervals
)
WHERE close_day > as_of - {longest}
GROUP BY tenant, queue, channel, as_of
"""
