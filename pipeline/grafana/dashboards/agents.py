"""Agents (`ccpipe-agents`): agents per state now and over time, and each agent's handle time
and time in state from ClickHouse (per-agent Prometheus series are opt-in, see
docs/observability.md)."""

from __future__ import annotations

from pipeline.core.catalogue import AGENTS_RULE
from pipeline.grafana.panels import (
    Json,
    bargauge,
    dashboard,
    lower_is_better,
    prom,
    sql,
    table,
    timeseries,
)
from pipeline.grafana.variables import QUEUE, queue_variables
from pipeline.targets import Targets

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


def boards(targets: Targets) -> list[Json]:
    return [board()]


def board() -> Json:
    tenant_states = '{tenant="$tenant", state=~"%s"}'
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
            "Occupancy now (busy + after-contact work of agents not away or offline)",
            [
                prom(
                    f"sum by (queue) ({AGENTS_RULE}{tenant_states % 'busy|acw'})\n/\n"
                    f"sum by (queue) ({AGENTS_RULE}{tenant_states % 'busy|acw|available'} > 0)",
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
        queue_variables(),
        description="Agents listing the queue, by state (the stream's latest agent.state), "
        "and each agent's handle time and time in state from ClickHouse.",
    )
