"""Process-wide settings for ccpipe's long-running, state-heavy processes."""

from __future__ import annotations

import gc

# CPython runs its cyclic collector every 700 container allocations by default, and each
# older-generation pass walks every live object. With millions of segments held, that scan
# dominated: decode + validate went from 143k to 333k events/s and the KPI core from 100k to
# 144k events/s with the thresholds below (bench.core, same run). The state has no cycles
# that need prompt collection; collections still happen, just less often.
GC_THRESHOLDS = (200_000, 50, 1000)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
