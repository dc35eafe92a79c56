"""Properties of the KPI core that hold for any input, checked with hypothesis."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_settings
from pipeline.core.events import decode_message
from pipeline.core.fcr import FcrTracker
from pipeline.core.intervals import (
    MAX_WAIT_INDEX,
    N_COUNTS,
    IntervalKey,
    merge_counts,
    move_counts,
    report_row,
    zero_counts,
)
from pipeline.core.kpi_state import KpiState, SegmentState, apply_fcr_updates
from tests.core.builders import at, report

SETTINGS = load_settings(env={})
CONTACTS = ["c1", "c2", "c3", "c4"]
QUEUES = ["q1", "q2"]
TENANTS = ["default", "t2"]
# Seconds from 09:00; a few values land on thresholds and interval edges on purpose.
SECONDS = st.one_of(
    st.sampled_from([0, 5, 20, 60, 899.999999, 900, 604800, 604801]),
    st.floats(min_value=0, max_value=700000, allow_nan=False).map(lambda x: round(x, 6)),
)


@st.composite
def contact_event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "contact.offered",
                "contact.answered",
                "contact.abandoned",
                "contact.transferred",
                "contact.ended",
                "contact.wrapup_ended",
                "survey.response",
                "agent.state",
            ]
        )
    )
    event: dict[str, Any] = {
        "event_id": f"id{draw(st.integers(0, 10_000))}",
        "type": kind,
        "ts": at(draw(SECONDS)),
        "tenant": draw(st.sampled_from(TENANTS)),
    }
    if kind == "agent.state":
        event.update(agent_id="a1", state=draw(st.sampled_from(["available", "busy"])))
        return event
    event.update(contact_id=draw(st.sampled_from(CONTACTS)), queue=draw(st.sampled_from(QUEUES)))
    if kind == "contact.offered":
        event["channel"] = draw(st.sampled_from(["voice", "chat"]))
        customer = draw(st.sampled_from([None, "u1", "u2"]))
        if customer:
            event["customer_id"] = customer
    elif kind == "contact.answered":
        event["agent_id"] = "a1"
    elif kind == "contact.transferred":
        event["to_queue"] = draw(st.sampled_from(QUEUES))
    elif kind == "contact.ended":
        event.update(
            agent_id="a1", talk_s=draw(st.integers(0, 600)), hold_s=draw(st.integers(0, 60))
        )
    elif kind == "contact.wrapup_ended":
        event.update(agent_id="a1", acw_s=draw(st.integers(0, 120)))
        resolved = draw(st.sampled_from([None, True, False]))
        if resolved is not None:
            event["resolved"] = resolved
    elif kind == "survey.response":
        event["csat"] = draw(st.integers(1, 5))
        event["nps"] = draw(st.integers(0, 10))
    return event


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct event ids per tenant, as the contract has them (a reused id is a duplicate)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for event in events:
        key = (event["tenant"], event["event_id"])
        if key not in seen:
            seen.add(key)
            out.append(event)
    return out


EVENTS = st.lists(contact_event(), min_size=1, max_size=40).map(_unique)


@settings(max_examples=150, deadline=None)
@given(events=EVENTS, data=st.data())
def test_any_arrival_order_and_duplication_leave_the_report_unchanged(
    events: list[dict[str, Any]], data: st.DataObject
) -> None:
    expected = report(events)
    shuffled = data.draw(st.permutations(events))
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=10))
    position = data.draw(st.integers(0, len(shuffled)))
    replayed = shuffled[:position] + repeats + shuffled[position:] + shuffled
    assert report(replayed) == expected


@settings(max_examples=150, deadline=None)
@given(events=EVENTS)
def test_counts_add_up_and_rates_stay_in_range(events: list[dict[str, Any]]) -> None:
    for row in report(events):
        assert row["answered"] + row["abandoned"] + row["short_abandoned"] <= row["offered"]
        assert row["answered_within_sl"] <= row["answered"]
        assert row["transferred"] <= row["offered"]
        assert row["fcr_resolved"] <= row["fcr_eligible"]
        assert row["fcr_eligible"] + row["fcr_pending"] <= row["handled"] <= row["offered"]
        for name in ("service_level", "abandon_rate", "response_rate", "fcr_rate", "csat"):
            assert row[name] is None or 0.0 <= row[name] <= 1.0, name
        assert row["nps"] is None or -100.0 <= row["nps"] <= 100.0
        assert row["transfer_rate"] is None or row["transfer_rate"] >= 0
        for name in ("asa_s", "max_wait_s", "aht_s"):
            assert row[name] is None or row[name] >= 0


def _decoded(events: list[dict[str, Any]]) -> list[Any]:
    out = []
    for event in events:
        decoded, rejected = decode_message(orjson.dumps(event))
        assert not rejected
        out.extend(decoded)
    return out


def _partition(event: Any, parts: int) -> int:
    key = getattr(event, "contact_id", None) or event.agent_id
    return zlib.crc32(key.encode()) % parts


@settings(max_examples=150, deadline=None)
@given(events=EVENTS, parts=st.integers(1, 4))
def test_partial_states_merge_into_the_state_over_all_events(
    events: list[dict[str, Any]], parts: int
) -> None:
    """Segments split over partitions, as the stream splits them, merge to one state's rows."""
    decoded = _decoded(events)
    whole = KpiState(SETTINGS.queue)
    whole.apply(decoded)
    expected = whole.report()

    partials = [SegmentState(SETTINGS.queue) for _ in range(parts)]
    fcr = FcrTracker()
    for event in decoded:
        partials[_partition(event, parts)].apply([event])
    for partial in partials:
        apply_fcr_updates(fcr, partial.flush().fcr_updates)
        fcr.observe(partial.watermark_us)
    fcr.flush()
    keys: set[IntervalKey] = set()
    for partial in partials:
        keys |= set(partial.intervals.keys())
    rows = []
    for key in sorted(keys):
        pieces = [p.intervals.totals[key] for p in partials if key in p.intervals.totals]
        if key in fcr.intervals.totals:
            pieces.append(fcr.intervals.totals[key])
        counts = merge_counts(pieces)
        if counts[0] > 0:
            rows.append(report_row(key, counts))
    assert rows == expected


@given(
    st.lists(
        st.lists(st.integers(0, 1000), min_size=N_COUNTS, max_size=N_COUNTS).map(
            lambda c: [*c[:MAX_WAIT_INDEX], c[MAX_WAIT_INDEX] - 1, *c[MAX_WAIT_INDEX + 1 :]]
        ),
        min_size=1,
        max_size=5,
    )
)
def test_merge_is_order_free(parts: list[list[int]]) -> None:
    assert merge_counts(parts) == merge_counts(list(reversed(parts)))
    assert merge_counts([merge_counts(parts[:1]), merge_counts(parts[1:])]) == merge_counts(parts)


COUNTS = st.lists(st.integers(0, 1000), min_size=N_COUNTS, max_size=N_COUNTS).map(
    lambda c: [*c[:MAX_WAIT_INDEX], c[MAX_WAIT_INDEX] - 1, *c[MAX_WAIT_INDEX + 1 :]]
)


@given(st.lists(st.tuples(st.integers(0, 3), COUNTS), min_size=1, max_size=30))
def test_a_total_moved_as_intervals_change_is_their_sum(
    changes: list[tuple[int, list[int]]],
) -> None:
    """Intervals 0-3 take new counts one change at a time; the total kept by `move_counts`
    equals the merge of their last counts (the maximum wait: at least it)."""
    current: dict[int, list[int]] = {}
    total = zero_counts()
    for interval, counts in changes:
        move_counts(total, current.get(interval, zero_counts()), counts)
        current[interval] = counts
    merged = merge_counts(current.values())
    for i in range(N_COUNTS):
        if i == MAX_WAIT_INDEX:
            assert total[i] >= merged[i]
        else:
            assert total[i] == merged[i]
