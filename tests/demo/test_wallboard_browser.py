"""The wallboard in a real browser shows exactly what the worker's /metrics says.

`ccpipe demo` runs with the feed stopped at 10:30 of the simulated day (--until), so once the
worker has processed every event the figures hold still; headless Chromium then opens the
wallboard, waits for the server-sent figures at the worker's watermark, saves a screenshot,
and every figure on every tile must equal its gauge on /metrics, both as the raw value the
page holds and as the text it shows.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.core.catalogue import (
    AGENTS,
    CONSUMER_LAG,
    EVENTS,
    QUEUE_LONGEST_WAIT,
    QUEUE_WAITING,
    WATERMARK,
    WINDOW_KPI_GAUGES,
)
from tests.demo.browser import Chromium, chromium_path
from tests.demo.demo_process import running_demo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium"),
]

UNTIL = "2026-11-23T10:30:00Z"
# Figure on the page -> (metric, extra labels, how the page formats it).
GAUGES: dict[str, tuple[str, dict[str, str], str]] = {
    "in_queue": (QUEUE_WAITING.name, {}, "count"),
    "longest_wait_s": (QUEUE_LONGEST_WAIT.name, {}, "duration"),
    "agents_available": (AGENTS.name, {"state": "available"}, "count"),
    "service_level_15m": (WINDOW_KPI_GAUGES["service_level"].name, {"window": "15m"}, "percent"),
    "service_level_today": (
        WINDOW_KPI_GAUGES["service_level"].name,
        {"window": "today"},
        "percent",
    ),
    "asa_s": (WINDOW_KPI_GAUGES["asa_s"].name, {"window": "15m"}, "duration"),
    "abandon_rate": (WINDOW_KPI_GAUGES["abandon_rate"].name, {"window": "15m"}, "percent"),
    "aht_s": (WINDOW_KPI_GAUGES["aht_s"].name, {"window": "15m"}, "duration"),
}
ICONS = {"met": "✔", "near": "▲", "missed": "✖", "low": "◌"}
# What the page holds, read in one go.
READ_PAGE = """JSON.stringify({
  watermark: document.getElementById("watermark").dataset.value,
  tiles: [...document.querySelectorAll("article.tile")].map((tile) => ({
    tenant: tile.dataset.tenant,
    queue: tile.dataset.queue,
    lines: tile.querySelectorAll("svg.spark polyline").length,
    figures: Object.fromEntries([...tile.querySelectorAll("[data-figure]")].map((f) => [
      f.dataset.figure,
      {value: f.dataset.value, status: f.dataset.status,
       label: f.querySelector(".label").textContent,
       text: f.querySelector(".value").textContent,
       px: parseFloat(getComputedStyle(f.querySelector(".value")).fontSize)},
    ])),
  })),
})"""
# Seen from across a room on a 1080p screen: the smallest figure's type, in CSS pixels.
MIN_FIGURE_PX = 40


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves go up), not Python's round (halves go to even)."""
    return math.floor(x + 0.5)


def shown(value: float | None, kind: str) -> str:
    """The page's `format()` in wallboard.js."""
    if value is None:
        return "—"
    if kind == "count":
        return str(js_round(value))
    if kind == "percent":
        return f"{js_round(value * 100)}%"
    seconds = js_round(value)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}:{seconds % 60:02d}"
    return f"{minutes // 60} h {minutes % 60:02d}"


def test_wallboard_figures_equal_the_workers_metrics(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with running_demo(
        tmp_path / "demo",
        *("--speed", "0", "--until", UNTIL, "--events-file", str(events)),
    ) as demo:
        demo.wait_for_output("feed finished", 90)
        sent = sum(1 for line in events.read_bytes().splitlines() if line.strip())

        def settled() -> dict[Any, float] | None:
            metrics = demo.metrics()
            done = metrics.get((EVENTS.name, ())) == sent
            lag = sum(v for (name, _), v in metrics.items() if name == CONSUMER_LAG.name)
            return metrics if done and lag == 0 else None

        metrics = demo.wait_until(settled, 60, "worker caught up with the feed")
        watermark_us = round(metrics[(WATERMARK.name, ())] * 1e6)

        with Chromium.launch(tmp_path) as browser:
            browser.open(f"{demo.url}/wallboard")
            browser.wait_for(
                f"document.getElementById('watermark')?.dataset.value === '{watermark_us}'"
                " && document.querySelectorAll('article.tile').length > 0",
                deadline_s=30,
            )
            page = orjson.loads(browser.evaluate(READ_PAGE))
            shot = browser.screenshot(tmp_path / "wallboard.png")
        live = {name for name, _, _ in GAUGES.values()} | {WATERMARK.name}

        def shown_on_page(found: dict[Any, float]) -> dict[Any, float]:
            return {key: value for key, value in found.items() if key[0] in live}

        assert shown_on_page(demo.metrics()) == shown_on_page(metrics), "the figures moved"
        keep = Path(__file__).resolve().parents[2] / ".ccpipe" / "test-artifacts"
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "wallboard.png")

    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    queues = {(t["tenant"], t["queue"]) for t in page["tiles"]}
    waiting = {
        dict(labels)["queue"] for (name, labels), _ in metrics.items() if name == QUEUE_WAITING.name
    }
    assert {q for _, q in queues} == waiting == {"billing", "sales", "support"}
    judged = 0
    for tile in page["tiles"]:
        assert tile["lines"] >= 1, f"{tile['queue']}: no sparkline"
        for figure, (name, extra, kind) in GAUGES.items():
            labels = tuple(
                sorted({"tenant": tile["tenant"], "queue": tile["queue"], **extra}.items())
            )
            expected = metrics.get((name, labels))  # absent: no value (e.g. nothing answered)
            on_page = tile["figures"][figure]
            where = f"{tile['queue']} {figure}"
            if expected is None:
                assert on_page["value"] == "", where
            else:
                assert float(on_page["value"]) == expected, where
            assert on_page["text"] == shown(expected, kind), where
            assert on_page["px"] >= MIN_FIGURE_PX, f"{where}: {on_page['px']} px type"
            status = on_page["status"]
            if status in ICONS:  # state is told by an icon, not by colour alone
                judged += 1
                assert on_page["label"].startswith(ICONS[status]), where
    assert judged >= 6, "no figure was judged against a target"
