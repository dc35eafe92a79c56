"""The wallboard's pages over simulated events, served in-process: no broker, no worker.

The events go through the code a worker and a reader run (the core's `KpiState` and
`LiveBoard`, a publication per part encoded and decoded as on the live topic, a `CentreView`
merging them), and the pages are `ccpipe wallboard`'s own aiohttp application, served from a
thread on a free port. The page tests and the screenshots of docs/demo.md use it:

    with served_wallboard(demo_events(), settings) as server:
        browser.open(f"{server.url}/wallboard?queue=sales")
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

from pipeline.config import Settings
from pipeline.core.clock import parse_rfc3339
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import LiveBoard, agent_parts
from pipeline.demo.broker import free_port
from pipeline.liveview.publication import Encoder, Publication, day_key, fcr_key, source_key
from pipeline.liveview.server import application
from pipeline.liveview.view import CentreView
from pipeline.simulator import simulate_timed
from pipeline.simulator.parameters import AgentGroup, CentreConfig, QueueBehaviour
from pipeline.wallboard.pages import WallboardPages
from tests.demo.browser import Chromium

ROOT = Path(__file__).resolve().parents[2]
# The compose stack's settings: the demo's queues with targets per queue and three goals.
DEPLOY_CONFIG = ROOT / "deploy" / "ccpipe.yaml"
# The default demo's feed (`ccpipe demo`: 20,000 contacts, seed 7, from 07:00), stopped at the
# morning peak.
DEMO_CONTACTS, DEMO_SEED = 20_000, 7
UNTIL = "2026-11-23T10:30:00Z"
# Ten queues for the wall-screen tests, long names among them.
TEN_QUEUES = (
    "sales", "support", "billing", "retention", "technical",
    "orders", "claims", "onboarding", "accounts", "priority",
)  # fmt: skip


def ten_queue_centre() -> CentreConfig:
    """The default centre's customers spread over ten queues (each behaves like one of the
    three default ones): two voice teams of five queues each, a digital team for all."""
    base = CentreConfig()
    kinds = list(base.queues.values())
    queues: dict[str, QueueBehaviour] = {}
    for i, name in enumerate(TEN_QUEUES):
        kind = kinds[i % len(kinds)]
        others = [q for q in TEN_QUEUES if q != name][:2]
        queues[name] = dataclasses.replace(
            kind, share=1 / len(TEN_QUEUES), transfer_to=((others[0], 0.6), (others[1], 0.4))
        )
    voice = ("voice", "callback")
    groups = (
        AgentGroup("voice-a", TEN_QUEUES[:5], voice),
        AgentGroup("voice-b", TEN_QUEUES[5:], voice),
        AgentGroup("digital", TEN_QUEUES, tuple(c for c in base.channels if c not in voice)),
    )
    return dataclasses.replace(base, queues=queues, groups=groups)


def simulated_lines(
    contacts: int = DEMO_CONTACTS,
    seed: int = DEMO_SEED,
    until: str = UNTIL,
    config: CentreConfig | None = None,
) -> list[bytes]:
    """The events the demo's feed sends up to `until` (simulated delivery time), with the
    optional `team` and `reason` of `agent.state` a platform gives and the simulator does not:
    the agent's group (the first whose queues are the agent's), and `break` when away (the
    simulator's only absence)."""
    config = config or CentreConfig()
    teams = {frozenset(group.queues): group.name for group in reversed(config.groups)}
    until_us = parse_rfc3339(until)
    lines = []
    for at_us, event in simulate_timed(contacts, seed, config=config):
        if at_us > until_us:
            break
        if event["type"] == "agent.state":
            event["team"] = teams.get(frozenset(event.get("queues") or ()))
            if event["state"] == "away":
                event["reason"] = "break"
        lines.append(orjson.dumps(event))
    return lines


def centre_view(lines: list[bytes], settings: Settings) -> CentreView:
    """The whole centre's view of the events, as a reader builds it from the live topic: one
    source partition's recent, day and FCR parts, encoded and applied."""
    zones = settings.tenant_timezone
    state = KpiState(settings.queue, zones)
    for line in lines:
        state.apply(decode_message(line)[0])
    state.flush()
    segments = state.segments
    now = segments.watermark_us
    board = LiveBoard.from_segments(segments.segments.values(), segments.queue_config, zones)
    cut = board.export(now)
    published_ms = int(time.time() * 1000)
    agents = agent_parts([segments.agents], now, zones)
    encoder = Encoder()
    view = CentreView(1, zones, stale_after_s=settings.live_stale_after_s)
    for publication in (
        Publication(day_key(0), 0, now, published_ms, cut.horizon_us, cut.day),
        Publication(source_key(0), 0, now, published_ms, cut.horizon_us, cut.recent, agents),
        Publication(fcr_key(0), 0, now, published_ms, 0, [], fcr=state.fcr.live_parts(now)),
    ):
        view.apply(encoder.encode(publication))
    return view


@dataclass
class ServedWallboard:
    url: str
    view: CentreView


@contextlib.contextmanager
def served_wallboard(lines: list[bytes], settings: Settings) -> Iterator[ServedWallboard]:
    """`ccpipe wallboard`'s application over the events' view, on a free port, until exit."""
    view = centre_view(lines, settings)
    pages = WallboardPages(view, settings.targets, settings.queue, settings.tenant_timezone)
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(application(view, pages), access_log=None)
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.set()
        try:
            await stop.wait()
        finally:
            pages.close()
            await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(timeout=30):
        raise RuntimeError("the wallboard server did not start within 30 s")
    try:
        yield ServedWallboard(f"http://127.0.0.1:{port}", view)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


def show_page(browser: Chromium, url: str, size: tuple[int, int] = (1920, 1080)) -> None:
    """Open the page at this screen size and wait until it has rendered the state and sized
    itself (a new page: the one before is marked `left`, so it is never taken for it)."""
    width, height = size
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        width=width, height=height, deviceScaleFactor=1, mobile=False,
    )  # fmt: skip
    browser.evaluate("window.left = true")
    browser.open(url)
    browser.wait_for(
        f"window.left === undefined && location.href === {orjson.dumps(url).decode()}"
        " && document.body?.dataset.fitPx !== undefined",
        deadline_s=30,
    )
