-- One row per segment (tenant, contact_id, queue): its latest state replaces older ones.
--
-- The sorting key is exactly the segment's key, prefixed by what queries filter on
-- (tenant, queue). It holds no time on purpose: a segment's offer time, and so its
-- interval and channel, can still move when an earlier `contact.offered` arrives late,
-- and ReplacingMergeTree only replaces rows whose sorting key (and partition) are equal.
-- For the same reason the table is not partitioned by time. Read with `FINAL` (or
-- argMax(..., version)): the largest `version` (events applied) is the latest state.
--
-- Times are DateTime64(6, 'UTC') and durations Int64 microseconds, so that every KPI is
-- computed in exact integer arithmetic and divided once, as the Python core does.
-- sl_threshold_us, short_abandon_us and fcr_window_us are the queue's configuration when
-- the row was computed: `kpi_interval_report` reproduces `ccpipe kpis` with them, and
-- `kpi_interval_report_with(...)` recomputes with others.
CREATE TABLE IF NOT EXISTS segments
(
    tenant LowCardinality(String),
    contact_id String,
    queue LowCardinality(String),
    channel LowCardinality(String),
    interval_start DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    offered_ts DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    customer_id Nullable(String),
    reason LowCardinality(Nullable(String)),
    outcome LowCardinality(Nullable(String)),
    outcome_ts Nullable(DateTime64(6, 'UTC')) CODEC(Delta, ZSTD(1)),
    wait_us Nullable(Int64) CODEC(T64, ZSTD(1)),
    answer_agent_id LowCardinality(Nullable(String)),
    transferred UInt8,
    to_queue LowCardinality(Nullable(String)),
    transferred_ts Nullable(DateTime64(6, 'UTC')) CODEC(Delta, ZSTD(1)),
    ended_ts Nullable(DateTime64(6, 'UTC')) CODEC(Delta, ZSTD(1)),
    talk_us Nullable(Int64) CODEC(T64, ZSTD(1)),
    hold_us Nullable(Int64) CODEC(T64, ZSTD(1)),
    end_agent_id LowCardinality(Nullable(String)),
    wrapup_ts Nullable(DateTime64(6, 'UTC')) CODEC(Delta, ZSTD(1)),
    acw_us Nullable(Int64) CODEC(T64, ZSTD(1)),
    resolved Nullable(UInt8),
    disposition LowCardinality(Nullable(String)),
    csat_responses UInt32,
    csat_good UInt32,
    nps_responses UInt32,
    nps_promoters UInt32,
    nps_detractors UInt32,
    sl_threshold_us Int64,
    short_abandon_us Int64,
    fcr_window_us Int64,
    anomalies UInt32,
    version UInt64,
    updated_at DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, queue, contact_id)
SETTINGS non_replicated_deduplication_window = 1000;
