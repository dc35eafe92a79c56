"""The agent views (migration 0010) against the core's `interval_seconds` and `occupancy`.

By hand on a few state changes, then on simulated traffic: each agent's microseconds per
state, per 15-minute interval and queue, equal to the core's to the microsecond, and the
occupancy of each row and of each queue's rollup equal to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import msgspec
import orjson
import pytest

from pipeline.core.agents import AgentBoard, Seconds, interval_seconds, occupancy
from pipeline.core.catalogue import OCCUPANCY
from pipeline.core.clock import INTERVAL_US, datetime_to_us, format_utc
from pipeline.core.events import AGENT_STATES, AgentState, AnyEvent, decode_message
from pipeline.core.live import local_day_start_us
from pipeline.kpi_sql import state_column, state_row_sql, state_summed_sql
from pipeline.simulator.emit import simulate_events
from pipeline.store import Store, open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import SETTINGS, fill
from tests.store.rows import T0, S, insert_agent_states, set_watermark
from tests.store.test_views_catalogue import select_columns, view_statement
from tests.stream.one_board import one_board

MIN = 60 * S
STATE_COLUMNS = ", ".join(state_column(state) for state in AGENT_STATES)
Key = tuple[str, str, str, int]  # tenant, agent, queue, interval start


def _state(agent: str, minute: int, state: str, queues: list[str] | None, eid: str) -> AgentState:
    return AgentState(
        event_id=eid, ts=format_utc(T0 + minute * MIN), agent_id=agent, state=state, queues=queues
    )


# 09:10 available (q1, q2), 09:20 busy (stored twice), 09:25 acw (q1), 09:27 away (none),
# 09:35 available (q1); a2 busy on q1 from 09:05; a3 goes offline at the watermark, 09:40.
HAND = [
    _state("a1", 10, "available", ["q1", "q2"], "e1"),
    _state("a1", 35, "available", ["q1"], "e5"),  # stored out of order
    _state("a1", 20, "busy", ["q1", "q2", "q1"], "e2"),
    _state("a1", 20, "busy", ["q1", "q2", "q1"], "e2"),
    _state("a1", 25, "acw", ["q1"], "e3"),
    _state("a1", 27, "away", None, "e4"),
    _state("a2", 5, "busy", ["q1"], "e6"),
    _state("a3", 40, "offline", None, "e7"),
]
WATERMARK = T0 + 40 * MIN


def _seconds(**seconds: int) -> Seconds:
    return [seconds.get(state, 0) * S for state in AGENT_STATES]


def _at(minute: int) -> int:
    return T0 + minute * MIN


# Worked out by hand from HAND (docs/kpis.md, "Occupancy and FCR over days").
HAND_EXPECTED: dict[Key, Seconds] = {
    ("default", "a1", "", _at(0)): _seconds(available=300),
    ("default", "a1", "", _at(15)): _seconds(available=300, busy=300, acw=120, away=180),
    ("default", "a1", "", _at(30)): _seconds(away=300, available=300),
    ("default", "a1", "q1", _at(0)): _seconds(available=300),
    ("default", "a1", "q1", _at(15)): _seconds(available=300, busy=300, acw=120),
    ("default", "a1", "q1", _at(30)): _seconds(available=300),
    ("default", "a1", "q2", _at(0)): _seconds(available=300),
    ("default", "a1", "q2", _at(15)): _seconds(available=300, busy=300),
    ("default", "a2", "", _at(0)): _seconds(busy=600),
    ("default", "a2", "", _at(15)): _seconds(busy=900),
    ("default", "a2", "", _at(30)): _seconds(busy=600),
    ("default", "a2", "q1", _at(0)): _seconds(busy=600),
    ("default", "a2", "q1", _at(15)): _seconds(busy=900),
    ("default", "a2", "q1", _at(30)): _seconds(busy=600),
}


def core_intervals(events: list[AnyEvent], watermark_us: int) -> dict[Key, Seconds]:
    """The core's figures: every agent's changes as the stream holds them, cut by interval."""
    board = AgentBoard()
    for event in events:
        if isinstance(event, AgentState):
            board.apply(event)
    out: dict[Key, Seconds] = {}
    for agent_id, by_tenant in board.history.items():
        for tenant, changes in by_tenant.items():
            for (start, queue), seconds in interval_seconds(
                changes, watermark_us, INTERVAL_US
            ).items():
                out[(tenant, agent_id, queue, start)] = seconds
    return out


def sql_intervals(store: Store) -> dict[Key, Seconds]:
    rows = store.query(
        f"SELECT tenant, agent_id, queue, interval_start, {STATE_COLUMNS}, occupancy "
        "FROM agent_state_intervals"
    ).rows
    out = {}
    for tenant, agent, queue, start, *seconds, occupied in rows:
        key = (tenant, agent, queue, datetime_to_us(start))
        out[key] = list(seconds)
        assert occupied == occupancy(out[key]), key
    return out


def queue_rollup(figures: dict[Key, Seconds]) -> dict[tuple[str, str, int], list[int]]:
    """Agents and time per state per (tenant, queue, interval), summed from agents' rows."""
    out: dict[tuple[str, str, int], list[int]] = {}
    for (tenant, _, queue, start), seconds in figures.items():
        if queue:
            held = out.setdefault((tenant, queue, start), [0] * (1 + len(AGENT_STATES)))
            held[0] += 1
            for i, value in enumerate(seconds, 1):
                held[i] += value
    return out


def sql_queue_rollup(store: Store) -> dict[tuple[str, str, int], list[int]]:
    rows = store.query(
        f"SELECT tenant, queue, interval_start, agents, {STATE_COLUMNS}, occupancy "
        "FROM queue_state_intervals"
    ).rows
    out = {}
    for tenant, queue, start, agents, *rest in rows:
        *seconds, occupied = rest
        assert occupied == occupancy(seconds), (queue, start)
        out[(tenant, queue, datetime_to_us(start))] = [agents, *seconds]
    return out


@pytest.fixture
def hand_store(store: Store) -> Store:
    insert_agent_states(store, HAND)
    set_watermark(store, WATERMARK)
    return store


def test_the_core_counts_the_hand_worked_example() -> None:
    assert core_intervals(list(HAND), WATERMARK) == HAND_EXPECTED


def test_the_view_counts_the_hand_worked_example(hand_store: Store) -> None:
    assert sql_intervals(hand_store) == HAND_EXPECTED


def test_queue_occupancy_by_hand(hand_store: Store) -> None:
    rollup = sql_queue_rollup(hand_store)
    assert rollup[("default", "q1", _at(15))] == [2, *_seconds(available=300, busy=1200, acw=120)]
    got = hand_store.query(
        "SELECT queue, interval_start, occupancy FROM queue_state_intervals "
        "ORDER BY queue, interval_start"
    ).rows
    assert [(queue, datetime_to_us(start), value) for queue, start, value in got] == [
        ("q1", _at(0), 600 / 900),
        ("q1", _at(15), 1320 / 1620),
        ("q1", _at(30), 600 / 900),
        ("q2", _at(0), 0.0),
        ("q2", _at(15), 0.5),
    ]


def test_a_state_not_counted_leaves_occupancy_null(store: Store) -> None:
    insert_agent_states(store, [_state("a1", 0, "away", ["q1"], "x1")])
    set_watermark(store, _at(10))
    row = store.query("SELECT away_us, occupancy FROM agent_state_intervals WHERE queue = 'q1'")
    assert row.rows == [(600 * S, None)]


def test_the_views_divide_as_the_catalogue_defines_occupancy() -> None:
    for view in ("agent_state_intervals", "queue_state_intervals"):
        columns = select_columns(view_statement(view))
        assert [c for c in columns if c.endswith("_us")] == [
            state_column(state) for state in AGENT_STATES
        ]
        assert columns[OCCUPANCY.name] == state_row_sql(OCCUPANCY), view


class Simulated:
    def __init__(self, store: Store, line: bytes) -> None:
        self.store = store
        self.line = line  # every event, as one batch message
        events, _ = decode_message(line)
        self.core = core_intervals(events, max(e.ts_us for e in events))


@pytest.fixture(scope="module")
def simulated_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    store = open_store(f"chdb://{tmp_path_factory.mktemp('agents') / 'store'}")
    try:
        migrate(store, load_migrations())
        line = orjson.dumps(list(simulate_events(1500, 7)))
        fill(store, decode_message(line)[0])
        yield Simulated(store, line)
    finally:
        store.close()


def test_view_equals_the_core_per_agent_queue_and_interval(simulated_store: Simulated) -> None:
    core = simulated_store.core
    assert len(core) > 1000
    assert sum(seconds[AGENT_STATES.index("acw")] for seconds in core.values()) > 0
    assert sql_intervals(simulated_store.store) == core


def test_queue_view_equals_the_core_summed(simulated_store: Simulated) -> None:
    assert sql_queue_rollup(simulated_store.store) == queue_rollup(simulated_store.core)


def test_the_wallboard_s_occupancy_today_is_today_s_intervals_summed(
    simulated_store: Simulated,
) -> None:
    """The live board's queue tiles at the watermark, in a zone whose day holds the whole
    simulation: each queue's time per state today and its occupancy today equal the sums of
    today's rows of `queue_state_intervals`, divided once."""
    settings = msgspec.structs.replace(SETTINGS, timezone="America/New_York")
    state, tiles = one_board([simulated_store.line], settings)
    today = local_day_start_us(state.segments.watermark_us, ZoneInfo("America/New_York"))
    rows = simulated_store.store.query(
        f"SELECT tenant, queue, {', '.join(f'sum({c})' for c in STATE_COLUMNS.split(', '))}, "
        f"{state_summed_sql(OCCUPANCY)} FROM queue_state_intervals "
        f"WHERE interval_start >= fromUnixTimestamp64Micro({today}, 'UTC') "
        "GROUP BY tenant, queue"
    ).rows
    sql = {(tenant, queue): (list(seconds), occupied) for tenant, queue, *seconds, occupied in rows}
    live = {
        (tile.tenant, tile.queue): (tile.agent_time["today"], tile.occupancy("today"))
        for tile in tiles
        if tile.channel is None and "today" in tile.agent_time
    }
    assert len(live) >= 3 and all(seconds[0] > 0 for seconds, _ in live.values())
    assert sql == live
