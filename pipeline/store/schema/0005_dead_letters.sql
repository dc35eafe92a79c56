-- Input that was not processed, kept whole with the reason, for inspection and replay.
-- `source` is the topic or file it came from, `position` its Kafka offset or 1-based
-- line number, `item` the index of the rejected event in a batch message (0 when the
-- whole message was rejected). A replay writes the same (source, partition, position,
-- item) again and collapses into one row.
CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1)),
    source LowCardinality(String),
    partition Int32 DEFAULT -1,
    position Int64,
    item UInt32 DEFAULT 0,
    reason String CODEC(ZSTD(1)),
    raw String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (source, partition, position, item)
SETTINGS non_replicated_deduplication_window = 1000;
