"""Event-to-metric latency of one worker at a steady input rate: p50, p99 and max.

    python -m bench.latency [--rate 2000] [--seconds 60] [--partitions 4] [--scrape-ms 100]
                            [--batch-wait-ms MS] [--dump CSV] [--log-dir DIR] [--loglevel L]

1. One `ccpipe worker` starts on fresh topics holding a few hundred warm-up events (enough to
   reach every events partition), and the clock starts only once all three of its
   source topics are committed to their end: start-up (group join, table recovery, the first
   read of each partition's start offset) is excluded.
2. A producer thread sends simulated events at a steady rate, one event per Kafka message
   (the per-event case, where no client batching hides the latency): every 10 ms it sends
   the events then due, keyed and partitioned as `ccpipe produce` does, with linger_ms=2 and
   acks=all. Event k arrives in Kafka when its broker ack comes back (the send's callback).
3. A scraper thread reads http://127.0.0.1:<port>/metrics every `--scrape-ms` and takes
   `ccpipe_events_total`: the events the segment agent has decoded and applied to its state,
   counted in the same synchronous step that updates the live figures (queue waiting,
   rolling windows, agents), so it moves exactly when those gauges do. The contact counters
   (`ccpipe_contacts_*_total`) come later, from the interval agent one internal topic
   downstream; they are not measured here.
4. Event k is reflected when a scrape first shows the count (less the warm-up events) at k or
   more; its latency is that scrape's response time minus k's ack time. The count is over all
   partitions, so this is exact only if events are processed in the order they arrived; the
   resolution is one scrape interval plus one scrape.

A scrape is not free: the worker builds the whole exposition on its event loop (about 20 ms
of CPU with tens of thousands of events of state), so scraping every 20 ms takes a core and
the worker falls behind for good; 100 ms is the default. The line reports what a scrape cost
the worker (measured idle, after the run) and the longest time the counter stood still, the
mark of a worker that stops fetching while it still has work.

The worker's own histogram `ccpipe_event_to_metric_seconds` (message timestamp, set by the
producer at send, to the end of the segment batch) is read before and after, and its
quantiles over the run are interpolated from the bucket bounds as Prometheus does.
"""

from __future__ import annotations

import argparse
import http.client
import math
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

from bench.events import lines, simulated
from bench.kafka_env import broker, create_and_fill, fresh_settings, wait_caught_up, write_config
from bench.record import record
from bench.workers import cpu_seconds, free_port, start_worker, stop
from pipeline.config import Settings
from pipeline.core.catalogue import EVENT_TO_METRIC, EVENTS
from pipeline.kafka.partitioner import partition_for
from pipeline.kafka.producer import classify
from pipeline.stream.topology import source_topic_names

EVENTS_METRIC = f"\n{EVENTS.name} ".encode()
# What a reader of progress and latency needs, read by name (`MetricsClient(port, PROGRESS)`).
PROGRESS = (EVENTS.name, f"{EVENT_TO_METRIC.name}_bucket")
_BUCKET = re.compile(
    rb"^" + EVENT_TO_METRIC.name.encode() + rb'_bucket\{le="([^"]+)"\} (\S+)$', re.M
)
SEND_TICK_S = 0.010


# --- Reading /metrics -------------------------------------------------------------------------


def events_total(body: bytes) -> int | None:
    """`ccpipe_events_total` from an exposition body (None before the first batch)."""
    at = body.find(EVENTS_METRIC)
    if at < 0:
        return None
    start = at + len(EVENTS_METRIC)
    end = body.find(b"\n", start)
    return int(float(body[start : end if end >= 0 else None]))


def histogram_buckets(body: bytes) -> dict[float, float]:
    """Cumulative counts of the event-to-metric histogram, by upper bound."""
    return {float(le): float(count) for le, count in _BUCKET.findall(body)}


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The q-quantile of what was observed between two reads, as Prometheus interpolates it:
    linearly inside the bucket that holds it (the last finite bound when it is in +Inf)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan")
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-12)
        lower, below = bound, cumulative
    return lower


class MetricsClient:
    """One kept-alive HTTP connection to a worker's /metrics; with `names`, only those series
    (`name[]`), which spares the worker the live figures a whole read computes."""

    def __init__(self, port: int, names: tuple[str, ...] = ()) -> None:
        self.port = port
        self.path = "/metrics" + ("?" + urlencode([("name[]", n) for n in names]) if names else "")
        self._conn: http.client.HTTPConnection | None = None

    def get(self) -> bytes | None:
        """The body, or None when the worker does not answer (not up yet, or gone)."""
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self._conn.request("GET", self.path)
            response = self._conn.getresponse()
            body = response.read()
            return b"\n" + body if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wait_events(client: MetricsClient, at_least: int, deadline_s: float) -> int:
    """Poll /metrics until `ccpipe_events_total` reaches `at_least`; returns the count."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        body = client.get()
        count = events_total(body) if body else None
        if count is not None and count >= at_least:
            return count
        time.sleep(0.05)  # polling step of a wait with a deadline
    raise TimeoutError(f"the worker did not reach {at_least} events in {deadline_s} s")


@dataclass
class Scraper:
    """Reads the events counter every `interval_s` on its own thread, until stopped."""

    port: int
    interval_s: float
    times: list[float] = field(default_factory=list)  # monotonic, when the response was read
    counts: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        client = MetricsClient(self.port)
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                body = client.get()
                done = time.monotonic()
                count = events_total(body) if body else None
                if count is not None:
                    self.times.append(done)
                    self.counts.append(count)
                # Fixed-rate schedule; a scrape slower than the interval starts the next at once.
                next_at = max(next_at + self.interval_s, done)
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()


# --- The measurement, pure ----------------------------------------------------------------------


def reflected_at(times: Sequence[float], counts: Sequence[int], base: int, n: int) -> list[float]:
    """For k = 1..n, the time of the first scrape whose count less `base` is k or more
    (NaN for an event never seen)."""
    out = []
    j = 0
    for k in range(1, n + 1):
        while j < len(counts) and counts[j] - base < k:
            j += 1
        out.append(times[j] if j < len(times) else float("nan"))
    return out


def longest_still(times: Sequence[float], counts: Sequence[int], upto: int) -> float:
    """The longest time between two advances of the count, before it reached `upto`."""
    longest, last_change = 0.0, times[0] if times else 0.0
    for i in range(1, len(counts)):
        if counts[i] != counts[i - 1]:
            longest = max(longest, times[i] - last_change)
            last_change = times[i]
            if counts[i] >= upto:
                break
    return longest


def quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of a sorted sequence."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q * len(ordered))))
    return ordered[rank - 1]


# --- Producing at a steady rate -------------------------------------------------------------


def keyed(data: Sequence[bytes], partitions: int) -> list[tuple[bytes, bytes, int]]:
    """(value, key, partition) per event, as `ccpipe produce` keys and partitions them."""
    out = []
    for line in data:
        key, reason = classify(line)
        if key is None:
            raise ValueError(f"simulated event without a key: {reason}")
        out.append((line, key, partition_for(key, partitions)))
    return out


def _acked(acks: list[float], index: int, _metadata: object) -> None:
    acks[index] = time.monotonic()


def produce_steadily(
    bootstrap: str, topic: str, messages: Sequence[tuple[bytes, bytes, int]], rate: float
) -> tuple[list[float], int]:
    """Send one message per event at `rate`; returns each event's ack time and the failures."""
    from kafka import KafkaProducer

    acks = [float("nan")] * len(messages)
    failures: list[BaseException] = []
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks="all")
    try:
        start = time.monotonic()
        sent = 0
        tick = 0
        while sent < len(messages):
            due = min(len(messages), int((time.monotonic() - start) * rate) + 1)
            for i in range(sent, due):
                value, key, partition = messages[i]
                future = producer.send(topic, value=value, key=key, partition=partition)
                future.add_callback(partial(_acked, acks, i))
                future.add_errback(failures.append)
            sent = due
            tick += 1
            # Pacing step of the steady-rate producer: sleep until the next 10 ms tick.
            time.sleep(max(0.0, start + tick * SEND_TICK_S - time.monotonic()))
        producer.flush()
    finally:
        producer.close()
    return acks, len(failures)


# --- The worker -------------------------------------------------------------------------------


def write_worker_config(
    settings: Settings, path: Path, web_port: int, extra: dict[str, object]
) -> Path:
    """kafka_env's config file, plus any further settings (e.g. batch_wait_ms)."""
    write_config(settings, path, web_port)
    with path.open("a") as handle:
        for name, value in extra.items():
            handle.write(f"{name}: {value}\n")
    return path


def run_queue_seconds(pid: int) -> float:
    """Seconds the process's main thread (the worker's event loop) has waited, runnable, for a
    CPU (Linux schedstat; NaN elsewhere): on a shared machine, the part of a latency that is
    waiting for a core."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return float("nan")


@dataclass
class Run:
    """What one run saw: acks, scrapes, the worker's histogram and CPU."""

    acks: list[float]
    scraper: Scraper
    base: int
    before: dict[float, float]
    after: dict[float, float]
    cpu_s: float
    waited_s: float
    wall_s: float
    scrape_cpu_s: float

    def latencies(self) -> list[float]:
        seen = reflected_at(self.scraper.times, self.scraper.counts, self.base, len(self.acks))
        return [t - a for t, a in zip(seen, self.acks, strict=True)]

    def dump(self, path: Path) -> None:
        t0 = self.acks[0]
        rows = (f"{a - t0:.4f},{x:.4f}" for a, x in zip(self.acks, self.latencies(), strict=True))
        path.write_text("ack_s,latency_s\n" + "\n".join(rows) + "\n")

    def summary(self, partitions: int, wait_ms: int, scrape_ms: float) -> str:
        n = len(self.acks)
        ordered = sorted(self.latencies())
        span = self.acks[-1] - self.acks[0]
        achieved = (n - 1) / span if span > 0 else float("nan")
        scrape_share = self.scrape_cpu_s / (scrape_ms / 1000)
        still = longest_still(self.scraper.times, self.scraper.counts, self.base + n)
        h50, h99 = (histogram_quantile(q, self.before, self.after) for q in (0.5, 0.99))
        return (
            f"p50 {quantile(ordered, 0.5) * 1e3:,.0f} ms, p99 {quantile(ordered, 0.99) * 1e3:,.0f}"
            f" ms, max {ordered[-1] * 1e3:,.0f} ms from broker ack to ccpipe_events_total on "
            f"/metrics; {n:,} single-event messages at {achieved:,.0f} events/s over {span:.0f} "
            f"s, {partitions} partitions, batch_wait_ms {wait_ms}; scraped every {scrape_ms:.0f}"
            f" ms (a scrape costs the worker {self.scrape_cpu_s * 1e3:.0f} ms of CPU: "
            f"{scrape_share:.0%} of a core at that interval); the count stood still for "
            f"up to {still * 1e3:,.0f} ms; worker's histogram (send to batch "
            f"end) p50 {h50 * 1e3:,.0f} ms, p99 {h99 * 1e3:,.0f} ms; worker at "
            f"{self.cpu_s / self.wall_s:.0%} of a core, its event loop waiting for a core "
            f"{self.waited_s / self.wall_s:.0%} of the time"
        )


def measure(
    bootstrap: str,
    work: Path,
    data: list[bytes],
    args: argparse.Namespace,
    extra: dict[str, object],
) -> Run:
    settings = fresh_settings(bootstrap, args.partitions, work / "state")
    warm = work / "warm.jsonl"
    warm.write_bytes(b"\n".join(data[: args.warm]) + b"\n")
    create_and_fill(settings, warm, batch=10)
    messages = keyed(data[args.warm :], args.partitions)
    port = free_port()
    config = write_worker_config(settings, work / "worker.yaml", port, extra)
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    worker = start_worker(config, (args.log_dir or work) / "worker.log", args.loglevel)
    try:
        for topic in source_topic_names(settings):
            wait_caught_up(bootstrap, settings.app_id, topic, 300)
        client = MetricsClient(port)
        base = wait_events(client, args.warm, 60)
        before = histogram_buckets(client.get() or b"")
        cpu_before, started = cpu_seconds(worker), time.monotonic()
        waited_before = run_queue_seconds(worker.pid)
        scraper = Scraper(port, args.scrape_ms / 1000)
        scraper.start()
        try:
            acks, failures = produce_steadily(bootstrap, settings.events_topic, messages, args.rate)
            if failures:
                raise RuntimeError(f"{failures} sends failed")
            deadline = time.monotonic() + 120
            while not scraper.counts or scraper.counts[-1] < base + len(messages):
                if time.monotonic() > deadline:
                    raise TimeoutError("the worker did not process every event in 120 s")
                time.sleep(0.05)  # polling step of a wait with a deadline
        finally:
            scraper.stop()
        cpu, wall = cpu_seconds(worker) - cpu_before, time.monotonic() - started
        waited = run_queue_seconds(worker.pid) - waited_before
        after = histogram_buckets(client.get() or b"")
        scrape_cpu = scrape_cost(worker, client)
        client.close()
    finally:
        stop(worker)
    return Run(acks, scraper, base, before, after, cpu, waited, wall, scrape_cpu)


def scrape_cost(worker: subprocess.Popen[bytes], client: MetricsClient, scrapes: int = 20) -> float:
    """The worker's CPU seconds per /metrics scrape, measured with the worker idle."""
    before = cpu_seconds(worker)
    for _ in range(scrapes):
        client.get()
    return (cpu_seconds(worker) - before) / scrapes


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000, help="events/s (default 2000)")
    parser.add_argument("--seconds", type=float, default=60, help="how long to send (default 60)")
    parser.add_argument("--partitions", type=int, default=4, help="of every topic (default 4)")
    parser.add_argument(
        "--scrape-ms",
        type=float,
        default=100,
        help="scrape interval, the resolution (default 100; see above before lowering it)",
    )
    parser.add_argument(
        "--warm", type=int, default=500, help="warm-up events before the clock (default 500)"
    )
    parser.add_argument("--dump", type=Path, help="write each event's ack time and latency (CSV)")
    parser.add_argument("--log-dir", type=Path, help="keep the worker's log here")
    parser.add_argument(
        "--loglevel",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="the worker's (info shows Faust's late-timer warnings, a stalled event loop)",
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=int,
        help="the worker's batch_wait_ms (default: the worker's own default)",
    )
    args = parser.parse_args()
    n = max(1, round(args.rate * args.seconds))
    total = n + args.warm
    data = lines(simulated(max(1000, total * 100 // 690 + 1)), total)
    if len(data) < total:
        raise SystemExit(f"the simulated file holds {len(data)} events, {total} needed")
    extra: dict[str, object] = {}
    if args.batch_wait_ms is not None:
        extra["batch_wait_ms"] = args.batch_wait_ms

    with tempfile.TemporaryDirectory() as tmp, broker() as bootstrap:
        run = measure(bootstrap, Path(tmp), data, args, extra)
    wait = args.batch_wait_ms if args.batch_wait_ms is not None else Settings().batch_wait_ms
    if args.dump:
        run.dump(args.dump)
    record(
        "event to metric latency, one worker, steady rate",
        run.summary(args.partitions, wait, args.scrape_ms),
        packages=("faust-streaming", "aiokafka", "kafka-python"),
    )


if __name__ == "__main__":
    main()
