"""The settle waits' patience: it runs out only after a stretch without change."""

from __future__ import annotations

from tests.progress_deadline import ProgressDeadline


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_state_that_keeps_moving_is_waited_for_however_long_it_takes() -> None:
    clock = Clock()
    patience = ProgressDeadline(quiet_s=10, clock=clock)
    for step in range(100):
        clock.now = step * 9.0
        assert not patience.expired(("committed", step))
    assert patience.waited_s == 891.0


def test_a_state_that_stands_still_for_quiet_s_expires() -> None:
    clock = Clock()
    patience = ProgressDeadline(quiet_s=10, clock=clock)
    assert not patience.expired(149)
    clock.now = 10.0
    assert not patience.expired(149)
    clock.now = 10.5
    assert patience.expired(149)
    assert patience.still_s == 10.5
    assert "nothing moved for 10 s" in patience.describe()


def test_a_change_restarts_the_quiet_stretch() -> None:
    clock = Clock()
    patience = ProgressDeadline(quiet_s=10, clock=clock)
    patience.expired(149)
    clock.now = 9.0
    assert not patience.expired(150)
    clock.now = 18.0
    assert not patience.expired(150)
    clock.now = 19.5
    assert patience.expired(150)
