"""The stream, declared once: its topics, its tables and its stages.

    cc.events ──segments──> <app>-fcr-updates (by customer) ──fcr──> <app>-interval-partials
        │                                                              (by interval) ──intervals──>
        ├─> cc.events.dlq, cc.segments                                              cc.kpi.intervals
        └─> <app>-interval-partials

Every runtime (Faust in `faust_runtime`, the in-memory one in `local`, the benchmarks) is a loop
over `Topology.stages`: it subscribes to each stage's source topic, keeps each stage's tables,
and routes what a stage sends by the logical topic names here. The worker creates every topic
listed here (`topics`) before it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, get_type_hints

from pipeline.config import Settings
from pipeline.stream.stage import Publishing, Stage
from pipeline.stream.stages import (
    AGENTS,
    CONTACTS,
    CUSTOMERS,
    DLQ,
    EVENTS,
    FCR,
    FCR_MARKS,
    HELD,
    INTERVALS_OUT,
    LIVE,
    PARTIALS,
    SEGMENTS_OUT,
    FcrStage,
    IntervalStage,
    Partitions,
    SegmentStage,
)

TABLES: tuple[str, ...] = (CONTACTS, AGENTS, CUSTOMERS, FCR_MARKS, HELD)


class Stages(NamedTuple):
    """The stages in data-flow order: a runtime iterates them; the live view and the metrics
    read the segment and interval stages by name."""

    segments: SegmentStage
    fcr: FcrStage
    intervals: IntervalStage


@dataclass(frozen=True, slots=True)
class Topic:
    """A logical topic (`role`, what stages name in a `Send`) and where it lives."""

    role: str
    name: str
    partitions: int
    # This app's own repartition topic (named by the app id, deleted by retention).
    internal: bool = False


@dataclass(frozen=True)
class Topology:
    topics: Mapping[str, Topic]
    tables: tuple[str, ...]
    changelogs: Mapping[str, str]  # table -> its changelog topic's name
    stages: Stages

    @property
    def publishing(self) -> tuple[Publishing, ...]:
        """The stages that publish their partitions' live state (docs/live.md)."""
        return (self.stages.segments, self.stages.fcr)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(stage.source for stage in self.stages)

    def stage_of(self, topic_name: str) -> Stage | None:
        """The stage that consumes the topic named `topic_name`, if any."""
        for stage in self.stages:
            if self.topics[stage.source].name == topic_name:
                return stage
        return None


def topics(settings: Settings) -> dict[str, Topic]:
    """Every topic of the stream by role. Internal names carry the app id: two apps on one
    broker must not share a repartition topic."""
    n = settings.partitions
    app = settings.app_id
    return {
        EVENTS: Topic(EVENTS, settings.events_topic, n),
        DLQ: Topic(DLQ, settings.dlq_topic, n),
        SEGMENTS_OUT: Topic(SEGMENTS_OUT, settings.segments_topic, n),
        INTERVALS_OUT: Topic(INTERVALS_OUT, settings.intervals_topic, n),
        LIVE: Topic(LIVE, settings.live_topic, n),
        FCR: Topic(FCR, f"{app}-fcr-updates", n, internal=True),
        PARTIALS: Topic(PARTIALS, f"{app}-interval-partials", n, internal=True),
    }


def source_topic_names(settings: Settings) -> tuple[str, ...]:
    """The topics the worker's consumer group reads, in data-flow order (for lag and offsets)."""
    by_role = topics(settings)
    return tuple(by_role[kind.source].name for kind in get_type_hints(Stages).values())


def changelog_topic_name(settings: Settings, table: str) -> str:
    """A table's changelog: the name Faust gives it (`faust_runtime` checks they agree)."""
    return f"{settings.app_id}-{table}-changelog"


def build(settings: Settings) -> Topology:
    """The stages with fresh state, and where their topics and tables live."""
    by_role = topics(settings)
    partitions = Partitions(
        events=by_role[EVENTS].partitions,
        fcr=by_role[FCR].partitions,
        partials=by_role[PARTIALS].partitions,
        segments=by_role[SEGMENTS_OUT].partitions,
    )
    stages = Stages(
        SegmentStage(settings, partitions, settings.events_topic),
        FcrStage(partitions, settings.tenant_timezone),
        IntervalStage(settings.queue),
    )
    return Topology(
        topics=by_role,
        tables=TABLES,
        changelogs={table: changelog_topic_name(settings, table) for table in TABLES},
        stages=stages,
    )
