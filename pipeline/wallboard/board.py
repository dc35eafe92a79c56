"""What the wallboard shows: each queue's live figures judged against its targets, the day's
service level per interval, and the alerts the worker raises itself.

Everything is computed in the worker from the state it already holds, at its event-time
watermark (the clock of docs/live.md), so the page shows exactly what /metrics says at the
same moment: the tiles are `SegmentStage.live()` (the figures behind the
`ccpipe_queue_*`, `ccpipe_agents` and `ccpipe_window_*` gauges), the sparkline merges the
interval owners' held partials (`IntervalStage.parts`, the counts behind the contact
counters), and the alerts mirror the Prometheus rules of `pipeline/rules.py` without needing
Prometheus: a check breached for its `for` duration of event time is an active alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from pipeline.core.catalogue import (
    CHECKS,
    KPI,
    NEAR_FLOOR_POINTS,
    NEAR_LIMIT_SHARE,
    QUEUE_LONGEST_WAIT,
    QUEUE_WAITING,
    RATIO,
    SECONDS,
    TARGET_UNITS,
    WINDOW_LABELS,
    Check,
)
from pipeline.core.clock import INTERVAL_US, format_utc
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, merge_counts, report_row
from pipeline.core.live import TODAY, QueueFigures, ZoneLookup, local_day_start_us
from pipeline.targets import QueueTargets, Targets

Status = Literal["met", "near", "missed", "low", "none"]
_EDGE = 1e-9
ROLLING = "15m"
_ANSWERED = COUNT_FIELDS.index("answered")
_ABANDONED = COUNT_FIELDS.index("abandoned")
_CHECK_OF = {check.figure: check for check in CHECKS}

# Held interval partials: partition -> interval key text -> source -> (version, counts).
HeldParts = Mapping[int, Mapping[str, Mapping[str, tuple[int, list[int]]]]]


@dataclass(frozen=True, slots=True)
class Figure:
    """A number on a queue's tile: how the page prints it (`count`, `percent`, `duration`),
    whether it is one of the big top-row ones, what it means, and how a tile reads it."""

    key: str
    label: str
    format: str
    big: bool
    tooltip: str
    read: Callable[[QueueFigures], float | None]

    def spec(self) -> dict[str, Any]:
        """What the page needs to show and judge it, with the check that judges it."""
        check = _CHECK_OF.get(self.key)
        return {
            "key": self.key,
            "label": self.label,
            "format": self.format,
            "big": self.big,
            "tooltip": self.tooltip,
            "target": None if check is None else check.target,
            "goal": None if check is None else _goal(check.higher_is_better),
        }


_FORMATS = {RATIO: "percent", SECONDS: "duration"}


def _goal(higher_is_better: bool) -> str:
    """How the page words a target: a floor to reach, or a limit to stay under."""
    return "floor" if higher_is_better else "limit"


def _kpi_figure(key: str, kpi: str, window: str, label: str = "") -> Figure:
    """A KPI over a live window, as the worker's `ccpipe_window_*` gauges carry it."""
    k = KPI[kpi]
    return Figure(
        key,
        label or f"{k.short} {WINDOW_LABELS[window]}",
        _FORMATS.get(k.unit, "count"),
        False,
        f"{k.label}, {WINDOW_LABELS[window]}: {k.formula}",
        lambda tile: tile.windows[window].kpis.get(kpi),
    )


FIGURES: tuple[Figure, ...] = (
    Figure("in_queue", "In queue", "count", True, QUEUE_WAITING.help,
           lambda tile: tile.in_queue),
    Figure("longest_wait_s", "Longest wait", "duration", True, QUEUE_LONGEST_WAIT.help,
           lambda tile: tile.longest_wait_s or 0.0),
    Figure("agents_available", "Available", "count", True,
           "Agents listing the queue, in state available.",
           lambda tile: tile.agents.get("available", 0)),
    _kpi_figure("service_level_15m", "service_level", ROLLING),
    _kpi_figure("service_level_today", "service_level", TODAY),
    _kpi_figure("asa_s", "asa_s", ROLLING),
    # One word: "Abandoned 15 min" takes two lines on a tile (the tooltip names the window).
    _kpi_figure("abandon_rate", "abandon_rate", ROLLING, label="Abandoned"),
    _kpi_figure("aht_s", "aht_s", ROLLING),
)  # fmt: skip
FIGURE_SPECS: list[dict[str, Any]] = [figure.spec() for figure in FIGURES]
# The sparkline: this KPI per 15-minute interval of today, against the queue's target of it.
SERIES_KPI = "service_level"
SERIES_SPEC: dict[str, Any] = {
    "key": SERIES_KPI,
    "label": f"{KPI[SERIES_KPI].label.lower()} today",
    "format": _FORMATS[KPI[SERIES_KPI].unit],
    "tooltip": f"{KPI[SERIES_KPI].label} per 15-minute interval today: {KPI[SERIES_KPI].formula}",
    "target": SERIES_KPI,
    "goal": _goal(KPI[SERIES_KPI].higher_is_better),
}


def judge(value: float | None, target: float | None, check: Check, volume_ok: bool) -> Status:
    """met / near / missed against the target; `low` when too few contacts to judge a rate,
    `none` when there is no target or no value. `missed` is exactly the alert condition."""
    if target is None or value is None:
        return "none"
    if check.needs_volume and not volume_ok:
        return "low"
    # The band edges are sums and products of decimal fractions (0.80 + 0.05): a rounding
    # error must not move a value that sits exactly on an edge to the other side.
    if check.higher_is_better:
        if value < target:
            return "missed"
        return "near" if value < target + NEAR_FLOOR_POINTS - _EDGE else "met"
    if value > target:
        return "missed"
    return "near" if value >= target * NEAR_LIMIT_SHARE - _EDGE else "met"


def tile_figures(tile: QueueFigures) -> dict[str, Any]:
    """The numbers a tile shows, as the worker's gauges carry them."""
    return {figure.key: figure.read(tile) for figure in FIGURES}


def _volume(tile: QueueFigures, window: str) -> int:
    counts = tile.windows[window].counts
    return counts[_ANSWERED] + counts[_ABANDONED]


def day_series(
    parts: HeldParts, now_us: int, zones: ZoneLookup
) -> dict[tuple[str, str], list[tuple[int, float | None]]]:
    """SERIES_KPI per 15-minute interval of today (tenant's zone), per (tenant, queue).

    Every channel of the queue and every source's latest partial are merged first, then the
    rate is computed once, by the report's formula. Intervals with nothing answered or
    abandoned have None: the sparkline leaves a gap there.
    """
    if now_us < 0:
        return {}
    by_queue: dict[tuple[str, str], dict[int, list[list[int]]]] = {}
    day_starts: dict[str, int] = {}
    for held in parts.values():
        for text, sources in held.items():
            tenant, queue, _, start = orjson.loads(text)
            day_start = day_starts.get(tenant)
            if day_start is None:
                day_start = local_day_start_us(now_us, zones(tenant))
                day_starts[tenant] = day_start
            # The interval holding the local midnight belongs to the day before it ends.
            if start + INTERVAL_US <= day_start or start > now_us:
                continue
            intervals = by_queue.setdefault((tenant, queue), {})
            intervals.setdefault(start, []).extend(counts for _, counts in sources.values())
    out = {}
    for (tenant, queue), intervals in by_queue.items():
        series = []
        for start in sorted(intervals):
            row = report_row(IntervalKey(tenant, queue, "", start), merge_counts(intervals[start]))
            series.append((start, row[SERIES_KPI]))
        out[(tenant, queue)] = series
    return out


class AlertTracker:
    """Since when (event time) each (tenant, queue, alert) has been breached.

    A breach becomes an active alert once it has held for the alert's `for` duration, as in
    Prometheus; a check that stops being breached forgets its start.
    """

    def __init__(self) -> None:
        self.since: dict[tuple[str, str, str], int] = {}

    def update(self, now_us: int, breached: Iterable[tuple[str, str, str]]) -> None:
        current = set(breached)
        for key in [key for key in self.since if key not in current]:
            del self.since[key]
        for key in current:
            self.since.setdefault(key, now_us)


def hold_seconds(targets: Targets, alert: str) -> int:
    """The `for` duration of an alert, from the `alerting` targets, as rules.py uses them."""
    check = next(check for check in CHECKS if check.alert == alert)
    hold: int = getattr(targets.alerting, check.hold)
    return hold


def _target_values(own: QueueTargets) -> dict[str, float | None]:
    return {field: getattr(own, field) for field in TARGET_UNITS}


def _worst(statuses: Iterable[Status]) -> Status:
    order: tuple[Status, ...] = ("missed", "near", "met", "low", "none")
    found = set(statuses)
    return next((status for status in order if status in found), "none")


@dataclass(frozen=True, slots=True)
class _Judged:
    """A check a queue misses now: an alert, pending until it has held for its duration."""

    tenant: str
    queue: str
    check: Check
    value: float | None
    target: float | None


def wallboard(
    tiles: list[QueueFigures],
    parts: HeldParts,
    watermark_us: int,
    zones: ZoneLookup,
    targets: Targets,
    tracker: AlertTracker,
) -> dict[str, Any]:
    """The page's whole state as JSON-ready values (see docs/demo.md for the fields)."""
    series = day_series(parts, watermark_us, zones)
    queues = []
    breached: list[_Judged] = []
    for tile in tiles:
        if tile.channel is not None:
            continue
        own = targets.for_queue(tile.tenant, tile.queue)
        goals = _target_values(own)
        figures = tile_figures(tile)
        status: dict[str, Status] = {}
        for check in CHECKS:
            window = check.window or ROLLING
            volume_ok = _volume(tile, window) >= own.min_volume
            value, target = figures[check.figure], goals[check.target]
            status[check.figure] = judge(value, target, check, volume_ok)
            if check.alert and status[check.figure] == "missed":
                breached.append(_Judged(tile.tenant, tile.queue, check, value, target))
        queues.append(
            {
                "tenant": tile.tenant,
                "queue": tile.queue,
                "figures": figures,
                "status": status,
                "overall": _worst(status.values()),
                "targets": goals,
                "volume_15m": _volume(tile, ROLLING),
                "agents": dict(tile.agents),
                "series": [
                    {"start": format_utc(start), SERIES_KPI: value}
                    for start, value in series.get((tile.tenant, tile.queue), [])
                ],
            }
        )
    if watermark_us >= 0:
        tracker.update(watermark_us, [(j.tenant, j.queue, j.check.alert) for j in breached])
    alerts = [_alert(j, tracker, targets, watermark_us) for j in breached]
    alerts.sort(key=lambda a: (not a["firing"], -a["held_s"], a["queue"]))
    return {
        "watermark_us": watermark_us,
        "watermark": format_utc(watermark_us) if watermark_us >= 0 else None,
        "figures": FIGURE_SPECS,
        "series": SERIES_SPEC,
        "queues": queues,
        "alerts": alerts,
    }


def _alert(j: _Judged, tracker: AlertTracker, targets: Targets, now_us: int) -> dict[str, Any]:
    since = tracker.since.get((j.tenant, j.queue, j.check.alert), now_us)
    held_s = (now_us - since) / 1e6
    hold = hold_seconds(targets, j.check.alert)
    return {
        "name": j.check.alert,
        "tenant": j.tenant,
        "queue": j.queue,
        "figure": j.check.figure,
        "label": j.check.label,
        "value": j.value,
        "target": j.target,
        "since": format_utc(since),
        "held_s": held_s,
        "for_s": hold,
        "firing": held_s >= hold,
    }
