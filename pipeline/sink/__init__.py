"""The sink: what the stream emits, written to ClickHouse in batches, offsets committed after.

    cc.events ──────────┐  rows.py      batches.py           writer.py        consumer.py
    cc.segments ────────┼─> message ──> one columnar batch ─> insert, retry ─> commit the
    cc.kpi.intervals ───┘   -> rows     per table             with backoff     offsets

`policy.py` decides when a batch is written (rows, seconds) and how long to wait between
retries; `owner.py` is the read-only SQL endpoint a chdb store's owner serves. The wiring is
in `pipeline/commands/sink.py`. See docs/sink.md.
"""
