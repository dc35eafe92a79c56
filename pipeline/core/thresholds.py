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
    """A queue's thresholds for one channel, in integer microseconds."""

    sl_threshold_us: int
    short_abandon_us: int
    fcr_window_us: int

    @classmethod
    def from_seconds(
        cls, sl_threshold_s: float, short_abandon_s: float, fcr_window_s: float
    ) -> QueueConfig:
        return cls(
            sl_threshold_us=round(sl_threshold_s * US_PER_S),
            short_abandon_us=round(short_abandon_s * US_PER_S),
            fcr_window_us=round(fcr_window_s * US_PER_S),
        )


# (tenant, queue, channel) -> that queue's thresholds on that channel.
QueueLookup = Callable[[str, str, str], QueueConfig]
