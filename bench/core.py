"""Decode + validate alone, and the KPI core alone, in events/s on one core (one run).

    python -m bench.core [--events 1000000]

Both read the same simulated events from memory, so the figures exclude file reading. The
core is measured on decoded events: `apply` in batches of 4096, then `report()`.
"""

from __future__ import annotations

import argparse
import time

from bench.events import lines, simulated
from bench.record import record
from pipeline.config import load_settings
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.runtime import tune_gc


def main() -> None:
    tune_gc()  # as every ccpipe command does
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    data = lines(simulated(max(1000, args.events // 7 + 1)), args.events)
    n = len(data)

    start = time.perf_counter()
    decoded = []
    for line in data:
        events, _ = decode_message(line)
        decoded.extend(events)
    decode_s = time.perf_counter() - start

    batch = b"[" + b",".join(data[:500]) + b"]"
    start = time.perf_counter()
    for _ in range(n // 500):
        decode_message(batch)
    batch_s = time.perf_counter() - start

    state = KpiState(load_settings(env={}).queue)
    start = time.perf_counter()
    for i in range(0, len(decoded), 4096):
        state.apply(decoded[i : i + 4096])
    rows = state.report()
    core_s = time.perf_counter() - start

    record(
        "decode+validate, one event per line",
        f"{n / decode_s:,.0f} events/s ({n:,} events, {decode_s:.2f} s)",
    )
    record(
        "decode+validate, batches of 500",
        f"{(n // 500) * 500 / batch_s:,.0f} events/s",
    )
    record(
        "KPI core (apply + report)",
        f"{len(decoded) / core_s:,.0f} events/s ({len(rows):,} interval rows, {core_s:.2f} s)",
    )


if __name__ == "__main__":
    main()
