"""Agents (`ccpipe-agents`): agents per state now and over time, occupancy per queue, the
live FCR over 7 and 30 days, and from ClickHouse each agent's handle time and time in state,
the queue's time per state and occupancy per interval, and FCR by the day windows closed
(per-agent Prometheus series are opt-in, see docs/observability.md).

Occupancy is the catalogue's `OCCUPANCY` and FCR its `fcr_rate` and `FCR_LIVE`: the live
panels read their recording rules, the ClickHouse panels the views of migrations 0010 and
0011 and kpi_sql's FCR queries, summed before dividing (pipeline/kpi_sql.py)."""

from __future__ import annotations

from pipeline.core.catalogue import (
    AGENTS_RULE,
    FCR_LIVE,
    FCR_WINDOW_RULE,
    KPI,
    OCCUPANCY,
    OCCUPANCY_RULE,
)
from pipeline.core.events import AGENT_STATES
from pipeline.core.live import AGENT_WINDOWS
from pipeline.grafana.panels import (
    UNITS,
    Json,
    bargauge,
    dashboard,
    lower_is_better,
    prom,
    sql,
    stat,
    table,
    timeseries,
)
from pipeline.grafana.variables import QUEUE, queue_variables
from pipeline.kpi_sql import fcr_trailing_sql, state_column, state_summed_sql, summed_sql
from pipeline.targets import Targets

# The tenant's time zone for the days FCR windows closed (the settings' `timezone`).
ZONE_VARIABLE: Json = {
    "name": "zone",
    "label": "Time zone",
    "type": "textbox",
    "query": "UTC",
    "current": {"text": "UTC", "value": "UTC"},
    "options": [{"text": "UTC", "value": "UTC", "selected": True}],
    "hide": 0,
    "description": "The tenant's time zone (settings `timezone`): the days FCR windows close on.",
}
# Occupancy from this is red, from the amber level amber: agents kept busy too long tire.
OCCUPANCY_LIMIT = 0.90
OCCUPANCY_AMBER = 0.85
FCR_WINDOWS = [live for live in FCR_LIVE if live.days]

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

_STATE_SECONDS = ",\n    ".join(
    f"sum({state_column(state)}) / 1000000 AS {state}_s" for state in AGENT_STATES
)

TIME_IN_STATE = f"""
SELECT
    agent_id AS agent,
    {_STATE_SECONDS},
    {state_summed_sql(OCCUPANCY)} AS {OCCUPANCY.name}
FROM agent_state_intervals
WHERE tenant = '${{tenant}}' AND queue = '${{queue}}' AND $__timeFilter(interval_start)
GROUP BY agent
ORDER BY agent
"""

QUEUE_TIME_IN_STATE = f"""
SELECT
    interval_start AS time,
    {_STATE_SECONDS}
FROM queue_state_intervals
WHERE tenant = '${{tenant}}' AND queue = '${{queue}}' AND $__timeFilter(interval_start)
GROUP BY time
ORDER BY time
"""

OCCUPANCY_BY_QUEUE = f"""
SELECT
    interval_start AS time,
    queue,
    {state_summed_sql(OCCUPANCY)} AS {OCCUPANCY.name}
FROM queue_state_intervals
WHERE tenant = '${{tenant}}' AND $__timeFilter(interval_start)
GROUP BY time, queue
ORDER BY time, queue
"""

FCR_BY_CLOSE_DAY = f"""
SELECT
    toDateTime(toDate(close_start, '${{zone}}'), '${{zone}}') AS time,
    queue,
    {summed_sql(KPI["fcr_rate"])} AS fcr_rate
FROM fcr_close_intervals
WHERE tenant = '${{tenant}}' AND $__timeFilter(close_start)
GROUP BY time, queue
ORDER BY time, queue
"""

_TRAILING = ",\n    ".join(
    f"sum({live.name}_resolved) / nullIf(sum({live.name}_eligible), 0) AS {live.name}"
    for live in FCR_WINDOWS
)

FCR_TRAILING = f"""
SELECT
    queue,
    any(as_of) AS as_of,
    {_TRAILING}
FROM
({fcr_trailing_sql("${zone}")})
WHERE tenant = '${{tenant}}'
GROUP BY queue
ORDER BY queue
"""


def boards(targets: Targets) -> list[Json]:
    return [board()]


def board() -> Json:
    ratio = UNITS[KPI["fcr_rate"].unit]
    occupancy_bands = lower_is_better(OCCUPANCY_LIMIT, OCCUPANCY_AMBER / OCCUPANCY_LIMIT)
    windows = "|".join(live.window for live in FCR_WINDOWS)
    panels = [
        timeseries(
            "Agents by state",
            [prom(f"{AGENTS_RULE}{QUEUE}", "{{state}}")],
            "none",
            width=16,
            stacked=True,
        ),
        bargauge(
            "Agents now",
            [prom(f"{AGENTS_RULE}{QUEUE}", "{{state}}", instant=True)],
            "none",
            width=8,
        ),
        bargauge(
            "Available agents per queue",
            [
                prom(
                    f'{AGENTS_RULE}{{tenant="$tenant", state="available"}}',
                    "{{queue}}",
                    instant=True,
                )
            ],
            "none",
        ),
        bargauge(
            f"{OCCUPANCY.label} per queue ({' and '.join(AGENT_WINDOWS)})",
            [
                prom(
                    f'{OCCUPANCY_RULE}{{tenant="$tenant", window="{window}"}}',
                    f"{{{{queue}}}} {window}",
                    instant=True,
                )
                for window in AGENT_WINDOWS
            ],
            ratio,
            occupancy_bands,
            description=f"{OCCUPANCY.formula}, the queue's agents over the window (an agent "
            "counts in every queue it lists). Away and offline do not count.",
        ),
        timeseries(
            f"{OCCUPANCY.label} per queue, last 15 minutes",
            [prom(f'{OCCUPANCY_RULE}{{tenant="$tenant", window="15m"}}', "{{queue}}")],
            ratio,
            threshold_line=occupancy_bands,
            minimum=0,
            maximum=1,
        ),
        stat(
            "FCR " + " and ".join(live.label.removeprefix("FCR ") for live in FCR_WINDOWS),
            [
                prom(
                    f'{FCR_WINDOW_RULE}{{tenant="$tenant", queue="$queue", window=~"{windows}"}}',
                    "{{window}}",
                )
            ],
            ratio,
            width=12,
            description="; ".join(f"{live.label}: {live.formula}" for live in FCR_WINDOWS),
        ),
        timeseries(
            "FCR 7 days per queue",
            [prom(f'{FCR_WINDOW_RULE}{{tenant="$tenant", window="7d"}}', "{{queue}}")],
            ratio,
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Time in state per interval (ClickHouse)",
            [sql(QUEUE_TIME_IN_STATE, time_series=True)],
            "s",
            stacked=True,
        ),
        timeseries(
            f"{OCCUPANCY.label} per queue and interval (ClickHouse)",
            [sql(OCCUPANCY_BY_QUEUE, time_series=True)],
            ratio,
            threshold_line=occupancy_bands,
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "FCR by the day windows closed (ClickHouse)",
            [sql(FCR_BY_CLOSE_DAY, time_series=True)],
            ratio,
            minimum=0,
            maximum=1,
        ),
        table(
            "FCR 7 and 30 days at the last event (ClickHouse)",
            [sql(FCR_TRAILING)],
            width=12,
        ),
        table(
            "Handle time by agent (ClickHouse)",
            [sql(AHT_BY_AGENT)],
            width=12,
            description="Per-agent history lives in ClickHouse, not in Prometheus.",
        ),
        table("Time in state and occupancy by agent (ClickHouse)", [sql(TIME_IN_STATE)], width=12),
    ]
    return dashboard(
        "ccpipe-agents",
        "ccpipe agents",
        panels,
        [*queue_variables(), ZONE_VARIABLE],
        description="Agents listing the queue, by state (the stream's latest agent.state), "
        "occupancy and FCR 7 and 30 days from the recording rules, and from ClickHouse each "
        "agent's handle time and time in state, occupancy per interval and FCR by close day.",
    )
