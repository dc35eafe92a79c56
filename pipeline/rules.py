"""Prometheus recording and alerting rules, generated from the worker's metrics and the targets.

Recording rules follow Prometheus's `level:metric:operations` naming. Every KPI over a window
is ONE division of two summed rates (the contract's numerator and denominator), never an
average of ratios, so it weighs busy queues and channels as the report does:

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from pipeline.stream.metrics import CONTACT_COUNTERS
from pipeline.targets import Targets

WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("15m", 900), ("1h", 3600))
QUEUE = "tenant, queue"
CHANNEL = "tenant, queue, channel"
# The scrape job of the workers in deploy/prometheus/prometheus.yml.
WORKER_JOB = "ccpipe-worker"
# The series a queue exists by: every (tenant, queue) with an interval has it.
QUEUE_EXISTS = "ccpipe_contacts_offered_total"
# The window the rate alerts judge (short, so that a breach that ends soon stays shorter than
# the rule's `for` and never fires), and the window of the volume they need (longer, steadier).
ALERT_WINDOW = "5m"
VOLUME_WINDOW = "15m"
VOLUME_WINDOW_S = 900
SILENT_WINDOW = "15m"
SILENT_WINDOW_S = 900
RECORDING_FILE = "ccpipe-recording.yml"
ALERTS_FILE = "ccpipe-alerts.yml"


def counter(field: str) -> str:
    """The counter's name without `_total`, as recording rules name it."""
    return CONTACT_COUNTERS[field][0].removesuffix("_total")


@dataclass(frozen=True, slots=True)
class Kpi:
    """A KPI as numerator / denominator of interval counts (COUNT_FIELDS names); a term
    starting with `-` is subtracted."""

    field: str  # the report's name
    metric: str  # recorded name, between the level and the operation
    operation: str  # ratio, mean or score
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    scale: int = 1


KPIS: tuple[Kpi, ...] = (
    Kpi("service_level", "ccpipe_service_level", "ratio", ("answered_within_sl",),
        ("answered", "abandoned")),
    Kpi("asa_s", "ccpipe_answer_wait_seconds", "mean", ("wait_answered_sum_us",), ("answered",)),
    Kpi("abandon_rate", "ccpipe_abandon", "ratio", ("abandoned",),
        ("offered", "-short_abandoned")),
    Kpi("response_rate", "ccpipe_response", "ratio", ("answered",), ("offered",)),
    Kpi("aht_s", "ccpipe_handle_seconds", "mean", ("handle_sum_us",), ("handled",)),
    Kpi("transfer_rate", "ccpipe_transfer", "ratio", ("transferred",), ("answered",)),
    Kpi("fcr_rate", "ccpipe_fcr", "ratio", ("fcr_resolved",), ("fcr_eligible",)),
    Kpi("csat", "ccpipe_csat", "ratio", ("csat_good",), ("csat_responses",)),
    Kpi("nps", "ccpipe_nps", "score", ("nps_promoters", "-nps_detractors"), ("nps_responses",),
        scale=100),
)  # fmt: skip
KPI_BY_FIELD = {kpi.field: kpi for kpi in KPIS}

# The live (event-time) windows of the worker: gauges of numerators and denominators.
WINDOW_KPIS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("service_level", "ccpipe_window_service_level", "ratio",
     ("ccpipe_window_contacts_answered_within_sl",),
     ("ccpipe_window_contacts_answered", "ccpipe_window_contacts_abandoned")),
    ("asa_s", "ccpipe_window_answer_wait_seconds", "mean",
     ("ccpipe_window_answer_wait_seconds",), ("ccpipe_window_contacts_answered",)),
    ("abandon_rate", "ccpipe_window_abandon", "ratio",
     ("ccpipe_window_contacts_abandoned",),
     ("ccpipe_window_contacts_offered", "-ccpipe_window_contacts_short_abandoned")),
    ("aht_s", "ccpipe_window_handle_seconds", "mean",
     ("ccpipe_window_handle_seconds",), ("ccpipe_window_contacts_handled",)),
)  # fmt: skip


def rate_name(level: str, field: str, window: str) -> str:
    return f"{level}:{counter(field)}:rate{window}"


def kpi_name(kpi: Kpi, window: str, level: str = "tenant_queue") -> str:
    operation = "mean" if kpi.operation == "mean" else f"{kpi.operation}_rate"
    return f"{level}:{kpi.metric}:{operation}{window}"


def window_kpi_name(metric: str, operation: str) -> str:
    return f"tenant_queue:{metric}:{operation}"


def target_name(field: str) -> str:
    unit = {"service_level": "ratio", "abandon_rate": "ratio", "min_volume": "contacts"}
    short = {"asa_s": "asa", "longest_wait_s": "longest_wait"}
    return f"tenant_queue:ccpipe_target_{short.get(field, field)}:{unit.get(field, 'seconds')}"


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


# --- recording rules --------------------------------------------------------------------


def recording_groups(targets: Targets) -> list[dict[str, Any]]:
    return [
        {"name": "ccpipe-contact-rates", "rules": list(_rate_rules())},
        {"name": "ccpipe-kpis", "rules": list(_kpi_rules())},
        {"name": "ccpipe-live", "rules": list(_live_rules())},
        {"name": "ccpipe-targets", "rules": list(_target_rules(targets))},
        {"name": "ccpipe-pipeline-rates", "rules": list(_pipeline_rules())},
    ]


def _rate_rules() -> Iterator[dict[str, Any]]:
    # Per channel from the raw counters (summing away partition and instance), then per queue
    # from those: each rule reads the one before it in the same group.
    for window, _ in WINDOWS:
        for field, (name, _, _) in CONTACT_COUNTERS.items():
            yield {
                "record": rate_name("tenant_queue_channel", field, window),
                "expr": f"sum by ({CHANNEL}) (rate({name}[{window}]))",
            }
            yield {
                "record": rate_name("tenant_queue", field, window),
                "expr": f"sum by ({QUEUE}) ({rate_name('tenant_queue_channel', field, window)})",
            }


def _kpi_rules() -> Iterator[dict[str, Any]]:
    for level in ("tenant_queue", "tenant_queue_channel"):
        for window, _ in WINDOWS:
            for kpi in KPIS:

                def rated(term: str, level: str = level, window: str = window) -> str:
                    sign = "-" if term.startswith("-") else ""
                    return sign + rate_name(level, term.lstrip("-"), window)

                yield {
                    "record": kpi_name(kpi, window, level),
                    "expr": _ratio(
                        [rated(t) for t in kpi.numerator],
                        [rated(t) for t in kpi.denominator],
                        kpi.scale,
                    ),
                }


def _live_rules() -> Iterator[dict[str, Any]]:
    by = "tenant, queue, window"

    def summed(term: str) -> str:
        sign = "-" if term.startswith("-") else ""
        return f"{sign}sum by ({by}) ({term.lstrip('-')})"

    for _, metric, operation, numerator, denominator in WINDOW_KPIS:
        yield {
            "record": window_kpi_name(metric, operation),
            "expr": _ratio([summed(t) for t in numerator], [summed(t) for t in denominator]),
        }
    yield {
        "record": "tenant_queue:ccpipe_window_contacts_offered:sum",
        "expr": f"sum by ({by}) (ccpipe_window_contacts_offered)",
    }
    yield {
        "record": "tenant_queue:ccpipe_queue_waiting_contacts:sum",
        "expr": f"sum by ({QUEUE}) (ccpipe_queue_waiting_contacts)",
    }
    yield {
        "record": "tenant_queue:ccpipe_queue_longest_wait_seconds:max",
        "expr": f"max by ({QUEUE}) (ccpipe_queue_longest_wait_seconds)",
    }
    yield {
        "record": "tenant_queue_state:ccpipe_agents:sum",
        "expr": f"sum by ({QUEUE}, state) (ccpipe_agents)",
    }


def _selector(tenant: str | None, queue: str | None) -> str:
    labels = []
    if tenant is not None:
        labels.append(f'tenant="{tenant}"')
    if queue is not None:
        labels.append(f'queue="{queue}"')
    return "{" + ", ".join(labels) + "}" if labels else ""


def _queues_of(tenant: str | None, queue: str | None) -> str:
    return f"group by ({QUEUE}) ({QUEUE_EXISTS}{_selector(tenant, queue)})"


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


TARGET_FIELDS = ("service_level", "asa_s", "abandon_rate", "longest_wait_s", "min_volume")


def _target_rules(targets: Targets) -> Iterator[dict[str, Any]]:
    for field in TARGET_FIELDS:
        expr = target_expr(targets, field)
        if expr is not None:
            yield {"record": target_name(field), "expr": expr}


def _pipeline_rules() -> Iterator[dict[str, Any]]:
    dead = "ccpipe_events_dead_lettered_total"
    yield {
        "record": "job:ccpipe_events:rate5m",
        "expr": "sum by (job) (rate(ccpipe_events_total[5m]))",
    }
    yield {
        "record": "job_reason:ccpipe_events_dead_lettered:rate5m",
        "expr": f"sum by (job, reason) (rate({dead}[5m]))",
    }
    yield {
        "record": "job:ccpipe_events_dead_lettered:increase15m",
        "expr": f"sum by (job) (increase({dead}[15m]))",
    }
    yield {
        "record": "job:ccpipe_events_dead_lettered:ratio_rate15m",
        "expr": f"sum by (job) (rate({dead}[15m]))\n/\n"
        f"(sum by (job) (rate({dead}[15m])) + sum by (job) (rate(ccpipe_events_total[15m])) > 0)",
    }
    yield {
        "record": "job_topic:ccpipe_consumer_lag_messages:sum",
        "expr": "sum by (job, topic) (ccpipe_consumer_lag_messages)",
    }
    yield {
        "record": "job:ccpipe_event_to_metric_seconds:p95_rate5m",
        "expr": "histogram_quantile(0.95, sum by (job, le) "
        "(rate(ccpipe_event_to_metric_seconds_bucket[5m])))",
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


def _target_of(field: str, humanize: str) -> str:
    """Template text that looks up the alerting queue's own target when it is rendered."""
    return (
        f"{{{{ with printf `{target_name(field)}{{tenant=%q,queue=%q}}` $labels.tenant "
        f"$labels.queue | query }}}}{{{{ . | first | value | {humanize} }}}}{{{{ end }}}}"
    )


def _volume_guard(window: str = VOLUME_WINDOW, seconds: int = VOLUME_WINDOW_S) -> str:
    answered = rate_name("tenant_queue", "answered", window)
    abandoned = rate_name("tenant_queue", "abandoned", window)
    return (
        f"and on ({QUEUE})\n"
        f"({answered} + {abandoned}) * {seconds}\n"
        f">= on ({QUEUE}) {target_name('min_volume')}"
    )


def alerts(targets: Targets) -> list[Alert]:
    a = targets.alerting
    queue = "{{ $labels.queue }} ({{ $labels.tenant }})"
    found: list[Alert] = [
        Alert(
            "CcpipeServiceLevelBelowTarget",
            kpi_name(KPI_BY_FIELD["service_level"], ALERT_WINDOW),
            f"< on ({QUEUE}) {target_name('service_level')}\n{_volume_guard()}",
            a.breach_for_s,
            "warning",
            "queue",
            f"{queue}: service level {{{{ $value | humanizePercentage }}}} over the last 5 "
            f"minutes, below its target of {_target_of('service_level', 'humanizePercentage')}.",
            "Fewer contacts are answered within the queue's threshold than the target asks, "
            "with enough volume to matter. Check the queue's wallboard: agents available vs "
            "contacts waiting; move agents from quieter queues, stop non-urgent off-phone "
            "work, or open overflow.",
        ),
        Alert(
            "CcpipeAnswerDelayAboveLimit",
            kpi_name(KPI_BY_FIELD["asa_s"], ALERT_WINDOW),
            f"> on ({QUEUE}) {target_name('asa_s')}\n{_volume_guard()}",
            a.breach_for_s,
            "warning",
            "queue",
            f"{queue}: average speed of answer {{{{ $value | humanizeDuration }}}} over the "
            f"last 5 minutes, above the limit of {_target_of('asa_s', 'humanizeDuration')}.",
            "Contacts wait longer than the limit before an agent takes them. Check staffing "
            "against arrivals on the queue dashboard and the agents in `away` or `acw`.",
        ),
        Alert(
            "CcpipeAbandonRateSpike",
            kpi_name(KPI_BY_FIELD["abandon_rate"], ALERT_WINDOW),
            f"> on ({QUEUE}) {target_name('abandon_rate')}\n{_volume_guard()}",
            a.abandon_for_s,
            "critical",
            "queue",
            f"{queue}: {{{{ $value | humanizePercentage }}}} of contacts abandoned over the last "
            f"5 minutes, above the limit of "
            f"{_target_of('abandon_rate', 'humanizePercentage')}.",
            "Customers hang up before they are answered. Add agents to the queue now; if the "
            "cause is an outage or an announcement, update the queue's greeting.",
        ),
        Alert(
            "CcpipeLongestWaitAboveLimit",
            "tenant_queue:ccpipe_queue_longest_wait_seconds:max",
            f"> on ({QUEUE}) {target_name('longest_wait_s')}",
            a.longest_wait_for_s,
            "warning",
            "queue",
            f"{queue}: the oldest waiting contact has waited {{{{ $value | humanizeDuration }}}}, "
            f"over the limit of {_target_of('longest_wait_s', 'humanizeDuration')}.",
            "Someone has been waiting too long right now. Have the next free agent take the "
            "oldest contact; check that agents serving the queue are logged in and available.",
        ),
        Alert(
            "CcpipeQueueSilent",
            rate_name("tenant_queue", "offered", SILENT_WINDOW),
            f"== 0\nand on ({QUEUE})\n"
            f"{rate_name('tenant_queue', 'offered', '1h')} offset 1w * 3600\n"
            f">= on ({QUEUE}) {target_name('min_volume')}",
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
            "job_topic:ccpipe_consumer_lag_messages:sum",
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
            "job:ccpipe_events_dead_lettered:ratio_rate15m",
            f"> {a.dead_letter_ratio}\nand on (job)\n"
            f"job:ccpipe_events_dead_lettered:increase15m >= {a.dead_letter_min}",
            a.dead_letter_for_s,
            "warning",
            "pipeline",
            "{{ $value | humanizePercentage }} of ccpipe's input went to the dead-letter topic "
            "over the last 15 minutes.",
            "A producer sends events that break the contract. See the reasons on the pipeline "
            "dashboard (or `dead_letters` in ClickHouse) and fix the converter or producer; "
            "the KPIs miss those events meanwhile.",
        ),
    ]
    present = {rule["record"] for rule in _target_rules(targets)}
    needs = {
        "CcpipeServiceLevelBelowTarget": "service_level",
        "CcpipeAnswerDelayAboveLimit": "asa_s",
        "CcpipeAbandonRateSpike": "abandon_rate",
        "CcpipeLongestWaitAboveLimit": "longest_wait_s",
    }
    # A check no queue has a target for would never fire: leave it out.
    return [x for x in found if x.name not in needs or target_name(needs[x.name]) in present]


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
