"""`retrying`: Kafka's retriable errors are asked again until the deadline, others are not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

from pipeline.kafka.retriable import retrying


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def failing(times: int, error: Exception) -> Callable[[], str]:
    calls = {"n": 0}

    def ask() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return f"answered at call {calls['n']}"

    return ask


def test_a_coordinator_not_available_yet_is_asked_again_until_it_answers() -> None:
    clock = Clock()
    ask = failing(3, CoordinatorNotAvailableError())
    answer = retrying(ask, deadline_s=10, pause_s=0.5, clock=clock, sleep=clock.sleep)
    assert answer == "answered at call 4"
    assert clock.now == 1.5


def test_a_retriable_error_past_the_deadline_is_raised() -> None:
    clock = Clock()
    ask = failing(100, CoordinatorNotAvailableError())
    with pytest.raises(CoordinatorNotAvailableError):
        retrying(ask, deadline_s=2, pause_s=0.5, clock=clock, sleep=clock.sleep)
    assert clock.now == 2.0


def test_an_error_that_is_not_retriable_is_raised_at_once() -> None:
    clock = Clock()
    ask = failing(1, GroupAuthorizationFailedError())
    with pytest.raises(GroupAuthorizationFailedError):
        retrying(ask, deadline_s=10, pause_s=0.5, clock=clock, sleep=clock.sleep)
    assert clock.now == 0.0
