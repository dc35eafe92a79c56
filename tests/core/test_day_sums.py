"""`fcr.DaySums`: the sums per (group, day) follow every set, discard and drop of old days,
as a plain recount of the members' latest vectors gives them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.fcr import DaySums

MEMBERS = st.sampled_from(["m1", "m2", "m3", "m4", "m5"])
KEYS = st.tuples(st.just("t"), st.sampled_from(["q1", "q2"]), st.just("voice"), st.integers(0, 4))
OPS = st.one_of(
    st.tuples(st.just("set"), MEMBERS, KEYS, st.tuples(st.integers(0, 1), st.integers(0, 1))),
    st.tuples(st.just("discard"), MEMBERS),
    st.tuples(st.just("drop_before"), st.integers(0, 5)),
)


@given(st.lists(OPS, max_size=40))
def test_sums_equal_a_recount_of_the_members(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    sums = DaySums()
    model: dict[str, tuple[tuple[str, str, str, int], tuple[int, int]]] = {}
    for op in ops:
        if op[0] == "set":
            _, member, key, vector = op
            sums.set(member, key, vector)
            model[member] = (key, vector)
        elif op[0] == "discard":
            sums.discard(op[1])
            model.pop(op[1], None)
        else:
            sums.drop_before(op[1])
            model = {m: held for m, held in model.items() if held[0][3] >= op[1]}
        expected: dict[tuple[str, str, str, int], list[int]] = {}
        for key, vector in model.values():
            total = expected.setdefault(key, [0, 0])
            total[0] += vector[0]
            total[1] += vector[1]
        # (A key whose members all hold zeros may stay, at zero, until one is discarded.)
        held = {k: v for k, v in sums.totals.items() if any(v)}
        assert held == {k: v for k, v in expected.items() if any(v)}
