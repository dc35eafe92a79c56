"""The wallboards: `ccpipe-wallboard`, and `ccpipe-wallboard-<tenant>` for each tenant with
targets of its own. Big tiles, one per queue, each judged by the catalogue's check of that
figure against the queue's own target, in the catalogue's colour bands."""

from __future__ import annotations

from pipeline.core.catalogue import (
    AGENTS_RULE,
    CHECKS,
    KPI,
    QUEUE_LONGEST_WAIT_RULE,
    QUEUE_WAITING_RULE,
    WINDOW_LABELS,
    Check,
    window_kpi_rule,
)
from pipeline.grafana.panels import (
    UNITS,
    Json,
    Panel,
    bands,
    by_name,
    constant_variable,
    dashboard,
    prom,
    stat,
    steps,
)
from pipeline.grafana.variables import TENANT, tenant_variable
from pipeline.targets import Targets

CHECK = {check.figure: check for check in CHECKS}


def boards(targets: Targets) -> list[Json]:
    return [board(targets), *(board(targets, tenant) for tenant in targets.tenants())]


def _overrides(targets: Targets, tenant: str | None, check: Check) -> list[Json]:
    """Per-queue bands for the queues whose target differs from the default."""
    default = targets.value(check.target, None, None)
    queues = {q for t, q in targets.overridden(check.target) if t is None or t == tenant}
    out = []
    for queue in sorted(queues):
        value = targets.value(check.target, tenant, queue)
        if value != default:
            out.append(by_name(queue, bands(value, check.higher_is_better)))
    return out


def board(targets: Targets, tenant: str | None = None) -> Json:
    sel = TENANT if tenant is None else f'{{tenant="{tenant}"}}'

    def tile(
        title: str,
        expr: str,
        unit: str,
        check: Check | None,
        width: int = 12,
        height: int = 6,
        description: str = "",
    ) -> Panel:
        if check is None:
            thresholds, overrides = steps(("blue", None)), []
        else:
            default = targets.value(check.target, None, None)
            thresholds = bands(default, check.higher_is_better)
            overrides = _overrides(targets, tenant, check)
        return stat(
            title,
            [prom(expr, "{{queue}}", instant=True)],
            unit,
            thresholds,
            overrides,
            width,
            height,
            big=True,
            description=description,
            decimals=0 if unit in ("percentunit", "none") else None,
        )

    def judged(figure: str, width: int = 12, height: int = 6) -> Panel:
        """A KPI tile over a live window, as the check of that wallboard figure judges it."""
        check = CHECK[figure]
        assert check.kpi is not None and check.window is not None
        kpi = KPI[check.kpi]
        window = WINDOW_LABELS[check.window]
        expr = f'{window_kpi_rule(kpi)}{{{sel[1:-1]}, window="{check.window}"}}'
        description = f"{kpi.label}: {kpi.formula}. Window: {window}, in event time."
        return tile(f"{kpi.label}, {window}", expr, UNITS[kpi.unit], check, width, height,
                    description)  # fmt: skip

    panels = [
        judged("service_level_15m", width=24, height=8),
        tile("Waiting now", f"{QUEUE_WAITING_RULE}{sel}", "none", None),
        tile("Longest wait now", f"{QUEUE_LONGEST_WAIT_RULE}{sel}", "s", CHECK["longest_wait_s"]),
        judged("asa_s"),
        judged("abandon_rate"),
        tile(
            "Agents available",
            f'{AGENTS_RULE}{{{sel[1:-1]}, state="available"}}',
            "none",
            None,
        ),
        judged("service_level_today"),
    ]
    variables = [tenant_variable()] if tenant is None else [constant_variable("tenant", tenant)]
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
