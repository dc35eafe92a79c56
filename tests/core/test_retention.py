"""`SegmentState` with a retention (the stream's allowed lateness), cases computed by hand.

T0 is 09:00 on day 0 and the retention is one day: an interval is closed once
`interval_start(watermark - 1 day)` is past its start."""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.config import load_settings
from pipeline.core.clock import US_PER_S
from pipeline.core.events import AnyEvent, decode_message
from pipeline.core.kpi_state import SegmentState
from tests.core.builders import answered, ended, offered

DAY = 86400.0
SETTINGS = load_settings(env={})


def _events(*items: dict[str, Any]) -> list[AnyEvent]:
    events, rejections = decode_message(orjson.dumps(list(items)))
    assert not rejections
    return events


def _state() -> SegmentState:
    return SegmentState(SETTINGS.queue, retention_us=round(DAY * US_PER_S))


def test_lateness_is_judged_event_by_event_not_by_batch() -> None:
    state = _state()
    batch = _events(
        offered(2 * DAY + 3600, "now"),  # day 2, 10:00: open from day 1, 10:00
        offered(DAY + 3600 - 1, "late"),  # day 1, 09:59:59, in the closed 09:45 interval
        offered(DAY + 3600, "edge"),  # day 1, 10:00: the oldest open interval
    )
    assert state.apply(batch) == 2
    assert [e.contact_id for e in state.late] == ["late"]
    assert state.counters.late == 1
    assert sorted(s.contact_id for s in state.segments) == ["edge", "now"]


def test_prune_drops_closed_contacts_and_intervals_and_keeps_what_is_open() -> None:
    state = _state()
    both_q = offered(60, "both", queue="q")
    state.apply(_events(offered(0, "old"), answered(10, "old"), both_q, answered(0, "orphan")))
    state.flush()
    assert state.prune() == []  # watermark day 0 09:01: everything open
    state.apply(_events(offered(DAY + 1800, "both", queue="r")))  # day 1 09:30
    state.flush()
    # Open from day 0 09:30: "old" goes, and "orphan" (held since 09:01, never offered);
    # "both" stays for its open r segment, its closed q segment with it. The day 0 09:00
    # interval is forgotten.
    assert sorted(state.prune()) == ["old", "orphan"]
    assert state.counters.expired == 1
    assert sorted((s.contact_id, s.queue) for s in state.segments) == [("both", "q"), ("both", "r")]
    assert [k.queue for k in state.intervals.totals] == ["r"]
    # A duplicate of the closed segment's offer is not late and re-sends nothing; a new event
    # for that segment is late.
    assert state.apply(_events(both_q, ended(120, "both", talk=30, queue="q"))) == 0
    assert state.counters.late == 1
    assert state.flush().segments == []
