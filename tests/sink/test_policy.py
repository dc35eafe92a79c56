"""The flush policy and the backoff: pure values, asked with numbers."""

from __future__ import annotations

import random

import pytest

from pipeline.sink.policy import Backoff, FlushPolicy


def test_a_batch_is_due_when_full_or_when_its_oldest_message_is_old_enough() -> None:
    policy = FlushPolicy(rows=1000, seconds=1.0)
    assert not policy.due(largest_batch=999, messages=5, oldest_age_s=0.99)
    assert policy.due(largest_batch=1000, messages=5, oldest_age_s=0.0)
    assert policy.due(largest_batch=1, messages=1, oldest_age_s=1.0)
    # Messages without rows still need their offsets committed, in time.
    assert policy.due(largest_batch=0, messages=3, oldest_age_s=1.5)
    assert not policy.due(largest_batch=0, messages=0, oldest_age_s=100.0)


def test_time_left_tells_the_loop_how_long_it_may_wait() -> None:
    policy = FlushPolicy(rows=10, seconds=2.0)
    assert policy.time_left(messages=0, oldest_age_s=0.0) == 2.0
    assert policy.time_left(messages=4, oldest_age_s=0.5) == 1.5
    assert policy.time_left(messages=4, oldest_age_s=3.0) == 0.0


@pytest.mark.parametrize(("rows", "seconds"), [(0, 1.0), (10, 0.0), (10, -1.0)])
def test_a_policy_that_could_never_or_always_fire_is_refused(rows: int, seconds: float) -> None:
    with pytest.raises(ValueError):
        FlushPolicy(rows=rows, seconds=seconds)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=0.5, cap_s=4.0, jitter=False)
    assert [backoff.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.delay(10_000) == 4.0  # no overflow after a long outage


def test_jitter_stays_between_half_and_all_of_the_delay() -> None:
    backoff = Backoff(first_s=1.0, cap_s=8.0)
    rng = random.Random(1)
    for attempt in range(6):
        ceiling = min(8.0, 2.0**attempt)
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # really spread
