"""Pipeline health (`ccpipe-pipeline`): the workers (throughput, dead letters, lag, a stuck
worker, latency), the sink's writes to ClickHouse, how fresh the wallboards' live view is,
and whether the stream and the store agree."""

from __future__ import annotations

from pipeline.core.catalogue import (
    DEAD_LETTERS_RATE_RULE,
    DEAD_LETTERS_RATIO_RULE,
    EVENT_TO_METRIC,
    EVENTS_DUPLICATE,
    EVENTS_RATE_RULE,
    LAG_RULE,
    LATENCY_P95_RULE,
    LIVE_NOT_FRESH_RULE,
    LIVE_OLDEST_UPDATE,
    SEGMENT_ANOMALIES,
    SINK_WRITING_RULE,
    WATERMARK,
    WORKER_JOB,
    WORKER_LAG_RULE,
)
from pipeline.grafana.panels import (
    Json,
    dashboard,
    lower_is_better,
    prom,
    sql,
    stat,
    steps,
    table,
    timeseries,
)
from pipeline.targets import Targets

DEAD_LETTERS_SQL = """
SELECT
    source,
    reason,
    count() AS letters,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
GROUP BY source, reason
ORDER BY letters DESC
"""

STREAM_STORE_SQL = """
SELECT
    count() AS intervals,
    countIf(
        s.offered != c.offered OR s.answered != c.answered OR s.abandoned != c.abandoned
        OR s.answered_within_sl != c.answered_within_sl
        OR s.wait_answered_sum_us != c.wait_answered_sum_us
        OR s.handle_sum_us != c.handle_sum_us OR s.fcr_resolved != c.fcr_resolved
    ) AS differing
FROM kpi_intervals_merged AS s
INNER JOIN kpi_interval_counts AS c
    ON s.tenant = c.tenant AND s.queue = c.queue AND s.channel = c.channel
    AND s.interval_start = c.interval_start
WHERE $__timeFilter(s.interval_start)
"""


def boards(targets: Targets) -> list[Json]:
    return [board()]


def board() -> Json:
    job = f'{{job="{WORKER_JOB}"}}'
    up = steps(("red", None), ("green", 1))  # 1 (or more) is healthy, 0 is not
    panels = [
        stat(
            "Workers up",
            [prom(f"sum(up{job})", "up", instant=True)],
            "none",
            up,
            width=6,
            height=5,
        ),
        stat(
            "Alerts firing",
            [prom('count(ALERTS{alertstate="firing"}) or vector(0)', "firing", instant=True)],
            "none",
            steps(("green", None), ("red", 1)),
            width=6,
            height=5,
        ),
        stat(
            "Event time behind the clock",
            [prom(f"time() - max({WATERMARK.name})", "lag", instant=True)],
            "s",
            width=6,
            height=5,
            description="Wall clock minus the largest event time seen. Large for a replay or "
            "a simulation with past timestamps; growing while live means input stopped.",
        ),
        stat(
            "Dead-lettered share, 15 minutes",
            [prom(DEAD_LETTERS_RATIO_RULE, "dead letters", instant=True)],
            "percentunit",
            lower_is_better(0.01),
            width=6,
            height=5,
        ),
        timeseries(
            "Events per second",
            [
                prom(EVENTS_RATE_RULE, "events"),
                prom(f"sum(rate({EVENTS_DUPLICATE.name}[5m]))", "duplicates"),
                prom(f"sum(rate({SEGMENT_ANOMALIES.name}[5m]))", "anomalies"),
            ],
            "ops",
        ),
        timeseries(
            "Dead letters per second, by reason",
            [prom(DEAD_LETTERS_RATE_RULE, "{{reason}}")],
            "ops",
        ),
        timeseries("Consumer lag (messages)", [prom(LAG_RULE, "{{topic}}")], "none"),
        timeseries(
            "Consumer lag per worker (messages)",
            [prom(WORKER_LAG_RULE, "{{instance}}")],
            "none",
            description="Growing while the same worker's event time stands still (next "
            "panel) is a stuck worker: it answers scrapes but processes nothing "
            "(CcpipeWorkerStuck).",
        ),
        timeseries(
            "Event time behind the clock, per worker",
            [prom(f"time() - {WATERMARK.name}{job}", "{{instance}}")],
            "s",
            description="A line that climbs one second a second means that worker's event "
            "time stands still: fine when no event comes, stuck when its lag grows.",
        ),
        timeseries(
            "Event to metric latency",
            [
                prom(LATENCY_P95_RULE, "p95"),
                prom(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate({EVENT_TO_METRIC.name}_bucket[5m])))",
                    "p50",
                ),
            ],
            "s",
        ),
        stat(
            "Sink writing to ClickHouse",
            [prom(f"min({SINK_WRITING_RULE})", "writing", instant=True)],
            "none",
            up,
            width=6,
            height=8,
            description="1 while every sink writes its batches to ClickHouse; 0 while one "
            "cannot (ClickHouse unreachable, or the sink not scraped): the store, the history "
            "and the goals fall behind, and CcpipeSinkFailing fires once it lasts.",
        ),
        timeseries(
            "Sink writing to ClickHouse, per sink (1 yes, 0 no)",
            [prom(SINK_WRITING_RULE, "{{instance}}")],
            "none",
            width=18,
            minimum=0,
            maximum=1,
        ),
        stat(
            "Wallboard partitions not fresh",
            [prom(f"max({LIVE_NOT_FRESH_RULE}) or vector(0)", "not fresh", instant=True)],
            "none",
            steps(("green", None), ("red", 1)),
            width=6,
            height=8,
            description="Events partitions that some live view (a worker's pages, `ccpipe "
            "wallboard`) shows stale (no publication for live_stale_after_s) or missing: "
            "the wallboard dims their figures, and CcpipeWallboardStale fires once it lasts.",
        ),
        timeseries(
            "Wallboard: oldest live publication, per reader",
            [prom(LIVE_OLDEST_UPDATE.name, "{{instance}}")],
            "s",
            width=18,
            description="Age of the least recent publication in each live view; a heartbeat "
            "comes every live_heartbeat_s (5 s), a failover takes the session timeout.",
        ),
        table("Dead letters by reason (ClickHouse)", [sql(DEAD_LETTERS_SQL)], width=12),
        table(
            "Do the stream and the store agree? (ClickHouse)",
            [sql(STREAM_STORE_SQL)],
            width=12,
            description="The stream's published interval figures against the same counts "
            "recomputed from the segments: `differing` is 0 once the stream has caught up.",
        ),
    ]
    return dashboard(
        "ccpipe-pipeline",
        "ccpipe pipeline health",
        panels,
        time_from="now-3h",
        description="The workers: throughput, dead letters, lag (stuck workers), latency; "
        "the sink's writes to ClickHouse; how fresh the wallboards' live view is.",
    )
