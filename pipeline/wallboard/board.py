"""What the wallboard shows: each queue's live figures judged against its targets, the day's
service level per interval, and the alerts the worker raises itself.

Everything is computed from the whole centre's live view (`pipeline.liveview`: every source
partition's latest published state, merged) at the centre's event-time watermark (the clock
of docs/live.md): the tiles are `MergedBoard.figures`, the sparkline its quarter-hour counts of
today, and the alerts mirror the Prometheus rules of `pipeline/rules.py` without needing
Prometheus: a check breached for its `for` duration of event time is an active alert (the
leading staffing alerts too, apart, from the staffing advice of each queue and channel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.core.catalogue import (
    AGE_BAND_LABELS,
    CHECKS,
    DEFAULT_HEADLINE,
    FCR_LIVE,
    KPI,
    LEADING_ALERTS,
    NEAR_FLOOR_POINTS,
    NEAR_LIMIT_SHARE,
    OCCUPANCY,
    PROJECTED_BELOW_ALERT,
    QUEUE_LONGEST_WAIT,
    QUEUE_STALE,
    QUEUE_WAITING,
    RATIO,
    SCORE,
    SECONDS,
    SERVICE_LEVELS,
    STAFFING_GAP_ALERT,
    TARGET_UNITS,
    WINDOW_LABELS,
    WINDOW_TEXT,
    Check,
    HeadlineLookup,
    LiveFcr,
    ServiceLevelVariant,
)
from pipeline.core.clock import US_PER_S, ZoneLookup, format_utc, us_to_datetime
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, merge_counts, report_row
from pipeline.core.live import (
    AGENT_WINDOWS,
    TODAY,
    WEEK,
    AgentFigures,
    QueueFigures,
)
from pipeline.core.staffing import (
    INPUTS_TEXT,
    STAFFED_STATES,
    ChannelStaffing,
    LiveStaffing,
    QueueStaffing,
)
from pipeline.core.thresholds import LATEST_US, QueueLookup
from pipeline.targets import Goal, QueueTargets, Targets

Status = Literal["met", "near", "missed", "low", "none"]
_EDGE = 1e-9
ROLLING = "15m"
_ANSWERED = COUNT_FIELDS.index("answered")
_ABANDONED = COUNT_FIELDS.index("abandoned")
_CHECK_OF = {check.figure: check for check in CHECKS}

# Per (tenant, queue): today's intervals (start, merged counts), ascending.
DayCounts = Mapping[tuple[str, str], Sequence[tuple[int, Sequence[int]]]]


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
    """A KPI over a live window: its formula and its window say what it is."""
    k = KPI[kpi]
    return Figure(
        key,
        label or f"{k.short} {WINDOW_LABELS[window]}",
        _FORMATS.get(k.unit, "count") if k.unit != SCORE else "score",
        False,
        f"{k.label}: {k.formula}. Over {WINDOW_TEXT[window]}.",
        lambda tile: tile.windows[window].kpis.get(kpi),
    )


def _fcr_figure(live: LiveFcr) -> Figure:
    return Figure(
        live.name, live.label, "percent", False, f"{live.label}: {live.formula}.",
        lambda tile: tile.fcr_rate(live.name),
    )  # fmt: skip


def _occupancy_figure(window: str) -> Figure:
    return Figure(
        f"occupancy_{window}",
        f"Occupancy {WINDOW_LABELS[window]}",
        "percent",
        False,
        f"{OCCUPANCY.label}: {OCCUPANCY.formula}, the queue's agents (an agent serving several "
        f"queues counts in each). Over the {WINDOW_LABELS[window]}.",
        lambda tile: tile.occupancy(window),
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
    *(_fcr_figure(live) for live in FCR_LIVE),
    _kpi_figure("csat_today", "csat", TODAY),
    _kpi_figure("csat_7d", "csat", WEEK),
    _kpi_figure("nps_today", "nps", TODAY),
    _kpi_figure("nps_7d", "nps", WEEK),
    _kpi_figure("response_rate_today", "response_rate", TODAY),
    _kpi_figure("response_rate_7d", "response_rate", WEEK),
    *(_occupancy_figure(window) for window in AGENT_WINDOWS),
    Figure("stale", "Stale", "count", False, QUEUE_STALE.help, lambda tile: tile.stale),
)  # fmt: skip
FIGURE_SPECS: list[dict[str, Any]] = [figure.spec() for figure in FIGURES]
# A channel's row in a queue's tile: judged against the channel's own threshold and targets.
# On an async channel (email, chat, sms, social) the wait is the first-response time.
CHANNEL_FIGURES: tuple[Figure, ...] = (
    Figure("in_queue", "Waiting", "count", True, QUEUE_WAITING.help, lambda t: t.in_queue),
    Figure("longest_wait_s", "Oldest", "duration", True,
           "Event time now minus the oldest waiting offer on this channel.",
           lambda t: t.longest_wait_s or 0.0),
    _kpi_figure("service_level_15m", "service_level", ROLLING),
    _kpi_figure("service_level_today", "service_level", TODAY),
    _kpi_figure("asa_s", "asa_s", ROLLING, label="Wait 15 min"),
    _kpi_figure("abandon_rate", "abandon_rate", ROLLING, label="Abandoned"),
    _kpi_figure("first_response_7d", "asa_s", WEEK, label="Wait 7 days"),
)  # fmt: skip
CHANNEL_FIGURE_SPECS: list[dict[str, Any]] = [figure.spec() for figure in CHANNEL_FIGURES]
ASYNC_CHANNELS = ("email", "chat", "sms", "social")
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


# "needs N · has M" on a queue's tile, and per channel the need, the share of the staff and the
# service level projected at it (pipeline/core/staffing.py, docs/staffing.md).
STAFFING_SPEC: dict[str, Any] = {
    "label": "needs {required} · has {staffed}",
    "tooltip": (
        f"Agents needed now for the service-level target ({INPUTS_TEXT}; Erlang A once enough "
        "contacts abandoned to estimate patience, else Erlang C), against agents staffed: "
        f"listing the queue and {', '.join(STAFFED_STATES)}. An agent listing several queues "
        "counts in each. A queue needs the sum of its channels' agents; its staff is shared "
        "among its channels in proportion to their need."
    ),
    "queue": [
        {"key": "required", "label": "Needs", "format": "count",
         "tooltip": "Agents needed on the floor now, the channels' needs summed."},
        {"key": "staffed", "label": "Has", "format": "count",
         "tooltip": f"Agents listing the queue and {', '.join(STAFFED_STATES)}."},
        {"key": "gap", "label": "Short", "format": "count",
         "tooltip": "Needed minus staffed (negative: agents to spare)."},
    ],
    "channel": [
        {"key": "required", "label": "Needs", "format": "count",
         "tooltip": "Agents this channel needs for its own target and threshold."},
        {"key": "staffed", "label": "Share", "format": "count",
         "tooltip": "The queue's staffed agents shared among its channels by their need."},
        {"key": "projected_service_level", "label": "Projected SL", "format": "percent",
         "tooltip": "Service level the share of agents gives at the trailing rates, "
         "against the channel's service-level target."},
        {"key": "rate_per_hour", "label": "Arrivals", "format": "count",
         "tooltip": f"Contacts an hour, over the last {WINDOW_LABELS['15m']}."},
        {"key": "aht_s", "label": "AHT", "format": "duration",
         "tooltip": f"Average handle time over the last {WINDOW_LABELS['60m']} (today's when "
         "none was handled in that hour)."},
        {"key": "patience_s", "label": "Patience", "format": "duration",
         "tooltip": "Mean patience estimated from the channel's abandons and waits over the "
         "last 60 min (null: too few abandons, Erlang C)."},
    ],
}  # fmt: skip


def live_staffing(targets: Targets, thresholds: QueueLookup) -> LiveStaffing:
    """Live staffing advice for the targets and the queue settings' thresholds."""
    return LiveStaffing(
        lambda t, q, c: targets.service_target(t, q, c, thresholds(t, q, c, LATEST_US)),
        targets.staffing.min_abandons,
    )


def staffing_row(advice: QueueStaffing) -> dict[str, Any]:
    return {"required": advice.required, "staffed": advice.staffed, "gap": advice.gap}


def channel_staffing_row(advice: ChannelStaffing) -> dict[str, Any]:
    traffic = advice.traffic
    return {
        "required": advice.required,
        "staffed": advice.staffed,
        "projected_service_level": advice.projected_service_level,
        "target": None if advice.target is None else advice.target.service_level,
        "model": advice.model,
        "rate_per_hour": advice.demand.rate_per_s * 3600,
        "aht_s": advice.demand.aht_s,
        "patience_s": None if traffic is None else traffic.patience_s,
        "note": advice.note,
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


# The service-level figures whose hover text shows every variant's value beside the one shown.
_SERVICE_LEVEL_FIGURES = {"service_level_15m": ROLLING, "service_level_today": TODAY}


def service_level_hover(
    tile: QueueFigures, headline: ServiceLevelVariant = DEFAULT_HEADLINE
) -> dict[str, str]:
    """Per service-level figure, a hover text with each variant over the same window, its
    value and its formula (docs/kpis.md, "Service level, three ways"), the queue's headline
    variant first and marked: the page's tooltip for that figure."""
    levels = sorted(SERVICE_LEVELS, key=lambda level: level.variant != headline)
    hover = {}
    for key, window in _SERVICE_LEVEL_FIGURES.items():
        kpis = tile.windows[window].kpis
        lines = [f"Service level, {WINDOW_LABELS[window]}:"]
        for level in levels:
            value = kpis.get(level.kpi.name)
            shown = "n/a" if value is None else f"{value:.1%}"
            mark = " (headline)" if level.variant == headline else ""
            lines.append(f"{level.kpi.short}{mark} {shown}: {level.kpi.formula}")
        hover[key] = "\n".join(lines)
    return hover


def tile_figures(tile: QueueFigures, figures: Sequence[Figure] = FIGURES) -> dict[str, Any]:
    """The numbers a tile (or a channel's row) shows."""
    return {figure.key: figure.read(tile) for figure in figures}


def _volume(tile: QueueFigures, window: str) -> int:
    counts = tile.windows[window].counts
    return counts[_ANSWERED] + counts[_ABANDONED]


def day_series(
    day_counts: DayCounts,
) -> dict[tuple[str, str], list[tuple[int, float | None]]]:
    """SERIES_KPI per 15-minute interval of today, per (tenant, queue), from the merged
    counts of each interval (every channel and every source summed first), the rate computed
    once by the report's formula. Intervals with nothing answered or abandoned have None: the
    sparkline leaves a gap there."""
    return {
        (tenant, queue): [
            (start, report_row(IntervalKey(tenant, queue, "", start), counts)[SERIES_KPI])
            for start, counts in series
        ]
        for (tenant, queue), series in day_counts.items()
    }


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
    holds = {check.alert: check.hold for check in CHECKS if check.alert}
    holds.update({leading.name: leading.hold for leading in LEADING_ALERTS})
    hold: int = getattr(targets.alerting, holds[alert])
    return hold


def _target_values(own: QueueTargets) -> dict[str, float | None]:
    return {field: getattr(own, field) for field in TARGET_UNITS}


def _worst(statuses: Iterable[Status]) -> Status:
    order: tuple[Status, ...] = ("missed", "near", "met", "low", "none")
    found = set(statuses)
    return next((status for status in order if status in found), "none")


@dataclass(frozen=True, slots=True)
class _Judged:
    """A check a queue (or one of its channels) misses now: an alert, pending until it has
    held for its duration."""

    tenant: str
    queue: str
    alert: str
    figure: str
    label: str
    value: float | None
    target: float | None
    channel: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The tracker's key: one breach per queue, or per channel for a channel's alert."""
        name = self.alert if self.channel is None else f"{self.alert}/{self.channel}"
        return (self.tenant, self.queue, name)


def _staffing_breaches(advice: QueueStaffing | None, volume_ok: bool) -> list[_Judged]:
    """The leading alerts' conditions on a queue's staffing advice, as pipeline/rules.py
    writes them: agents short of the need, a channel projected below its own target; both
    with the queue's volume."""
    if advice is None or not volume_ok:
        return []
    found = []
    gap = advice.gap
    if gap is not None and gap > 0:
        leading = STAFFING_GAP_ALERT
        found.append(
            _Judged(advice.tenant, advice.queue, leading.name, leading.figure, leading.label,
                    gap, 0)
        )  # fmt: skip
    leading = PROJECTED_BELOW_ALERT
    for channel in advice.channels:
        projected, target = channel.projected_service_level, channel.target
        if projected is not None and target is not None and projected < target.service_level:
            found.append(
                _Judged(advice.tenant, advice.queue, leading.name, leading.figure,
                        leading.label, projected, target.service_level, channel.channel)
            )  # fmt: skip
    return found


def _judge_tile(
    tile: QueueFigures, figures: dict[str, Any], own: QueueTargets
) -> tuple[dict[str, Status], list[Check]]:
    """Each checked figure's status against the tile's targets, and the checks it misses."""
    goals = _target_values(own)
    status: dict[str, Status] = {}
    missed = []
    for check in CHECKS:
        if check.figure not in figures:
            continue
        window = check.window or ROLLING
        volume_ok = _volume(tile, window) >= own.min_volume
        status[check.figure] = judge(figures[check.figure], goals[check.target], check, volume_ok)
        if status[check.figure] == "missed":
            missed.append(check)
    return status, missed


def _channel_rows(
    tiles: Sequence[QueueFigures],
    targets: Targets,
    thresholds: QueueLookup,
    now_us: int,
    staffing: QueueStaffing | None = None,
) -> list[dict[str, Any]]:
    """A queue's channels, each judged against its own threshold (in force at `now_us`)
    and targets."""
    advised = {c.channel: c for c in (staffing.channels if staffing is not None else ())}
    rows: list[dict[str, Any]] = []
    for tile in tiles:
        assert tile.channel is not None
        own = targets.for_queue(tile.tenant, tile.queue, tile.channel)
        figures = tile_figures(tile, CHANNEL_FIGURES)
        status, _ = _judge_tile(tile, figures, own)
        config = thresholds(tile.tenant, tile.queue, tile.channel, max(now_us, 0))
        rows.append(
            {
                "channel": tile.channel,
                "async": tile.channel in ASYNC_CHANNELS,
                "threshold_s": config.sl_threshold_us / US_PER_S,
                "figures": figures,
                "hover": service_level_hover(tile),
                "status": status,
                "targets": _target_values(own),
                "age_bands": list(tile.age_bands),
                "stale": tile.stale,
                "staffing": None
                if tile.channel not in advised
                else channel_staffing_row(advised[tile.channel]),
            }
        )
    rows.sort(key=lambda row: (-(row["figures"]["in_queue"] or 0), row["channel"]))
    return rows


def goal_rows(
    goals: Sequence[Goal], tiles: Sequence[QueueFigures], now_us: int, zone_of: ZoneLookup
) -> list[dict[str, Any]]:
    """Each SMART goal: its KPI's value now (today's, or FCR over 7 days), where the straight
    line from baseline to target says it should be today, and whether it is on track."""
    rows = []
    for goal in goals:
        mine = [
            t for t in tiles
            if t.channel is None and (goal.tenant in (None, t.tenant))
            and (goal.queue in (None, t.queue))
        ]  # fmt: skip
        tenant = goal.tenant or (mine[0].tenant if mine else "default")
        day = us_to_datetime(max(now_us, 0)).astimezone(zone_of(tenant)).date()
        value, window = _goal_value(goal.kpi, mine)
        plan = goal.planned(day)
        rows.append(
            {
                "name": goal.name,
                "kpi": goal.kpi,
                "label": KPI[goal.kpi].label,
                "format": _FORMATS.get(KPI[goal.kpi].unit, "score"),
                "tenant": goal.tenant,
                "queue": goal.queue,
                "baseline": goal.baseline,
                "target": goal.target,
                "start": goal.start.isoformat(),
                "due": goal.due.isoformat(),
                "day": day.isoformat(),
                "window": window,
                "value": value,
                "plan": plan,
                "on_track": None if value is None else goal.on_track(value, day),
            }
        )
    return rows


def _goal_value(kpi: str, tiles: Sequence[QueueFigures]) -> tuple[float | None, str]:
    """A goal's KPI over its queues now: FCR over the last 7 days, any other KPI today; the
    tiles' counts summed first, then divided once."""
    if kpi == "fcr_rate":
        num = sum(t.fcr.get("fcr_7d", (0, 0))[0] for t in tiles)
        den = sum(t.fcr.get("fcr_7d", (0, 0))[1] for t in tiles)
        return (num / den if den else None), WEEK
    counts = merge_counts([t.windows[TODAY].counts for t in tiles])
    value: float | None = report_row(IntervalKey("", "", "", 0), counts)[kpi]
    return value, TODAY


def agent_rows(agents: Sequence[AgentFigures]) -> list[dict[str, Any]]:
    return [agent.as_dict() for agent in agents]


def wallboard(
    tiles: list[QueueFigures],
    day_counts: DayCounts,
    watermark_us: int,
    targets: Targets,
    tracker: AlertTracker,
    thresholds: QueueLookup,
    zone_of: ZoneLookup,
    agents: Sequence[AgentFigures] = (),
    staffing: LiveStaffing | None = None,
    headline: HeadlineLookup | None = None,
) -> dict[str, Any]:
    """The page's whole state as JSON-ready values (see docs/demo.md for the fields).

    `tiles` are the queues' tiles, and the channels' when given (`per_channel`); `thresholds`,
    `zone_of` and `headline` are the settings' lookups (`Settings.queue`,
    `Settings.tenant_timezone`, `Settings.headline_service_level`; none: the contract's);
    `staffing` the advice kept between refreshes (a new one if not given: the same figures,
    found with a little more work)."""
    series = day_series(day_counts)
    advisor = staffing if staffing is not None else live_staffing(targets, thresholds)
    advice = {(a.tenant, a.queue): a for a in advisor.advise(tiles, watermark_us)}
    channels: dict[tuple[str, str], list[QueueFigures]] = {}
    for tile in tiles:
        if tile.channel is not None:
            channels.setdefault((tile.tenant, tile.queue), []).append(tile)
    queues = []
    breached: list[_Judged] = []
    leading: list[_Judged] = []  # the staffing alerts: figures of their own, not tiles'
    queue_tiles = [tile for tile in tiles if tile.channel is None]
    for tile in queue_tiles:
        own = targets.for_queue(tile.tenant, tile.queue)
        variant = (
            DEFAULT_HEADLINE
            if headline is None
            else headline(tile.tenant, tile.queue, max(watermark_us, 0)).variant
        )
        figures = tile_figures(tile)
        status, missed = _judge_tile(tile, figures, own)
        for check in missed:
            if check.alert:
                breached.append(
                    _Judged(
                        tile.tenant, tile.queue, check.alert, check.figure, check.label,
                        figures[check.figure], _target_values(own)[check.target],
                    )
                )  # fmt: skip
        own_advice = advice.get((tile.tenant, tile.queue))
        leading += _staffing_breaches(own_advice, _volume(tile, ROLLING) >= own.min_volume)
        rows = _channel_rows(
            channels.get((tile.tenant, tile.queue), []),
            targets,
            thresholds,
            watermark_us,
            own_advice,
        )
        callbacks = [row for row in rows if row["channel"] == "callback"]
        queues.append(
            {
                "tenant": tile.tenant,
                "queue": tile.queue,
                "figures": figures,
                "headline_service_level": variant,
                "hover": service_level_hover(tile, variant),
                "status": status,
                "overall": _worst(
                    [*status.values(), *(s for row in rows for s in row["status"].values())]
                ),
                "targets": _target_values(own),
                "volume_15m": _volume(tile, ROLLING),
                "agents": dict(tile.agents),
                "age_bands": list(tile.age_bands),
                "callbacks_waiting": sum(row["figures"]["in_queue"] for row in callbacks),
                "staffing": None if own_advice is None else staffing_row(own_advice),
                "channels": rows,
                "series": [
                    {"start": format_utc(start), SERIES_KPI: value}
                    for start, value in series.get((tile.tenant, tile.queue), [])
                ],
            }
        )
    if watermark_us >= 0:
        tracker.update(watermark_us, [j.key for j in (*breached, *leading)])
    alerts = [_alert(j, tracker, targets, watermark_us) for j in breached]
    staffing_alerts = [_alert(j, tracker, targets, watermark_us) for j in leading]
    staffing_alerts.sort(key=lambda a: (not a["firing"], -a["held_s"], a["queue"]))
    alerts.sort(key=lambda a: (not a["firing"], -a["held_s"], a["queue"]))
    return {
        "watermark_us": watermark_us,
        "watermark": format_utc(watermark_us) if watermark_us >= 0 else None,
        "figures": FIGURE_SPECS,
        "channel_figures": CHANNEL_FIGURE_SPECS,
        "age_bands": list(AGE_BAND_LABELS),
        "series": SERIES_SPEC,
        "staffing": STAFFING_SPEC,
        "queues": queues,
        "agents": agent_rows(agents),
        "teams": sorted({a.team for a in agents if a.team}),
        "goals": goal_rows(targets.goals, queue_tiles, watermark_us, zone_of),
        "alerts": alerts,
        # Apart from `alerts`, whose figures are the tiles' (`figures`): these show the
        # staffing figures of `staffing` (a queue's `gap`, a channel's
        # `projected_service_level`).
        "staffing_alerts": staffing_alerts,
    }


def _alert(j: _Judged, tracker: AlertTracker, targets: Targets, now_us: int) -> dict[str, Any]:
    since = tracker.since.get(j.key, now_us)
    held_s = (now_us - since) / 1e6
    hold = hold_seconds(targets, j.alert)
    return {
        "name": j.alert,
        "tenant": j.tenant,
        "queue": j.queue,
        "channel": j.channel,
        "figure": j.figure,
        "label": j.label,
        "value": j.value,
        "target": j.target,
        "since": format_utc(since),
        "held_s": held_s,
        "for_s": hold,
        "firing": held_s >= hold,
    }
