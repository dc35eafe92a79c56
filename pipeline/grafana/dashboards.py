"""ccpipe's Grafana dashboards, all generated here from the targets: never hand-edited JSON.

- Wallboard (`ccpipe-wallboard`, and `ccpipe-wallboard-<tenant>` for each tenant with targets
  of its own): big tiles, one per queue, coloured from each queue's own targets.
- Queue detail (`ccpipe-queue`): one queue's KPIs over time against its targets.
- Agents (`ccpipe-agents`): agents per state now and over time; per-agent history from
  ClickHouse (per-agent Prometheus series are opt-in, see docs/observability.md).
- Goals (`ccpipe-goals`): each SMART goal's actual against the straight line from its baseline
  to its target (ClickHouse, which keeps the months a goal spans).
- History (`ccpipe-history`): analyst panels in ClickHouse SQL.
- Pipeline (`ccpipe-pipeline`): the workers' health.

Live figures come from the recording rules (pipeline/rules.py), so each ratio is a ratio of
sums over workers; history from ClickHouse, summed before dividing as docs/queries.md says.
"""

from __future__ import annotations

from typing import Any

from pipeline.grafana.panels import (
    Json,
    Panel,
    bargauge,
    by_name,
    constant_variable,
    dashboard,
    higher_is_better,
    lower_is_better,
    prom,
    prom_variable,
    sql,
    sql_variable,
    stat,
    steps,
    table,
    timeseries,
)
from pipeline.rules import (
    KPI_BY_FIELD,
    WORKER_JOB,
    Kpi,
    kpi_name,
    rate_name,
    target_name,
)
from pipeline.targets import Goal, Targets

Q = '{tenant="$tenant", queue="$queue"}'
T = '{tenant="$tenant"}'
# How far below a service-level target a tile turns amber rather than red.
AMBER_GAP = 0.05
UNITS = {"ratio": "percentunit", "mean": "s", "score": "none"}


def all_dashboards(targets: Targets) -> list[Json]:
    boards = [
        wallboard(targets),
        *(wallboard(targets, tenant) for tenant in targets.tenants()),
        queue_detail(targets),
        agents(),
        goals(targets),
        history(),
        pipeline_health(),
    ]
    return boards


# --- wallboard ------------------------------------------------------------------------------


def _overrides(
    targets: Targets, tenant: str | None, field: str, make: Any, *args: Any
) -> list[Json]:
    """Per-queue thresholds for the queues whose value of `field` differs from the default."""
    queues = set(targets.queues)
    if tenant is not None:
        queues |= {q for t, q in targets.tenant_queues if t == tenant}
    default = getattr(targets.default, field)
    out = []
    for queue in sorted(queues):
        value = targets.value(field, tenant, queue)
        if value != default:
            out.append(by_name(queue, make(value, *args)))
    return out


def wallboard(targets: Targets, tenant: str | None = None) -> Json:
    d = targets.default
    sel = T if tenant is None else f'{{tenant="{tenant}"}}'

    def window(metric: str, name: str) -> str:
        return f'{metric}{{{sel[1:-1]}, window="{name}"}}'

    def tiles(
        title: str,
        expr: str,
        unit: str,
        field: str | None,
        higher: bool,
        width: int = 12,
        height: int = 6,
    ) -> Panel:
        if field is None:
            thresholds, overrides = steps(("blue", None)), []
        elif higher:
            thresholds = higher_is_better(getattr(d, field), AMBER_GAP)
            overrides = _overrides(targets, tenant, field, higher_is_better, AMBER_GAP)
        else:
            thresholds = lower_is_better(getattr(d, field))
            overrides = _overrides(targets, tenant, field, lower_is_better)
        return stat(
            title,
            [prom(expr, "{{queue}}", instant=True)],
            unit,
            thresholds,
            overrides,
            width,
            height,
            big=True,
            decimals=0 if unit in ("percentunit", "none") else None,
        )

    panels = [
        tiles(
            "Service level, last 15 minutes",
            window("tenant_queue:ccpipe_window_service_level:ratio", "15m"),
            "percentunit",
            "service_level",
            True,
            width=24,
            height=8,
        ),
        tiles(
            "Waiting now",
            f"tenant_queue:ccpipe_queue_waiting_contacts:sum{sel}",
            "none",
            None,
            True,
        ),
        tiles(
            "Longest wait now",
            f"tenant_queue:ccpipe_queue_longest_wait_seconds:max{sel}",
            "s",
            "longest_wait_s",
            False,
        ),
        tiles(
            "Average speed of answer, last 15 minutes",
            window("tenant_queue:ccpipe_window_answer_wait_seconds:mean", "15m"),
            "s",
            "asa_s",
            False,
        ),
        tiles(
            "Abandoned, last 15 minutes",
            window("tenant_queue:ccpipe_window_abandon:ratio", "15m"),
            "percentunit",
            "abandon_rate",
            False,
        ),
        tiles(
            "Agents available",
            f'tenant_queue_state:ccpipe_agents:sum{{{sel[1:-1]}, state="available"}}',
            "none",
            None,
            True,
        ),
        tiles(
            "Service level today",
            window("tenant_queue:ccpipe_window_service_level:ratio", "today"),
            "percentunit",
            "service_level",
            True,
        ),
    ]
    variables = (
        [prom_variable("tenant", "Tenant", "ccpipe_contacts_offered_total", "tenant")]
        if tenant is None
        else [constant_variable("tenant", tenant)]
    )
    suffix = "" if tenant is None else f"-{tenant}"
    return dashboard(
        f"ccpipe-wallboard{suffix}",
        "ccpipe wallboard" + ("" if tenant is None else f" ({tenant})"),
        panels,
        variables,
        refresh="10s",
        time_from="now-15m",
        description="One tile per queue, coloured from its targets: green on target, amber "
        "close, red off target. Live windows follow event time (the stream's watermark).",
        tags=["wallboard"],
    )


# --- queue detail ---------------------------------------------------------------------------


def _queue_variables() -> list[Json]:
    return [
        prom_variable("tenant", "Tenant", "ccpipe_contacts_offered_total", "tenant"),
        prom_variable("queue", "Queue", 'ccpipe_contacts_offered_total{tenant="$tenant"}', "queue"),
    ]


def _kpi(field: str, window: str, level: str = "tenant_queue") -> str:
    return kpi_name(KPI_BY_FIELD[field], window, level)


def queue_detail(targets: Targets) -> Json:
    d = targets.default
    live = '{tenant="$tenant", queue="$queue", window="today"}'
    per_minute = " * 60"
    panels = [
        stat(
            "Service level today",
            [prom(f"tenant_queue:ccpipe_window_service_level:ratio{live}", instant=True)],
            "percentunit",
            higher_is_better(d.service_level, AMBER_GAP),
            width=6,
            height=5,
        ),
        stat(
            "ASA today",
            [prom(f"tenant_queue:ccpipe_window_answer_wait_seconds:mean{live}", instant=True)],
            "s",
            lower_is_better(d.asa_s),
            width=6,
            height=5,
        ),
        stat(
            "Abandoned today",
            [prom(f"tenant_queue:ccpipe_window_abandon:ratio{live}", instant=True)],
            "percentunit",
            lower_is_better(d.abandon_rate),
            width=6,
            height=5,
        ),
        stat(
            "AHT today",
            [prom(f"tenant_queue:ccpipe_window_handle_seconds:mean{live}", instant=True)],
            "s",
            width=6,
            height=5,
        ),
        timeseries(
            "Service level (15-minute rate) and target",
            [
                prom(f"{_kpi('service_level', '15m')}{Q}", "service level"),
                prom(f"{target_name('service_level')}{Q}", "target"),
            ],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Service level by channel (15-minute rate)",
            [prom(f"{_kpi('service_level', '15m', 'tenant_queue_channel')}{Q}", "{{channel}}")],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Contacts per minute",
            [
                prom(f"{rate_name('tenant_queue', field, '5m')}{Q}{per_minute}", field)
                for field in ("offered", "answered", "abandoned", "transferred")
            ],
            "none",
        ),
        timeseries(
            "Waiting now and longest wait",
            [
                prom(f"tenant_queue:ccpipe_queue_waiting_contacts:sum{Q}", "waiting"),
                prom(f"tenant_queue:ccpipe_queue_longest_wait_seconds:max{Q}", "longest wait (s)"),
            ],
            "none",
        ),
        timeseries(
            "Average speed of answer and handle time (15-minute rate)",
            [
                prom(f"{_kpi('asa_s', '15m')}{Q}", "ASA"),
                prom(f"{target_name('asa_s')}{Q}", "ASA limit"),
                prom(f"{_kpi('aht_s', '15m')}{Q}", "AHT"),
            ],
            "s",
        ),
        timeseries(
            "Abandon, transfer and response rates (15-minute rate)",
            [
                prom(f"{_kpi('abandon_rate', '15m')}{Q}", "abandon"),
                prom(f"{target_name('abandon_rate')}{Q}", "abandon limit"),
                prom(f"{_kpi('transfer_rate', '15m')}{Q}", "transfer"),
                prom(f"{_kpi('response_rate', '15m')}{Q}", "response"),
            ],
            "percentunit",
            minimum=0,
        ),
        timeseries(
            "CSAT and FCR (1-hour rate)",
            [
                prom(f"{_kpi('csat', '1h')}{Q}", "CSAT"),
                prom(f"{_kpi('fcr_rate', '1h')}{Q}", "FCR"),
            ],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries("NPS (1-hour rate)", [prom(f"{_kpi('nps', '1h')}{Q}", "NPS")], "none"),
    ]
    return dashboard(
        "ccpipe-queue",
        "ccpipe queue detail",
        panels,
        _queue_variables(),
        description="One queue's KPIs over time against its targets. Rates are ratios of "
        "summed counter rates (arrival time); the 'today' tiles are the stream's live windows.",
    )


# --- agents -------------------------------------------------------------------------------


AHT_BY_AGENT = """
SELECT
    end_agent_id AS agent,
    channel,
    count() AS handled,
    sum(handle_us) / (handled * 1000000) AS aht_s,
    sum(talk_us) / (handled * 1000000) AS talk_s,
    sum(hold_us) / (handled * 1000000) AS hold_s,
    sum(ifNull(acw_us, 0)) / (handled * 1000000) AS acw_s
FROM segment_facts
WHERE is_handled = 1 AND tenant = '${tenant}' AND queue = '${queue}'
    AND $__timeFilter(interval_start)
GROUP BY agent, channel
ORDER BY agent, channel
"""

TIME_IN_STATE = """
SELECT
    agent_id AS agent,
    state,
    sum(toUnixTimestamp64Micro(until) - toUnixTimestamp64Micro(ts)) / 1000000 AS seconds
FROM
(
    SELECT
        agent_id,
        state,
        ts,
        leadInFrame(ts, 1, ts) OVER (
            PARTITION BY tenant, agent_id ORDER BY ts
            ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS until
    FROM agent_states FINAL
    WHERE tenant = '${tenant}' AND has(queues, '${queue}') AND $__timeFilter(ts)
)
GROUP BY agent, state
ORDER BY agent, state
"""


def agents() -> Json:
    panels = [
        timeseries(
            "Agents by state",
            [prom(f"tenant_queue_state:ccpipe_agents:sum{Q}", "{{state}}")],
            "none",
            width=16,
            stacked=True,
        ),
        bargauge(
            "Agents now",
            [prom(f"tenant_queue_state:ccpipe_agents:sum{Q}", "{{state}}", instant=True)],
            "none",
            width=8,
        ),
        bargauge(
            "Available agents per queue",
            [
                prom(
                    'tenant_queue_state:ccpipe_agents:sum{tenant="$tenant", state="available"}',
                    "{{queue}}",
                    instant=True,
                )
            ],
            "none",
        ),
        bargauge(
            "Occupancy now (busy + after-contact work of agents not away or offline)",
            [
                prom(
                    'sum by (queue) (tenant_queue_state:ccpipe_agents:sum{tenant="$tenant", '
                    'state=~"busy|acw"})\n/\nsum by (queue) (tenant_queue_state:ccpipe_agents:sum'
                    '{tenant="$tenant", state=~"busy|acw|available"} > 0)',
                    "{{queue}}",
                    instant=True,
                )
            ],
            "percentunit",
            lower_is_better(0.90, 0.85 / 0.90),
        ),
        table(
            "Handle time by agent (ClickHouse)",
            [sql(AHT_BY_AGENT)],
            width=12,
            description="Per-agent history lives in ClickHouse, not in Prometheus.",
        ),
        table("Time in state by agent (ClickHouse)", [sql(TIME_IN_STATE)], width=12),
    ]
    return dashboard(
        "ccpipe-agents",
        "ccpipe agents",
        panels,
        _queue_variables(),
        description="Agents listing the queue, by state (the stream's latest agent.state), "
        "and each agent's handle time and time in state from ClickHouse.",
    )


# --- goals ------------------------------------------------------------------------------


def kpi_sql(kpi: Kpi) -> tuple[str, str]:
    """The KPI's numerator and denominator as sums over `kpi_interval_counts` columns: the
    same counts the PromQL of pipeline/rules.py divides, in ClickHouse."""

    def total(terms: tuple[str, ...]) -> str:
        text = ""
        for term in terms:
            column = term.lstrip("-")
            part = f"sum({column})" + (" / 1000000" if column.endswith("_us") else "")
            text += (" - " if term.startswith("-") else " + ") + part if text else part
        return text

    top = total(kpi.numerator)
    if kpi.scale != 1:
        top = f"{kpi.scale} * ({top})"
    return top, total(kpi.denominator)


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
    top, bottom = kpi_sql(KPI_BY_FIELD[goal.kpi])
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
        top, bottom = kpi_sql(KPI_BY_FIELD[goal.kpi])
        better = ">=" if goal.higher_is_better else "<="
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
    ({top}) / nullIf({bottom}, 0) AS actual,
    if(actual IS NULL, 'no data', if(actual {better} plan_now, 'on track', 'behind')) AS status
FROM kpi_interval_counts
WHERE interval_start >= toDateTime('{goal.start}'){_goal_filter(goal)}
    AND $__timeFilter(interval_start)"""
        )
    union = "\nUNION ALL".join(rows)
    return f"SELECT *\nFROM\n({union}\n)\nORDER BY due, goal\n"


def goals(targets: Targets) -> Json:
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
        kpi = KPI_BY_FIELD[goal.kpi]
        where = " / ".join(x for x in (goal.tenant, goal.queue) if x) or "all queues"
        direction = "up" if goal.higher_is_better else "down"
        panels.append(
            timeseries(
                f"{goal.name}: {goal.kpi} ({where}) {goal.baseline} -> {goal.target} by {goal.due}",
                [sql(goal_actual_sql(goal), time_series=True), sql(goal_plan_sql(goal), True)],
                UNITS[kpi.operation] if goal.kpi != "nps" else "none",
                threshold_line=steps(("transparent", None), ("green", goal.target)),
                description=f"Goal: move {goal.kpi} {direction} from {goal.baseline} on "
                f"{goal.start} to {goal.target} by {goal.due}. Above the plan line is ahead "
                "for a rising goal, below it for a falling one.",
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


# --- analyst history ----------------------------------------------------------------------

_TENANT_SQL = "SELECT DISTINCT tenant FROM kpi_interval_counts ORDER BY tenant"
_QUEUE_SQL = (
    "SELECT DISTINCT queue FROM kpi_interval_counts WHERE tenant = '${tenant}' ORDER BY queue"
)

HISTORY_SQL: dict[str, tuple[str, bool]] = {
    "Service level by hour and queue": (
        """
SELECT
    toStartOfHour(interval_start) AS time,
    queue,
    sum(answered_within_sl) / nullIf(sum(answered) + sum(abandoned), 0) AS service_level
FROM kpi_interval_counts
WHERE tenant = '${tenant}' AND $__timeFilter(interval_start)
GROUP BY time, queue
ORDER BY time, queue
""",
        True,
    ),
    "Contacts by hour": (
        """
SELECT
    toStartOfHour(interval_start) AS time,
    sum(offered) AS offered,
    sum(answered) AS answered,
    sum(abandoned) AS abandoned,
    sum(transferred) AS transferred
FROM kpi_interval_counts
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
GROUP BY time
ORDER BY time
""",
        True,
    ),
    "ASA and AHT by hour": (
        """
SELECT
    toStartOfHour(interval_start) AS time,
    sum(wait_answered_sum_us) / nullIf(sum(answered) * 1000000, 0) AS asa_s,
    sum(handle_sum_us) / nullIf(sum(handled) * 1000000, 0) AS aht_s
FROM kpi_interval_counts
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
GROUP BY time
ORDER BY time
""",
        True,
    ),
    "Abandon pattern by wait time": (
        """
SELECT
    channel,
    multiIf(
        wait_us < 5000000, '0-5 s',
        wait_us < 15000000, '5-15 s',
        wait_us < 30000000, '15-30 s',
        wait_us < 60000000, '30-60 s',
        wait_us < 120000000, '1-2 min',
        wait_us < 300000000, '2-5 min',
        '5 min+') AS waited,
    min(wait_us) AS bucket_floor_us,
    countIf(is_abandoned = 1) AS abandoned,
    countIf(is_short_abandoned = 1) AS short_abandoned,
    countIf(is_answered = 1) AS answered,
    abandoned / (abandoned + answered) AS abandon_share
FROM segment_facts
WHERE has_outcome = 1 AND tenant = '${tenant}' AND queue = '${queue}'
    AND $__timeFilter(interval_start)
GROUP BY channel, waited
ORDER BY channel, bucket_floor_us
""",
        False,
    ),
    "FCR by contact reason": (
        """
SELECT
    ifNull(reason, '(none)') AS contact_reason,
    sum(fcr_eligible) AS eligible,
    sum(fcr_resolved) AS resolved_first,
    if(eligible = 0, NULL, resolved_first / eligible) AS fcr_rate,
    sum(fcr_pending) AS still_open
FROM segment_facts
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
GROUP BY contact_reason
ORDER BY eligible DESC
""",
        False,
    ),
    "CSAT and NPS by day": (
        """
SELECT
    toDate(interval_start) AS day,
    queue,
    sum(csat_responses) AS csat_n,
    if(csat_n = 0, NULL, sum(csat_good) / csat_n) AS csat,
    sum(nps_responses) AS nps_n,
    if(nps_n = 0, NULL, (100 * (sum(nps_promoters) - sum(nps_detractors))) / nps_n) AS nps
FROM kpi_interval_counts
WHERE tenant = '${tenant}' AND $__timeFilter(interval_start)
GROUP BY day, queue
ORDER BY day, queue
""",
        False,
    ),
    "Intraday arrival profile (offered per 15-minute slot, average day)": (
        """
SELECT
    channel,
    formatDateTime(interval_start, '%H:%i') AS slot,
    sum(offered) AS offered,
    uniqExact(toDate(interval_start)) AS days,
    offered / days AS offered_per_day
FROM kpi_interval_counts
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
GROUP BY channel, slot
ORDER BY channel, slot
""",
        False,
    ),
    "Interval report (as `ccpipe kpis` prints it)": (
        """
SELECT *
FROM kpi_interval_report
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
ORDER BY channel, interval_start
""",
        False,
    ),
}


def history() -> Json:
    panels: list[Panel] = []
    for title, (raw, series) in HISTORY_SQL.items():
        if series:
            unit = "percentunit" if "Service level" in title else ("s" if "AHT" in title else "")
            panels.append(timeseries(title, [sql(raw, time_series=True)], unit))
        else:
            panels.append(table(title, [sql(raw)], width=12))
    panels[-1].width = 24
    return dashboard(
        "ccpipe-history",
        "ccpipe history (ClickHouse)",
        panels,
        [
            sql_variable("tenant", "Tenant", _TENANT_SQL),
            sql_variable("queue", "Queue", _QUEUE_SQL),
        ],
        refresh="",
        time_from="now-7d",
        description="Analyst views over the ClickHouse store: every rate is a ratio of summed "
        "counts (see docs/queries.md).",
    )


# --- pipeline health ------------------------------------------------------------------------

DEAD_LETTERS_SQL = """
SELECT
    source,
    reason,
    count() AS letters,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
GROUP BY source, reason
ORDER BY letters DESC
"""

STREAM_STORE_SQL = """
SELECT
    count() AS intervals,
    countIf(
        s.offered != c.offered OR s.answered != c.answered OR s.abandoned != c.abandoned
        OR s.answered_within_sl != c.answered_within_sl
        OR s.wait_answered_sum_us != c.wait_answered_sum_us
        OR s.handle_sum_us != c.handle_sum_us OR s.fcr_resolved != c.fcr_resolved
    ) AS differing
FROM kpi_intervals_merged AS s
INNER JOIN kpi_interval_counts AS c
    ON s.tenant = c.tenant AND s.queue = c.queue AND s.channel = c.channel
    AND s.interval_start = c.interval_start
WHERE $__timeFilter(s.interval_start)
"""


def pipeline_health() -> Json:
    job = f'{{job="{WORKER_JOB}"}}'
    panels = [
        stat(
            "Workers up",
            [prom(f"sum(up{job})", "up", instant=True)],
            "none",
            steps(("red", None), ("green", 1)),
            width=6,
            height=5,
        ),
        stat(
            "Alerts firing",
            [prom('count(ALERTS{alertstate="firing"}) or vector(0)', "firing", instant=True)],
            "none",
            steps(("green", None), ("red", 1)),
            width=6,
            height=5,
        ),
        stat(
            "Event time behind the clock",
            [prom("time() - max(ccpipe_event_time_watermark_seconds)", "lag", instant=True)],
            "s",
            width=6,
            height=5,
            description="Wall clock minus the largest event time seen. Large for a replay or "
            "a simulation with past timestamps; growing while live means input stopped.",
        ),
        stat(
            "Dead-lettered share, 15 minutes",
            [prom("job:ccpipe_events_dead_lettered:ratio_rate15m", "dead letters", instant=True)],
            "percentunit",
            lower_is_better(0.01),
            width=6,
            height=5,
        ),
        timeseries(
            "Events per second",
            [
                prom("job:ccpipe_events:rate5m", "events"),
                prom("sum(rate(ccpipe_events_duplicate_total[5m]))", "duplicates"),
                prom("sum(rate(ccpipe_segment_anomalies_total[5m]))", "anomalies"),
            ],
            "ops",
        ),
        timeseries(
            "Dead letters per second, by reason",
            [prom("job_reason:ccpipe_events_dead_lettered:rate5m", "{{reason}}")],
            "ops",
        ),
        timeseries(
            "Consumer lag (messages)",
            [prom("job_topic:ccpipe_consumer_lag_messages:sum", "{{topic}}")],
            "none",
        ),
        timeseries(
            "Event to metric latency",
            [
                prom("job:ccpipe_event_to_metric_seconds:p95_rate5m", "p95"),
                prom(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(ccpipe_event_to_metric_seconds_bucket[5m])))",
                    "p50",
                ),
            ],
            "s",
        ),
        table("Dead letters by reason (ClickHouse)", [sql(DEAD_LETTERS_SQL)], width=12),
        table(
            "Do the stream and the store agree? (ClickHouse)",
            [sql(STREAM_STORE_SQL)],
            width=12,
            description="The stream's published interval figures against the same counts "
            "recomputed from the segments: `differing` is 0 once the stream has caught up.",
        ),
    ]
    return dashboard(
        "ccpipe-pipeline",
        "ccpipe pipeline health",
        panels,
        time_from="now-3h",
        description="The workers: throughput, dead letters, lag, latency.",
    )
