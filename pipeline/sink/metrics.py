"""Every Prometheus metric of the sink, declared once, on an injected registry.

Labels stay bounded: table (five), topic (three), kind of failure (two).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Rows per INSERT: ClickHouse wants thousands; a run of small batches shows a quiet stream
# (the time limit fires first) or a batch size set too low.
BATCH_ROWS_BUCKETS = (1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
# One INSERT of a few thousand rows takes milliseconds to a few hundred on a healthy store.
INSERT_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Failure kinds: `unavailable` is retried with backoff; `refused` stops the sink.
UNAVAILABLE, REFUSED = "unavailable", "refused"


@dataclass(frozen=True)
class SinkMetrics:
    rows_written: Counter
    batch_rows: Histogram
    insert_seconds: Histogram
    insert_failures: Counter
    store_up: Gauge
    paused: Gauge
    buffered_rows: Gauge
    messages: Counter
    commits: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SinkMetrics:
        metrics = cls(
            rows_written=Counter(
                "ccpipe_sink_rows_written",
                "Rows inserted into ClickHouse, per table (a replayed batch counts again).",
                ["table"],
                registry=registry,
            ),
            batch_rows=Histogram(
                "ccpipe_sink_batch_rows",
                "Rows per INSERT, per table.",
                ["table"],
                buckets=BATCH_ROWS_BUCKETS,
                registry=registry,
            ),
            insert_seconds=Histogram(
                "ccpipe_sink_insert_seconds",
                "Time of one successful INSERT, per table.",
                ["table"],
                buckets=INSERT_SECONDS_BUCKETS,
                registry=registry,
            ),
            insert_failures=Counter(
                "ccpipe_sink_insert_failures",
                "Failed INSERTs, per table and kind: unavailable (retried) or refused (fatal).",
                ["table", "kind"],
                registry=registry,
            ),
            store_up=Gauge(
                "ccpipe_sink_store_up",
                "1 while ClickHouse takes the sink's inserts, 0 while it cannot be reached.",
                registry=registry,
            ),
            paused=Gauge(
                "ccpipe_sink_paused",
                "1 while consumption is paused because ClickHouse cannot take a batch.",
                registry=registry,
            ),
            buffered_rows=Gauge(
                "ccpipe_sink_buffered_rows",
                "Rows consumed but not yet written (bounded by the batch size).",
                registry=registry,
            ),
            messages=Counter(
                "ccpipe_sink_messages",
                "Kafka messages consumed, per topic.",
                ["topic"],
                registry=registry,
            ),
            commits=Counter(
                "ccpipe_sink_commits",
                "Offset commits, each after every batch it covers was written.",
                registry=registry,
            ),
        )
        return metrics
