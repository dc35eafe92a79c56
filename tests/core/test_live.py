"""Live (wallboard) figures: by hand at the edges, and against independent models."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from itertools import count, pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import Settings, TenantSettings
from pipeline.core.clock import US_PER_S, format_utc, parse_rfc3339
from pipeline.core.events import (
    AGENT_STATES,
    Abandoned,
    AgentState,
    AgentStateName,
    Answered,
    AnyEvent,
    Channel,
    Ended,
    Offered,
    Transferred,
    WrapupEnded,
    event_key,
)
from pipeline.core.intervals import IntervalKey, merge_counts, report_row
from pipeline.core.kpi_state import SegmentState
from pipeline.core.live import (
    DEFAULT_MAX_WAIT_US,
    LIVE_KPI_FIELDS,
    MINUTE_US,
    WINDOW_NAMES,
    LiveBoard,
    MergedBoard,
    QueueFigures,
    agent_parts,
    agents_by_queue,
    local_day_start_us,
    snapshot_many,
    window_starts,
)
from pipeline.core.segments import Segment

SETTINGS = Settings(tenants={"paris": TenantSettings(timezone="Europe/Paris")})
ZONES = SETTINGS.tenant_timezone
S = US_PER_S
MIN = MINUTE_US
DAY = 24 * 60 * MIN
NOW = parse_rfc3339("2026-11-22T10:00:00Z")
_ids = count()


def _ts(us: int) -> str:
    return format_utc(us)


def _id() -> str:
    return f"e{next(_ids)}"


def offer(
    us: int, contact: str, queue: str = "q", channel: Channel = "voice", tenant: str = "default"
) -> Offered:
    return Offered(
        event_id=_id(),
        ts=_ts(us),
        tenant=tenant,
        contact_id=contact,
        queue=queue,
        channel=channel,
    )


def answer(us: int, contact: str, queue: str = "q", tenant: str = "default") -> Answered:
    return Answered(
        event_id=_id(), ts=_ts(us), tenant=tenant, contact_id=contact, queue=queue, agent_id="a1"
    )


def abandon(us: int, contact: str, queue: str = "q", tenant: str = "default") -> Abandoned:
    return Abandoned(event_id=_id(), ts=_ts(us), tenant=tenant, contact_id=contact, queue=queue)


def transfer(us: int, contact: str, queue: str = "q", to: str = "q2") -> Transferred:
    return Transferred(event_id=_id(), ts=_ts(us), contact_id=contact, queue=queue, to_queue=to)


def end(us: int, contact: str, talk: float, hold: float = 0, queue: str = "q") -> Ended:
    return Ended(
        event_id=_id(),
        ts=_ts(us),
        contact_id=contact,
        queue=queue,
        agent_id="a1",
        talk_s=talk,
        hold_s=hold,
    )


def agent(us: int, agent_id: str, state: AgentStateName, queues: list[str] | None) -> AgentState:
    return AgentState(event_id=_id(), ts=_ts(us), agent_id=agent_id, state=state, queues=queues)


class Owner:
    """One owner of segments, as a stream partition is: its segment state and its board."""

    def __init__(self) -> None:
        self.state = SegmentState(SETTINGS.queue)
        self.board = LiveBoard(ZONES)

    def feed(self, events: Iterable[AnyEvent]) -> Owner:
        self.state.apply(events)
        self.board.update(self.state.flush().segments, self.state.queue_config)
        return self

    def tile(
        self,
        now: int,
        queue: str = "q",
        tenant: str = "default",
        max_wait_us: int = DEFAULT_MAX_WAIT_US,
    ) -> QueueFigures:
        tiles = self.board.snapshot(now, ZONES, self.state.agents, max_wait_us=max_wait_us)
        (found,) = [t for t in tiles if (t.tenant, t.queue) == (tenant, queue)]
        return found


# --- in_queue and longest wait, by hand ---------------------------------------------------


def test_in_queue_and_longest_wait_as_contacts_are_offered_and_leave() -> None:
    t0 = parse_rfc3339("2026-11-22T09:00:00Z")
    now = t0 + 60 * S
    owner = Owner().feed(
        [
            offer(t0, "c1"),
            offer(t0 + 10 * S, "c2"),
            offer(t0 + 20 * S, "c3"),
            offer(t0 + 30 * S, "c4"),
        ]
    )
    tile = owner.tile(now)
    assert (tile.in_queue, tile.longest_wait_s, tile.oldest_offer_us) == (4, 60.0, t0)

    owner.feed([answer(t0 + 40 * S, "c1")])
    assert (owner.tile(now).in_queue, owner.tile(now).longest_wait_s) == (3, 50.0)
    owner.feed([abandon(t0 + 41 * S, "c2")])
    assert (owner.tile(now).in_queue, owner.tile(now).longest_wait_s) == (2, 40.0)
    # A transfer ends the segment in q; the contact then waits in q2, from its new offer.
    owner.feed([transfer(t0 + 42 * S, "c3"), offer(t0 + 45 * S, "c3", queue="q2")])
    assert (owner.tile(now).in_queue, owner.tile(now).longest_wait_s) == (1, 30.0)
    assert (owner.tile(now, "q2").in_queue, owner.tile(now, "q2").longest_wait_s) == (1, 15.0)
    # A late, earlier offer of c4 (the earliest offer wins) makes it wait longer.
    owner.feed([offer(t0 + 5 * S, "c4")])
    assert (owner.tile(now).in_queue, owner.tile(now).longest_wait_s) == (1, 55.0)
    owner.feed([answer(t0 + 50 * S, "c4")])
    tile = owner.tile(now)
    assert (tile.in_queue, tile.longest_wait_s, tile.oldest_offer_us) == (0, None, None)


def test_an_outcome_before_its_offer_never_puts_the_contact_in_the_queue() -> None:
    t0 = parse_rfc3339("2026-11-22T09:00:00Z")
    owner = Owner().feed([abandon(t0 + 9 * S, "c1")])
    assert owner.board.snapshot(t0 + 60 * S, ZONES) == []  # not offered: not counted
    owner.feed([offer(t0, "c1")])
    tile = owner.tile(t0 + 60 * S)
    assert (tile.in_queue, tile.windows["15m"].kpis["abandoned"]) == (0, 1)


def test_the_wait_of_an_offer_stamped_after_now_is_zero_not_negative() -> None:
    tile = Owner().feed([offer(NOW + 5 * S, "c1")]).tile(NOW)
    assert (tile.in_queue, tile.longest_wait_s) == (1, 0.0)


def test_per_channel_tiles_add_up_to_the_queue_tile() -> None:
    t0 = NOW - 5 * MIN
    owner = Owner().feed(
        [
            offer(t0, "v1"),
            offer(t0 + 1 * S, "v2"),
            answer(t0 + 15 * S, "v2"),
            offer(t0 - 30 * S, "h1", channel="chat"),
            answer(t0 + 45 * S, "h1"),
            offer(t0 + 60 * S, "h2", channel="chat"),
        ]
    )
    tiles = {t.channel: t for t in owner.board.snapshot(NOW, ZONES, per_channel=True)}
    assert set(tiles) == {None, "voice", "chat"}
    assert (tiles["voice"].in_queue, tiles["chat"].in_queue, tiles[None].in_queue) == (1, 1, 2)
    assert tiles[None].oldest_offer_us == t0
    assert tiles["chat"].oldest_offer_us == t0 + 60 * S
    # Voice v2 waited 14 s (within 20 s); chat h1 waited 75 s (outside 60 s).
    assert tiles["voice"].windows["15m"].kpis["service_level"] == 1.0
    assert tiles["chat"].windows["15m"].kpis["service_level"] == 0.0
    assert tiles[None].windows["15m"].kpis["service_level"] == 0.5
    assert tiles[None].windows["15m"].kpis["asa_s"] == (14 + 75) / 2


def test_a_contact_that_never_gets_an_outcome_does_not_pin_stale_heap_entries() -> None:
    t0 = NOW - 10 * MIN
    events: list[AnyEvent] = [offer(t0, "stuck")]
    for i in range(3000):
        events += [offer(t0 + i * 1000, f"c{i}"), answer(t0 + i * 1000 + S, f"c{i}")]
    owner = Owner()
    for i in range(0, len(events), 2):  # offers and answers in separate batches
        owner.feed(events[i : i + 1])
        owner.feed(events[i + 1 : i + 2])
    assert (owner.tile(NOW).in_queue, owner.tile(NOW).oldest_offer_us) == (1, t0)
    # Memory, which no public figure shows: the heap stays near its live entries.
    (waiting,) = owner.board._waiting.values()
    assert len(waiting.heap) <= 2 * waiting.count + 65


# --- windows ------------------------------------------------------------------------------


def _offered_in(owner: Owner, now: int) -> dict[str, int]:
    windows = owner.tile(now).windows
    return {name: windows[name].kpis["offered"] for name in WINDOW_NAMES}


def test_window_edges_on_a_minute_boundary_are_inclusive() -> None:
    owner = Owner().feed(
        [
            offer(NOW - 15 * MIN, "in15"),  # exactly 15 minutes before now: in
            offer(NOW - 15 * MIN - 1, "out15"),  # 1 us earlier: out of 15m, in 60m
            offer(NOW - 60 * MIN, "in60"),  # exactly 60 minutes: in
            offer(NOW - 60 * MIN - 1, "out60"),  # 1 us earlier: today only
            offer(NOW, "now"),  # at now: in every window
        ]
    )
    assert _offered_in(owner, NOW) == {"15m": 2, "60m": 4, "today": 5, "7d": 5}
    windows = owner.tile(NOW).windows
    assert windows["15m"].start_us == NOW - 15 * MIN
    assert windows["60m"].start_us == NOW - 60 * MIN
    assert windows["today"].start_us == parse_rfc3339("2026-11-22T00:00:00Z")


def test_the_7_day_window_counts_each_contact_once_whatever_the_sources_clocks() -> None:
    """Just after midnight yesterday's last hour is in the rolling windows' minute buckets
    and in yesterday's sum; a source whose clock is still yesterday holds that day as
    quarter-hours. Merged, every offer of the last 7 local days counts once."""
    midnight = parse_rfc3339("2026-11-23T00:00:00Z")
    after = Owner().feed(
        [
            offer(midnight - 3 * DAY, "three-days-ago"),
            offer(midnight - 8 * DAY, "eight-days-ago"),  # before the window
            offer(midnight - 20 * MIN, "late-yesterday"),  # in the last hour, and yesterday
            offer(midnight + 10 * MIN, "today"),
        ]
    )
    behind = Owner().feed([offer(midnight - 5 * 60 * MIN, "behind-yesterday")])
    now = midnight + 15 * MIN
    assert _offered_in(after, now) == {"15m": 1, "60m": 2, "today": 1, "7d": 3}
    merged = MergedBoard()
    for source, board, clock in (
        ("after", after.board, now),
        ("behind", behind.board, midnight - 4 * 60 * MIN),
    ):
        cut = board.export(clock)  # each at its own clock, as partitions publish
        merged.replace(source, cut.recent)
        merged.replace(f"{source}/day", cut.day)
    (tile,) = merged.figures(now, ZONES)
    assert {name: tile.windows[name].kpis["offered"] for name in WINDOW_NAMES} == {
        "15m": 1, "60m": 2, "today": 1, "7d": 4,
    }  # fmt: skip


def test_between_minute_boundaries_a_window_starts_at_the_next_whole_minute() -> None:
    """Windows count whole minute buckets: 15m at 10:00:30 holds offers from 09:46:00."""
    now = NOW + 30 * S
    owner = Owner().feed(
        [
            offer(now - 15 * MIN, "c1"),
            offer(now - 15 * MIN + 29 * S, "c2"),
            offer(NOW - 14 * MIN, "c3"),
        ]
    )
    assert _offered_in(owner, now)["15m"] == 1
    assert owner.tile(now).windows["15m"].start_us == NOW - 14 * MIN
    # Half a minute later the 09:45 bucket is in full.
    assert _offered_in(owner, NOW)["15m"] == 3


def test_today_starts_at_local_midnight_of_the_tenant() -> None:
    now = parse_rfc3339("2026-11-22T23:30:00Z")  # 00:30 on the 23rd in Paris (UTC+1)
    events: list[AnyEvent] = []
    for tenant in ("default", "paris"):
        events += [
            offer(parse_rfc3339("2026-11-22T22:59:59.999999Z"), "c1", tenant=tenant),
            offer(parse_rfc3339("2026-11-22T23:00:00Z"), "c2", tenant=tenant),
        ]
    owner = Owner().feed(events)
    utc, paris = owner.tile(now, tenant="default"), owner.tile(now, tenant="paris")
    assert utc.windows["today"].kpis["offered"] == 2
    assert paris.windows["today"].kpis["offered"] == 1
    assert paris.windows["today"].start_us == parse_rfc3339("2026-11-22T23:00:00Z")
    assert paris.windows["60m"].kpis["offered"] == utc.windows["60m"].kpis["offered"] == 2
    # Half an hour later UTC starts a new day too, and Paris keeps its own.
    later = parse_rfc3339("2026-11-23T00:00:00Z")
    assert owner.tile(later, tenant="default").windows["today"].kpis["offered"] == 0
    assert owner.tile(later, tenant="paris").windows["today"].kpis["offered"] == 1


def test_a_local_day_starts_at_its_first_instant_across_dst() -> None:
    from zoneinfo import ZoneInfo

    santiago = ZoneInfo("America/Santiago")  # midnight is skipped: 00:00 -04 -> 01:00 -03
    assert local_day_start_us(parse_rfc3339("2026-09-06T18:00:00Z"), santiago) == parse_rfc3339(
        "2026-09-06T04:00:00Z"
    )
    paris = ZoneInfo("Europe/Paris")  # summer: UTC+2
    assert local_day_start_us(parse_rfc3339("2026-07-01T21:59:59Z"), paris) == parse_rfc3339(
        "2026-06-30T22:00:00Z"
    )
    assert local_day_start_us(parse_rfc3339("2026-07-01T22:00:00Z"), paris) == parse_rfc3339(
        "2026-07-01T22:00:00Z"
    )


def test_window_kpis_by_hand() -> None:
    t = NOW - 10 * MIN
    owner = Owner().feed(
        [
            offer(t, "c1"),
            answer(t + 10 * S, "c1"),
            end(t + 70 * S, "c1", talk=50, hold=10),
            WrapupEnded(
                event_id=_id(),
                ts=_ts(t + 90 * S),
                contact_id="c1",
                queue="q",
                agent_id="a1",
                acw_s=20,
            ),
            offer(t, "c2"),
            answer(t + 30 * S, "c2"),
            end(t + 90 * S, "c2", talk=40),
            offer(t, "c3"),
            abandon(t + 40 * S, "c3"),
            offer(t, "c4"),
            abandon(t + 2 * S, "c4"),  # short abandon (< 5 s voice)
            offer(NOW - 30 * MIN, "old"),
            answer(NOW - 30 * MIN + 100 * S, "old"),
        ]
    )
    kpis = owner.tile(NOW).windows["15m"].kpis
    assert set(kpis) == set(LIVE_KPI_FIELDS)
    assert (kpis["offered"], kpis["answered"], kpis["abandoned"], kpis["short_abandoned"]) == (
        4,
        2,
        1,
        1,
    )
    assert kpis["service_level"] == 1 / 3  # c1 within 20 s, c2 not, c3 abandoned
    assert kpis["asa_s"] == 20.0
    assert kpis["abandon_rate"] == 1 / 3
    assert kpis["aht_s"] == 60.0  # (50 + 10 + 20 + 40) / 2
    assert kpis["max_wait_s"] == 40.0
    kpis60 = owner.tile(NOW).windows["60m"].kpis
    assert (kpis60["offered"], kpis60["asa_s"]) == (5, 140 / 3)


# --- agents -------------------------------------------------------------------------------


def test_agents_per_state_for_the_queues_their_latest_state_lists() -> None:
    t = NOW - MIN
    owner = Owner().feed(
        [
            agent(t, "a1", "available", ["q", "q2"]),
            agent(t, "a2", "busy", ["q"]),
            agent(t + S, "a2", "acw", ["q"]),  # latest wins
            agent(t, "a3", "away", ["q3"]),  # q3 has no contacts: still a tile
            agent(t, "a4", "available", None),  # no queues: on no tile
        ]
    )
    tiles = {t.queue: t for t in owner.board.snapshot(NOW, ZONES, owner.state.agents)}
    assert set(tiles) == {"q", "q2", "q3"}
    assert tiles["q"].agents == {"available": 1, "busy": 0, "acw": 1, "away": 0, "offline": 0}
    assert tiles["q3"].agents["away"] == 1 and tiles["q3"].in_queue == 0
    assert tiles["q3"].windows["today"].kpis["service_level"] is None
    for queue in ("q", "q2", "q3"):
        expected = owner.state.agents.counts("default", queue)
        assert {s: n for s, n in tiles[queue].agents.items() if n} == dict(expected)


# --- pruning ------------------------------------------------------------------------------


def test_prune_keeps_every_figure_of_now_and_forgets_older_buckets() -> None:
    day = 24 * 60 * MIN
    events: list[AnyEvent] = [offer(NOW - 2 * day, "waiting-since-two-days-ago")]
    for i in range(0, 2 * day, 7 * MIN):
        events += [offer(NOW - i, f"c{i}"), answer(NOW - i + 5 * S, f"c{i}")]
    events.append(offer(NOW - 30 * MIN, "moves-back"))
    owner = Owner().feed(events)
    before = owner.board.snapshot(NOW, ZONES, per_channel=True)
    buckets = owner.board.buckets
    dropped = owner.board.prune(NOW, ZONES)
    assert dropped > 0 and owner.board.buckets == buckets - dropped
    assert owner.board.snapshot(NOW, ZONES, per_channel=True) == before
    # Pruning keeps a waiting contact whatever its age; past the stale limit (24 h by default)
    # it is counted apart, and never the longest wait.
    tile = owner.tile(NOW, max_wait_us=3 * day)
    assert (tile.in_queue, tile.stale, tile.longest_wait_s) == (2, 0, 2 * day / S)
    tile = owner.tile(NOW)
    assert (tile.in_queue, tile.stale, tile.longest_wait_s) == (1, 1, 30 * MIN / S)
    # A late event of a forgotten segment (offered yesterday) does not bring its bucket back.
    yesterday = 7 * MIN * 200
    assert NOW - yesterday < parse_rfc3339("2026-11-22T00:00:00Z")
    owner.feed([end(NOW, f"c{yesterday}", talk=3)])
    assert owner.board.buckets == buckets - dropped
    # A late, earlier offer moves a segment out of today: it leaves today's bucket.
    offered_today = tile.windows["today"].kpis["offered"]
    owner.feed([offer(NOW - 2 * day + S, "moves-back")])
    tile = owner.tile(NOW, max_wait_us=3 * day)
    assert tile.windows["today"].kpis["offered"] == offered_today - 1
    assert (tile.in_queue, tile.stale, tile.longest_wait_s) == (2, 0, 2 * day / S)
    tile = owner.tile(NOW)
    assert (tile.in_queue, tile.stale, tile.longest_wait_s) == (0, 2, None)


def test_a_late_event_updates_figures_already_shown() -> None:
    """Earlier snapshots cache sums of whole quarters; a late event must reach them."""
    owner = Owner().feed([offer(NOW - 3 * 60 * MIN, "c1")])
    assert owner.tile(NOW).windows["today"].kpis["answered"] == 0
    owner.feed([answer(NOW - 3 * 60 * MIN + 10 * S, "c1")])
    today = owner.tile(NOW).windows["today"].kpis
    assert (today["answered"], today["service_level"], today["asa_s"]) == (1, 1.0, 10.0)


def test_prune_just_after_midnight_keeps_the_last_hour() -> None:
    now = parse_rfc3339("2026-11-23T00:30:00Z")
    owner = Owner().feed([offer(now - 45 * MIN, "yesterday"), offer(now - 61 * MIN, "gone")])
    assert owner.board.prune(now, ZONES) == 1
    windows = owner.tile(now).windows
    assert (windows["60m"].kpis["offered"], windows["today"].kpis["offered"]) == (1, 0)


def test_prune_without_zones_keeps_a_longest_day() -> None:
    owner = Owner().feed(
        [offer(NOW - 25 * 60 * MIN, "edge"), offer(NOW - 25 * 60 * MIN - MIN, "gone")]
    )
    assert owner.board.prune(NOW) == 1
    assert owner.board.buckets == 1


# --- properties ---------------------------------------------------------------------------

# Near midnight in Paris (23:00Z) and UTC, so "today" differs between the tenants.
BASE = parse_rfc3339("2026-11-22T22:30:00Z")
OFFSETS = st.one_of(
    st.integers(0, 240).map(lambda m: m * 30 * S),  # minute and half-minute edges
    st.integers(0, 7200 * S),
)


@st.composite
def contact_events(draw: st.DrawFn, contact: str) -> list[AnyEvent]:
    """A contact's events in one queue: offers (maybe two), outcomes, a transfer, an end."""
    tenant = draw(st.sampled_from(["default", "paris"]))
    queue = draw(st.sampled_from(["q1", "q2"]))
    ids = count()

    def eid() -> str:
        return f"{contact}-{next(ids)}"

    events: list[AnyEvent] = []
    for _ in range(draw(st.integers(1, 2))):
        events.append(
            Offered(
                event_id=eid(),
                ts=_ts(BASE + draw(OFFSETS)),
                tenant=tenant,
                contact_id=contact,
                queue=queue,
                channel=draw(st.sampled_from(["voice", "chat"])),
            )
        )
    common: dict[str, Any] = {"tenant": tenant, "contact_id": contact, "queue": queue}
    for _ in range(draw(st.integers(0, 2))):
        ts = _ts(BASE + draw(OFFSETS))
        if draw(st.booleans()):
            events.append(Answered(event_id=eid(), ts=ts, agent_id="a1", **common))
        else:
            events.append(Abandoned(event_id=eid(), ts=ts, **common))
    if draw(st.integers(0, 3)) == 0:
        ts = _ts(BASE + draw(OFFSETS))
        events.append(Transferred(event_id=eid(), ts=ts, to_queue="q9", **common))
    if draw(st.booleans()):
        ts = _ts(BASE + draw(OFFSETS))
        talk, hold = draw(st.integers(0, 900)), draw(st.integers(0, 60))
        events.append(
            Ended(event_id=eid(), ts=ts, agent_id="a1", talk_s=talk, hold_s=hold, **common)
        )
    if draw(st.booleans()):
        ts = _ts(BASE + draw(OFFSETS))
        events.append(
            WrapupEnded(
                event_id=eid(), ts=ts, agent_id="a1", acw_s=draw(st.integers(0, 90)), **common
            )
        )
    return events


@st.composite
def histories(draw: st.DrawFn) -> list[AnyEvent]:
    events: list[AnyEvent] = []
    for i in range(draw(st.integers(1, 8))):
        events += draw(contact_events(f"c{i}"))
    for i in range(draw(st.integers(0, 3))):
        events.append(
            AgentState(
                event_id=f"a{i}",
                ts=_ts(BASE + draw(OFFSETS)),
                agent_id=f"a{i % 2}",
                tenant=draw(st.sampled_from(["default", "paris"])),
                state=draw(st.sampled_from(AGENT_STATES)),
                queues=draw(st.sampled_from([None, ["q1"], ["q1", "q2"], ["q3"]])),
            )
        )
    return draw(st.permutations(events))


NOWS = st.one_of(
    st.integers(60, 180).map(lambda m: BASE + m * MIN), st.integers(BASE, BASE + 9000 * S)
)


def _batches(events: Sequence[AnyEvent], cuts: list[int]) -> list[Sequence[AnyEvent]]:
    edges = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    return [events[a:b] for a, b in pairwise(edges)]


def _in_window(segment: Segment, first_us: int, now: int) -> bool:
    assert segment.offered is not None
    minute = segment.offered.ts_us - segment.offered.ts_us % MIN
    return first_us <= minute <= now


def _expected_kpis(segments: list[Segment]) -> dict[str, Any]:
    """The contract's figures straight from the segments' events, not from count vectors."""
    waits_answered, within, abandoned, short, handle = [], 0, 0, 0, []
    for segment in segments:
        assert segment.offered is not None
        config = SETTINGS.queue(segment.sid.tenant, segment.sid.queue, segment.offered.channel)
        wait = segment.wait_us
        if isinstance(segment.outcome, Answered):
            assert wait is not None
            waits_answered.append(wait)
            within += wait <= config.sl_threshold_us
        elif isinstance(segment.outcome, Abandoned):
            assert wait is not None
            if wait >= config.short_abandon_us:
                abandoned += 1
            else:
                short += 1
        if segment.ended is not None:
            acw = segment.wrapup.acw_us if segment.wrapup is not None else 0
            handle.append(segment.ended.talk_us + segment.ended.hold_us + acw)
    answered = len(waits_answered)
    return {
        "offered": len(segments),
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "service_level": within / (answered + abandoned) if answered + abandoned else None,
        "asa_s": sum(waits_answered) / (answered * S) if answered else None,
        "abandon_rate": abandoned / (len(segments) - short) if len(segments) > short else None,
        "handled": len(handle),
        "aht_s": sum(handle) / (len(handle) * S) if handle else None,
        "transferred": sum(s.transferred is not None for s in segments),
    }


@settings(max_examples=120, deadline=None)
@given(events=histories(), cuts=st.lists(st.integers(0, 200), max_size=6), now=NOWS)
def test_figures_in_any_arrival_order_match_models_of_the_final_segments(
    events: list[AnyEvent], cuts: list[int], now: int
) -> None:
    owner = Owner()
    for batch in _batches(events, cuts):
        owner.feed(batch)
        owner.board.snapshot(now, ZONES)  # fills caches that later batches must refresh
    tiles = owner.board.snapshot(now, ZONES, owner.state.agents, per_channel=True)
    segments = [s for s in owner.state.segments.values() if s.offered is not None]

    # Rebuilt from the segments it owns, a board shows the same.
    rebuilt = LiveBoard.from_segments(owner.state.segments.values(), SETTINGS.queue, ZONES)
    assert rebuilt.snapshot(now, ZONES, owner.state.agents, per_channel=True) == tiles

    for tile in tiles:
        mine = [
            s
            for s in segments
            if (s.sid.tenant, s.sid.queue) == (tile.tenant, tile.queue)
            and tile.channel in (None, s.offered and s.offered.channel)
        ]
        waiting = [
            s.offered.ts_us
            for s in mine
            if s.offered and s.outcome is None and s.transferred is None
        ]
        assert tile.in_queue == len(waiting)
        assert tile.oldest_offer_us == min(waiting, default=None)
        starts = window_starts(now, SETTINGS.tenant_timezone(tile.tenant))
        for name in WINDOW_NAMES:
            window = tile.windows[name]
            first = -(-starts[name] // MIN) * MIN
            assert window.start_us == first
            inside = [s for s in mine if _in_window(s, first, now)]
            expected = _expected_kpis(inside)
            assert {k: window.kpis[k] for k in expected} == expected, name
            # And the whole row is the one formula over the segments' own contributions.
            counts = merge_counts(
                [
                    s.contribution(SETTINGS.queue(s.sid.tenant, s.sid.queue, s.offered.channel))
                    for s in inside
                    if s.offered
                ]
            )
            row = report_row(IntervalKey(tile.tenant, tile.queue, "", first), counts)
            assert window.kpis == {k: row[k] for k in LIVE_KPI_FIELDS}
        if tile.channel is None:
            expected_agents = owner.state.agents.counts(tile.tenant, tile.queue)
            assert {k: v for k, v in tile.agents.items() if v} == dict(expected_agents)


def _owner_of(event: AnyEvent, parts: int) -> int:
    return zlib.crc32(event_key(event).encode()) % parts


@settings(max_examples=120, deadline=None)
@given(events=histories(), parts=st.integers(2, 3), now=NOWS)
def test_partial_boards_merge_into_the_board_over_all_segments(
    events: list[AnyEvent], parts: int, now: int
) -> None:
    whole = Owner().feed(events)
    owners = [Owner() for _ in range(parts)]
    for event in events:
        owners[_owner_of(event, parts)].feed([event])
    merged = snapshot_many(
        [o.board for o in owners], now, ZONES, [o.state.agents for o in owners], per_channel=True
    )
    assert merged == whole.board.snapshot(now, ZONES, whole.state.agents, per_channel=True)
    assert agents_by_queue(
        agent_parts([o.state.agents for o in owners], now, ZONES)
    ) == agents_by_queue(agent_parts([whole.state.agents], now, ZONES))


def test_as_dict_is_plain_json() -> None:
    import json

    owner = Owner().feed([offer(NOW - MIN, "c1"), agent(NOW, "a1", "busy", ["q"])])
    (tile,) = owner.board.snapshot(NOW, ZONES, owner.state.agents)
    data = json.loads(json.dumps(tile.as_dict()))
    assert data["oldest_offer"] == "2026-11-22T09:59:00Z"
    assert data["longest_wait_s"] == 60.0
    assert data["windows"]["15m"]["start"] == "2026-11-22T09:45:00Z"
    assert data["windows"]["today"]["offered"] == 1
    assert data["agents"]["busy"] == 1
