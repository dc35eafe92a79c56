"""The worker's floor: the three stream stages alone, no Kafka and no Faust.

    python -m bench.stages [--events 300000] [--partitions 4] [--batch 1000]

The events are keyed and batched as `ccpipe produce` does; each stage then runs over its
input in batches of `--batch` messages per partition, as the agents call it, and its
output (FCR facts, interval partials) is routed to the next stage's partitions. Table writes
and sends are counted, not sent; CPU time, not wall time, is reported. What this costs per
event is what no tuning of the Kafka side can remove; the worker's CPU per event
(bench.worker_throughput) minus this is the cost of Faust, aiokafka and the broker round trips.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterable

from bench.events import simulated
from bench.kafka_env import prepared
from bench.record import record
from pipeline.config import load_settings
from pipeline.stream import stages
from pipeline.stream.stages import FcrStage, IntervalStage, Output, SegmentStage, Topology

Inbox = dict[int, list[tuple[bytes, int]]]


def _none() -> Iterable[tuple[bytes, bytes]]:
    return ()


def _route(out: Output, inboxes: dict[str, Inbox], produced: list[int]) -> None:
    produced[0] += len(out.writes) + len(out.sends)
    for send in out.sends:
        inbox = inboxes.get(send.topic)
        if inbox is not None and send.partition is not None:
            box = inbox[send.partition]
            box.append((send.value, len(box)))


def _batches(inbox: Inbox, size: int) -> Iterable[tuple[int, list[tuple[bytes, int]]]]:
    for partition, messages in sorted(inbox.items()):
        for i in range(0, len(messages), size):
            yield partition, messages[i : i + size]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--batch",
        type=int,
        default=20,
        help="messages per stage call (20: about what a worker's batch holds when it keeps up)",
    )
    args = parser.parse_args()
    path = simulated(max(1000, args.events * 100 // 700))
    events = sum(1 for _ in path.open("rb"))
    settings = load_settings(env={})
    topology = Topology.uniform(args.partitions)
    source: Inbox = defaultdict(list)
    for _, value, partition in prepared(path, args.partitions):
        assert partition is not None
        source[partition].append((value, len(source[partition])))

    fcr_in: Inbox = defaultdict(list)
    partials_in: Inbox = defaultdict(list)
    produced = [0]
    timings: dict[str, float] = {}

    segment = SegmentStage(settings, topology, "events")
    start = time.process_time()
    for partition, batch in _batches(source, args.batch):
        state = segment.assigned(partition, _none, _none)
        out = segment.process(partition, state, batch)
        _route(out, {stages.FCR: fcr_in, stages.PARTIALS: partials_in}, produced)
    timings["segments"] = time.process_time() - start

    fcr = FcrStage(topology)
    start = time.process_time()
    for partition, batch in _batches(fcr_in, args.batch):
        tracker = fcr.assigned(partition, _none, _none)
        _route(fcr.process(partition, tracker, batch), {stages.PARTIALS: partials_in}, produced)
    timings["fcr"] = time.process_time() - start

    intervals = IntervalStage()
    start = time.process_time()
    for partition, batch in _batches(partials_in, args.batch):
        held = intervals.assigned(partition, _none)
        _route(intervals.process(held, batch), {}, produced)
    timings["intervals"] = time.process_time() - start

    total = sum(timings.values())
    parts = ", ".join(f"{name} {1e6 * s / events:.1f} us" for name, s in timings.items())
    record(
        "stream stages alone (no Kafka, no Faust)",
        f"{events / total:,.0f} events/s, {1e6 * total / events:.1f} us an event ({parts}); "
        f"{produced[0] / events:.2f} table writes + sends an event "
        f"({events:,} events, batches of {args.batch} messages)",
        packages=("msgspec", "orjson", "msgpack"),
    )


if __name__ == "__main__":
    main()
