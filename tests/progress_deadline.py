"""A deadline that restarts while the watched thing moves: the patience of every settle wait.

On a loaded machine a healthy group may take minutes to finish what takes seconds alone, so
a fixed deadline fails tests that were only slow. A stall, though, is a state that stops
changing. A wait therefore gives up only after `quiet_s` without any change in what it
watches (committed offsets, rows, a page), however long the whole wait has taken:

    patience = ProgressDeadline(quiet_s=60)
    while not done():
        if patience.expired(progress_now()):
            fail(...)
        ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class ProgressDeadline:
    """Expired once the state passed to `expired` has not changed for `quiet_s`."""

    def __init__(self, quiet_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_s = quiet_s
        self._clock = clock
        self.started = clock()
        self._last_change = self.started
        self._seen: Hashable | None = None

    def expired(self, state: Hashable) -> bool:
        """Note the state now; True once it has stood still for `quiet_s`."""
        now = self._clock()
        if state != self._seen:
            self._seen, self._last_change = state, now
        return now - self._last_change > self.quiet_s

    @property
    def waited_s(self) -> float:
        return self._clock() - self.started

    @property
    def still_s(self) -> float:
        """How long the state has stood still."""
        return self._clock() - self._last_change

    def describe(self) -> str:
        return (
            f"nothing moved for {self.still_s:.0f} s (the wait gives up after "
            f"{self.quiet_s:.0f} s without progress; {self.waited_s:.0f} s in all)"
        )
