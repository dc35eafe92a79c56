-- Every accepted event, as it came, with the fields that queries filter on lifted out.
--
-- Access is by tenant and time range, so the sorting key starts (tenant, ts); event_id
-- ends it so that a replayed event (same tenant, ts and event_id) collapses into one row
-- when parts merge, and `FINAL` hides the copy before that. Monthly partitions keep
-- retention a matter of dropping partitions. `ts` is DateTime64(6): the contract's
-- microseconds, exact; DoubleDelta suits a column that is sorted within each tenant.
-- `non_replicated_deduplication_window` lets a single server drop a retried batch sent
-- with the same `insert_deduplication_token` (replicated tables do this by default).
CREATE TABLE IF NOT EXISTS events
(
    event_id String,
    tenant LowCardinality(String),
    type LowCardinality(String),
    ts DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    contact_id Nullable(String),
    queue LowCardinality(Nullable(String)),
    channel LowCardinality(Nullable(String)),
    agent_id Nullable(String),
    customer_id Nullable(String),
    payload String CODEC(ZSTD(3)),
    ingested_at DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, ts, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
