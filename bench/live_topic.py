"""The live topic's size and traffic for a large centre over a whole day (no Kafka needed).

    python -m bench.live_topic [--queues 50] [--channels 6] [--contacts 100000]
                               [--partitions 8] [--publish-ms 250]

A synthetic day: `--contacts` contacts over 24 hours with a daytime peak (twice the average
rate from 08:00 to 18:00), each in one of `--queues` queues on one of `--channels` channels,
waiting an exponential 30 s, 8 % abandoning, the rest handled (talk 4 min, wrap-up 30 s), one
in ten surveyed. The events go through the worker's own segment stage, partitioned as the
workers partition them, a simulated minute at a time; every simulated minute each partition's
publications are made as the worker makes them (`SegmentStage.publications`: the recent part
every time, the day part when it changed). Reported: the largest recent and day parts, the
traffic a busy centre makes with one recent part per partition every `--publish-ms` (every
partition changes in every interval at this rate) plus its day parts, at the busiest hour,
and the CPU a publication costs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

import msgspec
import orjson

from bench.record import record
from pipeline.config import load_settings
from pipeline.core.clock import format_utc, parse_rfc3339
from pipeline.kafka.partitioner import partition_for
from pipeline.stream.stages import AGENTS, CONTACTS, Partitions, SegmentStage

DAY_S = 86400
START = parse_rfc3339("2026-11-23T00:00:00Z")
CHANNELS = ("voice", "chat", "email", "sms", "social", "callback")


def arrival_times(rng: random.Random, contacts: int) -> list[float]:
    """Seconds of the day: twice the average density from 08:00 to 18:00."""
    out = []
    while len(out) < contacts:
        t = rng.uniform(0, DAY_S)
        busy = 8 * 3600 <= t < 18 * 3600
        if rng.random() < (1.0 if busy else 0.5):
            out.append(t)
    return sorted(out)


def day_events(args: argparse.Namespace) -> list[tuple[float, bytes, bytes]]:
    """(seconds of the day, key, event JSON), in time order."""
    rng = random.Random(args.seed)
    events: list[tuple[float, bytes, bytes]] = []
    n = 0

    def add(t: float, key: str, **fields: object) -> None:
        nonlocal n
        n += 1
        line = {"event_id": f"e{n}", "ts": format_utc(START + int(t * 1e6)), **fields}
        events.append((t, key.encode(), orjson.dumps(line)))

    for i, t in enumerate(arrival_times(rng, args.contacts)):
        cid = f"c{i}"
        base = {"contact_id": cid, "queue": f"q{rng.randrange(args.queues):02d}"}
        channel = CHANNELS[rng.randrange(args.channels)]
        add(t, cid, type="contact.offered", channel=channel, customer_id=f"u{i % 9973}", **base)
        wait = rng.expovariate(1 / 30)
        if rng.random() < 0.08:
            add(t + wait, cid, type="contact.abandoned", **base)
            continue
        add(t + wait, cid, type="contact.answered", agent_id=f"a{i % 400}", **base)
        talk = rng.expovariate(1 / 240)
        add(t + wait + talk, cid, type="contact.ended", agent_id=f"a{i % 400}",
            talk_s=round(talk, 3), **base)  # fmt: skip
        add(t + wait + talk + 30, cid, type="contact.wrapup_ended", agent_id=f"a{i % 400}",
            acw_s=30, **base)  # fmt: skip
        if rng.random() < 0.1:
            add(t + wait + talk + 300, cid, type="survey.response", csat=rng.randint(1, 5),
                **base)  # fmt: skip
    events.sort(key=lambda e: e[0])
    return events


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--channels", type=int, default=6, choices=range(1, 7))
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--publish-ms", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    events = day_events(args)
    settings = msgspec.structs.replace(load_settings(env={}), partitions=args.partitions)
    stage = SegmentStage(settings, Partitions.uniform(args.partitions), "cc.events")
    empty = {CONTACTS: lambda: (), AGENTS: lambda: ()}
    for p in range(args.partitions):
        stage.assigned(p, empty)

    offsets: dict[int, int] = defaultdict(int)
    # Per hour: largest recent part, largest day part, recent bytes per round over all
    # partitions (largest), day bytes published in the hour.
    hours: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    publish_cpu = 0.0
    publications = 0
    i = 0
    for minute in range(DAY_S // 60):
        end = (minute + 1) * 60
        batches: dict[int, list[bytes]] = defaultdict(list)
        while i < len(events) and events[i][0] < end:
            _, key, line = events[i]
            batches[partition_for(key, args.partitions)].append(line)
            i += 1
        for p, lines in batches.items():
            stage.process(p, [(b"[" + b",".join(lines) + b"]", offsets[p])])
            offsets[p] += 1
        hour = hours[minute // 60]
        round_bytes = 0
        for p in range(args.partitions):
            started = time.process_time()
            published = stage.publications(p, 0)
            publish_cpu += time.process_time() - started
            publications += 1
            for key, value in published:
                if key.endswith(b"/day"):
                    hour[1] = max(hour[1], len(value))
                    hour[3] += len(value)
                else:
                    hour[0] = max(hour[0], len(value))
                    round_bytes += len(value)
        hour[2] = max(hour[2], round_bytes)

    busiest = max(hours, key=lambda h: hours[h][2])
    recent, day, round_bytes, day_bytes = hours[busiest]
    per_s = 1000 / args.publish_ms
    traffic = round_bytes * per_s + day_bytes / 3600
    record(
        "live topic, a large centre over a day",
        f"{args.queues} queues x {args.channels} channels, {args.contacts:,} contacts/day, "
        f"{args.partitions} partitions; at the busiest hour ({busiest}:00): recent parts up "
        f"to {recent / 1024:,.0f} KiB, day parts up to {day / 1024:,.0f} KiB (largest of the "
        f"day {max(h[1] for h in hours.values()) / 1024:,.0f} KiB); a busy centre publishing "
        f"every {args.publish_ms} ms puts {traffic / 1e6:,.2f} MB/s on the live topic "
        f"({day_bytes / 3600 / 1e3:,.1f} kB/s of it day parts); "
        f"{publish_cpu / publications * 1e3:,.2f} ms of CPU a partition's publication "
        f"({len(events):,} events)",
        packages=("msgspec",),
    )


if __name__ == "__main__":
    main()
