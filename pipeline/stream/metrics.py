"""Every Prometheus metric of the worker, read from the stages at scrape time.

Names, help and labels are those of pipeline/core/catalogue.py, the one place they are declared.

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

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from pipeline.config import Settings
from pipeline.core.catalogue import (
    AGENT_STATE,
    AGENT_TIME,
    AGENTS,
    CONSUMER_LAG,
    CONTACT_COUNTERS,
    COUNT,
    DEAD_LETTERED,
    EVENT_TO_METRIC,
    EVENTS,
    EVENTS_DUPLICATE,
    FCR_LIVE,
    FCR_WINDOW_ELIGIBLE,
    FCR_WINDOW_RESOLVED,
    LIVE_PUBLICATION_BYTES,
    LIVE_PUBLICATIONS,
    QUEUE_LONGEST_WAIT,
    QUEUE_STALE,
    QUEUE_WAITING,
    SEGMENT_ANOMALIES,
    SEGMENTS_EXPIRED,
    STATE_RESTORES,
    WATERMARK,
    WINDOW_GAUGES,
    WORKER_HEALTH_METRICS,
    WORKER_QUEUE_METRICS,
)
from pipeline.core.clock import US_PER_S
from pipeline.core.events import AGENT_STATES
from pipeline.core.fcr import FcrPart
from pipeline.core.intervals import COUNT_FIELDS
from pipeline.core.live import QueueFigures, live_fcr, local_day_start_us
from pipeline.metric_families import counter, described, gauge
from pipeline.stream.stages import FcrStage, IntervalStage, SegmentStage, StageCounters

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
    def fcr_stage(self) -> FcrStage: ...

    @property
    def interval_stage(self) -> IntervalStage: ...

    def lag(self) -> dict[tuple[str, int], int]: ...


class QueueCollector(Collector):
    """The contact centre's figures per queue: contact counters, live figures, live FCR
    terms, and the opt-in per-agent states."""

    def __init__(self, stages: Stages) -> None:
        self._stages = stages
        self._high: dict[tuple[str, tuple[str, ...]], float] = {}

    def describe(self) -> list[Metric]:
        per_agent = self._stages.settings.per_agent_metrics
        return list(described(m for m in WORKER_QUEUE_METRICS if per_agent or m != AGENT_STATE))

    def collect(self) -> Iterator[Metric]:
        yield from self._contact_counters()
        yield from self._live(self._stages.segment_stage.live())
        yield from self._fcr()
        if self._stages.settings.per_agent_metrics:
            yield self._agents()

    def _agents(self) -> Metric:
        """One series per agent (opt-in): its current state, as a 1 on that state's label."""
        family = gauge(AGENT_STATE)
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
        families = {field: counter(metric) for field, metric in CONTACT_COUNTERS.items()}
        for partition, totals in self._stages.interval_stage.totals.items():
            for (tenant, queue, channel), total in totals.items():
                labels = (tenant, queue, channel, str(partition))
                for field, metric in CONTACT_COUNTERS.items():
                    scaled = total[_INDEX[field]] * COUNT[field].scale
                    high = self._monotonic(metric.name, labels, scaled)
                    families[field].add_metric(list(labels), high)
        yield from families.values()

    def _live(self, figures: Iterable[QueueFigures]) -> Iterator[Metric]:
        waiting = gauge(QUEUE_WAITING)
        stale = gauge(QUEUE_STALE)
        longest = gauge(QUEUE_LONGEST_WAIT)
        agents = gauge(AGENTS)
        agent_time = gauge(AGENT_TIME)
        counts = {field: gauge(metric) for field, metric in WINDOW_GAUGES.items()}
        for tile in figures:
            if tile.channel is not None:
                continue
            base = [tile.tenant, tile.queue]
            waiting.add_metric(base, tile.in_queue)
            stale.add_metric(base, tile.stale)
            longest.add_metric(base, tile.longest_wait_s or 0.0)
            for state in AGENT_STATES:
                agents.add_metric([*base, state], tile.agents.get(state, 0))
            for window, seconds in tile.agent_time.items():
                for state, held in zip(AGENT_STATES, seconds, strict=True):
                    agent_time.add_metric([*base, window, state], held / US_PER_S)
            for window, figures_ in tile.windows.items():
                labels = [*base, window]
                for field in WINDOW_GAUGES:
                    scale = COUNT[field].scale
                    counts[field].add_metric(labels, figures_.counts[_INDEX[field]] * scale)
        yield waiting
        yield stale
        yield longest
        yield agents
        yield agent_time
        yield from counts.values()

    def _fcr(self) -> Iterator[Metric]:
        """The live FCR figures' terms per queue, over the customer partitions this worker
        owns, each at its own watermark: a segment's fact lives on one partition, so the
        terms add up across workers."""
        zone_of = self._stages.settings.tenant_timezone
        by_queue: dict[tuple[str, str], list[FcrPart]] = {}
        today: dict[tuple[str, str], int] = {}
        for tracker in self._stages.fcr_stage.parts.values():
            now = tracker.watermark_us
            for part in tracker.live_parts(now):
                key = (part.tenant, part.queue)
                by_queue.setdefault(key, []).append(part)
                today[key] = max(today.get(key, 0), local_day_start_us(now, zone_of(part.tenant)))
        eligible = gauge(FCR_WINDOW_ELIGIBLE)
        resolved = gauge(FCR_WINDOW_RESOLVED)
        for (tenant, queue), parts in sorted(by_queue.items()):
            figures = live_fcr(parts, today[(tenant, queue)])
            for live in FCR_LIVE:
                if live.name in figures:
                    num, den = figures[live.name]
                    resolved.add_metric([tenant, queue, live.window], num)
                    eligible.add_metric([tenant, queue, live.window], den)
        yield eligible
        yield resolved


class PipelineCollector(Collector):
    """The pipeline's own health: events read, duplicates, dead letters, restores, lag, the
    watermark, the live publications."""

    def __init__(self, stages: Stages) -> None:
        self._stages = stages

    def describe(self) -> list[Metric]:
        return list(described(WORKER_HEALTH_METRICS))

    def collect(self) -> Iterator[Metric]:
        stage = self._stages.segment_stage
        c: StageCounters = stage.counters
        yield counter(EVENTS, value=c.events)
        yield counter(EVENTS_DUPLICATE, value=c.duplicates)
        yield counter(SEGMENT_ANOMALIES, value=c.anomalies)
        yield counter(SEGMENTS_EXPIRED, value=c.expired)
        dead = counter(DEAD_LETTERED)
        for reason, count in sorted(c.dead_letter_reasons.items()):
            dead.add_metric([reason], count)
        yield dead
        restores = counter(STATE_RESTORES)
        for each in (stage, self._stages.fcr_stage, self._stages.interval_stage):
            restores.add_metric([each.name, "changelog"], each.counters.rebuilt)
            restores.add_metric([each.name, "kept"], each.counters.kept)
        yield restores
        lag = gauge(CONSUMER_LAG)
        for (topic, partition), value in sorted(self._stages.lag().items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag
        watermark = stage.watermark_us
        yield gauge(WATERMARK, value=watermark / 1e6 if watermark >= 0 else 0.0)
        fcr = self._stages.fcr_stage.publisher
        yield counter(LIVE_PUBLICATIONS, value=stage.publisher.publications + fcr.publications)
        yield counter(LIVE_PUBLICATION_BYTES, value=stage.publisher.bytes + fcr.bytes)


def build_registry(stages: Stages) -> tuple[CollectorRegistry, Histogram]:
    """A registry with the pipeline's collector and the event-to-metric latency histogram."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(stages))
    registry.register(PipelineCollector(stages))
    latency = Histogram(
        EVENT_TO_METRIC.name,
        EVENT_TO_METRIC.help,
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return registry, latency
