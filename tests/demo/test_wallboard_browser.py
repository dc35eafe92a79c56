"""The wallboard in a real browser shows exactly the whole centre's view, whatever the
number of workers.

`ccpipe demo` runs with the feed stopped at 10:30 of the simulated day (--until), once with
one worker and once with two, so once every event is processed the figures hold still. Each
run's /wallboard.json must equal one board over every event the feed sent (computed here, with
no worker); headless Chromium then opens the wallboard, waits for the figures at that
watermark, saves a screenshot, and every figure on every tile must equal /wallboard.json, both
as the raw value the page holds and as the text it shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.config import load_settings
from tests.demo.browser import Chromium, chromium_path
from tests.demo.demo_process import running_demo
from tests.demo.page_text import FIGURE_MIN_PX, shown
from tests.liveview.expected import expected_page
from tests.liveview.expected import shown as shown_parts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium"),
]

UNTIL = "2026-11-23T10:30:00Z"
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
MIN_FIGURE_PX = FIGURE_MIN_PX


@pytest.mark.parametrize("workers", [1, 2])
def test_the_wallboard_shows_the_whole_centre_with_one_worker_or_two(
    workers: int, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    with running_demo(
        tmp_path / "demo",
        *("--speed", "0", "--until", UNTIL, "--events-file", str(events)),
        *("--workers", str(workers)),
    ) as demo:
        demo.wait_for_output("feed finished", 120)
        watermark_us, expected = expected_page(
            events.read_bytes().splitlines(), load_settings(env={})
        )

        def whole() -> dict[str, Any] | None:
            state = demo.wallboard()
            if state is None or state["watermark_us"] != watermark_us:
                return None
            return state if state["status"]["whole"] and shown_parts(state) == expected else None

        state = demo.wait_until(whole, 120, "the whole centre's figures on /wallboard.json")
        with Chromium.launch(tmp_path) as browser:
            browser.open(f"{demo.url}/wallboard")
            browser.wait_for(
                f"document.getElementById('watermark')?.dataset.value === '{watermark_us}'"
                " && document.querySelectorAll('article.tile').length > 0",
                deadline_s=30,
            )
            page = orjson.loads(browser.evaluate(READ_PAGE))
            coverage = browser.evaluate("document.getElementById('coverage').textContent")
            shot = browser.screenshot(tmp_path / "wallboard.png")
        keep = Path(__file__).resolve().parents[2] / ".ccpipe" / "test-artifacts"
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / f"wallboard-{workers}-workers.png")

    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert coverage.startswith("4 of 4 partitions · updated ")
    specs = {spec["key"]: spec for spec in state["figures"]}
    by_queue = {(q["tenant"], q["queue"]): q for q in state["queues"]}
    assert {(t["tenant"], t["queue"]) for t in page["tiles"]} == set(by_queue)
    assert {q for _, q in by_queue} == {"billing", "sales", "support"}
    judged = 0
    for tile in page["tiles"]:
        queue = by_queue[(tile["tenant"], tile["queue"])]
        assert tile["lines"] >= 1, f"{tile['queue']}: no sparkline"
        for key, spec in specs.items():
            expected = queue["figures"][key]
            on_page = tile["figures"][key]
            where = f"{tile['queue']} {key}"
            if expected is None:
                assert on_page["value"] == "", where
            else:
                assert float(on_page["value"]) == expected, where
            assert on_page["text"] == shown(expected, spec["format"]), where
            assert on_page["px"] >= MIN_FIGURE_PX, f"{where}: {on_page['px']} px type"
            status = on_page["status"]
            assert status == queue["status"].get(key, on_page["status"]), where
            if status in ICONS:  # state is told by an icon, not by colour alone
                judged += 1
                assert on_page["label"].startswith(ICONS[status]), where
    assert judged >= 6, "no figure was judged against a target"
