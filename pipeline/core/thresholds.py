"""A queue's thresholds: the contract's defaults per channel, and the values the core reads.

The contract (config per queue) sets these defaults; the settings (pipeline/config.py) may
override them per queue and per tenant's queue, and the simulator's survey scores and
staffing read them too. The core never sees the settings: it is handed a `QueueLookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.core.clock import US_PER_S

# Seconds. A channel missing from DEFAULT_SHORT_ABANDON_S has no short abandons (0).
DEFAULT_SL_THRESHOLD_S: Mapping[str, float] = {
    "voice": 20,
    "chat": 60,
    "callback": 3600,
    "sms": 3600,
    "social": 3600,
    "email": 86400,
}
DEFAULT_SHORT_ABANDON_S: Mapping[str, float] = {"voice": 5}
DEFAULT_FCR_WINDOW_S = 604800  # seven days


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue's thresholds for one channel, in integer microseconds, and the name of the
    settings version they come from (recorded with every interval row computed with them)."""

    sl_threshold_us: int
    short_abandon_us: int
    fcr_window_us: int
    version: str = ""

    @classmethod
    def from_seconds(
        cls, sl_threshold_s: float, short_abandon_s: float, fcr_window_s: float, version: str = ""
    ) -> QueueConfig:
        return cls(
            sl_threshold_us=round(sl_threshold_s * US_PER_S),
            short_abandon_us=round(short_abandon_s * US_PER_S),
            fcr_window_us=round(fcr_window_s * US_PER_S),
            version=version,
        )


# (tenant, queue, channel, at_us) -> that queue's thresholds on that channel in force at
# `at_us`. The core passes the start of the interval a segment's offer falls in, so every
# segment of an interval is counted with the same version of the settings.
QueueLookup = Callable[[str, str, str, int], QueueConfig]
# The `at_us` of a caller without a time (live staffing advice): every dated version is in
# force, as `Settings.queue(..., None)` gives them. A version dated in the future applies
# there early.
LATEST_US = 2**62


def cached_lookup(lookup: QueueLookup) -> QueueLookup:
    """The lookup, asked once per (tenant, queue, channel, interval): callers pass interval
    starts, so the cache grows with the intervals, like the interval store."""
    cache: dict[tuple[str, str, str, int], QueueConfig] = {}

    def cached(tenant: str, queue: str, channel: str, at_us: int) -> QueueConfig:
        key = (tenant, queue, channel, at_us)
        config = cache.get(key)
        if config is None:
            config = cache[key] = lookup(tenant, queue, channel, at_us)
        return config

    return cached
