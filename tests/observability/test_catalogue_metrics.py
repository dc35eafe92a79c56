"""What the worker and the sink export is what the catalogue declares: every name, type, help
text and label set, and the scrape jobs the rules look for are Prometheus's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pipeline.config import load_settings
from pipeline.core.catalogue import (
    AGENT_STATE,
    INGEST_JOB,
    INGEST_METRICS,
    LIVE_VIEW_METRICS,
    SINK_JOB,
    SINK_METRICS,
    WORKER_JOB,
    WORKER_METRICS,
)
from pipeline.core.catalogue import Metric as Declared
from pipeline.ingest.metrics import IngestMetrics
from pipeline.liveview.server import view_collector
from pipeline.liveview.view import CentreView
from pipeline.sink.metrics import SinkMetrics
from pipeline.stream.metrics import build_registry
from tests.core.builders import abandoned, answered, ended, ev, lines, offered
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline

ROOT = Path(__file__).resolve().parents[2]


def exported(registry: CollectorRegistry) -> dict[str, Declared]:
    """Each family as scraped: name (`_total` on counters), type, help and label names."""
    out = {}
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {key for sample in family.samples for key in sample.labels if key != "le"}
        out[name] = Declared(name, family.type, family.documentation, tuple(sorted(labels)))
    return out


def declared(metrics: tuple[Declared, ...]) -> dict[str, Declared]:
    return {m.name: m._replace(labels=tuple(sorted(m.labels))) for m in metrics}


def test_the_worker_exports_the_catalogue_s_metrics() -> None:
    # A mixed stream (dead letters, duplicates, every count), then, a month later, a handled
    # and an abandoned contact: the newest figures, so every live window has each KPI.
    last = 30 * 86400
    recent = [
        offered(last, "late-1"),
        answered(last + 10, "late-1"),
        ended(last + 100, "late-1", talk=90),
        offered(last + 1, "late-2"),
        abandoned(last + 40, "late-2"),
    ]
    pipeline = LocalPipeline(load_settings(env={}), partitions=2)
    pipeline.produce([*mixed_events(seed=5, contacts=80), *lines(recent)], batch=4)
    pipeline.run(max_messages=5)
    registry, latency = build_registry(pipeline)
    latency.observe(0.02)
    found = exported(registry)
    # Per-agent series are opt-in (`per_agent_metrics`), off by default.
    expected = declared(tuple(m for m in WORKER_METRICS if m != AGENT_STATE))
    assert found == expected


def exercise(metrics: object, specs: tuple[Declared, ...]) -> None:
    """Give every metric of a dataclass of metrics a sample, as its declaration says."""
    by_name = {m.name: m for m in specs}
    for field in dataclasses.fields(metrics):  # type: ignore[arg-type]
        metric: Any = getattr(metrics, field.name)
        family = metric.describe()[0]
        spec = by_name[family.name + ("_total" if family.type == "counter" else "")]
        # A child per the catalogue's label names: prometheus-client refuses other names.
        if spec.labels:
            metric = metric.labels(**{label: "x" for label in spec.labels})
        else:
            with pytest.raises(ValueError):
                metric.labels(x="x")
        if spec.type == "gauge":
            metric.set(1)
        elif spec.type == "histogram":
            metric.observe(1)
        else:
            metric.inc()


def test_the_sink_exports_the_catalogue_s_metrics() -> None:
    registry = CollectorRegistry()
    exercise(SinkMetrics.create(registry), SINK_METRICS)
    assert exported(registry) == declared(SINK_METRICS)


def test_a_live_view_reader_exports_the_catalogue_s_metrics() -> None:
    # A queue with traffic and an agent staffed, so that the staffing series have samples.
    settings = load_settings(env={})
    recent = [
        ev("agent.state", 0, agent_id="a1", state="available", queues=["q"]),
        offered(1, "c-1"),
        answered(10, "c-1"),
        ended(100, "c-1", talk=90),
        offered(120, "c-2"),
    ]
    pipeline = LocalPipeline(settings, partitions=2)
    pipeline.produce(lines(recent), batch=1)
    pipeline.run(max_messages=5)
    pipeline.assign_all()
    view = CentreView(2, settings.tenant_timezone)
    for p in range(2):
        for _, value in pipeline.segment_stage.publications(p, published_ms=1_000):
            view.apply(value)
    registry = CollectorRegistry()
    registry.register(view_collector(view, settings))
    assert exported(registry) == declared(LIVE_VIEW_METRICS)


def test_the_scrape_jobs_are_the_ones_the_rules_watch() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {WORKER_JOB, SINK_JOB, INGEST_JOB} <= jobs


def test_ingest_exports_the_catalogue_s_metrics() -> None:
    registry = CollectorRegistry()
    exercise(IngestMetrics.create(registry), INGEST_METRICS)
    assert exported(registry) == declared(INGEST_METRICS)
