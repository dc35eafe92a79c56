"""Queue detail (`ccpipe-queue`): one queue's KPIs over time against its targets.

Rates are the recording rules' ratios of summed counter rates (arrival time); the "today"
tiles are the stream's live windows, summed over workers.
"""

from __future__ import annotations

from pipeline.core.catalogue import (
    KPI,
    QUEUE_LONGEST_WAIT_RULE,
    QUEUE_WAITING_RULE,
    STAFFING_PROJECTED_RULE,
    STAFFING_REQUIRED_CHANNEL_RULE,
    STAFFING_REQUIRED_RULE,
    STAFFING_STAFFED_RULE,
    STAFFING_TARGET_RULE,
    TARGET_UNITS,
    TENANT_QUEUE_CHANNEL,
    WALLBOARD_KPIS,
    kpi_rule,
    rate_rule,
    target_rule,
    window_kpi_rule,
)
from pipeline.grafana.panels import UNITS, Json, Panel, bands, dashboard, prom, stat, timeseries
from pipeline.grafana.variables import QUEUE, queue_variables
from pipeline.targets import Targets


def boards(targets: Targets) -> list[Json]:
    return [board(targets)]


def _kpi(name: str, window: str, level: str = "tenant_queue") -> str:
    return f"{kpi_rule(KPI[name], window, level)}{QUEUE}"


def _today(targets: Targets) -> list[Panel]:
    """A tile per live figure of the contract, today, against the default target if any."""
    live = '{tenant="$tenant", queue="$queue", window="today"}'
    tiles = []
    for kpi in WALLBOARD_KPIS:
        target = targets.value(kpi.name, None, None) if kpi.name in TARGET_UNITS else None
        tiles.append(
            stat(
                f"{kpi.short} today",
                [prom(f"{window_kpi_rule(kpi)}{live}", instant=True)],
                UNITS[kpi.unit],
                bands(target, kpi.higher_is_better),
                width=24 // len(WALLBOARD_KPIS),
                height=5,
                description=f"{kpi.label}: {kpi.formula}.",
            )
        )
    return tiles


def board(targets: Targets) -> Json:
    per_minute = " * 60"
    panels = [
        *_today(targets),
        timeseries(
            "Service level (15-minute rate) and target",
            [
                prom(_kpi("service_level", "15m"), "service level"),
                prom(f"{target_rule('service_level')}{QUEUE}", "target"),
            ],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Service level by channel (15-minute rate)",
            [prom(_kpi("service_level", "15m", TENANT_QUEUE_CHANNEL), "{{channel}}")],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Agents needed and staffed (live staffing advice)",
            [
                prom(f"{STAFFING_REQUIRED_RULE}{QUEUE}", "needed"),
                prom(f"{STAFFING_STAFFED_RULE}{QUEUE}", "staffed"),
                prom(f"{STAFFING_REQUIRED_CHANNEL_RULE}{QUEUE}", "needed, {{channel}}"),
            ],
            "none",
            minimum=0,
            description="Agents the queue needs on the floor for its service-level target "
            "(Erlang A or C at the arrivals of the last 15 minutes, handle time and patience "
            "of the last 60), its channels' needs summed, against the agents listing the "
            "queue and available, busy or in after-contact work (an agent listing several "
            "queues counts in each). See docs/staffing.md.",
        ),
        timeseries(
            "Projected service level by channel (at the agents staffed)",
            [
                prom(f"{STAFFING_PROJECTED_RULE}{QUEUE}", "{{channel}}"),
                prom(f"{STAFFING_TARGET_RULE}{QUEUE}", "target, {{channel}}"),
            ],
            "percentunit",
            minimum=0,
            maximum=1,
            description="The service level each channel's share of the staffed agents gives "
            "at the trailing rates (the queue's staff shared among its channels by their "
            "need), against the channel's target: it falls before the measured one does.",
        ),
        timeseries(
            "Contacts per minute",
            [
                prom(f"{rate_rule(field, '5m')}{QUEUE}{per_minute}", field)
                for field in ("offered", "answered", "abandoned", "transferred")
            ],
            "none",
        ),
        timeseries(
            "Waiting now and longest wait",
            [
                prom(f"{QUEUE_WAITING_RULE}{QUEUE}", "waiting"),
                prom(f"{QUEUE_LONGEST_WAIT_RULE}{QUEUE}", "longest wait (s)"),
            ],
            "none",
        ),
        timeseries(
            "Average speed of answer and handle time (15-minute rate)",
            [
                prom(_kpi("asa_s", "15m"), "ASA"),
                prom(f"{target_rule('asa_s')}{QUEUE}", "ASA limit"),
                prom(_kpi("aht_s", "15m"), "AHT"),
            ],
            "s",
        ),
        timeseries(
            "Abandon, transfer and response rates (15-minute rate)",
            [
                prom(_kpi("abandon_rate", "15m"), "abandon"),
                prom(f"{target_rule('abandon_rate')}{QUEUE}", "abandon limit"),
                prom(_kpi("transfer_rate", "15m"), "transfer"),
                prom(_kpi("response_rate", "15m"), "response"),
            ],
            "percentunit",
            minimum=0,
        ),
        timeseries(
            "CSAT and FCR (1-hour rate)",
            [prom(_kpi("csat", "1h"), "CSAT"), prom(_kpi("fcr_rate", "1h"), "FCR")],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        timeseries("NPS (1-hour rate)", [prom(_kpi("nps", "1h"), "NPS")], UNITS[KPI["nps"].unit]),
    ]
    return dashboard(
        "ccpipe-queue",
        "ccpipe queue detail",
        panels,
        queue_variables(),
        description="One queue's KPIs over time against its targets. Rates are ratios of "
        "summed counter rates (arrival time); the 'today' tiles are the stream's live windows.",
    )
