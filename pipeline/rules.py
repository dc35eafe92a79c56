"""Prometheus recording and alerting rules, generated from the catalogue and the targets.

The KPIs, metric names, rule names and the checks the queue alerts watch are those of
pipeline/core/catalogue.py; this module writes them in PromQL. Recording rules follow
Prometheus's `level:metric:operations` naming. Every KPI over a window is ONE division of two
summed rates (the catalogue's numerator and denominator), never an average of ratios, so it
weighs busy queues and channels as the report does:

    tenant_queue:ccpipe_service_level:ratio_rate15m
      = tenant_queue:ccpipe_contacts_answered_within_sl:rate15m
        / (tenant_queue:ccpipe_contacts_answered:rate15m
           + tenant_queue:ccpipe_contacts_abandoned:rate15m > 0)

A denominator of 0 gives no sample, as the report gives null. The targets become series too
(`tenant_queue:ccpipe_target_service_level:ratio`...), one per queue that has traffic, so a
single alert rule compares every queue with its own target, and dashboards draw the targets.

Alerts carry `tenant` and `queue` (per-queue alerts, `scope: queue`) or describe the pipeline
(`scope: pipeline`); Alertmanager holds the per-queue ones back while a pipeline one fires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from pipeline.core.catalogue import (
    AGENT_TIME,
    AGENT_TIME_RULE,
    AGENTS,
    AGENTS_RULE,
    ALERTED_CHECKS,
    CONSUMER_LAG,
    CONTACT_COUNTERS,
    DEAD_LETTERED,
    DEAD_LETTERS_INCREASE_RULE,
    DEAD_LETTERS_RATE_RULE,
    DEAD_LETTERS_RATIO_RULE,
    EVENT_TO_METRIC,
    EVENTS,
    EVENTS_RATE_RULE,
    FCR_WINDOW_ELIGIBLE,
    FCR_WINDOW_RESOLVED,
    FCR_WINDOW_RULE,
    INGEST_DEAD_LETTERED,
    INGEST_EVENTS,
    KPI,
    LAG_RULE,
    LATENCY_P95_RULE,
    LIVE_NOT_FRESH_RULE,
    LIVE_OLDEST_UPDATE,
    LIVE_PARTITIONS,
    OCCUPANCY,
    OCCUPANCY_RULE,
    PROJECTED_BELOW_ALERT,
    QUEUE_LONGEST_WAIT,
    QUEUE_LONGEST_WAIT_RULE,
    QUEUE_SERIES,
    QUEUE_WAITING,
    QUEUE_WAITING_RULE,
    RECORDED_KPIS,
    SECONDS,
    SINK_INSERT_FAILURES,
    SINK_JOB,
    SINK_STORE_UP,
    SINK_WRITING_RULE,
    STAFFING_GAP_ALERT,
    STAFFING_GAP_RULE,
    STAFFING_PROJECTED,
    STAFFING_PROJECTED_RULE,
    STAFFING_REQUIRED,
    STAFFING_REQUIRED_CHANNEL_RULE,
    STAFFING_REQUIRED_RULE,
    STAFFING_STAFFED,
    STAFFING_STAFFED_RULE,
    STAFFING_TARGET,
    STAFFING_TARGET_RULE,
    TARGET_UNITS,
    TENANT_QUEUE,
    TENANT_QUEUE_CHANNEL,
    WALLBOARD_KPIS,
    WATERMARK,
    WINDOW_GAUGES,
    WINDOW_OFFERED_RULE,
    WORKER_JOB,
    WORKER_LAG_RULE,
    Check,
    Kpi,
    Metric,
    kpi_rule,
    rate_rule,
    target_rule,
    window_kpi_rule,
)
from pipeline.targets import Targets

WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("15m", 900), ("1h", 3600))
QUEUE = "tenant, queue"
CHANNEL = "tenant, queue, channel"
# The window the rate alerts judge (short, so that a breach that ends soon stays shorter than
# the rule's `for` and never fires), and the window of the volume they need (longer, steadier).
ALERT_WINDOW = "5m"
VOLUME_WINDOW = "15m"
VOLUME_WINDOW_S = 900
SILENT_WINDOW = "15m"
SILENT_WINDOW_S = 900
# How long a worker's lag must grow while its watermark stands still to count as stuck.
STUCK_WINDOW = "5m"
RECORDING_FILE = "ccpipe-recording.yml"
ALERTS_FILE = "ccpipe-alerts.yml"


def _sum(terms: Sequence[str]) -> str:
    text = terms[0]
    for term in terms[1:]:
        text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return text


def _ratio(numerator: Sequence[str], denominator: Sequence[str], scale: int = 1) -> str:
    top = _sum(numerator)
    if len(numerator) > 1:
        top = f"({top})"
    if scale != 1:
        top = f"{scale} * {top}"
    return f"{top}\n/\n({_sum(denominator)} > 0)"


def _kpi_ratio(kpi: Kpi, series: Callable[[str], str]) -> str:
    """The KPI as one division of its summed terms, each term's series from `series(field)`.

    The exported series are in base units (seconds), so a mean needs no divisor here.
    """

    def signed(term: str) -> str:
        return ("-" if term.startswith("-") else "") + series(term.lstrip("-"))

    return _ratio(
        [signed(t) for t in kpi.numerator], [signed(t) for t in kpi.denominator], kpi.scale
    )


# --- recording rules --------------------------------------------------------------------


def recording_groups(targets: Targets) -> list[dict[str, Any]]:
    return [
        {"name": "ccpipe-contact-rates", "rules": list(_rate_rules())},
        {"name": "ccpipe-kpis", "rules": list(_kpi_rules())},
        {"name": "ccpipe-live", "rules": list(_live_rules())},
        {"name": "ccpipe-staffing", "rules": list(_staffing_rules())},
        {"name": "ccpipe-targets", "rules": list(_target_rules(targets))},
        {"name": "ccpipe-pipeline-rates", "rules": list(_pipeline_rules())},
    ]


def _rate_rules() -> Iterator[dict[str, Any]]:
    # Per channel from the raw counters (summing away partition and instance), then per queue
    # from those: each rule reads the one before it in the same group.
    for window, _ in WINDOWS:
        for field, metric in CONTACT_COUNTERS.items():
            yield {
                "record": rate_rule(field, window, TENANT_QUEUE_CHANNEL),
                "expr": f"sum by ({CHANNEL}) (rate({metric.name}[{window}]))",
            }
            yield {
                "record": rate_rule(field, window),
                "expr": f"sum by ({QUEUE}) ({rate_rule(field, window, TENANT_QUEUE_CHANNEL)})",
            }


def _kpi_rules() -> Iterator[dict[str, Any]]:
    for level in (TENANT_QUEUE, TENANT_QUEUE_CHANNEL):
        for window, _ in WINDOWS:
            rated = partial(rate_rule, window=window, level=level)
            for kpi in RECORDED_KPIS:
                yield {"record": kpi_rule(kpi, window, level), "expr": _kpi_ratio(kpi, rated)}


def _live_rules() -> Iterator[dict[str, Any]]:
    by = "tenant, queue, window"
    for kpi in WALLBOARD_KPIS:
        yield {
            "record": window_kpi_rule(kpi),
            "expr": _kpi_ratio(kpi, lambda f: f"sum by ({by}) ({WINDOW_GAUGES[f].name})"),
        }
    yield {
        "record": WINDOW_OFFERED_RULE,
        "expr": f"sum by ({by}) ({WINDOW_GAUGES['offered'].name})",
    }
    yield {
        "record": QUEUE_WAITING_RULE,
        "expr": f"sum by ({QUEUE}) ({QUEUE_WAITING.name})",
    }
    yield {
        "record": QUEUE_LONGEST_WAIT_RULE,
        "expr": f"max by ({QUEUE}) ({QUEUE_LONGEST_WAIT.name})",
    }
    yield {
        "record": AGENTS_RULE,
        "expr": f"sum by ({QUEUE}, state) ({AGENTS.name})",
    }
    yield {
        "record": AGENT_TIME_RULE,
        "expr": f"sum by ({QUEUE}, state, window) ({AGENT_TIME.name})",
    }

    def time_in(states: tuple[str, ...]) -> str:
        return f'sum by ({by}) ({AGENT_TIME_RULE}{{state=~"{"|".join(states)}"}})'

    yield {
        "record": OCCUPANCY_RULE,
        "expr": _ratio([time_in(OCCUPANCY.numerator)], [time_in(OCCUPANCY.denominator)]),
    }
    yield {
        "record": FCR_WINDOW_RULE,
        "expr": _ratio(
            [f"sum by ({by}) ({FCR_WINDOW_RESOLVED.name})"],
            [f"sum by ({by}) ({FCR_WINDOW_ELIGIBLE.name})"],
        ),
    }


def _staffing_rules() -> Iterator[dict[str, Any]]:
    # Every reader of the live view exports the whole centre's advice: one reader's value,
    # not a sum over them (readers differ only while one lags: take the worse reading).
    yield {
        "record": STAFFING_REQUIRED_CHANNEL_RULE,
        "expr": f"max by ({CHANNEL}) ({STAFFING_REQUIRED.name})",
    }
    yield {
        "record": STAFFING_REQUIRED_RULE,
        "expr": f"sum by ({QUEUE}) ({STAFFING_REQUIRED_CHANNEL_RULE})",
    }
    yield {
        "record": STAFFING_STAFFED_RULE,
        "expr": f"min by ({QUEUE}) ({STAFFING_STAFFED.name})",
    }
    yield {
        "record": STAFFING_GAP_RULE,
        "expr": f"{STAFFING_REQUIRED_RULE}\n- on ({QUEUE})\n{STAFFING_STAFFED_RULE}",
    }
    yield {
        "record": STAFFING_PROJECTED_RULE,
        "expr": f"min by ({CHANNEL}) ({STAFFING_PROJECTED.name})",
    }
    yield {
        "record": STAFFING_TARGET_RULE,
        "expr": f"max by ({CHANNEL}) ({STAFFING_TARGET.name})",
    }


def _selector(tenant: str | None, queue: str | None) -> str:
    labels = []
    if tenant is not None:
        labels.append(f'tenant="{tenant}"')
    if queue is not None:
        labels.append(f'queue="{queue}"')
    return "{" + ", ".join(labels) + "}" if labels else ""


def _queues_of(tenant: str | None, queue: str | None) -> str:
    return f"group by ({QUEUE}) ({QUEUE_SERIES}{_selector(tenant, queue)})"


def target_expr(targets: Targets, field: str) -> str | None:
    """One series per queue with traffic: its own value of `field`, most specific first.

    `A or B` keeps B only for queues A lacks, so the first level that sets a value wins; a
    level that sets null removes its queues from the levels after it (`unless`)."""
    levels: list[tuple[str | None, str | None]] = [*targets.overridden(field), (None, None)]
    parts: list[str] = []
    switched_off: list[str] = []
    for tenant, queue in levels:
        value = targets.value(field, tenant, queue)
        if value is None:
            switched_off.append(_queues_of(tenant, queue))
            continue
        part = f"{_number(value)} + 0 * {_queues_of(tenant, queue)}"
        for off in switched_off:
            part = f"({part})\nunless on ({QUEUE}) {off}"
        parts.append(f"({part})" if len(levels) > 1 else part)
    return "\nor\n".join(parts) if parts else None


def _number(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _target_rules(targets: Targets) -> Iterator[dict[str, Any]]:
    for field in TARGET_UNITS:
        expr = target_expr(targets, field)
        if expr is not None:
            yield {"record": target_rule(field), "expr": expr}


def _either(*metrics: Metric) -> str:
    """A selector of several metric names: their series side by side, each keeping its job."""
    return f'{{__name__=~"{"|".join(metric.name for metric in metrics)}"}}'


def _pipeline_rules() -> Iterator[dict[str, Any]]:
    events = EVENTS.name
    # Bad input is dead-lettered where it is first read: by ingest when platforms feed it
    # (docs/ingest.md), by the worker when producers write the events topic themselves. The
    # dead-letter rules (and so the alert) count both, each job against its own input.
    dead = _either(DEAD_LETTERED, INGEST_DEAD_LETTERED)
    read = _either(EVENTS, INGEST_EVENTS)
    yield {
        "record": EVENTS_RATE_RULE,
        "expr": f"sum by (job) (rate({events}[5m]))",
    }
    yield {
        "record": DEAD_LETTERS_RATE_RULE,
        "expr": f"sum by (job, reason) (rate({dead}[5m]))",
    }
    yield {
        "record": DEAD_LETTERS_INCREASE_RULE,
        "expr": f"sum by (job) (increase({dead}[15m]))",
    }
    yield {
        "record": DEAD_LETTERS_RATIO_RULE,
        "expr": f"sum by (job) (rate({dead}[15m]))\n/\n"
        f"(sum by (job) (rate({dead}[15m])) + sum by (job) (rate({read}[15m])) > 0)",
    }
    yield {
        "record": LAG_RULE,
        "expr": f"sum by (job, topic) ({CONSUMER_LAG.name})",
    }
    yield {
        "record": LATENCY_P95_RULE,
        "expr": "histogram_quantile(0.95, sum by (job, le) "
        f"(rate({EVENT_TO_METRIC.name}_bucket[5m])))",
    }
    # A sink that cannot be scraped cannot write either: its `up` stands in for the gauge
    # (`or` adds it only where the sink's own series is missing).
    yield {
        "record": SINK_WRITING_RULE,
        "expr": f'min by (job, instance) ({SINK_STORE_UP.name} or up{{job="{SINK_JOB}"}})',
    }
    yield {
        "record": WORKER_LAG_RULE,
        "expr": f"sum by (job, instance) ({CONSUMER_LAG.name})",
    }
    yield {
        "record": LIVE_NOT_FRESH_RULE,
        "expr": f'sum by (job, instance) ({LIVE_PARTITIONS.name}{{state!="fresh"}})',
    }


# --- alerting rules -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the quantity it watches (`value`, which a healthy live system returns)
    and the condition on it; the rule's expression is `(value) condition`."""

    name: str
    value: str
    condition: str
    for_s: int
    severity: str
    scope: str
    summary: str
    description: str

    @property
    def expr(self) -> str:
        value = self.value if re.fullmatch(r"[\w:]+(\{[^}]*\})?", self.value) else f"({self.value})"
        return f"{value}\n{self.condition}"

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": _duration(self.for_s),
            "labels": {"severity": self.severity, "scope": self.scope},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                **(
                    {"dashboard": "/d/ccpipe-queue?var-tenant={{ $labels.tenant }}"
                     "&var-queue={{ $labels.queue }}"}
                    if self.scope == "queue"
                    else {"dashboard": "/d/ccpipe-pipeline"}
                ),
            },
        }  # fmt: skip


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _humanize(field: str) -> str:
    return "humanizeDuration" if TARGET_UNITS[field] == SECONDS else "humanizePercentage"


def _target_of(field: str) -> str:
    """Template text that looks up the alerting queue's own target when it is rendered."""
    return (
        f"{{{{ with printf `{target_rule(field)}{{tenant=%q,queue=%q}}` $labels.tenant "
        f"$labels.queue | query }}}}{{{{ . | first | value | {_humanize(field)} }}}}{{{{ end }}}}"
    )


def _volume_guard(window: str = VOLUME_WINDOW, seconds: int = VOLUME_WINDOW_S) -> str:
    answered = rate_rule("answered", window)
    abandoned = rate_rule("abandoned", window)
    return (
        f"and on ({QUEUE})\n"
        f"({answered} + {abandoned}) * {seconds}\n"
        f">= on ({QUEUE}) {target_rule('min_volume')}"
    )


# The per-queue alerts' words and severity, by alert name; what they watch, their condition
# and their `for` come from the catalogue's checks. `{value}` and `{target}` are filled in.
QUEUE_ALERT_TEXT: dict[str, tuple[str, str, str]] = {
    "CcpipeServiceLevelBelowTarget": (
        "warning",
        "service level {value} over the last 5 minutes, below its target of {target}.",
        "Fewer contacts are answered within the queue's threshold than the target asks, "
        "with enough volume to matter. Check the queue's wallboard: agents available vs "
        "contacts waiting; move agents from quieter queues, stop non-urgent off-phone "
        "work, or open overflow.",
    ),
    "CcpipeAnswerDelayAboveLimit": (
        "warning",
        "average speed of answer {value} over the last 5 minutes, above the limit of {target}.",
        "Contacts wait longer than the limit before an agent takes them. Check staffing "
        "against arrivals on the queue dashboard and the agents in `away` or `acw`.",
    ),
    "CcpipeAbandonRateSpike": (
        "critical",
        "{value} of contacts abandoned over the last 5 minutes, above the limit of {target}.",
        "Customers hang up before they are answered. Add agents to the queue now; if the "
        "cause is an outage or an announcement, update the queue's greeting.",
    ),
    "CcpipeLongestWaitAboveLimit": (
        "warning",
        "the oldest waiting contact has waited {value}, over the limit of {target}.",
        "Someone has been waiting too long right now. Have the next free agent take the "
        "oldest contact; check that agents serving the queue are logged in and available.",
    ),
}


def _queue_alert(check: Check, targets: Targets) -> Alert:
    """A check as a Prometheus alert: its KPI over the alert window (or, for the one figure
    of now, the longest wait) on the wrong side of the queue's own target, for its `hold`."""
    severity, summary, description = QUEUE_ALERT_TEXT[check.alert]
    if check.kpi is not None:
        value = kpi_rule(KPI[check.kpi], ALERT_WINDOW)
    else:
        value = QUEUE_LONGEST_WAIT_RULE
    condition = f"{'<' if check.higher_is_better else '>'} on ({QUEUE}) {target_rule(check.target)}"
    if check.needs_volume:
        condition += f"\n{_volume_guard()}"
    queue = "{{ $labels.queue }} ({{ $labels.tenant }})"
    shown = f"{{{{ $value | {_humanize(check.target)} }}}}"
    return Alert(
        check.alert,
        value,
        condition,
        getattr(targets.alerting, check.hold),
        severity,
        "queue",
        f"{queue}: " + summary.format(value=shown, target=_target_of(check.target)),
        description,
    )


def alerts(targets: Targets) -> list[Alert]:
    a = targets.alerting
    queue = "{{ $labels.queue }} ({{ $labels.tenant }})"
    present = {rule["record"] for rule in _target_rules(targets)}
    # A check no queue has a target for would never fire: leave it out.
    found: list[Alert] = [
        _queue_alert(check, targets)
        for check in ALERTED_CHECKS
        if target_rule(check.target) in present
    ]
    if target_rule("service_level") in present:
        found += _staffing_alerts(targets)
    found += [
        Alert(
            "CcpipeQueueSilent",
            rate_rule("offered", SILENT_WINDOW),
            f"== 0\nand on ({QUEUE})\n"
            f"{rate_rule('offered', '1h')} offset 1w * 3600\n"
            f">= on ({QUEUE}) {target_rule('min_volume')}",
            a.silent_for_s,
            "warning",
            "queue",
            f"{queue}: no contact offered for "
            f"{_duration(SILENT_WINDOW_S + a.silent_for_s)}, though the same hour a week ago "
            "had traffic.",
            "The queue may be cut off: check the platform's routing for the queue, the trunk "
            "or chat entry point, and the event feed (converter, producer) for this queue.",
        ),
        Alert(
            "CcpipeWorkerDown",
            f'up{{job="{WORKER_JOB}"}}',
            "== 0",
            a.worker_down_for_s,
            "critical",
            "pipeline",
            "ccpipe worker {{ $labels.instance }} cannot be scraped: its partitions' live "
            "figures are missing.",
            "Check the worker process or container (logs, restarts, out of memory). Its "
            "partitions move to the other workers of the group after the session timeout; "
            "queue alerts are held back meanwhile.",
        ),
        Alert(
            "CcpipeWorkersAbsent",
            f'count(up{{job="{WORKER_JOB}"}} == 1) or vector(0)',
            "== 0",
            a.worker_down_for_s,
            "critical",
            "pipeline",
            "No ccpipe worker is up: no live KPI is computed.",
            "Start the workers (`ccpipe worker --config ...`, or the compose service `worker`) "
            "and check Prometheus's scrape targets.",
        ),
        Alert(
            "CcpipePipelineLagging",
            LAG_RULE,
            f"> {a.lag_messages}",
            a.lag_for_s,
            "critical",
            "pipeline",
            "ccpipe is {{ $value | humanize }} messages behind on {{ $labels.topic }}: live "
            "figures and queue alerts are late.",
            "The workers cannot keep up: check their CPU and the event-to-metric latency on "
            "the pipeline dashboard, add workers (up to the partition count), or look for a "
            "stuck partition in the worker logs.",
        ),
        Alert(
            "CcpipeDeadLetterSurge",
            DEAD_LETTERS_RATIO_RULE,
            f"> {a.dead_letter_ratio}\nand on (job)\n"
            f"{DEAD_LETTERS_INCREASE_RULE} >= {a.dead_letter_min}",
            a.dead_letter_for_s,
            "warning",
            "pipeline",
            "{{ $value | humanizePercentage }} of ccpipe's input went to the dead-letter topic "
            "over the last 15 minutes.",
            "A producer sends events that break the contract. See the reasons on the pipeline "
            "dashboard (or `dead_letters` in ClickHouse) and fix the converter or producer; "
            "the KPIs miss those events meanwhile.",
        ),
        Alert(
            "CcpipeWorkerStuck",
            WORKER_LAG_RULE,
            f"> 0\nand on (job, instance)\ndelta({WORKER_LAG_RULE}[{STUCK_WINDOW}]) > 0\n"
            f"and on (job, instance)\nchanges({WATERMARK.name}[{STUCK_WINDOW}]) == 0",
            a.worker_stuck_for_s,
            "critical",
            "pipeline",
            "ccpipe worker {{ $labels.instance }} answers but is stuck: {{ $value | humanize }} "
            f"messages behind and growing, its event time unchanged for {STUCK_WINDOW}.",
            "The worker process lives (it is scraped) but processes nothing: its partitions' "
            "live figures and interval rows stand still. Look in its log for a partition "
            "sought back or a rebalance that never ended, then restart it (SIGTERM); its "
            "partitions move to the other workers meanwhile.",
        ),
        Alert(
            "CcpipeWallboardStale",
            LIVE_NOT_FRESH_RULE,
            "> 0",
            a.wallboard_stale_for_s,
            "warning",
            "pipeline",
            "The live view of {{ $labels.instance }} has no fresh figures of {{ $value }} "
            "events partition(s): the wallboard's figures are old.",
            "No publication of those partitions came for `live_stale_after_s`: their owner "
            "is down, stuck or cannot write to the live topic, or this reader cannot read it. "
            f"See `{LIVE_PARTITIONS.name}` and `{LIVE_OLDEST_UPDATE.name}` on the pipeline "
            "dashboard, and the workers' alerts. The wallboard marks the old figures meanwhile.",
        ),
        Alert(
            "CcpipeSinkFailing",
            SINK_WRITING_RULE,
            "== 0",
            a.sink_failing_for_s,
            "critical",
            "pipeline",
            "ccpipe sink {{ $labels.instance }} cannot write to ClickHouse: the store, the "
            "history and goal dashboards and `ccpipe sql` fall behind.",
            "The sink holds its batch and pauses consumption, so nothing is lost while Kafka "
            "keeps the topics. Check that ClickHouse is up and reachable from the sink "
            f"(`{SINK_INSERT_FAILURES.name}` by kind; a `refused` insert stops the sink: see "
            "its log), then the sink process itself. Live figures and queue alerts do not "
            "depend on it.",
        ),
    ]
    return found


def _staffing_alerts(targets: Targets) -> list[Alert]:
    """The leading alerts: the queue is short of the agents its service-level target needs,
    or a channel's service level projected at the agents staffed is below its target, both
    at the trailing rates (docs/staffing.md), before the measured service level falls."""
    a = targets.alerting
    queue = "{{ $labels.queue }} ({{ $labels.tenant }})"
    return [
        Alert(
            STAFFING_GAP_ALERT.name,
            STAFFING_GAP_RULE,
            f"> 0\n{_volume_guard()}",
            getattr(a, STAFFING_GAP_ALERT.hold),
            "warning",
            "queue",
            f"{queue}: {{{{ $value }}}} agents short of what the service-level target needs "
            f"at the current arrivals, for {_duration(getattr(a, STAFFING_GAP_ALERT.hold))}.",
            "Fewer agents are available, busy or in after-contact work on the queue than "
            "Erlang's staffing for its target asks at the arrival rate and handle time of the "
            "last minutes. Bring agents back from breaks or off-phone work, move agents from "
            "queues with agents to spare (the queue dashboard's required vs staffed), or open "
            "overflow, before the service level falls.",
        ),
        Alert(
            PROJECTED_BELOW_ALERT.name,
            STAFFING_PROJECTED_RULE,
            f"< on ({CHANNEL}) {STAFFING_TARGET_RULE}\n{_volume_guard()}",
            getattr(a, PROJECTED_BELOW_ALERT.hold),
            "warning",
            "queue",
            f"{queue}: {{{{ $labels.channel }}}} is projected to answer "
            "{{ $value | humanizePercentage }} within its threshold at the agents staffed, "
            "below its target.",
            "At the current arrivals, handle time and patience, the agents staffed for this "
            "channel cannot meet its service-level target: the measured service level will "
            "follow within the interval. Add agents to the queue or move them between its "
            "channels.",
        ),
    ]


def alert_groups(targets: Targets) -> list[dict[str, Any]]:
    found = alerts(targets)
    return [
        {"name": "ccpipe-queue-alerts", "rules": [x.rule() for x in found if x.scope == "queue"]},
        {
            "name": "ccpipe-pipeline-alerts",
            "rules": [x.rule() for x in found if x.scope == "pipeline"],
        },
    ]


# --- files ----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, so the files read like hand-written rules."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = """\
# Generated by `ccpipe rules --config {config}` from pipeline/rules.py and the targets in
# that file. Do not edit: change the targets or the generator, and generate again
# (tests/observability checks that this file is what the generator writes).
"""


def render(groups: list[dict[str, Any]], config: str) -> str:
    body = yaml.dump(
        # Wide lines: a folded alert summary is harder to read than a long one.
        {"groups": groups},
        Dumper=_Dumper,
        sort_keys=False,
        width=4096,
        allow_unicode=True,
    )
    return HEADER.format(config=config) + body


def rule_files(targets: Targets, config: str) -> dict[str, str]:
    """File name -> text, for `ccpipe rules --out DIR`."""
    return {
        RECORDING_FILE: render(recording_groups(targets), config),
        ALERTS_FILE: render(alert_groups(targets), config),
    }


def recorded_names(targets: Targets) -> list[str]:
    return [rule["record"] for group in recording_groups(targets) for rule in group["rules"]]
