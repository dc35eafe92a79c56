"""When contacts arrive: the intraday profile and the daily volume.

Arrivals are a non-homogeneous Poisson process over the open hours. Given a day's count, the
arrival times of such a process are independent draws from the normalised intensity, so a day
is drawn as one sorted sample: one `choices` call over 5-minute bins, uniform within each bin.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

BIN_MS = 5 * 60 * 1000
_MS_PER_HOUR = 3600 * 1000


class IntradayProfile:
    """Arrival intensity over one opening, from one weight per hour."""

    def __init__(self, hourly: tuple[float, ...]) -> None:
        if not hourly or min(hourly) < 0 or sum(hourly) <= 0:
            raise ValueError("the hourly profile needs non-negative weights, some positive")
        bins_per_hour = _MS_PER_HOUR // BIN_MS
        n = len(hourly) * bins_per_hour
        # Linear between hour midpoints, flat before the first and after the last midpoint,
        # so the intensity has no steps at the hour.
        weights = []
        for b in range(n):
            t = (b + 0.5) / bins_per_hour - 0.5
            i = min(max(int(t), 0), len(hourly) - 1)
            j = min(i + 1, len(hourly) - 1)
            frac = min(max(t - i, 0.0), 1.0)
            weights.append(hourly[i] + (hourly[j] - hourly[i]) * frac)
        self.bins = n
        self.open_ms = n * BIN_MS
        self._weights = weights
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]
        self._index = range(n)

    def sample_ms(self, rng: random.Random, k: int) -> list[int]:
        """`k` sorted arrival offsets, in milliseconds from opening."""
        bins = rng.choices(self._index, cum_weights=self._cum, k=k)
        offsets = [b * BIN_MS + int(rng.random() * BIN_MS) for b in bins]
        offsets.sort()
        return offsets

    def sample_one_ms(self, rng: random.Random) -> int:
        b = bisect_right(self._cum, rng.random() * self._total)
        return min(b, self.bins - 1) * BIN_MS + int(rng.random() * BIN_MS)

    def share(self, start_ms: int, end_ms: int) -> float:
        """Share of a day's arrivals between two offsets (on bin boundaries)."""
        lo = max(start_ms // BIN_MS, 0)
        hi = min(end_ms // BIN_MS, self.bins)
        return sum(self._weights[lo:hi]) / self._total


def day_targets(
    contacts: int, contacts_per_day: int, rng: random.Random, sigma: float
) -> tuple[float, list[int]]:
    """The forecast volume of a day, and the arrivals of each day, `contacts` in all.

    Up to a full day's volume the run is one day at that smaller volume (a smaller centre,
    staffed for it), so even a short run has a whole day's shape: its morning, peak and
    evening. Beyond, days of about `contacts_per_day` follow one another, each varied a
    little (`sigma`), summing exactly to `contacts`.
    """
    days = max(1, -(-contacts // max(contacts_per_day, 1)))
    volume = contacts / days
    if days == 1:
        return volume, [contacts]
    weights = [max(0.5, rng.gauss(1.0, sigma)) for _ in range(days)]
    exact = [contacts * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(days), key=lambda d: (counts[d] - exact[d], d))
    for d in by_remainder[: contacts - sum(counts)]:
        counts[d] += 1
    return volume, counts
