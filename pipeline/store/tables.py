"""The insert layout of each table: the columns a writer supplies, in order.

Columns with a DEFAULT (`ingested_at`, `updated_at`, `received_at`...) are left to the
server. tests/store checks these against the migrated schema and the KPI core's rows.
"""

from __future__ import annotations

from pipeline.core.intervals import COUNT_FIELDS, SETTINGS_VERSION
from pipeline.core.segments import SEGMENT_ROW_FIELDS

EVENTS = "events"
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "tenant",
    "type",
    "ts",
    "contact_id",
    "queue",
    "channel",
    "agent_id",
    "customer_id",
    "payload",
)

SEGMENTS = "segments"
# The KPI core's segment row, column for column (`Segment.row`).
SEGMENT_COLUMNS: tuple[str, ...] = SEGMENT_ROW_FIELDS

KPI_INTERVALS = "kpi_intervals"
KPI_INTERVAL_COLUMNS: tuple[str, ...] = (
    "tenant",
    "queue",
    "channel",
    "interval_start",
    *COUNT_FIELDS,
    SETTINGS_VERSION,
    "source",
    "version",
)

AGENT_STATES = "agent_states"
AGENT_STATE_COLUMNS: tuple[str, ...] = ("tenant", "agent_id", "ts", "state", "queues", "event_id")

DEAD_LETTERS = "dead_letters"
DEAD_LETTER_COLUMNS: tuple[str, ...] = ("source", "partition", "position", "item", "reason", "raw")

LAYOUTS: dict[str, tuple[str, ...]] = {
    EVENTS: EVENT_COLUMNS,
    SEGMENTS: SEGMENT_COLUMNS,
    KPI_INTERVALS: KPI_INTERVAL_COLUMNS,
    AGENT_STATES: AGENT_STATE_COLUMNS,
    DEAD_LETTERS: DEAD_LETTER_COLUMNS,
}
