"""A soak: two workers at a steady rate for half an hour, with kills, a broker restart, memory,
lag, latency per window and, at the end, the rows of `ccpipe kpis`. Not in CI or `make bench`.

    python -m bench.soak [--minutes 30] [--rate 2000] [--kill-every-min 5] [--partitions 4]
                         [--log-dir DIR] [--scrape-s 2] [--full-scrape-s 15]
                         [--static-members] [--ingest]

1. A broker of its own (deploy/kafka/kafka.sh on a free port, its data in a temporary folder,
   the jars of the shared cache: the broker on 127.0.0.1:19092 is never touched) and two
   `ccpipe worker`s of one group, each with its own config, state directory and web port.
2. A producer thread sends simulated events (`simulate_events`), one event per Kafka message,
   keyed and partitioned as `ccpipe produce` does, at a steady `--rate`; every line it sends is
   kept in a file for `ccpipe kpis`. The clock starts once a few hundred warm-up events are
   processed (start-up excluded). With `--ingest`, they go to an input topic instead, where
   one `ccpipe ingest` batches them onto the events topic (docs/ingest.md: the route for a
   platform's single events); it is never killed, and its group's lag on the input topic
   counts in the lag.
3. Every `--kill-every-min` minutes one worker (in turn) gets SIGKILL and is started again at
   once with its config and state directory; once, half way through, the broker gets SIGKILL
   and is started again on the same data.
4. Every 10 s: the resident memory of each worker, the broker and this process (psutil), and
   the group's lag on its three source topics. A progress line each minute.
5. Latency as bench/latency.py measures it: event k arrives at its broker ack and is reflected
   when `ccpipe_events_total` (summed over both workers, each restart's count added to the
   ones before) first reaches k; p99 per 5-minute window of ack times. Events a restarted
   worker reads again are counted again, so after a kill the count leads by that replay and
   the figure understates; the workers' own histogram `ccpipe_event_to_metric_seconds`
   (message timestamp to the end of its batch, replays included) is given beside it.
6. After the last event, a wait for the group to commit all three source topics to their ends
   (it gives up only after QUIET_S without progress), then the intervals topic read to its end:
   the latest row per key, `offered` 0 left out, must equal `ccpipe kpis` on the sent events.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import orjson
import psutil
import yaml

from bench.kafka_env import ROOT, fresh_settings, group_lag, write_config
from bench.latency import (
    PROGRESS,
    MetricsClient,
    events_total,
    histogram_buckets,
    histogram_quantile,
    quantile,
    reflected_at,
)
from bench.record import record
from bench.workers import free_port, start_ingest, start_worker
from pipeline.config import Settings
from pipeline.config_reader import parse_duration
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.kafka.group_lag import GroupLag
from pipeline.kafka.partitioner import partition_for
from pipeline.kafka.producer import classify
from pipeline.simulator.emit import simulate_events

WINDOW_S = 300.0
SAMPLE_S = 10.0
# Each worker's /metrics is read this often: every read costs the worker CPU that grows with
# its state (measured: 110-180 ms a read at the 5th minute), and at 4 reads a second it took
# most of a worker's core and was what held the group behind (docs/reliability.md).
SCRAPE_S = 2.0
SEND_TICK_S = 0.010
WARM_EVENTS = 300
QUIET_S = 180.0  # the final wait gives up after this long without any committed offset moving
START_DEADLINE_S = 180.0
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
EVENTS_PER_CONTACT = 6  # the simulator makes about 7: a margin so the events never run out

Row = dict[str, Any]


# --- A broker of the soak's own ---------------------------------------------------------------


def two_free_ports() -> int:
    """A port that is free with the one above it (kafka.sh's controller listener)."""
    while True:
        port = free_port()
        with socket.socket() as above:
            try:
                above.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class OwnBroker:
    """deploy/kafka/kafka.sh on a free port with its data under `home`, the jars shared."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = two_free_ports()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "KAFKA_PORT": str(self.port), "CCPIPE_KAFKA_HOME": str(home)}

    def start(self) -> float:
        """Start it (again: the data stays); the seconds until it answered."""
        shared = Path(os.environ.get("CCPIPE_KAFKA_HOME", ROOT / ".ccpipe" / "kafka"))
        if not (shared / "lib").is_dir():
            shared_env = {**os.environ, "CCPIPE_KAFKA_HOME": str(shared)}
            subprocess.run([str(KAFKA_SH), "fetch"], env=shared_env, check=True)
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.home / "lib").exists():
            (self.home / "lib").symlink_to(shared / "lib")
        started = time.monotonic()
        subprocess.run(
            [str(KAFKA_SH), "start"], env=self.env, check=True, stdout=subprocess.DEVNULL
        )
        return time.monotonic() - started

    def pid(self) -> int:
        return int((self.home / "run" / f"{self.port}.pid").read_text().strip())

    def kill(self, deadline_s: float = 60.0) -> None:
        """SIGKILL; returns once the process is gone and its port closed."""
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + deadline_s
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker (pid {pid}) outlived SIGKILL")
            time.sleep(0.05)  # polling step of a wait with a deadline
        while listening(self.port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {self.port} still open after the broker's SIGKILL")
            time.sleep(0.05)  # polling step of a wait with a deadline

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "stop"], env=self.env, check=False, capture_output=True)


# --- Workers ----------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    config: Path
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    ingest: bool = False  # `ccpipe ingest`, not a worker (no /metrics read, never killed)

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"===== {self.name}: start #{self.starts} =====\n".encode())
        if self.ingest:
            self.process = start_ingest(self.config, self.log)
        else:
            self.process = start_worker(self.config, self.log, "info")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def logged(self, text: bytes) -> int:
        """Lines of its log (every start of it) that hold `text`."""
        with self.log.open("rb") as lines:
            return sum(text in line for line in lines)


def make_workers(settings: Settings, work: Path, logs: Path, static: bool) -> list[Worker]:
    """Two workers; with `static`, each with its name as its `worker_instance_id`."""
    workers = []
    for name in ("worker1", "worker2"):
        port = free_port()
        own = msgspec.structs.replace(
            settings,
            state_dir=str(work / name / "state"),
            worker_instance_id=name if static else "",
        )
        (work / name).mkdir(parents=True)
        config = write_config(own, work / name / "ccpipe.yaml", port)
        workers.append(Worker(name, config, logs / f"{name}.log", port))
    return workers


def with_ingest(settings: Settings) -> Settings:
    """The settings with an input topic, group and state topic of the app's own."""
    return msgspec.structs.replace(
        settings,
        ingest_topic=f"{settings.app_id}.cc.input",
        ingest_group=f"{settings.app_id}-ingest",
        ingest_state_topic=f"{settings.app_id}-ingest-state",
    )


def make_ingest(settings: Settings, work: Path, logs: Path) -> Worker:
    config = write_config(settings, work / "ingest.yaml", 0)
    names = ("ingest_topic", "ingest_group", "ingest_state_topic")
    lines = [f"{name}: {getattr(settings, name)}" for name in names]
    with config.open("a") as out:
        out.write("\n".join([*lines, "ingest_metrics_port: 0"]) + "\n")
    return Worker("ingest", config, logs / "ingest.log", 0, ingest=True)


# --- Producing at a steady rate ---------------------------------------------------------------


def keyed_events(partitions: int, contacts: int, seed: int) -> Iterator[tuple[bytes, bytes, int]]:
    """(line, key, partition) per simulated event, as `ccpipe produce` keys and partitions."""
    for event in simulate_events(contacts, seed):
        line = orjson.dumps(event)
        key, reason = classify(line)
        if key is None:
            raise ValueError(f"simulated event without a key: {reason}")
        yield line, key, partition_for(key, partitions)


class Producer(threading.Thread):
    """Sends `warm` events at once, then (once `go` is set) the rest at `rate` until `total`
    are sent; keeps each event's ack time and writes every sent line to `sent`."""

    def __init__(
        self, settings: Settings, sent: Path, rate: float, total: int, warm: int, topic: str
    ) -> None:
        super().__init__(name="producer", daemon=True)
        self.settings, self.sent, self.rate, self.total, self.warm = (
            settings,
            sent,
            rate,
            total,
            warm,
        )
        self.topic = topic
        self.acks = array.array("d", [math.nan]) * total
        self.failed: list[int] = []
        self.count = 0
        self.go = threading.Event()
        self.error: BaseException | None = None

    def _acked(self, index: int, _metadata: object) -> None:
        self.acks[index] = time.monotonic()

    def run(self) -> None:
        try:
            self._produce()
        except BaseException as exc:
            self.error = exc

    def _produce(self) -> None:
        from kafka import KafkaProducer

        contacts = self.total // EVENTS_PER_CONTACT + 100
        events = keyed_events(self.settings.partitions, contacts, seed=11)
        producer = KafkaProducer(bootstrap_servers=self.settings.broker, linger_ms=2, acks="all")
        try:
            with self.sent.open("wb") as out:
                self._send(producer, events, out, self.warm)
                producer.flush()
                self.go.wait()
                start, tick = time.monotonic(), 0
                while self.count < self.total:
                    due = min(
                        self.total, self.warm + int((time.monotonic() - start) * self.rate) + 1
                    )
                    if not self._send(producer, events, out, due - self.count):
                        break
                    tick += 1
                    # Pacing step of the steady-rate producer: sleep until the next tick.
                    time.sleep(max(0.0, start + tick * SEND_TICK_S - time.monotonic()))
            producer.flush()
        finally:
            producer.close()

    def _send(
        self, producer: Any, events: Iterator[tuple[bytes, bytes, int]], out: Any, n: int
    ) -> bool:
        for _ in range(n):
            item = next(events, None)
            if item is None:
                return False
            line, key, partition = item
            index = self.count
            future = producer.send(self.topic, value=line, key=key, partition=partition)
            future.add_callback(partial(self._acked, index))
            future.add_errback(lambda _exc, i=index: self.failed.append(i))
            out.write(line + b"\n")
            self.count += 1
        return True


# --- Scraping the workers' /metrics -----------------------------------------------------------


def deployed_scrape_s() -> float:
    """The scrape interval of deploy/prometheus/prometheus.yml, in seconds."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    return float(parse_duration(config["global"]["scrape_interval"]))


@dataclass
class Scraper:
    """Reads every worker's events counter and event-to-metric histogram (by name) every
    `every_s`, summed over workers and restarts; and, every `full_every_s`, the whole
    /metrics, as the deployed Prometheus does, timing those reads.

    A whole read every 2 s cost a third of each worker's CPU (the live figures; sampled with
    py-spy in the tenth run, docs/reliability.md): the measurement slowed what it measured."""

    ports: list[int]
    every_s: float = SCRAPE_S
    full_every_s: float = 15.0
    read_s: list[float] = field(default_factory=list)  # wall time of each whole /metrics read
    times: list[float] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    buckets: list[tuple[float, dict[float, float]]] = field(default_factory=list)  # per SAMPLE_S
    _last: dict[int, int] = field(default_factory=dict)
    _done: dict[int, int] = field(default_factory=dict)  # counts of ended runs, per port
    _hist_last: dict[int, dict[float, float]] = field(default_factory=dict)
    _hist_done: dict[int, dict[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def restarted(self, port: int) -> None:
        """The worker on `port` was killed: its counts so far are kept, a new run starts at 0."""
        with self._lock:
            self._fold(port)

    def _fold(self, port: int) -> None:
        self._done[port] = self._done.get(port, 0) + self._last.pop(port, 0)
        done = self._hist_done.setdefault(port, {})
        for bound, count in self._hist_last.pop(port, {}).items():
            done[bound] = done.get(bound, 0.0) + count

    def total(self) -> int:
        with self._lock:
            return sum(self._done.values()) + sum(self._last.values())

    def histogram(self) -> dict[float, float]:
        with self._lock:
            out: dict[float, float] = {}
            for part in (*self._hist_done.values(), *self._hist_last.values()):
                for bound, count in part.items():
                    out[bound] = out.get(bound, 0.0) + count
            return out

    def _run(self) -> None:
        clients = {port: MetricsClient(port, PROGRESS) for port in self.ports}
        whole = {port: MetricsClient(port) for port in self.ports}
        next_at = full_at = time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() >= full_at:
                    full_at += self.full_every_s
                    for client in whole.values():
                        began = time.monotonic()
                        if client.get() is not None:
                            self.read_s.append(time.monotonic() - began)
                for port, client in clients.items():
                    body = client.get()
                    if body is None:
                        continue
                    count = events_total(body) or 0
                    with self._lock:
                        if count < self._last.get(port, 0):  # a restart nobody announced
                            self._fold(port)
                        self._last[port] = count
                        self._hist_last[port] = histogram_buckets(body)
                self.times.append(time.monotonic())
                self.totals.append(self.total())
                next_at = max(next_at + self.every_s, time.monotonic())
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            for client in (*clients.values(), *whole.values()):
                client.close()


# --- Sampling memory and lag ------------------------------------------------------------------


@dataclass
class Memory:
    """Resident MB of each role, first, last and highest sample."""

    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)

    def sample(self, pids: dict[str, int | None]) -> None:
        for role, pid in pids.items():
            if pid is None:
                continue
            try:
                mb = psutil.Process(pid).memory_info().rss / 2**20
            except psutil.Error:
                continue
            self.first.setdefault(role, mb)
            self.last[role] = mb
            self.high[role] = max(self.high.get(role, 0.0), mb)

    def describe(self) -> str:
        return ", ".join(
            f"{role} {self.first[role]:.0f}→{self.last[role]:.0f} MB (max {self.high[role]:.0f})"
            for role in self.first
        )


class Lag:
    """The group's uncommitted messages on its source topics, and with `ingest` the ingest
    group's on the input topic; None while the broker is away."""

    def __init__(self, settings: Settings, ingest: bool = False) -> None:
        self.settings = settings
        self.ingest = ingest
        self.watches: list[GroupLag] = []
        self.high = 0

    def _watches(self) -> list[GroupLag]:
        if not self.watches:
            self.watches = [group_lag(self.settings)]
            if self.ingest:
                self.watches.append(
                    GroupLag(
                        {"bootstrap_servers": self.settings.broker},
                        self.settings.ingest_group,
                        [self.settings.ingest_topic],
                    )
                )
        return self.watches

    def now(self) -> int | None:
        try:
            lags = [watch.lag() for watch in self._watches()]
        except Exception:  # the broker is down or restarting: a fresh client next time
            self.close()
            return None
        if any(lag is None for lag in lags):
            return None
        total = sum(sum(lag.values()) for lag in lags if lag is not None)
        self.high = max(self.high, total)
        return total

    def committed(self) -> tuple[tuple[str, int, int], ...] | None:
        try:
            found = [watch.committed() for watch in self._watches()]
        except Exception:  # as in `now`
            self.close()
            return None
        return tuple(sorted((t, p, o) for each in found for (t, p), o in each.items()))

    def close(self) -> None:
        for watch in self.watches:
            # Closing a client whose broker is gone may raise; the client is dropped anyway.
            with contextlib.suppress(Exception):
                watch.close()
        self.watches = []


# --- The schedule -----------------------------------------------------------------------------


def schedule(minutes: float, kill_every_min: float) -> tuple[list[float], float]:
    """Seconds from the start of each worker kill, and of the broker kill (half way, moved
    to half way between two worker kills if one falls close to it)."""
    end = minutes * 60
    step = kill_every_min * 60
    kills = [step * k for k in range(1, int(end // step) + 1) if step * k < end]
    at = end / 2
    near = min(kills, key=lambda k: abs(at - k), default=None)
    if near is not None and abs(at - near) < min(30.0, step / 4):
        at = near + step / 2
    return kills, at


# --- The rows ---------------------------------------------------------------------------------


def row_key(row: Row) -> tuple[str, str, str, str]:
    return (row["tenant"], row["queue"], row["channel"], row["interval_start"])


def report_rows(rows: list[Row]) -> list[Row]:
    """Rows as `ccpipe kpis` prints them: the report fields, offered > 0, in key order."""
    kept = [{f: row[f] for f in REPORT_FIELDS} for row in rows if row["offered"] != 0]
    return sorted(kept, key=row_key)


def stream_rows(settings: Settings, deadline_s: float = 300.0) -> list[Row]:
    """The latest row per key on the intervals topic, read to its end."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.broker, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(settings.intervals_topic, p) for p in range(settings.partitions)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        latest: dict[bytes, Row] = {}
        deadline = time.monotonic() + deadline_s
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError("the intervals topic could not be read to its end")
            for batch in consumer.poll(timeout_ms=200).values():
                for message in batch:
                    latest[message.key] = orjson.loads(message.value)
    finally:
        consumer.close()
    return report_rows(list(latest.values()))


def kpis_rows(path: Path) -> list[Row]:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "kpis", str(path), "--format", "jsonl", "--quiet"],
        capture_output=True,
        check=True,
    )
    return report_rows([orjson.loads(line) for line in done.stdout.splitlines()])


def difference(got: list[Row], want: list[Row]) -> str:
    mine = {row_key(r): r for r in got}
    theirs = {row_key(r): r for r in want}
    differing = [k for k in mine.keys() & theirs.keys() if mine[k] != theirs[k]]
    return (
        f"stream {len(mine)} rows, ccpipe kpis {len(theirs)}: "
        f"{len(theirs.keys() - mine.keys())} missing, {len(mine.keys() - theirs.keys())} extra, "
        f"{len(differing)} differ"
    )


def sent_without(sent: Path, failed: list[int], out: Path) -> Path:
    """The sent lines less those the broker never acknowledged (lost: kpis must not see them)."""
    if not failed:
        return sent
    lost = set(failed)
    with sent.open("rb") as src, out.open("wb") as dst:
        for index, line in enumerate(src):
            if index not in lost:
                dst.write(line)
    return out


# --- The run ----------------------------------------------------------------------------------


@dataclass
class Soak:
    settings: Settings
    broker: OwnBroker
    workers: list[Worker]
    producer: Producer
    scraper: Scraper
    ingest: Worker | None = None
    memory: Memory = field(default_factory=Memory)
    kills: int = 0
    broker_down_s: float = math.nan
    unexpected_exits: int = 0
    windows: list[tuple[float, float]] = field(default_factory=list)  # (wall s, histogram p99)

    def pids(self) -> dict[str, int | None]:
        found: dict[str, int | None] = {
            w.name: (w.process.pid if w.process and w.process.poll() is None else None)
            for w in [*self.workers, *([self.ingest] if self.ingest else [])]
        }
        try:
            found["broker"] = self.broker.pid()
        except (OSError, ValueError):
            found["broker"] = None
        found["bench"] = os.getpid()
        return found

    def kill_worker(self, worker: Worker) -> None:
        worker.kill()
        self.scraper.restarted(worker.port)
        worker.start()
        self.kills += 1

    def kill_broker(self) -> None:
        killed = time.monotonic()
        self.broker.kill()
        self.broker.start()
        self.broker_down_s = time.monotonic() - killed


def run(soak: Soak, args: argparse.Namespace, lag: Lag) -> float:
    """The timed part: produce, kill on schedule, sample; returns the clock's start."""
    kills, broker_at = schedule(args.minutes, args.kill_every_min)
    end = args.minutes * 60
    start = time.monotonic()
    soak.producer.go.set()
    next_sample, next_print, next_window = 0.0, 60.0, WINDOW_S
    broker_done = False
    window_start = soak.scraper.histogram()
    last_lag: int | None = None
    while (elapsed := time.monotonic() - start) < end:
        if kills and elapsed >= kills[0]:
            kills.pop(0)
            victim = soak.workers[soak.kills % len(soak.workers)]
            soak.kill_worker(victim)
            print(f"  {elapsed / 60:5.1f} min: {victim.name} SIGKILLed and started again")
        if not broker_done and elapsed >= broker_at:
            broker_done = True
            soak.kill_broker()
            print(
                f"  {elapsed / 60:5.1f} min: broker SIGKILLed, answering again after "
                f"{soak.broker_down_s:.1f} s"
            )
        for worker in soak.workers:
            if worker.died():
                soak.unexpected_exits += 1
                print(f"  {elapsed / 60:5.1f} min: {worker.name} exited by itself; started again")
                soak.scraper.restarted(worker.port)
                worker.start()
        if soak.ingest is not None and soak.ingest.died():
            soak.unexpected_exits += 1
            print(f"  {elapsed / 60:5.1f} min: ingest exited by itself; started again")
            soak.ingest.start()
        if elapsed >= next_sample:
            next_sample += SAMPLE_S
            soak.memory.sample(soak.pids())
            last_lag = lag.now()
        if elapsed >= next_window:
            now = soak.scraper.histogram()
            soak.windows.append((elapsed, histogram_quantile(0.99, window_start, now)))
            window_start, next_window = now, next_window + WINDOW_S
        if elapsed >= next_print:
            next_print += 60
            print(
                f"{elapsed / 60:4.0f} min: {soak.producer.count:,} events sent, "
                f"{soak.scraper.total():,} processed, lag {last_lag}, kills {soak.kills}; "
                f"{soak.memory.describe()}",
                flush=True,
            )
        if soak.producer.error is not None:
            raise soak.producer.error
        time.sleep(0.5)  # the step of the schedule loop
    soak.producer.join()
    if soak.producer.error is not None:
        raise soak.producer.error
    if end - (soak.windows[-1][0] if soak.windows else 0) > 1:
        soak.windows.append((end, histogram_quantile(0.99, window_start, soak.scraper.histogram())))
    return start


def settle(soak: Soak, lag: Lag) -> float | None:
    """Seconds until the group has committed its source topics to their ends (None: it stood
    still for QUIET_S)."""
    began = time.monotonic()
    seen: object = None
    last_change = began
    while True:
        behind = lag.now()
        if behind == 0:
            return time.monotonic() - began
        state = (lag.committed(), soak.scraper.total())
        if state != seen:
            seen, last_change = state, time.monotonic()
        if time.monotonic() - last_change > QUIET_S:
            print(f"the group stood still for {QUIET_S:.0f} s with {behind} messages uncommitted")
            return None
        soak.memory.sample(soak.pids())
        time.sleep(1.0)  # polling step of a wait that restarts on progress


def latency_windows(soak: Soak, start: float, warm: int, base: int) -> list[float]:
    """p99 of ack to `ccpipe_events_total` per WINDOW_S of ack time, in seconds."""
    acks = soak.producer.acks[warm : soak.producer.count]
    seen = reflected_at(soak.scraper.times, soak.scraper.totals, base, len(acks))
    per: dict[int, list[float]] = {}
    for ack, at in zip(acks, seen, strict=True):
        if math.isnan(ack):
            continue
        per.setdefault(int((ack - start) // WINDOW_S), []).append(at - ack)
    return [quantile(sorted(per[w]), 0.99) for w in sorted(per)]


def wait_started(soak: Soak) -> None:
    """Both workers answer /metrics."""
    deadline = time.monotonic() + START_DEADLINE_S
    for worker in soak.workers:
        client = MetricsClient(worker.port, PROGRESS)
        try:
            while client.get() is None:
                if time.monotonic() > deadline or worker.died():
                    raise TimeoutError(f"{worker.name} did not answer; see {worker.log}")
                time.sleep(0.2)  # polling step of a wait with a deadline
        finally:
            client.close()


def warm_up(soak: Soak, lag: Lag, warm: int) -> int:
    """Wait until the warm-up events are processed and committed; the count then."""
    deadline = time.monotonic() + START_DEADLINE_S
    while soak.scraper.total() < warm or lag.now() != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the warm-up did not settle: {soak.scraper.total()} of {warm}")
        if soak.producer.error is not None:
            raise soak.producer.error
        time.sleep(0.5)  # polling step of a wait with a deadline
    return soak.scraper.total()


def ensure_topics(settings: Settings, ingest: bool) -> None:
    from kafka import KafkaAdminClient

    from pipeline.ingest.topics import ingest_topics
    from pipeline.kafka.admin import ensure_topics as create
    from pipeline.kafka.admin import pipeline_topics
    from pipeline.kafka.retriable import retrying

    specs = pipeline_topics(settings) + (ingest_topics(settings) if ingest else [])
    admin = retrying(lambda: KafkaAdminClient(bootstrap_servers=settings.broker))
    try:
        retrying(lambda: create(admin, specs))
    finally:
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30, help="of steady input (default 30)")
    parser.add_argument("--rate", type=float, default=2000, help="events/s (default 2000)")
    parser.add_argument(
        "--kill-every-min", type=float, default=5, help="a worker SIGKILLed this often (default 5)"
    )
    parser.add_argument("--partitions", type=int, default=4, help="of every topic (default 4)")
    parser.add_argument("--log-dir", type=Path, help="keep the logs here")
    parser.add_argument(
        "--scrape-s",
        type=float,
        default=SCRAPE_S,
        help=f"read each worker's events counter and latency histogram (by name) this often: "
        f"the latency's resolution (default {SCRAPE_S:g})",
    )
    parser.add_argument(
        "--full-scrape-s",
        type=float,
        default=deployed_scrape_s(),
        help="read each worker's whole /metrics this often, as Prometheus does (default: the "
        "scrape_interval of deploy/prometheus/prometheus.yml, %(default)g)",
    )
    parser.add_argument(
        "--ingest",
        action="store_true",
        help="send the single events to an input topic that one `ccpipe ingest` batches onto "
        "the events topic, as a platform's events travel (docs/ingest.md)",
    )
    parser.add_argument(
        "--static-members",
        action="store_true",
        help="give each worker a `worker_instance_id` (static group membership): a restarted "
        "worker takes its partitions back without a rebalance",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        logs = args.log_dir or work
        logs.mkdir(parents=True, exist_ok=True)
        broker = OwnBroker(work / "kafka")
        broker.start()
        try:
            result = soak_on(broker, work, logs, args)
        finally:
            broker.stop()
    record(
        "soak: two workers, a worker SIGKILLed on a schedule, the broker SIGKILLed once",
        result,
        packages=("faust-streaming", "aiokafka", "kafka-python"),
    )


def median_ms(seconds: list[float]) -> float:
    return sorted(seconds)[len(seconds) // 2] * 1e3


def soak_on(broker: OwnBroker, work: Path, logs: Path, args: argparse.Namespace) -> str:
    settings = fresh_settings(broker.bootstrap, args.partitions, work / "state")
    if args.ingest:
        settings = with_ingest(settings)
    ensure_topics(settings, args.ingest)
    total = WARM_EVENTS + int(args.minutes * 60 * args.rate)
    workers = make_workers(settings, work, logs, args.static_members)
    ingest = make_ingest(settings, work, logs) if args.ingest else None
    topic = settings.ingest_topic if args.ingest else settings.events_topic
    producer = Producer(settings, work / "sent.jsonl", args.rate, total, WARM_EVENTS, topic)
    soak = Soak(
        settings,
        broker,
        workers,
        producer,
        Scraper([w.port for w in workers], args.scrape_s, args.full_scrape_s),
        ingest,
    )  # fmt: skip
    lag = Lag(settings, args.ingest)
    try:
        for worker in [*workers, *([ingest] if ingest else [])]:
            worker.start()
        soak.scraper.start()
        wait_started(soak)
        producer.start()
        base = warm_up(soak, lag, WARM_EVENTS)
        soak.memory.sample(soak.pids())
        print(f"warm: {base} events processed; the clock starts", flush=True)
        start = run(soak, args, lag)
        caught_up = settle(soak, lag)
        soak.scraper.stop()
        rows = "not compared (the group did not catch up)"
        if caught_up is not None:
            sent = sent_without(work / "sent.jsonl", producer.failed, work / "acked.jsonl")
            got, want = stream_rows(settings), kpis_rows(sent)
            rows = "yes" if got == want else f"no ({difference(got, want)})"
            rows += f", {len(want):,} rows"
        p99 = latency_windows(soak, start, WARM_EVENTS, base)
    finally:
        soak.scraper.stop()
        lag.close()
        for worker in [*workers, *([ingest] if ingest else [])]:
            worker.kill()
    windows = ", ".join(f"{s * 1e3:,.0f}" for s in p99)
    own = ", ".join(f"{s * 1e3:,.0f}" for _, s in soak.windows)
    settled = f"{caught_up:.0f} s" if caught_up is not None else f"never (quiet {QUIET_S:.0f} s)"
    # The stall guard's seeks (pipeline/stream/faust_runtime.py, `unstall`): each one throws
    # away what the consumer had fetched for the partition.
    seeks = ", ".join(f"{w.name} {w.logged(b'seeking back'):,}" for w in workers)
    reads = soak.scraper.read_s
    scrape = (
        f"a whole /metrics read every {args.full_scrape_s:g} s took "
        f"{median_ms(reads[:20]):,.0f} ms at the "
        f"start, {median_ms(reads[-20:]):,.0f} ms at the end (medians)"
        if reads
        else "no /metrics read"
    )
    return (
        f"{args.minutes:g} min at {args.rate:,.0f} events/s, {producer.count:,} events "
        f"{'through one ccpipe ingest ' if args.ingest else ''}"
        f"({len(producer.failed)} unacknowledged), {args.partitions} partitions; "
        f"{soak.kills} worker SIGKILLs (every {args.kill_every_min:g} min"
        f"{', static members' if args.static_members else ''}), broker SIGKILLed once "
        f"(answering again after {soak.broker_down_s:.1f} s), {soak.unexpected_exits} "
        f"unexpected exits; stall seeks logged: {seeks}; RSS first→last: "
        f"{soak.memory.describe()}; max lag {lag.high:,} "
        f"messages; p99 ack to ccpipe_events_total per {WINDOW_S / 60:.0f}-min window "
        f"[{windows}] ms (workers' histogram p99 [{own}] ms); caught up {settled} after the "
        f"last event; {scrape}; rows equal ccpipe kpis: {rows}"
    )


if __name__ == "__main__":
    main()
