"""The sink: what the stream emits, written to ClickHouse in batches, offsets committed after.

    cc.events ──────────┐  rows.py      batches.py           writer.py        consumer.py
    cc.segments ────────┼─> message ──> one columnar batch ─> insert, retry ─> commit the
    cc.kpi.intervals ───┘   -> rows     per table             with backoff     offsets

`policy.py` decides when a batch is written (rows, seconds) and how long to wait between
retries; `metrics.py` declares the `ccpipe_sink_*` metrics; `owner.py` is the read-only SQL
endpoint a chdb store's owner serves, and its client; `service.py` wires the process
(`ccpipe sink`). See docs/sink.md.
"""
