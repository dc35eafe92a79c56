"""The ingest stage's Prometheus series, made from the catalogue's declarations on an
injected registry: name, help and labels are written once, in pipeline/core/catalogue.py.

Labels stay bounded: reason kind (a handful), input partition, webhook outcome (five).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.core.catalogue import (
    INGEST_BATCH_EVENTS,
    INGEST_COMMITS,
    INGEST_DEAD_LETTERED,
    INGEST_EVENTS,
    INGEST_LAG,
    INGEST_RECORDS,
    INGEST_WEBHOOK_REQUESTS,
    Metric,
)

# Events per batch message: a full batch holds 500; small ones show a quiet input (the
# linger sends them) or a checkpoint cutting batches short.
BATCH_EVENTS_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500)


def _counter(metric: Metric, registry: CollectorRegistry) -> Counter:
    return Counter(metric.family, metric.help, metric.labels, registry=registry)


@dataclass(frozen=True)
class IngestMetrics:
    records: Counter
    events: Counter
    dead_lettered: Counter
    batch_events: Histogram
    lag: Gauge
    commits: Counter
    webhook_requests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            records=_counter(INGEST_RECORDS, registry),
            events=_counter(INGEST_EVENTS, registry),
            dead_lettered=_counter(INGEST_DEAD_LETTERED, registry),
            batch_events=Histogram(
                INGEST_BATCH_EVENTS.name,
                INGEST_BATCH_EVENTS.help,
                INGEST_BATCH_EVENTS.labels,
                buckets=BATCH_EVENTS_BUCKETS,
                registry=registry,
            ),
            lag=Gauge(INGEST_LAG.name, INGEST_LAG.help, INGEST_LAG.labels, registry=registry),
            commits=_counter(INGEST_COMMITS, registry),
            webhook_requests=_counter(INGEST_WEBHOOK_REQUESTS, registry),
        )
