"""The demo's feed pacing (pipeline/demo/feed.py), on a fake clock."""

from __future__ import annotations

import itertools
from typing import Any

from pipeline.core.clock import US_PER_S
from pipeline.demo.feed import TICK_S, paced_lines


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        self.slept += seconds


def timed(*seconds: float) -> list[tuple[int, dict[str, Any]]]:
    return [(int(s * US_PER_S), {"event_id": f"e{i}", "at": s}) for i, s in enumerate(seconds)]


def run(clock: FakeClock, items: list[tuple[int, dict[str, Any]]], **kw: Any) -> list[Any]:
    """What the feed yields, with the fake time of each yield."""
    out = []
    for line in paced_lines(items, clock=clock, sleep=clock.sleep, **kw):
        out.append((line, clock.now))
    return out


def test_each_event_leaves_when_due_and_at_most_a_tick_late() -> None:
    clock = FakeClock()
    items = timed(0, 0.5, 10, 10.1, 30)
    out = run(clock, items, speed=10.0, stop=lambda: False)
    sent = [(line, at) for line, at in out if line is not None]
    assert [line for line, _ in sent] == [
        b'{"event_id":"e%d","at":%s}' % (i, str(s).encode()) for i, (_, s) in
        enumerate((it[0], it[1]["at"]) for it in items)
    ]  # fmt: skip
    for (_, at), (_, event) in zip(sent, items, strict=True):
        due = 100.0 + event["at"] / 10
        assert due <= at <= due + TICK_S + 1e-9
    # Whatever is pending leaves before every wait: a None comes before each sleep.
    assert clock.slept > 0
    for (line, at), (_, next_at) in itertools.pairwise(out):
        if next_at > at:
            assert line is None


def test_history_before_from_is_sent_at_once() -> None:
    clock = FakeClock()
    out = run(clock, timed(0, 60, 120, 121), speed=1.0, stop=lambda: False, from_us=120 * US_PER_S)
    lines = [(line, at) for line, at in out if line is not None]
    assert [at for _, at in lines[:3]] == [100.0, 100.0, 100.0]
    assert lines[3][1] >= 101.0


def test_until_ends_the_feed_and_stop_ends_it_within_a_tick() -> None:
    clock = FakeClock()
    out = run(clock, timed(0, 1, 2, 3), speed=None, stop=lambda: False, until_us=2 * US_PER_S)
    assert [line is not None for line, _ in out].count(True) == 3
    clock = FakeClock()
    asked = []

    def stop() -> bool:
        asked.append(clock.now)
        return clock.now >= 100.6

    out = run(clock, timed(0, 3600), speed=1.0, stop=stop)
    assert [line for line, _ in out if line is not None] == [b'{"event_id":"e0","at":0}']
    assert clock.now <= 100.6 + TICK_S
