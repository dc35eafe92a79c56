"""One `ccpipe wallboard` serving many wall screens: CPU per update and memory.

    python -m bench.wallboard_clients [--clients 500] [--updates 120] [--rate 4]

A simulated day (`--contacts`) goes through the worker's segment stage over 4 partitions;
each partition's publications are then sent to the live topic again and again at `--rate`
publications a second, each with a new version, as a busy worker sends them: every one
changes the view, so every open page gets a new state. One `ccpipe wallboard` follows the
topic; first one client, then `--clients` clients follow /live/stream. Reported: the
wallboard's CPU per update with one client and with all of them (the same run), the share of
updates each client saw, and the process's resident memory with all clients connected.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import msgspec
import orjson
import psutil

from bench.kafka_env import broker, fresh_settings, write_config
from bench.live_latency import create_topics
from bench.record import record
from bench.workers import cpu_seconds, free_port, start_wallboard, stop
from pipeline.config import Settings, load_settings
from pipeline.kafka.connection import BrokerConnection
from pipeline.simulator.emit import simulate_events
from pipeline.stream.stages import AGENTS, CONTACTS, Partitions, SegmentStage

PARTITIONS = 4


def publications(contacts: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of a simulated day's state, as the worker publishes it."""
    settings = msgspec.structs.replace(load_settings(env={}), partitions=PARTITIONS)
    stage = SegmentStage(settings, Partitions.uniform(PARTITIONS), "events")
    from pipeline.kafka.partitioner import partition_for
    from pipeline.kafka.producer import classify

    lines: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    for event in simulate_events(contacts, 3):
        line = orjson.dumps(event)
        key, _ = classify(line)
        assert key is not None
        lines[partition_for(key, PARTITIONS)].append(line)
    out = []
    for p in range(PARTITIONS):
        stage.assigned(p, {CONTACTS: lambda: (), AGENTS: lambda: ()})
        stage.process(p, [(b"[" + b",".join(lines[p]) + b"]", 0)])
        out += [(p, k, v) for k, v in stage.publications(p, int(time.time() * 1000))]
    return out


class Screens:
    """`n` clients following /live/stream; each counts the states it got."""

    def __init__(self, port: int, n: int) -> None:
        self.port = port
        self.n = n
        self.seen = [0] * n
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        for i in range(self.n):
            self.tasks.append(asyncio.create_task(self._follow(i)))

    async def _follow(self, i: int) -> None:
        # A state of a large centre is one SSE line of more than asyncio's default 64 KiB.
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 24)
        writer.write(b"GET /live/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        try:
            while line := await reader.readline():
                if line.startswith(b"data: "):
                    self.seen[i] += 1
        finally:
            writer.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def phase(settings: Settings, port: int, board: psutil.Process, clients: int,
                messages: list[tuple[int, bytes, bytes]], updates: int,
                rate: float) -> tuple[float, float, int]:  # fmt: skip
    """(CPU seconds per update, share of updates a client saw at least, RSS bytes)."""
    from aiokafka import AIOKafkaProducer

    screens = Screens(port, clients)
    await screens.open()
    await until(lambda: min(screens.seen) >= 1, 30, "every client has the current state")
    base = list(screens.seen)
    producer = AIOKafkaProducer(**BrokerConnection.from_settings(settings).aiokafka_kwargs())
    await producer.start()
    version = int(time.time() * 1000)
    cpu = cpu_seconds(board)
    try:
        for n in range(updates):
            partition, key, value = messages[n % len(messages)]
            # A new version of the same state: every one changes the view.
            version += 1
            value = bump(value, version)
            await producer.send_and_wait(settings.live_topic, value, key=key, partition=partition)
            await asyncio.sleep(1 / rate)  # the publishing rate being measured
        await until(
            lambda: min(s - b for s, b in zip(screens.seen, base, strict=True)) >= updates,
            10, "the last update reached every client", fail=False,
        )  # fmt: skip
        used = cpu_seconds(board) - cpu
        rss = board.memory_info().rss
    finally:
        await producer.stop()
        await screens.close()
    got = min(s - b for s, b in zip(screens.seen, base, strict=True))
    return used / updates, got / updates, rss


async def until(condition: Callable[[], bool], deadline_s: float, what: str,
                fail: bool = True) -> None:  # fmt: skip
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            if fail:
                raise TimeoutError(f"no {what} in {deadline_s} s")
            return
        await asyncio.sleep(0.05)  # polling step of a wait with a deadline


def answers(port: int, deadline_s: float) -> None:
    """Until the server answers on `port`."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/wallboard.json", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # polling step of a wait with a deadline


def bump(value: bytes, version: int) -> bytes:
    """The publication with another version (msgpack: re-encode the outer array)."""
    items = msgspec.msgpack.decode(value)
    items[2] = version
    items[4] = int(time.time() * 1000)
    return msgspec.msgpack.encode(items)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--updates", type=int, default=120)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args()
    messages = [m for m in publications(args.contacts) if not m[1].endswith(b"/day")]
    with broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        settings = fresh_settings(bootstrap, PARTITIONS, Path(tmp) / "state")
        create_topics(settings)
        config = write_config(settings, Path(tmp) / "wallboard.yaml", 0)
        port = free_port()
        process = start_wallboard(config, port, Path(tmp) / "wallboard.log")
        try:
            answers(port, 30)
            board = psutil.Process(process.pid)
            one = asyncio.run(phase(settings, port, board, 1, messages, args.updates, args.rate))
            many = asyncio.run(
                phase(settings, port, board, args.clients, messages, args.updates, args.rate)
            )
        finally:
            stop(process)
    size = sum(len(v) for _, _, v in messages) / len(messages)
    record(
        "ccpipe wallboard, many wall screens",
        f"{args.clients} SSE clients: {many[0] * 1e3:,.1f} ms of CPU per update "
        f"(1 client: {one[0] * 1e3:,.1f} ms; {many[0] / one[0]:,.1f}x), every client got "
        f"{many[1]:.0%} of the updates (1 client: {one[1]:.0%}); resident memory "
        f"{many[2] / 2**20:,.0f} MiB with {args.clients} clients ({one[2] / 2**20:,.0f} MiB "
        f"with 1); {args.updates} updates at {args.rate:g}/s of a {args.contacts:,}-contact "
        f"day's partitions ({size / 1024:,.0f} KiB a publication)",
        packages=("aiohttp", "aiokafka", "msgspec"),
    )


if __name__ == "__main__":
    main()
