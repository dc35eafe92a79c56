"""Prometheus metric families built from the catalogue's declarations (pipeline/core/catalogue.py),
for the custom collectors that read state at scrape time."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from pipeline.core.catalogue import Metric


def counter(metric: Metric, value: float | None = None) -> CounterMetricFamily:
    """An unlabelled counter with `value`, or a labelled one to `add_metric` to."""
    labels = None if value is not None else list(metric.labels)
    return CounterMetricFamily(metric.family, metric.help, value=value, labels=labels)


def gauge(metric: Metric, value: float | None = None) -> GaugeMetricFamily:
    labels = None if value is not None else list(metric.labels)
    return GaugeMetricFamily(metric.family, metric.help, value=value, labels=labels)
