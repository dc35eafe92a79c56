"""Every Prometheus metric of the worker, declared once, read from the stages at scrape time.

A custom collector reads the stages' state when Prometheus scrapes, so the hot path pays
nothing per event. The registry is injected, so tests build a fresh one and read values with
`get_sample_value`.

Labels stay bounded: tenant, queue, channel, window, state, reason and partition; never a
contact, customer or agent id; per-agent series are a separate opt-in (`per_agent_metrics`),
one series per agent, see docs/observability.md.

Contact counters come from the interval owners: the total over every interval a partition
of the partials topic owns, labelled with that partition, so that after a rebalance the new
owner continues the same series and the old one drops it. A late event that lowers a count
(an earlier conflicting outcome) is not reflected in the counters, which never go down; it is
in the interval rows and in ClickHouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import orjson
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline.config import Settings
from pipeline.core.events import AGENT_STATES
from pipeline.core.intervals import COUNT_FIELDS, merge_counts
from pipeline.core.live import QueueFigures
from pipeline.stream.stages import IntervalStage, SegmentStage, StageCounters

# Interval count -> (counter name, help, scale to base units).
CONTACT_COUNTERS: dict[str, tuple[str, str, float]] = {
    "offered": ("ccpipe_contacts_offered_total", "Segments offered to a queue.", 1),
    "answered": ("ccpipe_contacts_answered_total", "Offered segments answered.", 1),
    "answered_within_sl": (
        "ccpipe_contacts_answered_within_sl_total",
        "Answered within the queue's service-level threshold.",
        1,
    ),
    "abandoned": (
        "ccpipe_contacts_abandoned_total",
        "Abandoned after the short-abandon threshold.",
        1,
    ),
    "short_abandoned": (
        "ccpipe_contacts_short_abandoned_total",
        "Abandoned before the short-abandon threshold.",
        1,
    ),
    "wait_answered_sum_us": (
        "ccpipe_answer_wait_seconds_total",
        "Sum of waits of answered segments (for ASA).",
        1e-6,
    ),
    "handled": ("ccpipe_contacts_handled_total", "Segments with contact.ended.", 1),
    "handle_sum_us": (
        "ccpipe_handle_seconds_total",
        "Sum of talk + hold + after-contact work of handled segments (for AHT).",
        1e-6,
    ),
    "transferred": ("ccpipe_contacts_transferred_total", "Segments transferred.", 1),
    "fcr_eligible": (
        "ccpipe_fcr_eligible_total",
        "Handled segments with a customer whose FCR window has closed.",
        1,
    ),
    "fcr_resolved": ("ccpipe_fcr_resolved_total", "FCR-eligible segments resolved.", 1),
    "csat_responses": ("ccpipe_csat_responses_total", "Survey responses with a CSAT score.", 1),
    "csat_good": ("ccpipe_csat_satisfied_total", "CSAT responses of 4 or 5.", 1),
    "nps_responses": ("ccpipe_nps_responses_total", "Survey responses with an NPS score.", 1),
    "nps_promoters": ("ccpipe_nps_promoters_total", "NPS responses of 9 or 10.", 1),
    "nps_detractors": ("ccpipe_nps_detractors_total", "NPS responses of 0 to 6.", 1),
}

# Window count -> (gauge name, help, scale): the rolling windows' numerators and denominators,
# which sum across workers (the ratio gauges below do not).
WINDOW_GAUGES: dict[str, tuple[str, str, float]] = {
    "offered": ("ccpipe_window_contacts_offered", "Offered in the window.", 1),
    "answered": ("ccpipe_window_contacts_answered", "Answered in the window.", 1),
    "answered_within_sl": (
        "ccpipe_window_contacts_answered_within_sl",
        "Answered within threshold in the window.",
        1,
    ),
    "abandoned": ("ccpipe_window_contacts_abandoned", "Abandoned in the window.", 1),
    "short_abandoned": (
        "ccpipe_window_contacts_short_abandoned",
        "Short-abandoned in the window.",
        1,
    ),
    "wait_answered_sum_us": (
        "ccpipe_window_answer_wait_seconds",
        "Sum of answered waits in the window.",
        1e-6,
    ),
    "handled": ("ccpipe_window_contacts_handled", "Handled in the window.", 1),
    "handle_sum_us": ("ccpipe_window_handle_seconds", "Sum of handle times in the window.", 1e-6),
}
WINDOW_RATIOS: dict[str, tuple[str, str]] = {
    "service_level": ("ccpipe_window_service_level_ratio", "Service level in the window."),
    "asa_s": ("ccpipe_window_asa_seconds", "Average speed of answer in the window."),
    "abandon_rate": ("ccpipe_window_abandon_rate_ratio", "Abandon rate in the window."),
    "aht_s": ("ccpipe_window_aht_seconds", "Average handle time in the window."),
}
_INDEX = {name: i for i, name in enumerate(COUNT_FIELDS)}
_QUEUE = ("tenant", "queue")
_INTERVAL_LABELS = ("tenant", "queue", "channel")

# Event time to metric: from a message's Kafka timestamp to the end of the batch that
# published what it changed. Buckets span a healthy stream (tens of ms) to a stalled one.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Stages(Protocol):
    settings: Settings

    @property
    def segment_stage(self) -> SegmentStage: ...

    @property
    def interval_stage(self) -> IntervalStage: ...

    def lag(self) -> dict[tuple[str, int], int]: ...


class PipelineCollector(Collector):
    def __init__(self, stages: Stages) -> None:
        self._stages = stages
        self._high: dict[tuple[str, tuple[str, ...]], float] = {}

    def collect(self) -> Iterator[Metric]:
        yield from self._contact_counters()
        yield from self._live(self._stages.segment_stage.live())
        if self._stages.settings.per_agent_metrics:
            yield self._agents()
        yield from self._health()

    def _agents(self) -> Metric:
        """One series per agent (opt-in): its current state, as a 1 on that state's label."""
        family = GaugeMetricFamily(
            "ccpipe_agent_state",
            "1 for the agent's current state (opt-in: per_agent_metrics).",
            labels=["tenant", "agent", "state"],
        )
        for state in self._stages.segment_stage.parts.values():
            for agent_id, by_tenant in state.agents.latest.items():
                for tenant, event in by_tenant.items():
                    family.add_metric([tenant, agent_id, event.state], 1)
        return family

    def _monotonic(self, name: str, labels: tuple[str, ...], value: float) -> float:
        key = (name, labels)
        high = max(self._high.get(key, 0.0), value)
        self._high[key] = high
        return high

    def _contact_counters(self) -> Iterator[Metric]:
        families = {
            field: CounterMetricFamily(
                name.removesuffix("_total"),
                help_,
                labels=["tenant", "queue", "channel", "partition"],
            )
            for field, (name, help_, _) in CONTACT_COUNTERS.items()
        }
        for partition, held in self._stages.interval_stage.parts.items():
            totals: dict[tuple[str, str, str], list[int]] = {}
            for text, sources in held.items():
                tenant, queue, channel, _ = _key(text)
                merged = merge_counts([counts for _, counts in sources.values()])
                total = totals.get((tenant, queue, channel))
                if total is None:
                    totals[(tenant, queue, channel)] = merged
                else:
                    for i, value in enumerate(merged):
                        total[i] += value
            for (tenant, queue, channel), total in totals.items():
                labels = (tenant, queue, channel, str(partition))
                for field, (name, _, scale) in CONTACT_COUNTERS.items():
                    high = self._monotonic(name, labels, total[_INDEX[field]] * scale)
                    families[field].add_metric(list(labels), high)
        yield from families.values()

    def _live(self, figures: Iterable[QueueFigures]) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "ccpipe_queue_waiting_contacts",
            "Contacts offered and not yet answered, abandoned or transferred.",
            labels=["tenant", "queue"],
        )
        longest = GaugeMetricFamily(
            "ccpipe_queue_longest_wait_seconds",
            "Event time now minus the oldest waiting offer (0 when none waits).",
            labels=["tenant", "queue"],
        )
        agents = GaugeMetricFamily(
            "ccpipe_agents",
            "Agents listing the queue, by state.",
            labels=["tenant", "queue", "state"],
        )
        counts = {
            field: GaugeMetricFamily(name, help_, labels=["tenant", "queue", "window"])
            for field, (name, help_, _) in WINDOW_GAUGES.items()
        }
        ratios = {
            field: GaugeMetricFamily(
                name, help_ + " Per worker.", labels=["tenant", "queue", "window"]
            )
            for field, (name, help_) in WINDOW_RATIOS.items()
        }
        for tile in figures:
            if tile.channel is not None:
                continue
            base = [tile.tenant, tile.queue]
            waiting.add_metric(base, tile.in_queue)
            longest.add_metric(base, tile.longest_wait_s or 0.0)
            for state in AGENT_STATES:
                agents.add_metric([*base, state], tile.agents.get(state, 0))
            for window, figures_ in tile.windows.items():
                labels = [*base, window]
                for field, (_, _, scale) in WINDOW_GAUGES.items():
                    counts[field].add_metric(labels, figures_.counts[_INDEX[field]] * scale)
                for field in WINDOW_RATIOS:
                    value = figures_.kpis.get(field)
                    if value is not None:
                        ratios[field].add_metric(labels, value)
        yield waiting
        yield longest
        yield agents
        yield from counts.values()
        yield from ratios.values()

    def _health(self) -> Iterator[Metric]:
        stage = self._stages.segment_stage
        c: StageCounters = stage.counters
        yield CounterMetricFamily(
            "ccpipe_events", "Events decoded from the events topic.", value=c.events
        )
        yield CounterMetricFamily(
            "ccpipe_events_duplicate", "Events ignored as duplicates.", value=c.duplicates
        )
        yield CounterMetricFamily(
            "ccpipe_segment_anomalies",
            "Later events of a segment part already held (ignored).",
            value=c.anomalies,
        )
        dead = CounterMetricFamily(
            "ccpipe_events_dead_lettered",
            "Inputs sent to the dead-letter topic, by what was wrong.",
            labels=["reason"],
        )
        for reason, count in sorted(c.dead_letter_reasons.items()):
            dead.add_metric([reason], count)
        yield dead
        lag = GaugeMetricFamily(
            "ccpipe_consumer_lag_messages",
            "Messages in a partition not yet processed by this worker.",
            labels=["topic", "partition"],
        )
        for (topic, partition), value in sorted(self._stages.lag().items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag
        watermark = stage.watermark_us
        yield GaugeMetricFamily(
            "ccpipe_event_time_watermark_seconds",
            "Largest event time seen (the FCR and live-figure clock), as a Unix time.",
            value=watermark / 1e6 if watermark >= 0 else 0.0,
        )


def _key(text: str) -> tuple[str, str, str, int]:
    tenant, queue, channel, start = orjson.loads(text)
    return tenant, queue, channel, start


def build_registry(stages: Stages) -> tuple[CollectorRegistry, Histogram]:
    """A registry with the pipeline's collector and the event-to-metric latency histogram."""
    registry = CollectorRegistry()
    registry.register(PipelineCollector(stages))
    latency = Histogram(
        "ccpipe_event_to_metric_seconds",
        "From a message's arrival in Kafka to the end of the batch that published its effect.",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return registry, latency
