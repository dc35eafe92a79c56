"""History (`ccpipe-history`): analyst views over the ClickHouse store. Every KPI is the
catalogue's, summed over the rows before dividing (see docs/queries.md)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.catalogue import KPI
from pipeline.grafana.panels import (
    UNITS,
    Json,
    Panel,
    dashboard,
    sql,
    sql_variable,
    table,
    timeseries,
)
from pipeline.kpi_sql import summed_sql
from pipeline.targets import Targets

_TENANT_SQL = "SELECT DISTINCT tenant FROM kpi_interval_counts ORDER BY tenant"
_QUEUE_SQL = (
    "SELECT DISTINCT queue FROM kpi_interval_counts WHERE tenant = '${tenant}' ORDER BY queue"
)


@dataclass(frozen=True, slots=True)
class View:
    """One panel: a time series (with its unit) or a table."""

    title: str
    sql: str
    series: bool = False
    unit: str = ""


VIEWS: tuple[View, ...] = (
    View(
        "Service level by hour and queue",
        f"""
SELECT
    toStartOfHour(interval_start) AS time,
    queue,
    {summed_sql(KPI["service_level"])} AS service_level
FROM kpi_interval_counts
WHERE tenant = '${{tenant}}' AND $__timeFilter(interval_start)
GROUP BY time, queue
ORDER BY time, queue
""",
        series=True,
        unit=UNITS[KPI["service_level"].unit],
    ),
    View(
        "Contacts by hour",
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
        series=True,
    ),
    View(
        "ASA and AHT by hour",
        f"""
SELECT
    toStartOfHour(interval_start) AS time,
    {summed_sql(KPI["asa_s"])} AS asa_s,
    {summed_sql(KPI["aht_s"])} AS aht_s
FROM kpi_interval_counts
WHERE tenant = '${{tenant}}' AND queue = '${{queue}}' AND $__timeFilter(interval_start)
GROUP BY time
ORDER BY time
""",
        series=True,
        unit=UNITS[KPI["aht_s"].unit],
    ),
    View(
        "Abandon pattern by wait time",
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
    ),
    View(
        "FCR by contact reason",
        f"""
SELECT
    ifNull(reason, '(none)') AS contact_reason,
    sum(fcr_eligible) AS eligible,
    sum(fcr_resolved) AS resolved_first,
    {summed_sql(KPI["fcr_rate"])} AS fcr_rate,
    sum(fcr_pending) AS still_open
FROM segment_facts
WHERE tenant = '${{tenant}}' AND queue = '${{queue}}' AND $__timeFilter(interval_start)
GROUP BY contact_reason
ORDER BY eligible DESC
""",
    ),
    View(
        "CSAT and NPS by day",
        f"""
SELECT
    toDate(interval_start) AS day,
    queue,
    sum(csat_responses) AS csat_n,
    {summed_sql(KPI["csat"])} AS csat,
    sum(nps_responses) AS nps_n,
    {summed_sql(KPI["nps"])} AS nps
FROM kpi_interval_counts
WHERE tenant = '${{tenant}}' AND $__timeFilter(interval_start)
GROUP BY day, queue
ORDER BY day, queue
""",
    ),
    View(
        "Intraday arrival profile (offered per 15-minute slot, average day)",
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
    ),
    View(
        "Interval report (as `ccpipe kpis` prints it)",
        """
SELECT *
FROM kpi_interval_report
WHERE tenant = '${tenant}' AND queue = '${queue}' AND $__timeFilter(interval_start)
ORDER BY channel, interval_start
""",
    ),
)


def boards(targets: Targets) -> list[Json]:
    return [board()]


def board() -> Json:
    panels: list[Panel] = []
    for view in VIEWS:
        if view.series:
            panels.append(timeseries(view.title, [sql(view.sql, time_series=True)], view.unit))
        else:
            panels.append(table(view.title, [sql(view.sql)], width=12))
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
