"""The Quix Streams peer: a windowed count per queue over the single-event topic.

    /tmp/quixvenv/bin/python bench/quix_peer.py BOOTSTRAP TOPIC EVENTS RESULT_FILE

Run with an interpreter of a throwaway virtual environment that has quixstreams (it is no
dependency of ccpipe; bench/ingest_throughput.py makes that environment under /tmp). It
decodes each event and counts events per key in 15-minute tumbling windows (Quix's
RocksDB state), the least a KPI job does, and writes "events,seconds" from its first to its
last message to RESULT_FILE once it has read EVENTS messages.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any


def main() -> None:
    from quixstreams import Application

    bootstrap, topic_name, total, result = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"quix-peer-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        state_dir=f"/tmp/quix-peer-state-{uuid.uuid4().hex[:6]}",
    )
    topic = app.topic(topic_name, value_deserializer="json", timestamp_extractor=_event_time)
    seen = {"n": 0, "first": 0.0}

    def count(value: dict[str, Any]) -> dict[str, Any]:
        if seen["n"] == 0:
            seen["first"] = time.perf_counter()
        seen["n"] += 1
        if seen["n"] >= total:
            with open(result, "w") as out:
                out.write(f"{seen['n']},{time.perf_counter() - seen['first']}\n")
            app.stop()
        return value

    # Windows per message key (the contact): a state update per event, no repartition.
    app.dataframe(topic).apply(count).tumbling_window(15 * 60 * 1000).count().final()
    app.run()


def _event_time(value: Any, headers: Any, timestamp: int, kind: Any) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(value["ts"].replace("Z", "+00:00")).timestamp() * 1000)


if __name__ == "__main__":
    main()
