"""Event-to-wallboard latency of the whole centre's view: two workers, one `ccpipe wallboard`.

    python -m bench.live_latency [--rate 2000] [--seconds 45] [--partitions 4]

1. Two `ccpipe worker`s (one consumer group) and one `ccpipe wallboard` start on fresh topics
   holding a few hundred warm-up offers; the clock starts once the wallboard's view shows them
   all (start-up excluded).
2. A producer thread sends one `contact.offered` per Kafka message at a steady rate (each a new
   contact, stamped with its planned send time, so none is stale and none leaves the queue),
   keyed and partitioned as `ccpipe produce` does; event k arrives in Kafka at its broker ack.
3. Two server-sent-event clients follow `/live/stream`, one on the wallboard process, one on
   the first worker, and note when each message came and how many contacts it shows waiting
   (the sum of `in_queue` over queues: every offer sent so far that the view has).
4. Event k is on a wall screen when a message first shows k or more waiting (less the
   warm-up); its latency is that message's arrival minus k's ack: the whole path, broker,
   worker batch, publication, live topic, merge and push. Exact if events are processed in the
   order they arrived (they are per partition; across partitions nearly so).
"""

from __future__ import annotations

import argparse
import http.client
import random
import tempfile
import threading
import time
from pathlib import Path

import msgspec
import orjson
from prometheus_client.parser import text_string_to_metric_families

from bench.kafka_env import broker, fresh_settings, write_config
from bench.latency import keyed, produce_steadily, quantile, reflected_at
from bench.record import record
from bench.workers import cpu_seconds, free_port, start_wallboard, start_worker, stop
from pipeline.config import Settings
from pipeline.core.catalogue import CONSUMER_LAG
from pipeline.core.clock import format_utc
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.connection import BrokerConnection

QUEUES = ("billing", "sales", "support")


def contacts(count: int, first_us: int, rate: float, prefix: str, waiting: int) -> list[bytes]:
    """`count` contacts as a steady stream at `rate` events a second from `first_us`: each
    offered, answered `waiting` offers later and ended `waiting` offers after that, so about
    `waiting` contacts wait and as many are served at any time, as on a real floor (a view of
    ever more waiting callers would measure the size of the queue, not the pipeline)."""
    rng = random.Random(7)
    queue = [rng.choice(QUEUES) for _ in range(count)]
    out: list[dict[str, str]] = []
    for step in range(count + 2 * waiting):
        if step < count:
            out.append({"type": "contact.offered", "channel": "voice", "n": str(step)})
        if 0 <= step - waiting < count:
            out.append({"type": "contact.answered", "agent_id": f"agent{step % 97}",
                        "n": str(step - waiting)})  # fmt: skip
        if 0 <= step - 2 * waiting < count:
            out.append({"type": "contact.ended", "n": str(step - 2 * waiting)})
    lines = []
    for j, event in enumerate(out):
        n = int(event.pop("n"))
        event.update(
            event_id=f"{prefix}{n}-{event['type']}",
            ts=format_utc(first_us + int(j * 1e6 / rate)),
            contact_id=f"{prefix}{n}",
            queue=queue[n],
        )
        lines.append(orjson.dumps(event))
    return lines


def offered(lines: list[bytes]) -> list[int]:
    """The indices of the offers among `lines`."""
    return [i for i, line in enumerate(lines) if b'"contact.offered"' in line]


class Follower(threading.Thread):
    """Follows /live/stream: (arrival time, offers shown) of every message. An offer shows as
    a contact waiting, then as one answered (the 15-minute volume): their sum counts every
    offer the view has."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.times: list[float] = []
        self.counts: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", "/live/stream")
                response = connection.getresponse()
                while not self.stopped.is_set():
                    line = response.fp.readline()
                    if not line:
                        break
                    if line.startswith(b"data: "):
                        at = time.monotonic()
                        state = orjson.loads(line[6:])
                        self.times.append(at)
                        self.counts.append(
                            sum(q["figures"]["in_queue"] + q["volume_15m"] for q in state["queues"])
                        )
            except (OSError, http.client.HTTPException):
                self.stopped.wait(0.2)  # the server is not up yet: try again shortly

    def wait_for(self, count: int, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        while not self.counts or self.counts[-1] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {self.port}: {self.counts[-1:]} of {count} after "
                                   f"{deadline_s} s")  # fmt: skip
            time.sleep(0.05)  # polling step of a wait with a deadline


def owned(port: int, topic: str) -> set[int]:
    """The events partitions a worker owns now, from its consumer-lag gauge."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/metrics")
        body = connection.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return set()
    found = set()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == CONSUMER_LAG.name and sample.labels.get("topic") == topic:
                found.add(int(sample.labels["partition"]))
    return found


def wait_shared(ports: list[int], topic: str, partitions: int, deadline_s: float) -> None:
    """Until every worker owns some of the events partitions and together all of them."""
    deadline = time.monotonic() + deadline_s
    while True:
        shares = [owned(port, topic) for port in ports]
        if all(shares) and set().union(*shares) == set(range(partitions)):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the workers never shared the partitions: {shares}")
        time.sleep(0.2)  # polling step of a wait with a deadline


def create_topics(settings: Settings) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**BrokerConnection.from_settings(settings).kafka_python_kwargs())
    try:
        ensure_topics(admin, pipeline_topics(settings))
    finally:
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--warm", type=int, default=400)
    parser.add_argument("--waiting", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="keep the processes' logs and state here")
    parser.add_argument("--dump", type=Path, help="write each offer's ack time and latency (CSV)")
    args = parser.parse_args()
    with broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = fresh_settings(bootstrap, args.partitions, work / "state")
        create_topics(settings)
        processes = []
        try:
            ports = []
            for n in (1, 2):
                port = free_port()
                ports.append(port)
                config = write_config(
                    fresh_state(settings, work / f"state{n}"), work / f"worker{n}.yaml", port
                )
                processes.append(start_worker(config, work / f"worker{n}.log"))
            board_port = free_port()
            board = start_wallboard(work / "worker1.yaml", board_port, work / "wallboard.log")
            processes.append(board)
            followers = [Follower(board_port), Follower(ports[0])]
            for follower in followers:
                follower.start()
            now_us = int(time.time() * 1e6)
            warm = keyed(contacts(args.warm, now_us, args.rate, "w", args.waiting), args.partitions)
            produce_steadily(bootstrap, settings.events_topic, warm, args.rate)
            for follower in followers:
                follower.wait_for(args.warm, 120)
            # Both workers in the group, each with its share: no rebalance during the run.
            wait_shared(ports, settings.events_topic, args.partitions, 120)
            count = int(args.rate * args.seconds / 3)  # three events a contact
            start_us = int(time.time() * 1e6)
            lines = contacts(count, start_us, args.rate, "c", args.waiting)
            data = keyed(lines, args.partitions)
            cpu_before = [cpu_seconds(p) for p in processes]
            started = time.monotonic()
            acks, failures = produce_steadily(bootstrap, settings.events_topic, data, args.rate)
            if failures:
                raise RuntimeError(f"{failures} sends failed")
            for follower in followers:
                follower.wait_for(args.warm + count, 120)
            wall = time.monotonic() - started
            cpu = [cpu_seconds(p) - b for p, b in zip(processes, cpu_before, strict=True)]
        finally:
            for process in processes:
                stop(process)
            for follower in locals().get("followers", []):
                follower.stopped.set()
    results = []
    for name, follower in zip(("ccpipe wallboard", "worker 1"), followers, strict=True):
        seen = reflected_at(follower.times, follower.counts, args.warm, count)
        offer_acks = [acks[i] for i in offered(lines)]
        latencies = [t - a for t, a in zip(seen, offer_acks, strict=True)]
        if args.dump and name == "ccpipe wallboard":
            args.dump.write_text(
                "".join(
                    f"{a - offer_acks[0]:.3f},{x:.3f}\n"
                    for a, x in zip(offer_acks, latencies, strict=True)
                )
            )
        ordered = sorted(latencies)
        results.append(
            f"{name}: p50 {quantile(ordered, 0.5) * 1e3:,.0f} ms, p99 "
            f"{quantile(ordered, 0.99) * 1e3:,.0f} ms, max {ordered[-1] * 1e3:,.0f} ms"
        )
    span = acks[-1] - acks[0]
    record(
        "event to wall screen (live view, SSE)",
        f"{'; '.join(results)} from an offer's broker ack to a /live/stream message showing "
        f"it; {len(lines):,} single-event messages ({count:,} contacts offered, answered and "
        f"ended, {args.waiting} waiting) at {(len(lines) - 1) / span:,.0f} events/s, 2 workers, "
        f"{args.partitions} partitions; CPU of a core: workers {cpu[0] / wall:.0%} and "
        f"{cpu[1] / wall:.0%}, ccpipe wallboard {cpu[2] / wall:.0%}",
        packages=("faust-streaming", "aiokafka", "aiohttp"),
    )


def fresh_state(settings: Settings, state_dir: Path) -> Settings:
    """The same pipeline, another worker's local state folder."""
    return msgspec.structs.replace(settings, state_dir=str(state_dir))


if __name__ == "__main__":
    main()
