"""Live staffing advice for a whole centre in one refresh, from the live tiles.

    python -m bench.staffing_live [--queues 100] [--channels 3] [--refreshes 50] [--seed 1]

What a reader of the live view does at every refresh (`LiveStaffing.advise`, the wallboard's
and the metrics' staffing): per queue/channel group, the trailing demand from its tile (rate,
AHT, patience from abandons and exposure), the agents needed (`erlang.advise`, starting from
the last refresh's answer), the queue's staff shared among its channels by their need, and the
service level projected at each share. `bench.erlang` times `advise` alone; this adds
everything around it. The groups are the same plausible mix: loads lognormal around 5
Erlangs, handle times of 2 to 10 minutes, voice-like (80 % in 20 s, short abandons under 5 s)
and chat-like (80 % in 60 s) targets, four in five with enough abandons for a patience
estimate (Erlang A), staffed within a few agents of the need. Each refresh moves every
group's arrivals by up to 5 %, as trailing rates do. Goal: 300 groups in under 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass

from bench.record import record
from pipeline.core.clock import US_PER_S
from pipeline.core.erlang import ServiceTarget, Traffic, advise
from pipeline.core.intervals import COUNT_FIELDS, zero_counts
from pipeline.core.live import WINDOW_NAMES, QueueFigures, WindowFigures
from pipeline.core.staffing import LiveStaffing

VOICE = ServiceTarget(0.8, 20, short_abandon_s=5)
CHAT = ServiceTarget(0.8, 60)
NOW_US = 1_795_000_000 * US_PER_S + 30 * US_PER_S  # half a minute past a minute
ELAPSED_S = 870  # the 15-minute window so far, at half a minute past
MIN_ABANDONS = 20
_I = {name: COUNT_FIELDS.index(name) for name in COUNT_FIELDS}


@dataclass
class Group:
    queue: str
    channel: str
    load: float
    aht_s: float
    patience_s: float | None
    target: ServiceTarget

    def tile(self, load: float) -> QueueFigures:
        """The channel's tile as the live view would give it at this load."""
        rate = load / self.aht_s
        recent, hour = zero_counts(), zero_counts()
        recent[_I["offered"]] = max(1, round(rate * ELAPSED_S))
        handled = max(1, round(rate * 3600))
        hour[_I["handled"]] = handled
        hour[_I["handle_sum_us"]] = round(handled * self.aht_s * US_PER_S)
        abandons = MIN_ABANDONS + 5 if self.patience_s is not None else 3
        hour[_I["abandoned"]] = abandons
        exposure_s = (self.patience_s or 600 * 3600) * abandons
        hour[_I["wait_abandoned_sum_us"]] = round(exposure_s * US_PER_S)
        windows = {name: WindowFigures(NOW_US, tuple(zero_counts()), {}) for name in WINDOW_NAMES}
        windows["15m"] = WindowFigures(NOW_US - ELAPSED_S * US_PER_S, tuple(recent), {})
        windows["60m"] = WindowFigures(NOW_US - 3570 * US_PER_S, tuple(hour), {})
        return QueueFigures("default", self.queue, self.channel, 0, None, None, {}, windows)


def centre(queues: int, channels: int, rng: random.Random) -> tuple[list[Group], dict[str, int]]:
    """The groups, and each queue's agents staffed (within a few of the need)."""
    groups, staff = [], {}
    for q in range(queues):
        need = 0
        for c in range(channels):
            load = rng.lognormvariate(1.6, 1.2)
            aht = rng.uniform(120, 600)
            patience = rng.uniform(30, 600) if rng.random() < 0.8 else None
            target = VOICE if rng.random() < 0.7 else CHAT
            groups.append(Group(f"q{q}", f"ch{c}", load, aht, patience, target))
            need += advise(Traffic(load / aht, aht, patience), target, 1).required.agents
        staff[f"q{q}"] = max(1, need + rng.randint(-4, 3))
    return groups, staff


def tiles(groups: list[Group], staff: dict[str, int], rng: random.Random) -> list[QueueFigures]:
    out = [
        QueueFigures("default", queue, None, 0, None, None, {"busy": agents}, {})
        for queue, agents in staff.items()
    ]
    out += [g.tile(g.load * rng.uniform(0.95, 1.05)) for g in groups]
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
    groups, staff = centre(args.queues, args.channels, rng)
    targets = {(g.queue, g.channel): g.target for g in groups}
    advisor = LiveStaffing(lambda _t, q, c: targets[(q, c)], MIN_ABANDONS)
    advisor.advise(tiles(groups, staff, rng), NOW_US)  # warm up: the first refresh's answers
    took = []
    needed = 0
    models: set[str | None] = set()
    for _ in range(args.refreshes):
        view = tiles(groups, staff, rng)
        start = time.perf_counter()
        advice = advisor.advise(view, NOW_US)
        took.append(time.perf_counter() - start)
        needed = sum(queue.required or 0 for queue in advice)
        models = {c.model for queue in advice for c in queue.channels}
    took.sort()
    median = statistics.median(took) * 1000
    p95 = took[min(len(took) - 1, round(0.95 * len(took)))] * 1000
    erlang_a = sum(g.patience_s is not None for g in groups)
    record(
        f"live staffing, {len(groups)} queue/channel groups a refresh",
        f"median {median:.1f} ms, p95 {p95:.1f} ms a refresh (goal < 20 ms): demand from "
        f"the tiles, required agents, staff shared by need and projected service level, "
        f"{args.queues} queues of {args.channels} channels, {erlang_a} Erlang A and "
        f"{len(groups) - erlang_a} Erlang C ({', '.join(sorted(map(str, models)))}), "
        f"{needed:,} agents needed in all; {args.refreshes} refreshes",
        packages=(),
    )


if __name__ == "__main__":
    main()
