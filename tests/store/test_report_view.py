"""`kpi_interval_report` and friends on hand-built segments, against figures worked by hand."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.core.clock import INTERVAL_US, format_utc
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.store import Store
from tests.store.rows import (
    T0,
    S,
    insert_interval_states,
    insert_segments,
    interval_state,
    report,
    segment,
    set_watermark,
)

W = 3600 * S  # the queues' FCR window in these tests


def thresholds_and_rates_rows() -> list[dict[str, Any]]:
    return [
        # Exactly at the 20 s threshold: within service level.
        segment(
            "c1",
            T0,
            outcome="answered",
            wait_us=20 * S,
            talk_us=100 * S,
            hold_us=10 * S,
            acw_us=30 * S,
            resolved=1,
            csat_responses=2,
            csat_good=1,
            nps_responses=3,
            nps_promoters=2,
            nps_detractors=1,
        ),
        # One microsecond over: answered, not within; handled without a wrap-up (ACW 0).
        segment("c2", T0 + 60 * S, outcome="answered", wait_us=20 * S + 1, talk_us=50 * S),
        # Abandoned exactly at the 5 s short-abandon threshold: a real abandon.
        segment("c3", T0 + 120 * S, outcome="abandoned", wait_us=5 * S),
        # One microsecond under it: a short abandon.
        segment("c4", T0 + 180 * S, outcome="abandoned", wait_us=5 * S - 1),
        # Still waiting, transferred away.
        segment("c5", T0 + 240 * S, transferred=1, to_queue="q2"),
    ]


def test_thresholds_and_rates_by_hand(store: Store) -> None:
    insert_segments(store, thresholds_and_rates_rows())
    [row] = report(store)
    assert list(row) == list(REPORT_FIELDS)
    assert row == {
        "tenant": "default",
        "queue": "q1",
        "channel": "voice",
        "interval_start": "2026-11-22T09:00:00Z",
        "offered": 5,
        "answered": 2,
        "abandoned": 1,
        "short_abandoned": 1,
        "answered_within_sl": 1,
        "service_level": 1 / 3,
        "asa_s": 40_000_001 / 2_000_000,
        "max_wait_s": 20_000_001 / 1_000_000,
        "abandon_rate": 1 / 4,
        "response_rate": 2 / 5,
        "handled": 2,
        "aht_s": 190_000_000 / 2_000_000,
        "transferred": 1,
        "transfer_rate": 1 / 2,
        "fcr_eligible": 0,
        "fcr_resolved": 0,
        "fcr_rate": None,
        "fcr_pending": 0,
        "csat_responses": 2,
        "csat": 1 / 2,
        "nps_responses": 3,
        "nps": 100 * (2 - 1) / 3,
        # c3 (5 s) and c4 (a short abandon) left the queue within 20 s by abandoning.
        "abandoned_within_sl": 2,
        "service_level_connect": (1 + 2) / 5,  # c1, c3, c4 of the five queued
        "service_level_answered": 1 / 2,  # c1 of the two answered
    }


def test_rates_are_null_when_their_divisor_is_zero(store: Store) -> None:
    insert_segments(
        store,
        [
            segment("short", T0, outcome="abandoned", wait_us=1),
            segment("waiting", T0 + INTERVAL_US, queue="q1"),
        ],
    )
    only_short, only_waiting = report(store)
    assert only_short["service_level"] is None  # answered + abandoned = 0
    assert only_short["abandon_rate"] is None  # offered - short_abandoned = 0
    assert only_short["max_wait_s"] == 1e-06  # short abandons count for the longest wait
    assert only_short["response_rate"] == 0.0
    for row in (only_short, only_waiting):
        for field in ("asa_s", "aht_s", "transfer_rate", "fcr_rate", "csat", "nps"):
            assert row[field] is None, field
    assert only_waiting["max_wait_s"] is None
    assert only_waiting["abandon_rate"] == 0.0


def fcr_rows() -> list[dict[str, Any]]:
    handled = {"outcome": "answered", "wait_us": S, "talk_us": 60 * S}
    return [
        # Another contact of k1 exactly at the window's end: a repeat, not resolved.
        segment("s1", T0, customer_id="k1", **handled),
        segment("x1", T0 + W, customer_id="k1"),
        # ...one microsecond after it: outside the window, resolved.
        segment("s2", T0, customer_id="k2", **handled),
        segment("x2", T0 + W + 1, customer_id="k2"),
        # The wrap-up said resolved: false.
        segment("s3", T0, customer_id="k3", resolved=0, **handled),
        # Same contact in another queue (a transfer) is not a repeat contact.
        segment("s4", T0, customer_id="k4", resolved=1, **handled),
        segment("s4", T0 + 10 * S, queue="q2", customer_id="k4"),
        # Another contact at the same instant is not *after* S.
        segment("s5", T0, customer_id="k5", **handled),
        segment("x5", T0, queue="q2", customer_id="k5"),
        # No customer, or not handled: outside FCR.
        segment("s6", T0, **handled),
        segment("s7", T0, customer_id="k7"),
    ]


def fcr_of(rows: list[dict[str, Any]], queue: str = "q1") -> tuple[Any, ...]:
    [row] = [r for r in rows if r["queue"] == queue and r["interval_start"] == format_utc(T0)]
    return row["fcr_eligible"], row["fcr_resolved"], row["fcr_rate"], row["fcr_pending"]


def test_fcr_window_edges_and_the_watermark(store: Store) -> None:
    insert_segments(store, fcr_rows())
    set_watermark(store, T0 + W)  # not past T0 + W: every window still open
    assert fcr_of(report(store)) == (0, 0, None, 5)
    set_watermark(store, T0 + W + 1)  # past it: all five closed
    assert fcr_of(report(store)) == (5, 3, 3 / 5, 0)


def test_what_if_view_with_stored_thresholds_is_the_report(store: Store) -> None:
    insert_segments(store, thresholds_and_rates_rows() + fcr_rows())
    set_watermark(store, T0 + W + 1)
    same = "SELECT * FROM kpi_interval_report_with(sl_threshold_s=-1, short_abandon_s=-1, "
    assert report(store, same + "fcr_window_s=-1)") == report(store)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # (within SL, abandoned, short abandoned, service level)
        ("sl_threshold_s=20.000001, short_abandon_s=-1", (2, 1, 1, 2 / 3)),
        ("sl_threshold_s=19.999999, short_abandon_s=-1", (0, 1, 1, 0.0)),
        ("sl_threshold_s=-1, short_abandon_s=5.000001", (1, 0, 2, 1 / 2)),
        ("sl_threshold_s=30, short_abandon_s=0", (2, 2, 0, 2 / 4)),
    ],
)
def test_what_if_thresholds(store: Store, params: str, expected: tuple[Any, ...]) -> None:
    insert_segments(store, thresholds_and_rates_rows())
    [row] = report(store, f"SELECT * FROM kpi_interval_report_with({params}, fcr_window_s=-1)")
    got = (
        row["answered_within_sl"],
        row["abandoned"],
        row["short_abandoned"],
        row["service_level"],
    )
    assert got == expected


def test_what_if_fcr_window(store: Store) -> None:
    insert_segments(store, fcr_rows())
    set_watermark(store, T0 + W + 1)
    sql = (
        "SELECT * FROM kpi_interval_report_with(sl_threshold_s=-1, short_abandon_s=-1, "
        "fcr_window_s={w})"
    )
    # One microsecond shorter: x1 falls outside s1's window, so s1 is resolved too.
    assert fcr_of(report(store, sql.format(w=3599.999999))) == (5, 4, 4 / 5, 0)
    # Longer than the watermark allows: every window is open again.
    assert fcr_of(report(store, sql.format(w=7200))) == (0, 0, None, 5)


def test_latest_segment_state_replaces_older_ones(store: Store) -> None:
    first = segment("c1", T0 + 14 * 60 * S, version=1)
    answered = segment(
        "c1", T0 + 14 * 60 * S, outcome="answered", wait_us=3 * S, version=2, talk_us=9 * S
    )
    # An earlier `contact.offered` arrived late: the segment moves to the 08:45 interval.
    moved = segment("c1", T0 - 60 * S, outcome="answered", wait_us=63 * S, version=3)
    insert_segments(store, [first])
    insert_segments(store, [answered, moved])
    insert_segments(store, [first, answered])  # a replay of older states
    rows = report(store)
    assert [(r["interval_start"], r["offered"], r["answered"]) for r in rows] == [
        ("2026-11-22T08:45:00Z", 1, 1)
    ]
    assert rows[0]["max_wait_s"] == 63.0
    before_merge = report(store)
    store.execute("OPTIMIZE TABLE segments FINAL")
    assert report(store) == before_merge


def test_intervals_merge_the_latest_state_of_each_source(store: Store) -> None:
    insert_interval_states(
        store,
        [
            interval_state(T0, "seg:0", 1, offered=1, answered=1, max_wait_us=4 * S),
            interval_state(T0, "seg:0", 2, offered=2, answered=2, max_wait_us=7 * S),
            interval_state(T0, "seg:1", 1, offered=3, answered=1, max_wait_us=9 * S),
            interval_state(T0, "fcr:0", 5, fcr_eligible=2, fcr_resolved=1),
            interval_state(T0, "seg:0", 1, offered=1, answered=1, max_wait_us=4 * S),  # replay
            interval_state(T0 + INTERVAL_US, "seg:0", 1, offered=1),
        ],
    )
    rows = store.query(
        "SELECT interval_start, offered, answered, max_wait_us, fcr_eligible, fcr_resolved "
        "FROM kpi_intervals_merged ORDER BY interval_start"
    ).rows
    assert [row[1:] for row in rows] == [(5, 3, 9 * S, 2, 1), (1, 0, -1, 0, 0)]


def test_a_retried_batch_with_the_same_token_is_dropped(store: Store) -> None:
    rows = thresholds_and_rates_rows()
    columns = list(rows[0])
    data = [[r[c] for r in rows] for c in columns]
    raw, final = "SELECT count() FROM segments", "SELECT count() FROM segments FINAL"
    for _ in range(2):  # a batch written, then retried after a crash before the commit
        store.insert("segments", columns, data, dedup_token="cc.segments/3/1200-1299")
    assert store.query(raw).scalar() == 5  # the retry wrote nothing
    store.insert("segments", columns, data)  # without a token: written again...
    assert store.query(raw).scalar() == 10
    assert store.query(final).scalar() == 5  # ...and replaced, so nothing shows twice
