"""The naive baseline: a Faust agent that computes the same KPIs one event at a time, with a
table update per event (what a first Faust app usually looks like).

    python -m bench.naive_app CONFIG.yaml PROGRESS_FILE

It uses the same KPI core, so the comparison isolates the stream design: per-message
iteration, per-event table writes (one changelog message each), no batching. It writes
"events processed, unix time" to PROGRESS_FILE every half second.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import faust
import orjson

from pipeline.config import load_settings
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.stream.codec import encode_segments, interval_key_text


def build(config: str, progress: Path) -> faust.App:
    settings = load_settings(config)
    app = faust.App(
        f"{settings.app_id}-naive",
        broker=f"kafka://{settings.broker}",
        store="memory://",
        datadir=str(progress.parent / "naive-data"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    topic = app.topic(settings.events_topic, key_type=bytes, value_type=bytes)
    segments = app.Table("naive-segments", default=None, key_type=bytes, value_type=bytes)
    intervals = app.Table("naive-intervals", default=None, key_type=bytes, value_type=bytes)
    state = KpiState(settings.queue)
    done = {"events": 0, "written": time.monotonic()}

    @app.agent(topic)
    async def naive(stream: Any) -> Any:
        async for value in stream:
            events, _ = decode_message(value)
            for event in events:
                state.apply([event])
                changes = state.flush()
                for segment in changes.segments:
                    key = orjson.dumps(list(segment.sid))
                    segments[key] = encode_segments([segment])
                for key in changes.intervals:
                    counts = state.interval_counts(key)
                    intervals[interval_key_text(key).encode()] = orjson.dumps(counts)
                done["events"] += 1
            now = time.monotonic()
            if now - done["written"] >= 0.5:
                progress.write_text(f"{done['events']},{time.time()}\n")
                done["written"] = now
            yield None

    return app


def main() -> None:
    from faust.worker import Worker

    app = build(sys.argv[1], Path(sys.argv[2]))
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
