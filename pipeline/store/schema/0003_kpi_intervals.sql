-- The stream's mergeable interval state: per (tenant, queue, channel, interval) and per
-- `source` (the partition that computed that partial state, e.g. 'seg:3' or 'fcr:1').
--
-- Each source re-publishes its full partial state on every change, with a larger
-- `version`; ReplacingMergeTree keeps the latest per (key, source). An interval's figures
-- are the merge of its sources' latest rows: sums, and max for max_wait_us (-1 = none).
-- `kpi_intervals_merged` does that merge. The key never moves, so the table can be
-- partitioned by month and sorted by the key for time ranges by tenant and queue.
CREATE TABLE IF NOT EXISTS kpi_intervals
(
    tenant LowCardinality(String),
    queue LowCardinality(String),
    channel LowCardinality(String),
    interval_start DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    offered Int64 CODEC(T64, ZSTD(1)),
    answered Int64 CODEC(T64, ZSTD(1)),
    abandoned Int64 CODEC(T64, ZSTD(1)),
    short_abandoned Int64 CODEC(T64, ZSTD(1)),
    answered_within_sl Int64 CODEC(T64, ZSTD(1)),
    wait_answered_sum_us Int64 CODEC(T64, ZSTD(1)),
    max_wait_us Int64 CODEC(T64, ZSTD(1)),
    handled Int64 CODEC(T64, ZSTD(1)),
    handle_sum_us Int64 CODEC(T64, ZSTD(1)),
    transferred Int64 CODEC(T64, ZSTD(1)),
    fcr_eligible Int64 CODEC(T64, ZSTD(1)),
    fcr_resolved Int64 CODEC(T64, ZSTD(1)),
    fcr_pending Int64 CODEC(T64, ZSTD(1)),
    csat_responses Int64 CODEC(T64, ZSTD(1)),
    csat_good Int64 CODEC(T64, ZSTD(1)),
    nps_responses Int64 CODEC(T64, ZSTD(1)),
    nps_promoters Int64 CODEC(T64, ZSTD(1)),
    nps_detractors Int64 CODEC(T64, ZSTD(1)),
    source LowCardinality(String),
    version UInt64,
    updated_at DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(interval_start)
ORDER BY (tenant, queue, channel, interval_start, source)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE OR REPLACE VIEW kpi_intervals_merged AS
SELECT
    tenant,
    queue,
    channel,
    interval_start,
    sum(offered) AS offered,
    sum(answered) AS answered,
    sum(abandoned) AS abandoned,
    sum(short_abandoned) AS short_abandoned,
    sum(answered_within_sl) AS answered_within_sl,
    sum(wait_answered_sum_us) AS wait_answered_sum_us,
    max(max_wait_us) AS max_wait_us,
    sum(handled) AS handled,
    sum(handle_sum_us) AS handle_sum_us,
    sum(transferred) AS transferred,
    sum(fcr_eligible) AS fcr_eligible,
    sum(fcr_resolved) AS fcr_resolved,
    sum(fcr_pending) AS fcr_pending,
    sum(csat_responses) AS csat_responses,
    sum(csat_good) AS csat_good,
    sum(nps_responses) AS nps_responses,
    sum(nps_promoters) AS nps_promoters,
    sum(nps_detractors) AS nps_detractors
FROM kpi_intervals FINAL
GROUP BY tenant, queue, channel, interval_start;
