"""The wallboard's live-only figures on small hand-computed fixtures: age bands, occupancy,
repeat contacts (today's provisional FCR) and goal tracking (docs/kpis.md, "Wallboard
figures")."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from pipeline.core.events import Offered, WrapupEnded
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import snapshot_many
from pipeline.targets import Goal
from pipeline.wallboard.board import goal_rows
from tests.core.test_live import MIN, NOW, SETTINGS, ZONES, Owner, S, _id, _ts, agent, answer, offer
from tests.core.test_live import end as ended

HOUR = 60 * MIN


def test_age_bands_put_a_contact_on_an_edge_in_the_older_band() -> None:
    owner = Owner().feed(
        [
            offer(NOW - 5 * S, "c1"),  # < 20 s
            offer(NOW - 20 * S, "c2"),  # exactly 20 s: 20-60 s
            offer(NOW - 61 * S, "c3"),  # 1-2 min
            offer(NOW - 300 * S, "c4"),  # exactly 5 min: > 5 min
            offer(NOW - 1000 * S, "c5"),  # > 5 min
            offer(NOW - 90 * S, "c6"),
            answer(NOW - 30 * S, "c6"),  # answered: not waiting
        ]
    )
    tile = owner.tile(NOW)
    assert tile.age_bands == (1, 1, 1, 0, 2)
    assert tile.in_queue == sum(tile.age_bands) == 5


def test_occupancy_by_hand_per_window_and_in_each_queue_an_agent_serves() -> None:
    # 09:00 available, 09:42 busy, 09:48 acw, 09:51 away; now 10:00 (the 15m window: 09:45).
    t0 = NOW - HOUR
    queues = ["q", "q2"]
    owner = Owner().feed(
        [
            agent(t0, "a1", "available", queues),
            agent(t0 + 42 * MIN, "a1", "busy", queues),
            agent(t0 + 48 * MIN, "a1", "acw", queues),
            agent(t0 + 51 * MIN, "a1", "away", queues),
            offer(NOW - MIN, "c1"),
        ]
    )
    tiles = {t.queue: t for t in owner.board.snapshot(NOW, ZONES, owner.state.agents)}
    # 15 min: busy 3 (09:45-09:48) + acw 3 over those + available 0; away 9 does not count.
    assert tiles["q"].occupancy("15m") == pytest.approx(1.0)
    # Today (from 00:00 UTC, the agent's first state at 09:00): (6 + 3) / (6 + 3 + 42).
    assert tiles["q"].occupancy("today") == pytest.approx(9 / 51)
    assert tiles["q2"].occupancy("today") == tiles["q"].occupancy("today")

    later = Owner().feed([agent(t0, "a2", "away", ["q"]), offer(NOW - MIN, "c1")])
    (tile,) = later.board.snapshot(NOW, ZONES, later.state.agents)
    assert tile.occupancy("today") is None  # never available, busy or in acw: no figure


def offer_from(us: int, contact: str, customer: str | None) -> Offered:
    return msgspec.structs.replace(offer(us, contact), customer_id=customer)


def wrapup(us: int, contact: str, resolved: bool) -> WrapupEnded:
    return WrapupEnded(
        event_id=_id(),
        ts=_ts(us),
        contact_id=contact,
        queue="q",
        agent_id="a1",
        acw_s=30,
        resolved=resolved,
    )


def test_repeat_contacts_make_today_s_provisional_fcr() -> None:
    """Four handled contacts today with a customer: cust-1 came back (a new contact), cust-2
    wrapped up unresolved, cust-3 and cust-4 neither so far. A contact without a customer is
    left out. Provisional FCR today = 2 / 4."""
    t = NOW - 3 * HOUR
    events = []
    for n, customer in enumerate(("cust-1", "cust-2", "cust-3", "cust-4", None), start=1):
        contact = f"c{n}"
        events += [
            offer_from(t + n * MIN, contact, customer),
            answer(t + n * MIN + 10 * S, contact),
            ended(t + n * MIN + 100 * S, contact, talk=90),
        ]
    events.append(wrapup(t + 2 * MIN + 130 * S, "c2", resolved=False))
    events.append(offer_from(t + HOUR, "c9", "cust-1"))
    kpis = KpiState(SETTINGS.queue, ZONES)
    kpis.apply(events)
    kpis.flush()
    (tile,) = snapshot_many([], NOW, ZONES, fcr=kpis.fcr.live_parts(NOW))
    assert tile.fcr["fcr_today"] == (2, 4)
    assert tile.fcr_rate("fcr_today") == 0.5
    assert "fcr_7d" not in tile.fcr  # no FCR window has closed yet


def test_a_goal_is_on_track_against_the_straight_line_from_baseline_to_target() -> None:
    """Service level from 0.60 on 1 Nov to 0.80 on 1 Dec: on 22 Nov the plan is
    0.60 + 0.20 * 21 / 30 = 0.74. Today's service level: 3 answered within 20 s of 4 = 0.75."""
    events = []
    for n, wait_s in enumerate((5, 10, 15, 40)):
        events += [
            offer(NOW - HOUR + n * MIN, f"c{n}"),
            answer(NOW - HOUR + n * MIN + wait_s * S, f"c{n}"),
        ]
    owner = Owner().feed(events)
    goal = Goal(
        name="sl-up",
        kpi="service_level",
        baseline=0.60,
        target=0.80,
        start=date(2026, 11, 1),
        due=date(2026, 12, 1),
        queue="q",
    )
    (row,) = goal_rows([goal], [owner.tile(NOW)], NOW, ZONES)
    assert row["plan"] == pytest.approx(0.74)
    assert row["value"] == pytest.approx(0.75)
    assert row["on_track"] is True
    behind_goal = msgspec.structs.replace(goal, baseline=0.70)
    (behind,) = goal_rows([behind_goal], [owner.tile(NOW)], NOW, ZONES)
    assert behind["plan"] == pytest.approx(0.70 + 0.10 * 21 / 30) and behind["on_track"] is False
