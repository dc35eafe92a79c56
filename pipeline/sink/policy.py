"""When to write a batch, and how long to wait before retrying one: two small frozen values.

Like Arroyo's commit policy (`arroyo/commit.py`), they hold no state and read no clock, so
the loop asks them with its own readings and tests ask them with numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    """Write when a table's batch holds `rows` rows, or when the oldest message consumed
    since the last write is `seconds` old, whichever comes first. The sink takes both from
    the settings (`sink_batch_rows`, `sink_batch_seconds`), where their defaults are."""

    rows: int
    seconds: float

    def __post_init__(self) -> None:
        if self.rows < 1:
            raise ValueError(f"a batch needs at least 1 row, not {self.rows}")
        if self.seconds <= 0:
            raise ValueError(f"the batch time must be > 0 s, not {self.seconds}")

    def due(self, largest_batch: int, messages: int, oldest_age_s: float) -> bool:
        """`largest_batch`: rows in the fullest table batch; `messages`: messages consumed
        since the last write (a message may yield no row, and still needs its commit)."""
        if largest_batch >= self.rows:
            return True
        return messages > 0 and oldest_age_s >= self.seconds

    def time_left(self, messages: int, oldest_age_s: float) -> float:
        """How long the loop may wait for more messages before a write falls due."""
        if messages == 0:
            return self.seconds
        return max(0.0, self.seconds - oldest_age_s)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with a cap and "equal jitter": attempt n waits between half and
    all of min(cap, first * factor**n), so many sinks do not retry in step."""

    first_s: float = 0.5
    cap_s: float = 30.0
    factor: float = 2.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.first_s <= 0 or self.cap_s < self.first_s or self.factor < 1:
            raise ValueError("backoff needs 0 < first_s <= cap_s and factor >= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0 = the first failure)."""
        ceiling = min(self.cap_s, self.first_s * self.factor ** min(attempt, 64))
        if not self.jitter:
            return ceiling
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


DEFAULT_BACKOFF = Backoff()
