-- Agent state changes (`agent.state` events). A replayed event has the same
-- (tenant, agent_id, ts, event_id) and collapses into one row.
CREATE TABLE IF NOT EXISTS agent_states
(
    tenant LowCardinality(String),
    agent_id String,
    ts DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    state LowCardinality(String),
    queues Array(LowCardinality(String)),
    event_id String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, agent_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
