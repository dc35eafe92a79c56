"""Fill a store from simulated events through the KPI core, as `ccpipe load` will.

The rows written are what the core emits (segment rows, interval counts, events, agent
states), so a test can hold the store's SQL against the core's own report.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.config import QueueOverrides, Settings
from pipeline.core.events import AgentState, AnyEvent, decode_message, encode_event
from pipeline.core.kpi_state import KpiState
from pipeline.core.segments import SEGMENT_ROW_FIELDS
from pipeline.simulator.emit import simulate_events
from pipeline.store import Store
from pipeline.store.tables import (
    DEAD_LETTER_COLUMNS,
    DEAD_LETTERS,
    EVENT_COLUMNS,
    EVENTS,
    KPI_INTERVAL_COLUMNS,
    KPI_INTERVALS,
    SEGMENT_COLUMNS,
    SEGMENTS,
)
from tests.store.rows import columnar, insert_agent_states

# Short FCR windows and a fractional threshold, so that FCR closes inside a simulated day
# and rounding to microseconds is exercised.
SETTINGS = Settings(
    queues={
        "billing": QueueOverrides(fcr_window_s=3600, sl_threshold_s=15.5),
        "sales": QueueOverrides(fcr_window_s=1800.000001),
        "support": QueueOverrides(fcr_window_s=7200, short_abandon_s={"voice": 3, "chat": 1}),
    }
)


def simulated(contacts: int, seed: int) -> list[AnyEvent]:
    """Decoded simulated events, duplicates and late arrivals included."""
    events, rejections = decode_message(orjson.dumps(list(simulate_events(contacts, seed))))
    assert not rejections
    return events


def event_row(event: AnyEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "tenant": event.tenant,
        "type": type(event).__struct_config__.tag,
        "ts": event.ts_us,
        "contact_id": getattr(event, "contact_id", None),
        "queue": getattr(event, "queue", None),
        "channel": getattr(event, "channel", None),
        "agent_id": getattr(event, "agent_id", None),
        "customer_id": getattr(event, "customer_id", None),
        "payload": encode_event(event).decode(),
    }


def fill(
    store: Store, events: list[AnyEvent], settings: Settings = SETTINGS
) -> list[dict[str, Any]]:
    """Write everything the core derives from `events`; returns the core's report."""
    state = KpiState(settings.queue)
    state.apply(events)
    expected = state.report()
    segments = []
    for seg in state.segments.segments.values():
        if seg.offered is None:
            continue
        segments.append(seg.row(state.segments.segment_config(seg)))
    assert tuple(segments[0]) == SEGMENT_ROW_FIELDS
    store.insert(SEGMENTS, SEGMENT_COLUMNS, columnar(segments, SEGMENT_COLUMNS))
    # Duplicated events are stored twice on purpose: the table collapses them.
    store.insert(EVENTS, EVENT_COLUMNS, columnar([event_row(e) for e in events], EVENT_COLUMNS))
    agents = [e for e in events if isinstance(e, AgentState)]
    insert_agent_states(store, agents)
    intervals = []
    for key in sorted(state.segments.intervals.keys()):
        counts = state.interval_counts(key)
        version = state.segments.queue_config(*key).version
        intervals.append([*key, *counts, version, "seg:0", 1])
    by_column = [list(column) for column in zip(*intervals, strict=True)]
    store.insert(KPI_INTERVALS, KPI_INTERVAL_COLUMNS, by_column)
    store.insert(
        DEAD_LETTERS,
        DEAD_LETTER_COLUMNS,
        [
            ["events.jsonl", "events.jsonl"],
            [-1, -1],
            [17, 42],
            [0, 0],
            ["not JSON", "`ts`: 'yesterday' is not an RFC 3339 timestamp"],
            ["{oops", '{"type": "contact.offered", "ts": "yesterday"}'],
        ],
    )
    return expected
