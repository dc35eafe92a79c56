"""Staffing advice for a whole centre in one refresh: Erlang A and C for 300 groups.

    python -m bench.erlang [--groups 300] [--refreshes 50] [--seed 1]

What the live view will do every refresh for each queue/channel group: `advise`, the agents
needed for its service-level target and the service level projected at the agents staffed,
starting from the need of the last refresh. The groups are a plausible mix: loads lognormal
around 5 Erlangs (0.1 to a few hundred), handle times of 2 to 10 minutes, voice (80 % in
20 s, short abandons under 5 s) and chat (80 % in 60 s), four in five with a patience estimate
(Erlang A, patience of half a minute to 10 minutes), the rest without (Erlang C), staffed
within a few agents of the need. Each refresh moves every group's load by up to 5 %, as
trailing rates do, so nothing is answered from a cache. Goal: under 20 ms a refresh.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass

from bench.record import record
from pipeline.core.erlang import ServiceTarget, Traffic, advise

VOICE = ServiceTarget(0.8, 20, short_abandon_s=5)
CHAT = ServiceTarget(0.8, 60)


@dataclass
class Group:
    load: float
    aht_s: float
    patience_s: float | None
    target: ServiceTarget
    staffed: int
    needed: int | None = None  # at the last refresh

    def traffic(self, load: float) -> Traffic:
        return Traffic(load / self.aht_s, self.aht_s, self.patience_s)


def groups(count: int, rng: random.Random) -> list[Group]:
    made = []
    for _ in range(count):
        load = rng.lognormvariate(1.6, 1.2)
        aht = rng.uniform(120, 600)
        patience = rng.uniform(30, 600) if rng.random() < 0.8 else None
        target = VOICE if rng.random() < 0.7 else CHAT
        need = advise(Traffic(load / aht, aht, patience), target, 1).required.agents
        staffed = max(1, need + rng.randint(-4, 3))  # a few short or to spare
        made.append(Group(load, aht, patience, target, staffed))
    return made


def refresh(centre: list[Group], rng: random.Random) -> int:
    """One refresh: every group's need and projected service level; returns the agents."""
    total = 0
    for group in centre:
        traffic = group.traffic(group.load * rng.uniform(0.95, 1.05))
        advice = advise(traffic, group.target, group.staffed, group.needed)
        group.needed = advice.required.agents
        total += group.needed
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--refreshes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    centre = groups(args.groups, rng)
    refresh(centre, rng)  # warm up
    took = []
    agents = 0
    for _ in range(args.refreshes):
        start = time.perf_counter()
        agents = refresh(centre, rng)
        took.append(time.perf_counter() - start)
    took.sort()
    median = statistics.median(took) * 1000
    p95 = took[min(len(took) - 1, round(0.95 * len(took)))] * 1000
    erlang_a = sum(g.patience_s is not None for g in centre)
    loads = sorted(g.load for g in centre)
    record(
        f"staffing advice, {args.groups} groups a refresh",
        f"median {median:.1f} ms, p95 {p95:.1f} ms a refresh (goal < 20 ms): required agents "
        f"+ projected service level per group, {erlang_a} Erlang A and "
        f"{args.groups - erlang_a} Erlang C, loads {loads[0]:.1f}-{loads[-1]:.0f} Erlangs, "
        f"{agents:,} agents needed in all; {args.refreshes} refreshes",
        packages=(),
    )


if __name__ == "__main__":
    main()
