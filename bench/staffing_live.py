"""Live staffing advice for a whole centre in one refresh, from the live tiles.

    python -m bench.staffing_live [--queues 100] [--channels 3] [--refreshes 50] [--seed 1]

What a reader of the live view does at every refresh (`LiveStaffing.advise`, the wallboard's
and the metrics' staffing): per queue/channel group, the trailing demand from its tile (rate,
AHT, patience from abandons and exposure), the agents needed (`erlang.advise`, starting from
the last refresh's answer), the queue's staff shared among its channels by their need, and the
service level projected at each share. `bench.erlang` times `advise` alone; this adds
everything around it, over bench.erlang's mix of groups (loads lognormal around 5 Erlangs,
voice and chat targets, four in five with a patience: here, with enough abandons for an
estimate), three to a queue, each queue staffed with its channels' agents. Each refresh moves every
group's arrivals by up to 5 %, as trailing rates do. Goal: 300 groups in under 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from dataclasses import dataclass

from bench.erlang import Group, groups
from bench.record import record
from pipeline.core.clock import US_PER_S
from pipeline.core.intervals import COUNT_FIELDS, zero_counts
from pipeline.core.live import WINDOW_NAMES, QueueFigures, WindowFigures
from pipeline.core.staffing import LiveStaffing

NOW_US = 1_795_000_000 * US_PER_S + 30 * US_PER_S  # half a minute past a minute
ELAPSED_S = 870  # the 15-minute window so far, at half a minute past
MIN_ABANDONS = 20
_I = {name: COUNT_FIELDS.index(name) for name in COUNT_FIELDS}


@dataclass
class Channel:
    queue: str
    channel: str
    mix: Group  # load, handle time, patience, target (bench.erlang's mix)

    def tile(self, load: float) -> QueueFigures:
        """The channel's tile as the live view would give it at this load."""
        aht, patience = self.mix.aht_s, self.mix.patience_s
        rate = load / aht
        recent, hour = zero_counts(), zero_counts()
        recent[_I["offered"]] = max(1, round(rate * ELAPSED_S))
        handled = max(1, round(rate * 3600))
        hour[_I["handled"]] = handled
        hour[_I["handle_sum_us"]] = round(handled * aht * US_PER_S)
        # Enough abandons for a patience estimate where the mix has one, too few elsewhere.
        abandons = MIN_ABANDONS + 5 if patience is not None else 3
        hour[_I["abandoned"]] = abandons
        hour[_I["wait_abandoned_sum_us"]] = round((patience or 3600) * abandons * US_PER_S)
        windows = {name: WindowFigures(NOW_US, tuple(zero_counts()), {}) for name in WINDOW_NAMES}
        windows["15m"] = WindowFigures(NOW_US - ELAPSED_S * US_PER_S, tuple(recent), {})
        windows["60m"] = WindowFigures(NOW_US - 3570 * US_PER_S, tuple(hour), {})
        return QueueFigures("default", self.queue, self.channel, 0, None, None, {}, windows)


def centre(queues: int, channels: int, rng: random.Random) -> tuple[list[Channel], dict[str, int]]:
    """The groups (bench.erlang's mix), and each queue's agents staffed: its channels'."""
    mix = groups(queues * channels, rng)
    made = [Channel(f"q{i // channels}", f"ch{i % channels}", group) for i, group in enumerate(mix)]
    staff: dict[str, int] = {}
    for channel in made:
        staff[channel.queue] = staff.get(channel.queue, 0) + channel.mix.staffed
    return made, staff


def tiles(channels: list[Channel], staff: dict[str, int], rng: random.Random) -> list[QueueFigures]:
    out = [
        QueueFigures("default", queue, None, 0, None, None, {"busy": agents}, {})
        for queue, agents in staff.items()
    ]
    out += [c.tile(c.mix.load * rng.uniform(0.95, 1.05)) for c in channels]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--refreshes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    channels, staff = centre(args.queues, args.channels, rng)
    targets = {(c.queue, c.channel): c.mix.target for c in channels}
    advisor = LiveStaffing(lambda _t, q, c: targets[(q, c)], MIN_ABANDONS)
    advisor.advise(tiles(channels, staff, rng), NOW_US)  # warm up: the first refresh's answers
    took, cpu = [], []
    needed = 0
    models: set[str | None] = set()
    for _ in range(args.refreshes):
        view = tiles(channels, staff, rng)
        start, start_cpu = time.perf_counter(), time.process_time()
        advice = advisor.advise(view, NOW_US)
        took.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        needed = sum(queue.required or 0 for queue in advice)
        models = {c.model for queue in advice for c in queue.channels}
    took.sort()
    median = statistics.median(took) * 1000
    p95 = took[min(len(took) - 1, round(0.95 * len(took)))] * 1000
    erlang_a = sum(c.mix.patience_s is not None for c in channels)
    record(
        f"live staffing, {len(channels)} queue/channel groups a refresh",
        f"median {median:.1f} ms, p95 {p95:.1f} ms a refresh (goal < 20 ms), median CPU "
        f"{statistics.median(cpu) * 1000:.1f} ms (wall time waits for the CPU on a loaded "
        f"machine: load average {os.getloadavg()[0]:.1f}): demand from "
        f"the tiles, required agents, staff shared by need and projected service level, "
        f"{args.queues} queues of {args.channels} channels, {erlang_a} Erlang A and "
        f"{len(channels) - erlang_a} Erlang C ({', '.join(sorted(map(str, models)))}), "
        f"{needed:,} agents needed in all; {args.refreshes} refreshes",
        packages=(),
    )


if __name__ == "__main__":
    main()
