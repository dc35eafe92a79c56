"""The compact forms the KPI core keeps its state in mean the same as the plain ones.

Segments keep parts of their events, contributions are tuples built field by field, a
customer's FCR facts sit in one sorted list (a dict by segment only past a few), and a
contact's single segment is held without a list. Each is checked against what it stands for.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_settings
from pipeline.core import fcr as fcr_module
from pipeline.core.events import (
    Abandoned,
    Answered,
    Ended,
    Offered,
    Transferred,
    WrapupEnded,
    decode_message,
)
from pipeline.core.fcr import FcrFact, FcrTracker
from pipeline.core.intervals import COUNT_FIELDS, NO_WAIT, IntervalKey
from pipeline.core.kpi_state import SegmentState
from pipeline.core.segments import SegmentId
from pipeline.stream import codec
from tests.core.builders import abandoned, answered, ended, ev, offered, wrapup

SETTINGS = load_settings(env={})
S = 1_000_000
E = TypeVar("E")


def _state(events: list[dict[str, Any]]) -> SegmentState:
    state = SegmentState(SETTINGS.queue)
    for event in events:
        decoded, rejections = decode_message(orjson.dumps(event))
        assert not rejections, rejections
        state.apply(decoded)
    state.flush()
    return state


def _full_history() -> list[dict[str, Any]]:
    """One contact through every kind of event, with a late duplicate-kind anomaly."""
    return [
        offered(0, "c1", customer_id="u1", reason="billing"),
        answered(12, "c1"),
        ev("contact.transferred", 30, contact_id="c1", queue="q", to_queue="q2", agent_id="a1"),
        ended(90, "c1", talk=60, hold=5),
        wrapup(100, "c1", acw=10, resolved=False),
        ev("survey.response", 200, contact_id="c1", queue="q", csat=5, nps=3),
        answered(40, "c1", agent="a2"),  # a later answer: an anomaly, not applied
        offered(5, "c2", queue="q"),
        abandoned(8, "c2"),
    ]


def _named(state: SegmentState, contact: str) -> dict[str, int]:
    segment = state.segments[SegmentId("default", contact, "q")]
    contribution = segment.contribution(SETTINGS.queue("default", "q", "voice"))
    return dict(zip(COUNT_FIELDS, contribution, strict=True))


def test_contribution_names_every_count_field() -> None:
    state = _state(_full_history())
    assert _named(state, "c1") == {
        "offered": 1,
        "answered": 1,
        "abandoned": 0,
        "short_abandoned": 0,
        "answered_within_sl": 1,
        "wait_answered_sum_us": 12 * S,
        "max_wait_us": 12 * S,
        "handled": 1,
        "handle_sum_us": 75 * S,
        "transferred": 1,
        "fcr_eligible": 0,
        "fcr_resolved": 0,
        "fcr_pending": 0,
        "csat_responses": 1,
        "csat_good": 1,
        "nps_responses": 1,
        "nps_promoters": 0,
        "nps_detractors": 1,
        "wait_abandoned_sum_us": 0,
        "abandoned_within_sl": 0,
    }
    short = _named(state, "c2")
    assert short["short_abandoned"] == 1 and short["max_wait_us"] == 3 * S
    # A short abandon's wait is exposure to abandoning too (the patience estimate).
    assert short["wait_abandoned_sum_us"] == 3 * S
    # A short abandon left the queue within the threshold too (Connect's service level).
    assert short["abandoned_within_sl"] == 1
    assert sum(v for k, v in short.items() if not k.endswith("_us")) == 3
    assert _named(_state([offered(0, "c3")]), "c3")["max_wait_us"] == NO_WAIT


def test_parts_hold_what_the_events_said() -> None:
    segment = _state(_full_history()).segments[SegmentId("default", "c1", "q")]
    assert segment.anomalies == 1
    assert segment.version == 7
    assert segment.offered is not None and segment.offered.reason == "billing"
    assert segment.offered.customer_id == "u1" and segment.offered.channel == "voice"
    assert isinstance(segment.outcome, Answered) and segment.outcome.agent_id == "a1"
    assert segment.transferred is not None and segment.transferred.to_queue == "q2"
    assert segment.ended is not None
    assert (segment.ended.talk_us, segment.ended.hold_us) == (60 * S, 5 * S)
    assert segment.wrapup is not None
    assert (segment.wrapup.acw_us, segment.wrapup.resolved) == (10 * S, False)
    row = segment.row(SETTINGS.queue("default", "q", "voice"))
    assert row["answer_agent_id"] == "a1" and row["end_agent_id"] == "a1"
    assert row["outcome"] == "answered" and row["to_queue"] == "q2" and row["resolved"] == 0


def test_segments_round_trip_through_the_codec() -> None:
    state = _state(_full_history())
    segments = list(state.segments.values())
    back = codec.decode_segments(codec.encode_segments(segments))
    config = SETTINGS.queue("default", "q", "voice")
    for before, after in zip(segments, back, strict=True):
        assert after.sid == before.sid
        for part in ("offered", "outcome", "transferred", "ended", "wrapup"):
            assert getattr(after, part) == getattr(before, part), part
        assert after.event_ids == before.event_ids
        assert after.fcr_customers == before.fcr_customers
        assert after.row(config) == before.row(config)
        assert after.contribution(config) == before.contribution(config)


class _WholeEventsRecord(msgspec.Struct, array_like=True):
    """A contact's table value as it was written when segments held whole events."""

    tenant: str
    contact_id: str
    queue: str
    offered: Offered | None
    outcome: Answered | Abandoned | None
    transferred: Transferred | None
    ended: Ended | None
    wrapup: WrapupEnded | None
    surveys: tuple[int, int, int, int, int]
    anomalies: int
    event_ids: list[str]
    fcr_customers: list[str]


def _decoded(kind: type[E], lines: list[dict[str, Any]]) -> E:
    [event] = [
        e for line in lines for e in decode_message(orjson.dumps(line))[0] if isinstance(e, kind)
    ]
    return event


def test_a_changelog_of_whole_events_still_decodes() -> None:
    history = _full_history()[:6]
    old = _WholeEventsRecord(
        "default",
        "c1",
        "q",
        _decoded(Offered, history),
        _decoded(Answered, history),
        _decoded(Transferred, history),
        _decoded(Ended, history),
        _decoded(WrapupEnded, history),
        (1, 1, 1, 0, 1),
        0,
        [line["event_id"] for line in history],
        ["u1"],
    )
    [restored] = codec.decode_segments(msgspec.msgpack.encode([old]))
    expected = _state(history).segments[SegmentId("default", "c1", "q")]
    config = SETTINGS.queue("default", "q", "voice")
    assert restored.row(config) == expected.row(config)
    assert restored.contribution(config) == expected.contribution(config)


def test_contacts_index_their_segments_when_first_asked_and_after() -> None:
    state = _state(
        [offered(0, "c1"), offered(1, "c1", queue="q2"), offered(2, "c2"), answered(3, "c2")]
    )
    assert state.by_contact["c1"] == [
        state.segments[SegmentId("default", "c1", "q")],
        state.segments[SegmentId("default", "c1", "q2")],
    ]
    assert state.by_contact["c2"] == [state.segments[SegmentId("default", "c2", "q")]]
    state.apply(decode_message(orjson.dumps(offered(4, "c2", queue="q3")))[0])
    state.apply(decode_message(orjson.dumps(offered(5, "c3")))[0])
    assert [s.sid.queue for s in state.by_contact["c2"]] == ["q", "q3"]
    assert [s.sid.queue for s in state.by_contact["c3"]] == ["q"]
    assert sorted(state.by_contact) == ["c1", "c2", "c3"] and len(state.by_contact) == 3


# --- FCR: any number of facts per customer, against a model of the final facts ----------

WINDOW = 100 * S
CONTACTS = [f"c{i}" for i in range(14)]  # one customer can pass the scan limit


def _steps(rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    """Upserts, removals and flushes; few offer times, so facts recur equal."""
    steps: list[tuple[Any, ...]] = []
    for _ in range(count):
        kind = rng.choice(["upsert"] * 4 + ["remove", "flush"])
        contact = rng.choice(CONTACTS)
        if kind == "upsert":
            customer = rng.choice(["u1", "u1", "u1", "u2"])
            at_us = rng.randrange(0, 41) * 5 * S
            steps.append((kind, contact, customer, at_us, rng.random() < 0.8, rng.random() < 0.7))
        elif kind == "remove":
            steps.append((kind, contact, rng.choice(["u1", "u2"])))
        else:
            steps.append((kind, rng.randrange(0, 61) * 5 * S))
    return steps


def _fact(contact: str, customer: str, at_us: int, handled: bool, resolved: bool) -> FcrFact:
    sid = SegmentId("default", contact, "q")
    interval = IntervalKey("default", "q", "voice", at_us - at_us % (900 * S))
    return FcrFact(sid, customer, at_us, handled, resolved, WINDOW, interval)


def _model(facts: dict[tuple[str, SegmentId], FcrFact], watermark: int) -> dict[Any, list[int]]:
    """Interval counts straight from the definition in pipeline/core/fcr.py."""
    by_customer: dict[str, list[FcrFact]] = defaultdict(list)
    for fact in facts.values():
        by_customer[fact.customer_id].append(fact)
    totals: dict[Any, list[int]] = {}
    for fact in facts.values():
        counts = totals.setdefault(fact.interval, [0, 0, 0])  # eligible, resolved, pending
        if not fact.handled:
            continue
        close = fact.offered_us + fact.window_us
        if watermark <= close:
            counts[2] += 1
            continue
        counts[0] += 1
        repeat = any(
            other.sid.contact_id != fact.sid.contact_id
            and fact.offered_us < other.offered_us <= close
            for other in by_customer[fact.customer_id]
        )
        counts[1] += fact.resolved_flag and not repeat
    return totals


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(20, 300), scan=st.sampled_from([0, 2, 8, 99]))
def test_fcr_standing_of_many_facts_per_customer_matches_the_model(
    seed: int, count: int, scan: int
) -> None:
    steps = _steps(random.Random(seed), count)
    original = fcr_module._SCAN
    fcr_module._SCAN = scan  # every way of finding a customer's fact, by scan or by dict
    try:
        tracker = FcrTracker()
        facts: dict[tuple[str, SegmentId], FcrFact] = {}
        for item in steps:
            if item[0] == "upsert":
                fact = _fact(*item[1:])
                for key in [k for k in facts if k[1] == fact.sid and k[0] != fact.customer_id]:
                    tracker.remove(fact.sid, key[0])  # a segment names one customer at a time
                    del facts[key]
                tracker.upsert(fact)
                facts[(fact.customer_id, fact.sid)] = fact
            elif item[0] == "remove":
                sid = SegmentId("default", item[1], "q")
                tracker.remove(sid, item[2])
                facts.pop((item[2], sid), None)
            else:
                tracker.observe(item[1])
                tracker.flush()
        tracker.flush()
    finally:
        fcr_module._SCAN = original
    expected = _model(facts, tracker.watermark_us)
    got = {
        key: [
            counts[COUNT_FIELDS.index(f"fcr_{name}")]
            for name in ("eligible", "resolved", "pending")
        ]
        for key, counts in tracker.intervals.totals.items()
    }
    assert {k: v for k, v in got.items() if any(v)} == {k: v for k, v in expected.items() if any(v)}
    for customer in ("u1", "u2"):
        held = tracker.customer_facts("default", customer)
        assert sorted(held) == sorted(f for (c, _), f in facts.items() if c == customer)


def test_a_fact_replaced_then_restored_before_a_flush_still_counts() -> None:
    tracker = FcrTracker()
    first = _fact("c1", "u1", 0, True, True)
    tracker.upsert(first)
    tracker.upsert(_fact("c1", "u1", 10 * S, True, True))
    again = _fact("c1", "u1", 0, True, True)  # equal to the first, another object
    tracker.upsert(again)
    tracker.observe(WINDOW + 1)
    tracker.flush()
    assert tracker.intervals.totals[again.interval][COUNT_FIELDS.index("fcr_resolved")] == 1


def test_facts_decoded_from_messages_share_their_interval_and_names() -> None:
    facts = [_fact(f"c{i}", "u1", 10 * i * S, True, True) for i in range(3)]
    message = codec.encode_fcr_message("seg:0", 0, list(facts))
    tracker = FcrTracker()
    for update in codec.decode_fcr_message(message)[2]:
        assert isinstance(update, FcrFact)
        tracker.upsert(update)
    held = tracker.customer_facts("default", "u1")
    assert held == facts
    assert held[1].interval is held[0].interval and held[2].interval is held[0].interval
    assert all(f.sid.queue is held[0].interval.queue for f in held)
    assert all(f.sid.tenant is held[0].interval.tenant for f in held)


DAY = 86_400 * S


def _days_of_facts(rng: random.Random, days: int) -> list[FcrFact]:
    """Facts over `days` days, offer order, few customers (so repeats happen), a one-day or
    seven-day window, some unhandled or wrapped up unresolved."""
    facts = []
    for i in range(days * 24):
        offered_us = i * 3600 * S + rng.randrange(3600 * S)
        queue = rng.choice(["q", "q2"])
        window = DAY if queue == "q" else 7 * DAY
        sid = SegmentId("default", f"c{i}", queue)
        start = offered_us - offered_us % (900 * S)
        facts.append(
            FcrFact(
                sid,
                f"u{rng.randrange(40)}",
                offered_us,
                rng.random() < 0.9,
                rng.random() < 0.8,
                window,
                IntervalKey("default", queue, "voice", start),
            )
        )
    return facts


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), days=st.integers(3, 45))
def test_a_rebuilt_tracker_gives_the_live_figures_of_the_one_that_saw_every_batch(
    seed: int, days: int
) -> None:
    """A restart evaluates every fact held at once, at the latest watermark, and skips the
    days no live figure keeps; what it shows must be what the tracker that evaluated each
    fact as it came (and forgot those days at each publication) shows."""
    zone = ZoneInfo("America/Santiago")  # DST both ways: days of 23 and 25 hours
    facts = _days_of_facts(random.Random(seed), days)
    live = FcrTracker(zone_of=lambda _: zone)
    for batch in range(0, len(facts), 7):
        for fact in facts[batch : batch + 7]:
            live.upsert(fact)
        live.observe(facts[min(batch + 7, len(facts)) - 1].offered_us)
        live.flush()
        live.live_parts(live.watermark_us)
    rebuilt = FcrTracker(zone_of=lambda _: zone)
    for fact in facts:
        rebuilt.upsert(fact)
    rebuilt.observe(live.watermark_us)
    rebuilt.flush()
    now = live.watermark_us
    assert sorted(rebuilt.live_parts(now), key=lambda p: p.group) == sorted(
        live.live_parts(now), key=lambda p: p.group
    )
    assert rebuilt.intervals.totals == live.intervals.totals
