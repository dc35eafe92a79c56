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


def test_a_sought_offset_queued_for_the_agent_is_not_sought_again_until_patience_runs_out() -> None:
    """Under load the messages queued ahead of the re-fetched one are each a gap; seeking on
    each of them every second threw the re-fetch away again and again (the soak's slow
    recovery after a broker restart)."""
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 5) is Verdict.GAP
    assert g.should_seek("p0")
    g.delivered("p0", 0)  # the seek's first message is queued behind older ones
    clock.now = 2.0
    assert g.admit("p0", 6) is Verdict.GAP
    assert not g.should_seek("p0")
    clock.now = 2.0 + g.patience_s
    assert g.should_seek("p0")  # queued that long: it was lost after all


def test_a_seek_whose_offset_does_not_come_is_repeated_each_second() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    assert g.admit("p0", 5) is Verdict.GAP
    assert g.should_seek("p0")
    g.delivered("p0", 6)  # fetched before the seek, handed over after it
    clock.now = 1.0
    assert g.should_seek("p0")


def test_a_partition_with_its_next_message_queued_is_slow_not_stalled() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    g.delivered("p0", 0)
    clock.now = 10.0
    assert g.quiet("p0", highwater=100, after_s=3.0)
    assert not g.stalled("p0", highwater=100, position=50, after_s=3.0)
    assert g.admit("p0", 0) is Verdict.PROCESS
    clock.now = 12.9
    assert not g.stalled("p0", highwater=100, position=50, after_s=3.0)
    clock.now = 13.0
    # 1-49 left the client and none is queued for the agent: dropped on the way.
    assert g.stalled("p0", highwater=100, position=50, after_s=3.0)
    assert not g.stalled("p0", highwater=1, position=50, after_s=3.0)  # nothing more in the log


def test_a_partition_whose_next_messages_are_in_the_fetch_buffer_is_not_sought_away() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 7)
    clock.now = 10.0
    assert not g.stalled("p0", highwater=100, position=7, after_s=3.0)
    assert not g.stalled("p0", highwater=100, position=None, after_s=3.0)
    clock.now = g.patience_s
    assert g.stalled("p0", highwater=100, position=7, after_s=3.0)  # a wedged fetch: seek


def test_after_a_stall_seek_the_partition_gets_its_time_again() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    clock.now = 3.0
    assert g.stalled("p0", highwater=10, position=5, after_s=3.0)
    assert g.should_seek("p0")
    clock.now = 5.0
    assert not g.stalled("p0", highwater=10, position=5, after_s=3.0)
    clock.now = 6.0
    assert g.stalled("p0", highwater=10, position=5, after_s=3.0)


def test_what_was_queued_before_a_rebalance_no_longer_hides_a_stall() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    g.delivered("p0", 0)
    clock.now = 3.0
    assert not g.stalled("p0", highwater=10, position=5, after_s=3.0)
    g.forget_deliveries()  # Faust drops its queues on a rebalance
    assert g.stalled("p0", highwater=10, position=5, after_s=3.0)


def test_a_partition_resumed_after_a_recovery_gets_its_time_again() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    clock.now = 100.0  # paused while the tables were restored
    g.resumed(["p0", "unknown"])
    assert not g.stalled("p0", highwater=10, position=5, after_s=3.0)
    clock.now = 103.0
    assert g.stalled("p0", highwater=10, position=5, after_s=3.0)


def test_a_message_queued_past_patience_counts_as_dropped() -> None:
    clock = Clock()
    g = guard(clock)
    g.start("p0", 0)
    g.delivered("p0", 0)
    clock.now = g.patience_s
    assert g.stalled("p0", highwater=10, position=5, after_s=3.0)


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
