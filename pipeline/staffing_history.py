"""`ccpipe staffing history`: required agents against staffed per 15-minute interval, from
the store (docs/staffing.md, "History").

Each stored interval's counts (`kpi_intervals_merged`) give its demand as the live view reads
a trailing window (`pipeline.core.staffing.interval_demand`), advised by the same
`channel_need`; staffed is the queue's agents' average on the floor over the interval
(available, busy or after-contact work, from `queue_state_intervals`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from pipeline.config import Settings
from pipeline.core.clock import INTERVAL_US, US_PER_S
from pipeline.core.erlang import ServiceTarget
from pipeline.core.staffing import channel_need, interval_demand
from pipeline.recompute import Scope
from pipeline.store import Store

COLUMNS = (
    "interval_start", "tenant", "queue", "channel", "offered", "aht_s", "patience_s", "model",
    "required", "queue_required", "staffed", "gap", "note",
)  # fmt: skip
_COUNTS = (
    "offered", "handled", "handle_sum_us", "abandoned", "short_abandoned",
    "wait_answered_sum_us", "wait_abandoned_sum_us",
)  # fmt: skip
ON_FLOOR = ("available_us", "busy_us", "acw_us")


def history_rows(
    store: Store,
    settings: Settings,
    scope: Scope,
    sl_target: float | None = None,
    sl_threshold_s: float | None = None,
    progress: Callable[[int], None] = lambda _: None,
) -> Iterator[tuple[Any, ...]]:
    """A row per (interval, tenant, queue, channel) of the scope, in `COLUMNS` order; a
    target or threshold given replaces the settings' (what if)."""
    counts = store.query(
        f"SELECT tenant, queue, channel, toUnixTimestamp64Micro(toDateTime64(interval_start, 6)) "
        f"AS start_us, {', '.join(_COUNTS)} FROM kpi_intervals_merged WHERE {scope.where()} "
        "ORDER BY start_us, tenant, queue, channel",
        scope.params(),
    ).dicts()
    floor = store.query(
        f"SELECT tenant, queue, toUnixTimestamp64Micro(toDateTime64(interval_start, 6)) "
        f"AS start_us, {' + '.join(ON_FLOOR)} AS on_floor_us FROM queue_state_intervals "
        f"WHERE {scope.where()}",
        scope.params(),
    ).dicts()
    staffed = {(r["tenant"], r["queue"], r["start_us"]): r["on_floor_us"] for r in floor}
    by_queue: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in counts:
        by_queue.setdefault((row["tenant"], row["queue"], row["start_us"]), []).append(row)
    interval_s = INTERVAL_US / US_PER_S
    min_abandons = settings.targets.staffing.min_abandons
    for n, ((tenant, queue, start_us), rows) in enumerate(by_queue.items()):
        progress(n)
        agents = staffed.get((tenant, queue, start_us), 0) / INTERVAL_US
        needs = []
        for row in rows:
            channel = row["channel"]
            target = _target(
                settings, (tenant, queue, channel), start_us, sl_target, sl_threshold_s
            )
            dem = interval_demand(row, interval_s)
            needs.append(channel_need((tenant, queue, channel), dem, target, min_abandons))
        total = sum(need.required or 0 for need in needs)
        for row, need in zip(rows, needs, strict=True):
            traffic = need.traffic
            model = None if traffic is None else "C" if traffic.patience_s is None else "A"
            yield (
                start_us, tenant, queue, row["channel"], row["offered"], need.demand.aht_s,
                None if traffic is None else traffic.patience_s, model, need.required, total,
                round(agents, 2), round(total - agents, 2), need.note,
            )  # fmt: skip


def _target(
    settings: Settings,
    group: tuple[str, str, str],
    at_us: int,
    sl_target: float | None,
    sl_threshold_s: float | None,
) -> ServiceTarget | None:
    """The channel's target with the settings in force at `at_us` (docs/definitions.md)."""
    tenant, queue, channel = group
    config = settings.queue(tenant, queue, channel, at_us)
    target = settings.targets.service_target(tenant, queue, channel, config)
    if target is None:
        if sl_target is None:
            return None
        target = ServiceTarget(sl_target, config.sl_threshold_us / US_PER_S,
                               config.short_abandon_us / US_PER_S)  # fmt: skip
    if sl_target is not None:
        target = replace(target, service_level=sl_target)
    if sl_threshold_s is not None:
        target = replace(target, threshold_s=sl_threshold_s)
    return target
