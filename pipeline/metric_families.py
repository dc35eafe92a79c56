"""Prometheus metric families built from the catalogue's declarations (pipeline/core/catalogue.py),
for the custom collectors that read state at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from pipeline.core.catalogue import Metric


def counter(metric: Metric, value: float | None = None) -> CounterMetricFamily:
    """An unlabelled counter with `value`, or a labelled one to `add_metric` to."""
    labels = None if value is not None else list(metric.labels)
    return CounterMetricFamily(metric.family, metric.help, value=value, labels=labels)


def gauge(metric: Metric, value: float | None = None) -> GaugeMetricFamily:
    labels = None if value is not None else list(metric.labels)
    return GaugeMetricFamily(metric.family, metric.help, value=value, labels=labels)


def described(metrics: Iterable[Metric]) -> list[CounterMetricFamily | GaugeMetricFamily]:
    """What a collector's `describe` returns: its families, empty. The registry learns from
    them which names each collector makes, so a scrape restricted by `name[]` runs only the
    collectors it asks for (the live figures cost most of a full scrape)."""
    return [counter(m) if m.type == "counter" else gauge(m) for m in metrics]
