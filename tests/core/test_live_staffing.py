"""Live staffing advice from the live figures (pipeline/core/staffing.py), by hand."""

from __future__ import annotations

import pytest

from pipeline.core.clock import US_PER_S, parse_rfc3339
from pipeline.core.erlang import ServiceTarget, Traffic, advise
from pipeline.core.live import QueueFigures
from pipeline.core.staffing import LiveStaffing, demand, shares, staffed
from tests.core.test_live import ZONES, Owner, abandon, agent, answer, end, offer

S = US_PER_S
NOW = parse_rfc3339("2026-11-22T10:00:30Z")
VOICE = ServiceTarget(0.8, 20, 5)
CHAT = ServiceTarget(0.8, 60)


def t(clock: str) -> int:
    return parse_rfc3339(f"2026-11-22T{clock}Z")


def channel_tiles(owner: Owner, now: int = NOW) -> dict[str | None, QueueFigures]:
    tiles = owner.board.snapshot(now, ZONES, owner.state.agents, per_channel=True)
    return {tile.channel: tile for tile in tiles if tile.queue == "q"}


def hour_of_voice() -> Owner:
    return Owner().feed(
        [
            # In the 15-minute window (from 09:46:00 at 10:00:30) and the hour's.
            offer(t("09:50:00"), "c1"),
            answer(t("09:50:20"), "c1"),
            end(t("09:55:00"), "c1", talk=250),
            offer(t("09:52:00"), "c3"),
            abandon(t("09:52:30"), "c3"),
            offer(t("09:58:00"), "c4"),
            abandon(t("09:58:02"), "c4"),  # a short abandon: counts as an abandon here
            offer(t("09:59:00"), "c5"),  # still waiting: 90 s so far
            # In the hour's window (from 09:01:00) only.
            offer(t("09:20:00"), "c2"),
            answer(t("09:20:40"), "c2"),
            end(t("09:26:00"), "c2", talk=300),
            # Offered before the hour and still waiting: outside every trailing figure.
            offer(t("08:50:00"), "c6"),
        ]
    )


def test_demand_rate_over_the_window_so_far_aht_over_the_hour_patience_over_exposure() -> None:
    tile = channel_tiles(hour_of_voice())["voice"]
    found = demand(tile, NOW)
    assert found.offered == 4
    assert found.elapsed_s == 14 * 60 + 30
    assert found.rate_per_s == 4 / 870
    assert found.aht_s == 275
    assert found.abandons == 2
    # Answered 20 + 40, abandoned 30 + 2, waiting 90: the waits that could have ended in an
    # abandon; the contact waiting since 08:50 was offered before the hour.
    assert found.exposure_s == 182
    assert found.patience_s(2) == 91
    assert found.patience_s(3) is None  # too few abandons: Erlang C
    assert found.traffic(2) == Traffic(4 / 870, 275, 91)
    assert found.traffic(3) == Traffic(4 / 870, 275, None)


def test_aht_falls_back_to_today_when_nothing_was_handled_in_the_hour() -> None:
    owner = Owner().feed(
        [
            offer(t("07:00:00"), "early"),
            answer(t("07:00:10"), "early"),
            end(t("07:04:10"), "early", talk=240),
            offer(t("09:59:00"), "now"),
        ]
    )
    found = demand(channel_tiles(owner)["voice"], NOW)
    assert (found.offered, found.handled, found.aht_s) == (1, 1, 240)


def test_no_handle_time_at_all_leaves_the_need_unsaid() -> None:
    owner = Owner().feed([offer(t("09:59:00"), "c1")])
    (queue,) = LiveStaffing(lambda *_: VOICE, 20).advise(channel_tiles(owner).values(), NOW)
    (voice,) = queue.channels
    assert (voice.required, voice.note, queue.required, queue.gap) == (
        None,
        "no contact handled yet",
        None,
        None,
    )


def test_staffed_counts_agents_on_the_floor_in_every_queue_they_list() -> None:
    owner = hour_of_voice().feed(
        [
            agent(t("09:00:00"), "available", "available", ["q"]),
            agent(t("09:00:00"), "busy", "busy", ["q", "q2"]),
            agent(t("09:00:00"), "acw", "acw", ["q"]),
            agent(t("09:00:00"), "away", "away", ["q"]),
            agent(t("09:00:00"), "offline", "offline", ["q"]),
            agent(t("09:00:00"), "elsewhere", "available", ["q2"]),
        ]
    )
    tiles = owner.board.snapshot(NOW, ZONES, owner.state.agents)
    counts = {tile.queue: staffed(tile.agents) for tile in tiles}
    assert counts == {"q": 3, "q2": 2}


@pytest.mark.parametrize(
    ("staff", "weights", "expected"),
    [
        (5, [3, 1], [4, 1]),  # 3.75 and 1.25: the larger remainder takes the last agent
        (3, [1, 1, 1], [1, 1, 1]),
        (2, [1, 1, 1], [1, 1, 0]),  # ties go to the first
        (7, [0, 2, 0], [0, 7, 0]),
        (0, [2, 3], [0, 0]),
        (4, [0, 0], [0, 0]),
        (10, [7, 2, 1], [7, 2, 1]),
    ],
)
def test_shares_are_whole_agents_in_proportion_adding_up(
    staff: int, weights: list[int], expected: list[int]
) -> None:
    assert shares(staff, weights) == expected


def test_a_queue_needs_its_channels_summed_and_shares_its_staff_by_their_need() -> None:
    events = []
    # Voice: 60 contacts in the last 15 minutes, handled in 300 s; chat: 20, in 600 s.
    for i in range(60):
        offered_at = t("09:46:00") + i * 14 * S
        events += [
            offer(offered_at, f"v{i}"),
            answer(offered_at + 5 * S, f"v{i}"),
            end(offered_at + 305 * S, f"v{i}", talk=300),
        ]
    for i in range(20):
        offered_at = t("09:46:00") + i * 40 * S
        events += [
            offer(offered_at, f"h{i}", channel="chat"),
            answer(offered_at + 5 * S, f"h{i}"),
            end(offered_at + 605 * S, f"h{i}", talk=600),
        ]
    events += [agent(t("09:00:00"), f"a{i}", "busy", ["q"]) for i in range(20)]
    owner = Owner().feed(events)
    targets = {"voice": VOICE, "chat": CHAT}
    tiles = channel_tiles(owner)
    (queue,) = LiveStaffing(lambda _t, _q, c: targets[c], 20).advise(tiles.values(), NOW)
    by_channel = {c.channel: c for c in queue.channels}
    needs = {}
    for name in ("voice", "chat"):
        dem = demand(tiles[name], NOW)
        needs[name] = advise(Traffic(dem.rate_per_s, dem.aht_s or 0), targets[name], 1)
    assert queue.required == needs["voice"].required.agents + needs["chat"].required.agents
    assert queue.staffed == 20
    assert queue.gap == queue.required - 20
    split = shares(20, [needs["chat"].required.agents, needs["voice"].required.agents])
    for name, share in zip(("chat", "voice"), split, strict=True):
        dem = demand(tiles[name], NOW)
        expected = advise(Traffic(dem.rate_per_s, dem.aht_s or 0), targets[name], share)
        assert by_channel[name].required == expected.required.agents
        assert by_channel[name].staffed == share
        assert by_channel[name].projected_service_level == expected.projected_service_level
        assert by_channel[name].model == "erlang_c"
    assert sum(c.staffed for c in queue.channels) == 20


def test_no_target_no_need_and_a_quiet_queue_with_agents_has_them_to_spare() -> None:
    owner = hour_of_voice().feed([agent(t("09:00:00"), "a1", "available", ["q", "quiet"])])
    tiles = owner.board.snapshot(NOW, ZONES, owner.state.agents, per_channel=True)
    advice = {a.queue: a for a in LiveStaffing(lambda *_: None, 20).advise(tiles, NOW)}
    (voice,) = advice["q"].channels
    assert (voice.required, voice.projected_service_level, voice.note) == (
        None,
        None,
        "no service-level target",
    )
    assert advice["q"].required is None
    assert (advice["quiet"].required, advice["quiet"].staffed, advice["quiet"].gap) == (0, 1, -1)


def test_the_search_starts_from_the_last_refresh_and_finds_the_same() -> None:
    owner = hour_of_voice()
    tiles = list(channel_tiles(owner).values())
    advisor = LiveStaffing(lambda *_: VOICE, 2)
    first = advisor.advise(tiles, NOW)
    assert advisor.advise(tiles, NOW) == first
    assert LiveStaffing(lambda *_: VOICE, 2).advise(tiles, NOW) == first
    (voice,) = first[0].channels
    assert voice.model == "erlang_a" and voice.required is not None and voice.required >= 1
