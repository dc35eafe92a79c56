"""Goals (`ccpipe-goals`): each SMART goal's actual against the straight line from its
baseline to its target, from ClickHouse (which keeps the months a goal spans). The actual is
the goal's KPI as the catalogue defines it, summed over the goal's rows before dividing."""

from __future__ import annotations

from pipeline.core.catalogue import KPI
from pipeline.grafana.panels import UNITS, Json, Panel, dashboard, sql, steps, table, timeseries
from pipeline.kpi_sql import summed_sql, summed_terms
from pipeline.targets import Goal, Targets


def boards(targets: Targets) -> list[Json]:
    return [board(targets)]


def _goal_filter(goal: Goal) -> str:
    parts = []
    if goal.tenant is not None:
        parts.append(f"tenant = '{goal.tenant}'")
    if goal.queue is not None:
        parts.append(f"queue = '{goal.queue}'")
    return "".join(f" AND {p}" for p in parts)


def _plan_expr(goal: Goal, day: str) -> str:
    span = (goal.due - goal.start).days
    return (
        f"{goal.baseline!r} + ({goal.target!r} - {goal.baseline!r}) * "
        f"least(greatest(dateDiff('day', toDate('{goal.start}'), {day}), 0), {span}) / {span}"
    )


def goal_actual_sql(goal: Goal) -> str:
    """Daily points of the goal's KPI over the trailing 7 days (ratio of the summed counts)."""
    top, bottom = summed_terms(KPI[goal.kpi])
    return f"""
SELECT
    toDateTime(day) AS time,
    sum(top) OVER w / nullIf(sum(bottom) OVER w, 0) AS `{goal.kpi}, trailing 7 days`
FROM
(
    SELECT toDate(interval_start) AS day, {top} AS top, {bottom} AS bottom
    FROM kpi_interval_counts
    WHERE interval_start >= toDateTime('{goal.start}'){_goal_filter(goal)}
        AND $__timeFilter(interval_start)
    GROUP BY day
)
WINDOW w AS (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
ORDER BY time
"""


def goal_plan_sql(goal: Goal) -> str:
    """The straight line from the baseline at the start to the target at the due date."""
    span = (goal.due - goal.start).days
    return f"""
SELECT
    toDateTime(toDate('{goal.start}') + number) AS time,
    {goal.baseline!r} + ({goal.target!r} - {goal.baseline!r}) * number / {span} AS plan
FROM numbers({span + 1})
ORDER BY time
"""


def goals_table_sql(goals: tuple[Goal, ...]) -> str:
    # ClickHouse resolves an alias before a column of the same name, even in WHERE: no
    # output column here may be named like a column the filter reads (tenant, queue).
    rows = []
    for goal in goals:
        better = ">=" if KPI[goal.kpi].higher_is_better else "<="
        rows.append(
            f"""
SELECT
    '{goal.name}' AS goal,
    '{goal.kpi}' AS kpi,
    '{goal.tenant or "all"}' AS for_tenant,
    '{goal.queue or "all"}' AS for_queue,
    {goal.baseline!r} AS baseline,
    {goal.target!r} AS target,
    toDate('{goal.due}') AS due,
    {_plan_expr(goal, "toDate($__toTime)")} AS plan_now,
    {summed_sql(KPI[goal.kpi])} AS actual,
    if(actual IS NULL, 'no data', if(actual {better} plan_now, 'on track', 'behind')) AS status
FROM kpi_interval_counts
WHERE interval_start >= toDateTime('{goal.start}'){_goal_filter(goal)}
    AND $__timeFilter(interval_start)"""
        )
    union = "\nUNION ALL".join(rows)
    return f"SELECT *\nFROM\n({union}\n)\nORDER BY due, goal\n"


def board(targets: Targets) -> Json:
    panels: list[Panel] = []
    if targets.goals:
        panels.append(
            table(
                "Where each goal stands (actual over the time range against the plan at its end)",
                [sql(goals_table_sql(targets.goals))],
                height=3 + 2 * len(targets.goals),
            )
        )
    for goal in targets.goals:
        kpi = KPI[goal.kpi]
        where = " / ".join(x for x in (goal.tenant, goal.queue) if x) or "all queues"
        direction = "up" if kpi.higher_is_better else "down"
        panels.append(
            timeseries(
                f"{goal.name}: {goal.kpi} ({where}) {goal.baseline} -> {goal.target} by {goal.due}",
                [sql(goal_actual_sql(goal), time_series=True), sql(goal_plan_sql(goal), True)],
                UNITS[kpi.unit],
                threshold_line=steps(("transparent", None), ("green", goal.target)),
                description=f"Goal: move {goal.kpi} {direction} from {goal.baseline} on "
                f"{goal.start} to {goal.target} by {goal.due}. Above the plan line is ahead "
                f"for a rising goal, below it for a falling one. {kpi.label}: {kpi.formula}.",
            )
        )
    return dashboard(
        "ccpipe-goals",
        "ccpipe goals",
        panels,
        time_from="now-90d",
        refresh="1h",
        description="SMART goals from the `targets.goals` setting, against the straight line "
        "from baseline to target (ClickHouse history).",
    )
