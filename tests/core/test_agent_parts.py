"""An agent's live part moved forward in time from its spans alone (`agents._advance`) is the
part cut afresh from the whole history (`agents._cut`): what publications rely on while only
the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.agents import AgentBoard, _advance, _cut
from pipeline.core.clock import US_PER_S
from pipeline.core.events import AGENT_STATES, AgentState

BASE_US = 1_795_000_000 * US_PER_S
HOUR_US = 3600 * US_PER_S


def _change(i: int, ts_us: int, state: int, queues: list[str]) -> AgentState:
    ts = datetime.fromtimestamp(ts_us / US_PER_S, UTC).isoformat()
    return AgentState(
        event_id=f"e{i}",
        ts=ts,
        agent_id="a1",
        state=AGENT_STATES[state],  # type: ignore[arg-type]
        queues=queues or None,
    )


CHANGES = st.lists(
    st.tuples(
        st.integers(0, 6 * HOUR_US // US_PER_S),
        st.integers(0, len(AGENT_STATES) - 1),
        st.lists(st.sampled_from(["q1", "q2", "q3"]), max_size=3),
    ),
    min_size=1,
    max_size=25,
)


@given(
    changes=CHANGES,
    day_s=st.integers(-3600, 3 * 3600),
    cuts_s=st.lists(st.integers(-3600, 8 * 3600), min_size=2, max_size=8),
)
def test_a_part_moved_forward_equals_the_part_cut_afresh(
    changes: list[tuple[int, int, list[str]]], day_s: int, cuts_s: list[int]
) -> None:
    history = sorted(
        (_change(i, BASE_US + s * US_PER_S, state, queues) for i, (s, state, queues) in
         enumerate(changes)),
        key=lambda e: (e.ts_us, e.event_id),
    )  # fmt: skip
    day = BASE_US + day_s * US_PER_S
    cuts = [BASE_US + s * US_PER_S for s in sorted(cuts_s)]
    part = _cut(history, day, cuts[0])
    for cut in cuts[1:]:
        part = _advance(part, cut)
        assert part == _cut(history, day, cut)


@given(
    steps=st.lists(
        st.tuples(
            st.lists(  # changes applied: (agent, seconds after the clock, state, queues)
                st.tuples(
                    st.sampled_from(["a1", "a2"]),
                    st.integers(-1800, 600),
                    st.integers(0, len(AGENT_STATES) - 1),
                    st.lists(st.sampled_from(["q1", "q2"]), max_size=2),
                ),
                max_size=4,
            ),
            st.integers(0, 1800),  # then the clock moves on this many seconds, and exports
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_export_equals_the_parts_cut_afresh(
    steps: list[tuple[list[tuple[str, int, int, list[str]]], int]],
) -> None:
    """Parts kept from one export to the next (moved forward, spans made again after late
    or new changes) are the parts cut afresh from the whole history, whatever the order."""
    board = AgentBoard()
    now = BASE_US
    serial = 0

    def day_start(tenant: str) -> int:  # six-hour "days", so exports cross them
        return now - now % (6 * HOUR_US)

    for changes, later_s in steps:
        for agent, offset_s, state, queues in changes:
            serial += 1
            event = _change(serial, now + offset_s * US_PER_S, state, queues)
            board.apply(msgspec.structs.replace(event, agent_id=agent))
        now += later_s * US_PER_S
        parts = board.export(now, day_start)
        for part in parts:
            history = board.history[part.agent_id][part.tenant]
            assert part == _cut(history, part.day_us, part.cut_us)
        assert len(parts) == len(board)
