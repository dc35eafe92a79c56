"""Every KPI's edge cases from the contract, against figures computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.core.intervals import REPORT_FIELDS
from tests.core.builders import (
    abandoned,
    answered,
    ended,
    ev,
    offered,
    only_row,
    report,
    wrapup,
)

WEEK = 604800


def test_row_has_every_contract_field_and_nulls_when_divisors_are_zero() -> None:
    row = only_row([offered(0, "c1")])
    assert tuple(row) == REPORT_FIELDS
    assert row["offered"] == 1
    assert row["interval_start"] == "2026-11-22T09:00:00Z"
    for name in ("service_level", "asa_s", "max_wait_s", "aht_s", "transfer_rate", "fcr_rate"):
        assert row[name] is None, name
    assert row["csat"] is None and row["nps"] is None
    # One offered segment, not short-abandoned: the abandon-rate divisor is 1.
    assert row["abandon_rate"] == 0.0
    assert row["response_rate"] == 0.0


def test_interval_boundaries_follow_the_offer() -> None:
    rows = report(
        [
            offered(899.999999, "c1"),
            answered(905, "c1"),  # answered in the next interval, still counts in the first
            offered(900, "c2"),
        ]
    )
    assert [(r["interval_start"], r["offered"], r["answered"]) for r in rows] == [
        ("2026-11-22T09:00:00Z", 1, 1),
        ("2026-11-22T09:15:00Z", 1, 0),
    ]


def test_service_level_threshold_is_inclusive_to_the_microsecond() -> None:
    row = only_row(
        [
            offered(0, "c1"),
            answered(20, "c1"),  # exactly 20 s: within
            offered(1, "c2"),
            answered(21.000001, "c2"),  # 20.000001 s: outside
        ]
    )
    assert row["answered_within_sl"] == 1
    assert row["service_level"] == 0.5
    assert row["asa_s"] == pytest.approx(20.0000005)
    assert row["asa_s"] == 40000001 / (2 * 1_000_000)
    assert row["max_wait_s"] == 20.000001


def test_short_abandon_threshold_voice_and_other_channels() -> None:
    row = only_row(
        [
            offered(0, "c1"),
            abandoned(5, "c1"),  # exactly 5 s: a real abandon
            offered(0, "c2"),
            abandoned(4.999999, "c2"),  # short
            offered(0, "c3"),
            answered(10, "c3"),
        ]
    )
    assert (row["abandoned"], row["short_abandoned"]) == (1, 1)
    # SL divisor: answered + abandoned (short abandons excluded).
    assert row["service_level"] == 1 / 2
    # Abandon rate: abandoned / (offered - short_abandoned).
    assert row["abandon_rate"] == 1 / 2
    assert row["max_wait_s"] == 10.0
    chat = only_row([offered(0, "c4", channel="chat"), abandoned(0.5, "c4")])
    assert (chat["abandoned"], chat["short_abandoned"]) == (1, 0)


def test_short_abandons_count_in_max_wait() -> None:
    row = only_row([offered(0, "c1"), abandoned(3, "c1")])
    assert row["short_abandoned"] == 1
    assert row["max_wait_s"] == 3.0
    assert row["abandon_rate"] is None  # offered - short_abandoned == 0


def test_earliest_outcome_wins_whatever_the_arrival_order() -> None:
    late_abandon_first = [offered(0, "c1"), answered(30, "c1"), abandoned(10, "c1")]
    row = only_row(late_abandon_first)
    assert (row["answered"], row["abandoned"]) == (0, 1)
    assert row["max_wait_s"] == 10.0


def test_equal_ts_outcomes_are_ordered_by_event_id() -> None:
    a = ev("contact.answered", 10, contact_id="c1", queue="q", agent_id="a1")
    b = ev("contact.abandoned", 10, contact_id="c1", queue="q")
    a["event_id"], b["event_id"] = "zzz", "aaa"
    row1 = only_row([offered(0, "c1"), a, b])
    row2 = only_row([offered(0, "c1"), b, a])
    assert row1 == row2
    assert row1["abandoned"] == 1


def test_earliest_offer_sets_channel_and_interval() -> None:
    rows = report([offered(1000, "c1", channel="chat"), offered(10, "c1", channel="voice")])
    assert [(r["channel"], r["interval_start"]) for r in rows] == [
        ("voice", "2026-11-22T09:00:00Z")
    ]


def test_events_before_their_offer_wait_for_it_and_orphans_never_count() -> None:
    events = [answered(15, "c1"), ended(100, "c1", talk=80), offered(0, "c1")]
    row = only_row(events)
    assert (row["offered"], row["answered"], row["handled"]) == (1, 1, 1)
    assert report([answered(15, "orphan"), ended(100, "orphan", talk=80)]) == []


def test_duplicates_are_ignored_per_tenant() -> None:
    first = offered(0, "c1")
    again = dict(first)
    other_tenant = dict(first, tenant="t2")
    rows = report([first, again, other_tenant])
    assert [(r["tenant"], r["offered"]) for r in rows] == [("default", 1), ("t2", 1)]


def test_aht_sums_talk_hold_and_acw_over_handled_segments() -> None:
    row = only_row(
        [
            offered(0, "c1"),
            answered(5, "c1"),
            ended(100, "c1", talk=90.5, hold=4.5),
            wrapup(130, "c1", acw=30),
            offered(0, "c2"),
            answered(5, "c2"),
            ended(60, "c2", talk=55),  # no wrap-up: acw counts 0
        ]
    )
    assert row["handled"] == 2
    assert row["aht_s"] == (90.5 + 4.5 + 30 + 55) / 2


def test_transfers_end_one_segment_and_offer_another() -> None:
    events = [
        offered(0, "c1", queue="sales"),
        answered(10, "c1", queue="sales"),
        ev("contact.transferred", 60, contact_id="c1", queue="sales", to_queue="billing"),
        offered(61, "c1", queue="billing"),
        answered(70, "c1", queue="billing"),
    ]
    rows = {r["queue"]: r for r in report(events)}
    assert rows["sales"]["transferred"] == 1
    assert rows["sales"]["transfer_rate"] == 1.0
    assert rows["billing"]["transferred"] == 0
    assert rows["billing"]["asa_s"] == 9.0


def test_surveys_belong_to_their_segment() -> None:
    def survey(s: float, **scores: int) -> dict[str, object]:
        return ev("survey.response", s, contact_id="c1", queue="q", **scores)

    events = [
        offered(0, "c1"),
        survey(2000, csat=5, nps=10),
        survey(2001, csat=4, nps=9),
        survey(2002, csat=3, nps=7),
        survey(2003, nps=0),
    ]
    row = only_row(events)
    assert (row["csat_responses"], row["nps_responses"]) == (3, 4)
    assert row["csat"] == 2 / 3
    assert row["nps"] == 100 * (2 - 1) / 4
    # The segment's interval (09:00), not the survey's time (09:33).
    assert row["interval_start"] == "2026-11-22T09:00:00Z"


def _fcr_case(repeat_at: float, watermark_at: float) -> dict[str, object]:
    events = [
        offered(0, "c1", customer_id="u1"),
        answered(5, "c1"),
        ended(100, "c1", talk=90),
        offered(repeat_at, "c2", customer_id="u1", queue="other"),
        ev("agent.state", watermark_at, agent_id="a9", state="available"),
    ]
    return next(r for r in report(events) if r["queue"] == "q")


def test_fcr_window_edges() -> None:
    # A repeat exactly at the window's end is inside (offered_ts, offered_ts + window].
    inside = _fcr_case(repeat_at=WEEK, watermark_at=WEEK + 1)
    assert (inside["fcr_eligible"], inside["fcr_resolved"], inside["fcr_rate"]) == (1, 0, 0.0)
    outside = _fcr_case(repeat_at=WEEK + 0.000001, watermark_at=WEEK + 1)
    assert (outside["fcr_eligible"], outside["fcr_resolved"], outside["fcr_rate"]) == (1, 1, 1.0)


def test_fcr_pending_until_the_watermark_passes_the_window() -> None:
    at_close = _fcr_case(repeat_at=200, watermark_at=WEEK)
    assert (at_close["fcr_eligible"], at_close["fcr_pending"], at_close["fcr_rate"]) == (0, 1, None)
    just_past = _fcr_case(repeat_at=200, watermark_at=WEEK + 0.000001)
    assert (just_past["fcr_eligible"], just_past["fcr_pending"]) == (1, 0)
    assert just_past["fcr_resolved"] == 0


def test_fcr_unresolved_wrapup_same_contact_and_no_customer() -> None:
    events = [
        # Resolved false at wrap-up: never first-contact resolved.
        offered(0, "c1", customer_id="u1"),
        ended(50, "c1", talk=40),
        wrapup(60, "c1", acw=10, resolved=False),
        # The same contact offered again (transfer) is not a repeat.
        offered(0, "c2", customer_id="u2"),
        ended(50, "c2", talk=40),
        offered(70, "c2", customer_id="u2", queue="other"),
        # No customer: not FCR-eligible at all.
        offered(0, "c3"),
        ended(50, "c3", talk=40),
        ev("agent.state", WEEK * 2, agent_id="a9", state="away"),
    ]
    row = next(r for r in report(events) if r["queue"] == "q")
    assert row["handled"] == 3
    assert (row["fcr_eligible"], row["fcr_resolved"]) == (2, 1)


def test_later_events_update_the_interval_they_belong_to() -> None:
    base = [offered(0, "c1"), offered(1000, "c2")]
    late = [*base, answered(12, "c1")]
    rows = report(late)
    assert rows[0]["answered"] == 1 and rows[1]["answered"] == 0


def test_ts_offsets_are_normalised_to_utc() -> None:
    event = offered(0, "c1")
    event["ts"] = "2026-11-22T11:14:59+02:00"
    assert only_row([event])["interval_start"] == "2026-11-22T09:00:00Z"


def test_outcome_stamped_before_the_offer_waits_zero() -> None:
    row = only_row([offered(10, "c1"), answered(8, "c1")])
    assert row["asa_s"] == 0.0


def test_queue_thresholds_from_config(tmp_path: Path) -> None:
    config = tmp_path / "ccpipe.yaml"
    config.write_text("queues:\n  q:\n    sl_threshold_s: 30\n    short_abandon_s: {voice: 2}\n")
    settings = load_settings(config, env={})
    row = only_row(
        [offered(0, "c1"), answered(30, "c1"), offered(0, "c2"), abandoned(3, "c2")], settings
    )
    assert row["answered_within_sl"] == 1
    assert (row["abandoned"], row["short_abandoned"]) == (1, 0)
