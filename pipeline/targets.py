"""Targets: what each queue should achieve, what alerts watch, and time-bound (SMART) goals.

The `targets` branch of the settings tree (`Settings.targets`): read from the settings file's
`targets:` section (and from a queue entry's own `targets:` key, which `load_settings` folds
into it) and checked once when the settings load, so a bad target stops every command with
the file and the key that hold it:

    targets:
      default:                 # every queue without a value of its own
        service_level: 0.80    # share answered within the queue's sl_threshold_s
        asa_s: 30              # average speed of answer limit, seconds
        abandon_rate: 0.08     # abandon rate limit
        longest_wait_s: 120    # oldest waiting contact limit, seconds
        min_volume: 20         # answered + abandoned in 15 min before rate alerts may fire
      queues:
        billing: {asa_s: null} # null switches a check off for that queue
      tenants:
        acme: {queues: {sales: {service_level: 0.90}}}
      alerting: {breach_for: 10m, lag_messages: 5000, staffing_gap_for: 10m}
      staffing: {min_abandons: 20}   # live staffing advice (docs/staffing.md)
      goals:
        - {name: support-csat, kpi: csat, queue: support, baseline: 0.78, target: 0.88,
           start: 2026-01-01, due: 2026-06-30}

A queue's value of a field is the most specific one set: tenant's queue, then queue, then
`default`, then the built-in default (DEFAULT_QUEUE_TARGETS).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from pipeline.config_reader import AtLeastOne, ConfigError, Day, Duration, KeyPath, convert
from pipeline.core.catalogue import KPI, RECORDED_KPIS, SCORE, SECONDS, TARGET_UNITS
from pipeline.core.clock import US_PER_S
from pipeline.core.erlang import ServiceTarget
from pipeline.core.events import Channel
from pipeline.core.thresholds import QueueConfig

# KPIs a goal may name (those recorded over time, pipeline/core/catalogue.py), and which way
# is better.
GOAL_KPIS: dict[str, str] = {
    kpi.name: "up" if kpi.higher_is_better else "down" for kpi in RECORDED_KPIS
}
GoalKpi = Annotated[
    str,
    Meta(
        pattern=f"^({'|'.join(GOAL_KPIS)})$", description=f"expected one of {', '.join(GOAL_KPIS)}"
    ),
]

Share = Annotated[float, Meta(gt=0, le=1, description="a share is written as a fraction in (0, 1]")]
Limit = Annotated[float, Meta(gt=0, description="expected seconds > 0")]
Contacts = Annotated[int, Meta(ge=0, description="expected a whole number of contacts >= 0")]
Ratio = Annotated[float, Meta(gt=0, lt=1, description="expected a fraction in (0, 1)")]
GoalName = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="use lower-case letters, digits, - and _ (it names a panel and a Grafana uid)",
    ),
]


class QueueTargets(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A queue's targets; None means "no such check for this queue"."""

    service_level: Share | None = 0.80  # answered within the queue's sl_threshold_s
    asa_s: Limit | None = None  # average speed of answer limit
    abandon_rate: Share | None = 0.10
    longest_wait_s: Limit | None = None  # oldest waiting contact limit
    min_volume: Contacts = 20  # answered + abandoned in 15 min before rate alerts may fire


class ChannelTargetOverrides(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What one level sets of QueueTargets for one channel; UNSET: not set here, so the less
    specific level's value holds (None is a value: the check is off)."""

    service_level: Share | UnsetType | None = UNSET
    asa_s: Limit | UnsetType | None = UNSET
    abandon_rate: Share | UnsetType | None = UNSET
    longest_wait_s: Limit | UnsetType | None = UNSET
    min_volume: Contacts | UnsetType = UNSET


class QueueTargetOverrides(ChannelTargetOverrides, frozen=True, forbid_unknown_fields=True):
    """What one level (a queue, a tenant's queue) sets of QueueTargets, and per channel of
    it (a chat row of a queue judged against its own target)."""

    channels: dict[Channel, ChannelTargetOverrides] = {}


DEFAULT_QUEUE_TARGETS = QueueTargets()
# The catalogue's checks compare figures with these fields (a test holds both structs to them).
QUEUE_TARGET_FIELDS: tuple[str, ...] = tuple(TARGET_UNITS)


class TenantTargets(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    queues: dict[str, QueueTargetOverrides] = {}


class Alerting(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long a condition must hold before it alerts, and the pipeline's own limits.

    The file names a duration without `_s` and may write it `10m`."""

    breach_for_s: Duration = msgspec.field(default=Duration(600), name="breach_for")  # SL, ASA
    # A spike: shorter than a slow slide of service level.
    abandon_for_s: Duration = msgspec.field(default=Duration(300), name="abandon_for")
    longest_wait_for_s: Duration = msgspec.field(default=Duration(60), name="longest_wait_for")
    # On top of the 15 minutes of no offers the check itself needs.
    silent_for_s: Duration = msgspec.field(default=Duration(900), name="silent_for")
    lag_messages: AtLeastOne = 10000
    lag_for_s: Duration = msgspec.field(default=Duration(300), name="lag_for")
    worker_down_for_s: Duration = msgspec.field(default=Duration(60), name="worker_down_for")
    dead_letter_ratio: Ratio = 0.01
    dead_letter_min: AtLeastOne = 10  # dead letters in 15 minutes before the ratio counts
    dead_letter_for_s: Duration = msgspec.field(default=Duration(300), name="dead_letter_for")
    # A sink that cannot write to ClickHouse: the store falls behind as a lagging worker does.
    sink_failing_for_s: Duration = msgspec.field(default=Duration(300), name="sink_failing_for")
    # Leading alerts of live staffing (docs/staffing.md): fewer agents staffed than the queue
    # needs, and a channel's service level projected at the agents staffed below its target.
    # The gap must last: agents come back from breaks within minutes.
    staffing_gap_for_s: Duration = msgspec.field(default=Duration(600), name="staffing_gap_for")
    projected_below_for_s: Duration = msgspec.field(
        default=Duration(300), name="projected_below_for"
    )
    # A worker that answers scrapes while its lag grows and its watermark stands still.
    worker_stuck_for_s: Duration = msgspec.field(default=Duration(300), name="worker_stuck_for")
    # A live view with partitions stale or missing; a failover takes well under a minute.
    wallboard_stale_for_s: Duration = msgspec.field(
        default=Duration(120), name="wallboard_stale_for"
    )


class StaffingAdvice(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the live view advises staffing (docs/staffing.md, "Live")."""

    # Abandons (short ones included) in the last 60 minutes before a queue/channel's patience
    # is estimated from them (Erlang A); with fewer the estimate is too noisy: Erlang C.
    min_abandons: AtLeastOne = 20
    # Agents needed also keep occupancy at or under this share (None: no cap).
    max_occupancy: Share | None = None


class Goal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A SMART goal: move `kpi` of a queue (or all) from `baseline` at `start` to `target` by
    `due`. The plan is the straight line between the two points."""

    name: GoalName
    kpi: GoalKpi
    baseline: float
    target: float
    start: Day
    due: Day
    tenant: str | None = None
    queue: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return GOAL_KPIS[self.kpi] == "up"

    def planned(self, day: date) -> float:
        """Where the straight line from baseline to target stands on `day` (flat outside)."""
        span = (self.due - self.start).days
        done = min(max((day - self.start).days, 0), span)
        return self.baseline + (self.target - self.baseline) * done / span

    def on_track(self, value: float, day: date) -> bool:
        plan = self.planned(day)
        return value >= plan if self.higher_is_better else value <= plan


class Targets(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default: QueueTargets = DEFAULT_QUEUE_TARGETS
    # Per channel, for every queue (email judged against 0.9 in a day, say).
    channels: dict[Channel, ChannelTargetOverrides] = {}
    queues: dict[str, QueueTargetOverrides] = {}
    # `tenants:` in the file; `tenants()` lists the tenants that set a queue's targets.
    by_tenant: dict[str, TenantTargets] = msgspec.field(default_factory=dict, name="tenants")
    alerting: Alerting = Alerting()
    goals: tuple[Goal, ...] = ()
    staffing: StaffingAdvice = StaffingAdvice()

    def for_queue(self, tenant: str, queue: str, channel: str | None = None) -> QueueTargets:
        """A queue's targets, or those of one channel of it."""
        return QueueTargets(
            **{name: self.value(name, tenant, queue, channel) for name in QUEUE_TARGET_FIELDS}
        )

    def service_target(
        self, tenant: str, queue: str, channel: str, config: QueueConfig
    ) -> ServiceTarget | None:
        """What live staffing advises a queue's channel for: its service-level target at its
        threshold and short-abandon limit (`config`, the queue settings), with the staffing
        settings; None when the channel has no service-level target."""
        level = self.value("service_level", tenant, queue, channel)
        if level is None or level >= 1:
            return None  # 1 is no target a finite staff can promise: nothing to advise
        return ServiceTarget(
            level,
            config.sl_threshold_us / US_PER_S,
            config.short_abandon_us / US_PER_S,
            self.staffing.max_occupancy,
        )

    def value(
        self, name: str, tenant: str | None, queue: str | None, channel: str | None = None
    ) -> Any:
        """The value of one field at one level: (None, None) is the default, (None, q) the
        queue's, (t, q) the tenant's queue's; falls back to the less specific levels. With a
        channel, each level's setting for that channel comes before the level's own, and the
        `channels` section comes last before the default."""
        queue_levels: list[QueueTargetOverrides | None] = []
        if tenant is not None and queue is not None and tenant in self.by_tenant:
            queue_levels.append(self.by_tenant[tenant].queues.get(queue))
        if queue is not None:
            queue_levels.append(self.queues.get(queue))
        levels: list[ChannelTargetOverrides | None] = []
        for own in queue_levels:
            if channel is not None and own is not None:
                levels.append(own.channels.get(channel))  # type: ignore[call-overload]
            levels.append(own)
        if channel is not None:
            levels.append(self.channels.get(channel))  # type: ignore[call-overload]
        for level in levels:
            if level is not None and getattr(level, name) is not UNSET:
                return getattr(level, name)
        return getattr(self.default, name)

    def overridden(self, name: str) -> list[tuple[str | None, str]]:
        """The levels that set `name` themselves, most specific first: (tenant, queue) pairs,
        then (None, queue)."""
        pairs: list[tuple[str | None, str]] = [
            (tenant, queue)
            for tenant, spec in sorted(self.by_tenant.items())
            for queue, own in sorted(spec.queues.items())
            if getattr(own, name) is not UNSET
        ]
        pairs += [
            (None, q) for q, own in sorted(self.queues.items()) if getattr(own, name) is not UNSET
        ]
        return pairs

    def tenants(self) -> list[str]:
        return sorted(tenant for tenant, spec in self.by_tenant.items() if spec.queues)


# --- reading ---------------------------------------------------------------------------------


def parse_targets(section: object, source: str = "defaults") -> Targets:
    """A `targets` section alone (settings files are read whole by `load_settings`)."""
    where = KeyPath(source, ("targets",))
    targets = convert(section, Targets, where)
    check_targets(targets, where)
    return targets


def check_targets(targets: Targets, where: KeyPath) -> None:
    """What the types cannot say: goal names are unique, a goal is due after it starts, and
    its values lie in its KPI's range."""
    names: set[str] = set()
    for i, goal in enumerate(targets.goals):
        here = where / "goals" / i
        if goal.name in names:
            raise ConfigError(f"{here / 'name'}: a second goal named {goal.name!r}")
        names.add(goal.name)
        _check_goal_value(goal.kpi, goal.baseline, here / "baseline")
        _check_goal_value(goal.kpi, goal.target, here / "target")
        if goal.due <= goal.start:
            raise ConfigError(f"{here / 'due'}: {goal.due} is not after start {goal.start}")


def _check_goal_value(kpi: str, value: float, where: KeyPath) -> None:
    unit = KPI[kpi].unit
    if unit == SCORE:
        if not -100 <= value <= 100:
            raise ConfigError(f"{where}: NPS lies in [-100, 100], got {value!r}")
    elif unit == SECONDS:
        if value < 0:
            raise ConfigError(f"{where}: expected seconds >= 0, got {value!r}")
    elif not 0 <= value <= 1:
        raise ConfigError(f"{where}: a rate is written as a fraction in [0, 1], got {value!r}")
