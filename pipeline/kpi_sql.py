"""The catalogue's KPIs (pipeline/core/catalogue.py) written in ClickHouse SQL.

Two forms, each ONE division of two integers, as `report_row` divides, so ClickHouse and
Python round alike:

- `row_sql`: over one row of counts (a column per count field), as the report views of
  pipeline/store/schema/ compute it; tests/store checks every view against it.
- `summed_sql`: over many rows, summed before dividing (hours, days, queues rolled up), as
  the dashboards and docs/queries.md do: `sum(numerator) / nullIf(sum(denominator), 0)`.
"""

from __future__ import annotations

from pipeline.core.catalogue import Kpi, join_terms


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
