"""The ingest stage's own topics: the input, and the converters' compacted state."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.ingest.state import MAX_STATE_BYTES
from pipeline.kafka.admin import EVENTS_RETENTION_MS, TopicSpec


def ingest_topics(settings: Settings, partitions: int | None = None) -> list[TopicSpec]:
    count = int(partitions if partitions is not None else settings.partitions)
    return [
        TopicSpec(
            settings.ingest_topic,
            count,
            {"cleanup.policy": "delete", "retention.ms": str(EVENTS_RETENTION_MS)},
        ),
        # The latest checkpoint per input partition is all a restore reads: compaction keeps
        # it; a short segment lets the cleaner drop the old ones within minutes.
        TopicSpec(
            settings.ingest_state_topic,
            count,
            {
                "cleanup.policy": "compact",
                "max.message.bytes": str(MAX_STATE_BYTES),
                "segment.ms": str(10 * 60 * 1000),
            },
        ),
    ]
