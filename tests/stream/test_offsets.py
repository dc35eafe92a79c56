"""The contiguity guard that replaces Faust's acks: what is processed and what is committed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.stream.offsets import Hole, OffsetGuard, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock | None = None) -> OffsetGuard[str]:
    return OffsetGuard(clock=clock or Clock(), hole_grace_s=5.0, reseek_every_s=1.0)


def test_a_partition_starts_where_it_was_committed_and_skips_what_came_before() -> None:
    g = guard()
    g.start("p0", 10)
    assert g.admit("p0", 9) is Verdict.SEEN
    assert g.admit("p0", 10) is Verdict.PROCESS
    assert g.admit("p0", 10) is Verdict.SEEN
    assert g.admit("p0", 11) is Verdict.PROCESS
    assert g.expected("p0") == 12


def test_the_rebalance_loss_is_a_gap_not_a_commit() -> None:
    """The defect seen with Faust's acks: offsets 0-65 vanish, 66 and 67 arrive."""
    g = guard()
    g.start("p0", 0)
    assert g.admit("p0", 66) is Verdict.GAP
    assert g.should_seek("p0")
    assert g.expected("p0") == 0
    g.done("p0", 68)  # whatever the caller claims, nothing past the next offset is done
    assert g.committable() == {}


def test_only_what_was_handed_to_the_producer_is_committable() -> None:
    g = guard()
    g.start("p0", 0)
    for offset in range(5):
        assert g.admit("p0", offset) is Verdict.PROCESS
    assert g.committable() == {}  # admitted, output not yet sent
    g.done("p0", 5)
    assert g.committable() == {"p0": 5}
    g.mark_committed({"p0": 5})
    assert g.committable() == {}


def test_a_failed_batch_is_admitted_again() -> None:
    g = guard()
    g.start("p0", 0)
    for offset in range(3):
        g.admit("p0", offset)
    g.done("p0", 3)
    for offset in range(3, 6):
        g.admit("p0", offset)
    g.rewind("p0")
    assert g.admit("p0", 3) is Verdict.PROCESS


def test_seeks_back_at_most_once_a_second_while_a_gap_lasts() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 3) is Verdict.GAP
    assert g.should_seek("p0")
    clock.now = 0.5
    assert g.admit("p0", 4) is Verdict.GAP
    assert not g.should_seek("p0")
    clock.now = 1.2
    assert g.should_seek("p0")


def test_a_gap_that_lasts_is_a_hole_accepted_and_recorded_once_the_log_lacks_it() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 0) is Verdict.PROCESS
    assert g.admit("p0", 2) is Verdict.GAP
    clock.now = 4.9
    assert g.admit("p0", 2) is Verdict.GAP
    assert not g.hole_suspected("p0")
    clock.now = 5.0
    assert g.hole_suspected("p0")
    assert g.skip_to("p0", 2)  # the log's first record from offset 1 on is 2
    assert g.admit("p0", 2) is Verdict.PROCESS
    assert g.holes == [("p0", Hole(1, 2))]
    assert g.admit("p0", 3) is Verdict.PROCESS


def test_time_alone_makes_no_hole_while_the_log_holds_the_next_offset() -> None:
    """On a loaded machine a seek back can take longer than the grace period: the records
    are still in the log, so nothing is skipped and the grace period starts again."""
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 0) is Verdict.PROCESS
    assert g.admit("p0", 2) is Verdict.GAP
    clock.now = 60.0
    assert g.admit("p0", 2) is Verdict.GAP
    assert g.hole_suspected("p0")
    assert not g.skip_to("p0", 1)  # offset 1 is in the log after all
    assert not g.hole_suspected("p0")
    assert g.holes == [] and g.expected("p0") == 1
    assert g.admit("p0", 1) is Verdict.PROCESS


def test_a_gap_that_closes_in_time_is_no_hole() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 4) is Verdict.GAP
    clock.now = 3.0
    assert g.admit("p0", 0) is Verdict.PROCESS
    clock.now = 9.0
    assert g.admit("p0", 2) is Verdict.GAP  # a new gap starts its own grace period
    assert g.holes == []


def test_a_revoked_partition_is_forgotten_and_late_results_do_not_revive_it() -> None:
    g = guard()
    g.start("p0", 0)
    g.admit("p0", 0)
    g.revoke("p0")
    g.done("p0", 1)
    assert not g.known("p0")
    assert g.committable() == {}


@given(
    fetches=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 10)), min_size=1, max_size=40),
    start=st.integers(0, 5),
)
def test_whatever_order_messages_come_in_each_offset_is_processed_once_in_order(
    fetches: list[tuple[int, int]], start: int
) -> None:
    """Fetches of runs of offsets (re-fetches, skips, overlaps): processed offsets are exactly
    start, start+1, ... with no repeat and no jump, and the committable offset never passes
    the processed ones."""
    g = guard()
    g.start("p0", start)
    processed: list[int] = []
    for first, length in fetches:
        for offset in range(first, first + length):
            if g.admit("p0", offset) is Verdict.PROCESS:
                processed.append(offset)
        g.done("p0", first + length)
    assert processed == list(range(start, start + len(processed)))
    committable = g.committable().get("p0", start)
    assert committable == start + len(processed)
