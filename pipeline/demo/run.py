"""The demo from start to stop: broker, topics, worker, ingest, sink, feed; then progress;
then drain.

    start  broker (tansu on a free port, or --broker) -> topics with their partitions
           -> worker (the production Faust agents, serving /metrics and /wallboard)
           -> ingest (single events from the input topic to batches on the events topic,
              the route a platform's events take, docs/ingest.md)
           -> sink (the store's one owner; serves read-only SQL to `ccpipe sql`)
           -> feed (the simulator, paced, one event per message to the input topic)
    run    print where to look, then a progress line; stop on Ctrl-C, SIGTERM or a child
           that fails
    stop   feed first; wait until the ingest's, the worker's and the sink's consumer groups
           have committed everything (a second Ctrl-C skips that); then the rest, broker last

The children read their settings the way every ccpipe command does: the user's file
(`CCPIPE_CONFIG`) under `CCPIPE_*` variables, which the demo sets for what it decides (the
broker's address, the web port, the store).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipeline.config import Settings
from pipeline.core.clock import parse_rfc3339
from pipeline.demo.broker import BrokerError, EmbeddedBroker, free_port
from pipeline.demo.process import ChildProcess
from pipeline.demo.progress import (
    Progress,
    combined,
    publications,
    read_metrics,
    wallboard_has_figures,
)
from pipeline.demo.supervisor import StopSignals, Supervisor
from pipeline.kafka.group_lag import wait_caught_up

DEFAULT_START = "2026-11-23T07:00:00Z"
# Long sessions make the first group join on tansu slow: tansu holds a join for about half
# the session timeout. 6 s is Kafka's minimum session.
FAUST_ENV = {"CCPIPE_BROKER_SESSION_TIMEOUT_S": "6"}
WORKER_STOP_S = 20.0
SINK_STOP_S = 30.0
POLL_S = 0.5
GROUP_DEADLINE_S = 60.0


@dataclass(frozen=True)
class DemoOptions:
    contacts: int = 20_000
    seed: int = 7
    speed: float | None = 60.0  # None: as fast as possible
    start: str = DEFAULT_START
    warm_up_min: float = 120.0  # simulated minutes sent at once before pacing starts
    until: str | None = None
    broker: str | None = None
    port: int | None = None
    events_file: Path | None = None
    workers: int = 1
    config: str | None = None
    run_dir: Path = Path(".ccpipe/demo")
    drain_deadline_s: float = 120.0
    progress_every_s: float = 5.0


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class Demo:
    """One run of the demo; `run()` returns the exit code."""

    def __init__(self, options: DemoOptions, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.settings = settings
        self.out = out
        self.started = time.monotonic()
        self.bootstrap = options.broker or ""
        self.web_url = ""  # the first worker's: every worker serves the whole centre's view
        self.worker_urls: list[str] = []

    def say(self, message: str) -> None:
        print(f"ccpipe demo: {message}", file=self.out, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> int:
        options = self.options
        run_dir = options.run_dir.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        for old in run_dir.glob("*.log"):
            old.unlink()
        with StopSignals() as signals, Supervisor() as children:
            try:
                self._start(children, run_dir)
            except (BrokerError, StartError) as exc:
                self.say(f"cannot start: {exc}")
                return 1
            code = self._watch(children, signals)
            self._stop(children, signals, code)
        self.say(
            f'stopped. The store keeps what was written: ccpipe sql "SELECT ..." '
            f"(store {self.settings.store})"
        )
        return code

    # --- start ---------------------------------------------------------------------------

    def _start(self, children: Supervisor, run_dir: Path) -> None:
        options, settings = self.options, self.settings
        if options.broker is None:
            broker = EmbeddedBroker(run_dir / "broker.log")
            children.adopt(broker.child)
            broker.start()
            self.bootstrap = broker.bootstrap
            self.say(f"embedded broker (tansu) ready on {self.bootstrap} ({self.elapsed():.1f} s)")
        self._create_topics()
        port = options.port if options.port is not None else settings.web_port
        if not _port_free(settings.web_host, port):
            if options.port is not None:
                raise StartError(f"port {port} is in use; pick another with --port")
            taken, port = port, free_port(settings.web_host)
            self.say(f"port {taken} is in use; the worker serves on {port} instead")
        self.web_url = f"http://{settings.web_host}:{port}"
        env = self._child_env(port)
        python = sys.executable
        for n in range(1, options.workers + 1):
            # One consumer group; each worker its own web port and local state folder.
            own = port if n == 1 else free_port(settings.web_host)
            self.worker_urls.append(f"http://{settings.web_host}:{own}")
            state = {} if n == 1 else {"CCPIPE_STATE_DIR": f"{settings.state_dir}/worker{n}"}
            children.start(
                ChildProcess(
                    worker_name(n, options.workers),
                    [python, "-m", "pipeline.cli", "worker", "--loglevel", "warning"],
                    run_dir / f"{worker_name(n, options.workers)}.log",
                    env={**env, **FAUST_ENV, "CCPIPE_WEB_PORT": str(own), **state},
                    stop_deadline_s=WORKER_STOP_S,
                )
            )
        children.start(
            ChildProcess(
                "ingest",
                [python, "-m", "pipeline.cli", "ingest", "--metrics-port", "0"],
                run_dir / "ingest.log",
                env={**env, **FAUST_ENV},
                stop_deadline_s=WORKER_STOP_S,
            )
        )
        children.start(
            ChildProcess(
                "sink",
                [python, "-m", "pipeline.cli", "sink", "--metrics-port", "0"],
                run_dir / "sink.log",
                env=env,
                stop_deadline_s=SINK_STOP_S,
            )
        )
        if options.workers > 1:
            self._wait_for_group(children)
        children.start(
            ChildProcess("feed", self._feed_argv(), run_dir / "feed.log", env=env),
            may_finish=True,
        )
        self._where(run_dir)

    def _wait_for_group(self, children: Supervisor) -> None:
        """Until every worker has its share of the partitions, before any event is fed.

        tansu answers ListOffsets short (below), so a partition that moved to another worker
        once its tables had records could be recovered short: with every worker in the group
        before the first event, no table moves in a demo run. A worker publishes the live
        state of each partition it gets (docs/live.md), so each one's publications say it has
        its share."""
        deadline = time.monotonic() + GROUP_DEADLINE_S
        self.say(f"waiting for the {self.options.workers} workers to share the partitions")
        while True:
            failed = children.failed()
            if failed is not None:
                raise StartError(f"the {failed.name} stopped (exit code {failed.returncode})")
            published = [publications(url) for url in self.worker_urls]
            if all(published):
                return
            if time.monotonic() > deadline:
                raise StartError(
                    f"the workers did not share the partitions in {GROUP_DEADLINE_S:.0f} s"
                )
            time.sleep(POLL_S)  # polling step of a wait with a deadline

    def _create_topics(self) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        from pipeline.ingest.topics import ingest_topics
        from pipeline.kafka.admin import TopicError, ensure_topics, pipeline_topics

        try:
            admin = KafkaAdminClient(client_id="ccpipe-demo", **self._kafka_kwargs())
        except (KafkaError, OSError) as exc:
            raise StartError(f"cannot reach the broker at {self.bootstrap}: {exc}") from None
        try:
            # Before any worker or sink asks for their metadata: tansu would create them
            # with one partition (docs/demo.md).
            specs = pipeline_topics(self.settings) + ingest_topics(self.settings)
            outcomes = ensure_topics(admin, specs)
        except (KafkaError, TopicError) as exc:
            raise StartError(f"cannot create the topics: {exc}") from None
        finally:
            admin.close()
        bad = [o.describe() for o in outcomes if o.status == "mismatch"]
        if bad:
            raise StartError("; ".join(bad))

    def _kafka_kwargs(self) -> dict[str, object]:
        from pipeline.kafka.connection import BrokerConnection

        connection = BrokerConnection.from_settings(self.settings, broker=self.bootstrap)
        return connection.kafka_python_kwargs()

    def _child_env(self, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CCPIPE_BROKER=self.bootstrap,
            CCPIPE_WEB_PORT=str(port),
            CCPIPE_STORE=self.settings.store,
            PYTHONUNBUFFERED="1",
        )
        if self.options.config:
            env["CCPIPE_CONFIG"] = str(Path(self.options.config).resolve())
        return env

    def _feed_argv(self) -> list[str]:
        o = self.options
        start_us = parse_rfc3339(o.start)
        from_us = start_us + int(o.warm_up_min * 60e6)
        from pipeline.core.clock import format_utc

        argv = [
            sys.executable,
            "-m",
            "pipeline.demo.feed",
            "--contacts",
            str(o.contacts),
            "--seed",
            str(o.seed),
            "--speed",
            str(o.speed or 0),
            "--start",
            o.start,
            "--from",
            format_utc(from_us),
            "--single",
        ]
        if o.until:
            argv += ["--until", o.until]
        if o.events_file is not None:
            argv += ["--events-file", str(o.events_file.resolve())]
        return argv

    def _where(self, run_dir: Path) -> None:
        url = self.web_url
        pace = "as fast as possible" if not self.options.speed else f"{self.options.speed:g}x"
        others = [f"{u}/wallboard" for u in self.worker_urls[1:]]
        lines = [
            "",
            f"  Wallboard  {url}/wallboard",
            *(
                [f"             (every worker shows the same: {', '.join(others)})"]
                if others
                else []
            ),
            f"  Metrics    {url}/metrics",
            f"  Live JSON  {url}/live.json",
            '  Query      ccpipe sql "SELECT * FROM kpi_interval_report '
            'ORDER BY interval_start DESC LIMIT 10"',
            f"  Store      {self.settings.store}",
            f"  Broker     {self.bootstrap}",
            f"  Logs       {run_dir}/*.log",
            f"  Feed       {self.options.contacts:,} contacts, seed {self.options.seed}, {pace}",
            "  Stop       Ctrl-C (a second Ctrl-C skips waiting for the store)",
            "",
        ]
        print("\n".join(lines), file=self.out, flush=True)

    # --- run -----------------------------------------------------------------------------

    def _watch(self, children: Supervisor, signals: StopSignals) -> int:
        progress = Progress()
        shown_figures = False
        feed_done = False
        next_line = time.monotonic() + self.options.progress_every_s
        while not signals.requested.is_set():
            failed = children.failed()
            if failed is not None:
                self.say(
                    f"the {failed.name} stopped (exit code {failed.returncode}); its log "
                    f"({failed.log_path}) ends with:\n{failed.log_tail()}"
                )
                return 1
            if not shown_figures and wallboard_has_figures(self.web_url):
                shown_figures = True
                self.say(f"first figures on the wallboard after {self.elapsed():.1f} s")
            feed = children["feed"]
            if not feed_done and not feed.running:
                feed_done = True
                self.say(f"{feed.log_tail(1)}; the wallboard holds still. Ctrl-C to stop.")
            if time.monotonic() >= next_line:
                next_line += self.options.progress_every_s
                sample = combined([read_metrics(u) for u in self.worker_urls])
                # A line when something moved: a finished feed leaves a quiet terminal.
                if sample is not None and sample.events and progress.moved(sample):
                    self.say(progress.line(sample))
            signals.wait(POLL_S)
        self.say(f"{signals.received[0]} received: stopping")
        return 0

    # --- stop ----------------------------------------------------------------------------

    def _stop(self, children: Supervisor, signals: StopSignals, code: int) -> None:
        from pipeline.sink.consumer import sink_group
        from pipeline.stream.topology import source_topic_names

        feed = next((c for c in children if c.name == "feed"), None)
        if feed is not None:
            feed.stop()
            if feed.returncode not in (0, None):
                self.say(f"the feed ended with exit code {feed.returncode}")
        names = {c.name for c in children}
        workers = [worker_name(n, self.options.workers) for n in range(1, self.options.workers + 1)]
        if code == 0 and {"ingest", *workers, "sink"} <= names and not signals.urgent.is_set():
            s = self.settings
            # Ingest first: once it has committed its input, everything it made is in.
            groups: Mapping[str, list[str]] = {
                s.ingest_group: [s.ingest_topic],
                s.app_id: list(source_topic_names(s)),
                sink_group(s): [s.events_topic, s.segments_topic, s.intervals_topic],
            }
            self.say("waiting for ingest, the worker and the sink to catch up (Ctrl-C again: skip)")
            started = time.monotonic()
            caught_up = wait_caught_up(
                self._kafka_kwargs(),
                groups,
                self.options.drain_deadline_s,
                cancelled=signals.urgent.is_set,
            )
            took = time.monotonic() - started
            if caught_up:
                self.say(f"everything sent is in the store ({took:.1f} s)")
            else:
                self.say("stopping before the store has caught up: the latest rows may miss")
        for name in ("ingest", "sink", *workers):
            if name in names:
                children.stop(name)
        children.stop_all()


def worker_name(n: int, workers: int) -> str:
    """`worker` alone, else `worker1`, `worker2`..."""
    return "worker" if workers == 1 else f"worker{n}"


class StartError(RuntimeError):
    """A step of the start failed; the message says which and why."""
