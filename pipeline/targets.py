"""Targets: what each queue should achieve, what alerts watch, and time-bound (SMART) goals.

Read from the settings file's `targets:` section (and from a queue entry's own `targets:` key,
which `load_settings` folds into it), checked once when the settings load, so a bad target
stops every command with the file and the key that hold it:

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
      alerting: {breach_for: 10m, lag_messages: 5000}
      goals:
        - {name: support-csat, kpi: csat, queue: support, baseline: 0.78, target: 0.88,
           start: 2026-01-01, due: 2026-06-30}

A queue's value of a field is the most specific one set: tenant's queue, then queue, then
`default`, then the built-in default (DEFAULT_QUEUE_TARGETS).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.config import ConfigError, KeyPath, Settings

# The checks a queue target can set, and what a value must be.
RATE_FIELDS = ("service_level", "abandon_rate")
SECONDS_FIELDS = ("asa_s", "longest_wait_s")
QUEUE_TARGET_FIELDS = (*RATE_FIELDS, *SECONDS_FIELDS, "min_volume")

# KPIs a goal may name (the contract's report fields), and which way is better.
GOAL_KPIS: dict[str, str] = {
    "service_level": "up",
    "response_rate": "up",
    "fcr_rate": "up",
    "csat": "up",
    "nps": "up",
    "asa_s": "down",
    "abandon_rate": "down",
    "aht_s": "down",
    "transfer_rate": "down",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class QueueTargets:
    """A queue's resolved targets; None means "no such check for this queue"."""

    service_level: float | None = 0.80
    asa_s: float | None = None
    abandon_rate: float | None = 0.10
    longest_wait_s: float | None = None
    min_volume: int = 20


DEFAULT_QUEUE_TARGETS = QueueTargets()


@dataclass(frozen=True, slots=True)
class Alerting:
    """How long a condition must hold before it alerts, and the pipeline's own limits."""

    breach_for_s: int = 600  # service level and ASA
    abandon_for_s: int = 300  # a spike: shorter than a slow slide of service level
    longest_wait_for_s: int = 60
    silent_for_s: int = 900  # on top of the 15 minutes of no offers the check itself needs
    lag_messages: int = 10000
    lag_for_s: int = 300
    worker_down_for_s: int = 60
    dead_letter_ratio: float = 0.01
    dead_letter_min: int = 10  # dead letters in 15 minutes before the ratio counts
    dead_letter_for_s: int = 300


@dataclass(frozen=True, slots=True)
class Goal:
    """A SMART goal: move `kpi` of a queue (or all) from `baseline` at `start` to `target` by
    `due`. The plan is the straight line between the two points."""

    name: str
    kpi: str
    baseline: float
    target: float
    start: date
    due: date
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


@dataclass(frozen=True)
class Targets:
    default: QueueTargets = DEFAULT_QUEUE_TARGETS
    # Partial overrides (only the keys set), per queue and per (tenant, queue).
    queues: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tenant_queues: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    alerting: Alerting = field(default_factory=Alerting)
    goals: tuple[Goal, ...] = ()

    def for_queue(self, tenant: str, queue: str) -> QueueTargets:
        values = dataclasses.asdict(self.default)
        values.update(self.queues.get(queue, {}))
        values.update(self.tenant_queues.get((tenant, queue), {}))
        return QueueTargets(**values)

    def value(self, name: str, tenant: str | None, queue: str | None) -> Any:
        """The value of one field at one level: (None, None) is the default, (None, q) the
        queue's, (t, q) the tenant's queue's; falls back to the less specific levels."""
        if tenant is not None and queue is not None:
            own = self.tenant_queues.get((tenant, queue), {})
            if name in own:
                return own[name]
        if queue is not None:
            own = self.queues.get(queue, {})
            if name in own:
                return own[name]
        return getattr(self.default, name)

    def overridden(self, name: str) -> list[tuple[str | None, str]]:
        """The levels that set `name` themselves, most specific first: (tenant, queue) pairs,
        then (None, queue)."""
        pairs: list[tuple[str | None, str]] = [
            (t, q) for (t, q), own in sorted(self.tenant_queues.items()) if name in own
        ]
        pairs += [(None, q) for q, own in sorted(self.queues.items()) if name in own]
        return pairs

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in self.tenant_queues})


# --- reading ---------------------------------------------------------------------------------


def targets_from_settings(settings: Settings) -> Targets:
    """The typed targets of loaded settings (already checked by `load_settings`)."""
    return parse_targets(settings.targets, settings.source)


def collect_targets(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The `targets` section with each queue entry's own `targets:` folded in, checked.

    Called by `load_settings` on the file's raw mapping, so a bad target names its file and
    key, and a queue's targets may sit beside its thresholds or in the `targets` section
    (not both)."""
    section = raw.get("targets") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: key `targets` must be a mapping")
    merged: dict[str, Any] = {**section}
    queues = dict(section.get("queues") or {})
    tenants: dict[str, Any] = {
        t: dict(spec or {}) for t, spec in (section.get("tenants") or {}).items()
    }
    for queue, spec in _entries_with_targets(raw.get("queues")):
        if queue in queues:
            raise ConfigError(
                f"{source}: key `queues.{queue}.targets`: the queue's targets are also set at "
                f"`targets.queues.{queue}`; keep one"
            )
        queues[queue] = spec
    for tenant, tenant_spec in (raw.get("tenants") or {}).items():
        if not isinstance(tenant_spec, dict):
            continue  # config.py reports it
        for queue, spec in _entries_with_targets(tenant_spec.get("queues")):
            own = dict(tenants.get(tenant, {}).get("queues") or {})
            if queue in own:
                raise ConfigError(
                    f"{source}: key `tenants.{tenant}.queues.{queue}.targets`: also set at "
                    f"`targets.tenants.{tenant}.queues.{queue}`; keep one"
                )
            own[queue] = spec
            tenants.setdefault(tenant, {})["queues"] = own
    if queues:
        merged["queues"] = queues
    if tenants:
        merged["tenants"] = tenants
    parse_targets(merged, source)
    return merged


def _entries_with_targets(queues: Any) -> list[tuple[str, Any]]:
    if not isinstance(queues, dict):
        return []
    return [
        (str(queue), spec["targets"])
        for queue, spec in queues.items()
        if isinstance(spec, dict) and "targets" in spec
    ]


def parse_targets(section: Mapping[str, Any], source: str = "defaults") -> Targets:
    where = KeyPath(source, "targets")
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    _known(section, ("default", "queues", "tenants", "alerting", "goals"), where)
    default = DEFAULT_QUEUE_TARGETS
    if section.get("default") is not None:
        own = _queue_targets(section["default"], where / "default")
        default = dataclasses.replace(DEFAULT_QUEUE_TARGETS, **own)
        if default.min_volume is None:
            raise ConfigError(f"{where / 'default' / 'min_volume'}: must be a number, not null")
    queues = {
        str(q): _queue_targets(spec, where / "queues" / q)
        for q, spec in _mapping(section.get("queues"), where / "queues").items()
    }
    tenant_queues: dict[tuple[str, str], dict[str, Any]] = {}
    for tenant, spec in _mapping(section.get("tenants"), where / "tenants").items():
        here = where / "tenants" / tenant
        spec = _mapping(spec, here)
        _known(spec, ("queues",), here)
        for q, own in _mapping(spec.get("queues"), here / "queues").items():
            tenant_queues[(str(tenant), str(q))] = _queue_targets(own, here / "queues" / q)
    alerting = _alerting(section.get("alerting"), where / "alerting")
    goals = _goals(section.get("goals"), where / "goals")
    return Targets(default, queues, tenant_queues, alerting, goals)


def _mapping(value: Any, where: KeyPath) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping")
    return value


def _known(spec: Mapping[str, Any], keys: tuple[str, ...], where: KeyPath) -> None:
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key `{unknown[0]}` (known: {', '.join(keys)})")


def _number(value: Any, where: KeyPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _queue_targets(spec: Any, where: KeyPath) -> dict[str, Any]:
    spec = _mapping(spec, where)
    _known(spec, QUEUE_TARGET_FIELDS, where)
    out: dict[str, Any] = {}
    for name, value in spec.items():
        here = where / name
        if value is None:
            if name == "min_volume":
                raise ConfigError(f"{here}: must be a number, not null")
            out[name] = None
        elif name in RATE_FIELDS:
            rate = _number(value, here)
            if not 0 < rate <= 1:
                raise ConfigError(
                    f"{here}: a share is written as a fraction in (0, 1], got {value!r}"
                )
            out[name] = rate
        elif name in SECONDS_FIELDS:
            seconds = _number(value, here)
            if seconds <= 0:
                raise ConfigError(f"{here}: expected seconds > 0, got {value!r}")
            out[name] = seconds
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(
                    f"{here}: expected a whole number of contacts >= 0, got {value!r}"
                )
            out[name] = value
    return out


def parse_duration(value: Any, where: object) -> int:
    """Seconds from `90`, `90s`, `10m`, `1h` or `1d` (Prometheus's spelling)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None or int(match[1]) <= 0:
        raise ConfigError(f"{where}: expected a duration such as 90s, 10m or 1h, got {value!r}")
    return int(match[1]) * _UNIT_S[match[2]]


_ALERTING_DURATIONS = {
    "breach_for": "breach_for_s",
    "abandon_for": "abandon_for_s",
    "longest_wait_for": "longest_wait_for_s",
    "silent_for": "silent_for_s",
    "lag_for": "lag_for_s",
    "worker_down_for": "worker_down_for_s",
    "dead_letter_for": "dead_letter_for_s",
}
_ALERTING_COUNTS = ("lag_messages", "dead_letter_min")


def _alerting(spec: Any, where: KeyPath) -> Alerting:
    spec = _mapping(spec, where)
    _known(spec, (*_ALERTING_DURATIONS, *_ALERTING_COUNTS, "dead_letter_ratio"), where)
    values: dict[str, Any] = {}
    for name, value in spec.items():
        here = where / name
        if name in _ALERTING_DURATIONS:
            values[_ALERTING_DURATIONS[name]] = parse_duration(value, here)
        elif name in _ALERTING_COUNTS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{here}: expected a whole number >= 1, got {value!r}")
            values[name] = value
        else:
            ratio = _number(value, here)
            if not 0 < ratio < 1:
                raise ConfigError(f"{here}: expected a fraction in (0, 1), got {value!r}")
            values[name] = ratio
    return Alerting(**values)


def _date(value: Any, where: KeyPath) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expected a date such as 2026-06-30, got {value!r}") from None


def _goals(spec: Any, where: KeyPath) -> tuple[Goal, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise ConfigError(f"{where} must be a list of goals")
    goals: list[Goal] = []
    keys = ("name", "kpi", "baseline", "target", "start", "due", "tenant", "queue")
    for i, item in enumerate(spec):
        here = where / i
        item = _mapping(item, here)
        _known(item, keys, here)
        missing = [k for k in keys[:6] if k not in item]
        if missing:
            raise ConfigError(f"{here}: missing `{missing[0]}`")
        name = str(item["name"])
        if not _NAME.match(name):
            raise ConfigError(
                f"{here / 'name'}: use lower-case letters, digits, - and _ (it names a panel "
                f"and a Grafana uid), got {name!r}"
            )
        if any(g.name == name for g in goals):
            raise ConfigError(f"{here / 'name'}: a second goal named {name!r}")
        kpi = str(item["kpi"])
        if kpi not in GOAL_KPIS:
            raise ConfigError(
                f"{here / 'kpi'}: unknown KPI {kpi!r} (one of {', '.join(GOAL_KPIS)})"
            )
        baseline = _goal_value(kpi, item["baseline"], here / "baseline")
        target = _goal_value(kpi, item["target"], here / "target")
        start, due = _date(item["start"], here / "start"), _date(item["due"], here / "due")
        if due <= start:
            raise ConfigError(f"{here / 'due'}: {due} is not after start {start}")
        goals.append(
            Goal(
                name=name,
                kpi=kpi,
                baseline=baseline,
                target=target,
                start=start,
                due=due,
                tenant=None if item.get("tenant") is None else str(item["tenant"]),
                queue=None if item.get("queue") is None else str(item["queue"]),
            )
        )
    return tuple(goals)


def _goal_value(kpi: str, value: Any, where: KeyPath) -> float:
    number = _number(value, where)
    if kpi == "nps":
        if not -100 <= number <= 100:
            raise ConfigError(f"{where}: NPS lies in [-100, 100], got {value!r}")
    elif kpi.endswith("_s"):
        if number < 0:
            raise ConfigError(f"{where}: expected seconds >= 0, got {value!r}")
    elif not 0 <= number <= 1:
        raise ConfigError(f"{where}: a rate is written as a fraction in [0, 1], got {value!r}")
    return number
