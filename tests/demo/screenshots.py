"""Regenerate the wallboard screenshots of docs/demo.md (`make screenshots`).

    python -m tests.demo.screenshots [--out docs/img]

The default demo's feed (20,000 contacts, seed 7) stopped at 10:30, through the pages of
`ccpipe wallboard` served in-process (tests/demo/wallboard_fixture.py) with the compose
stack's settings (deploy/ccpipe.yaml: its targets and goals), in headless Chromium: at 1080p
and 4K, the light theme, the agent panel, and ten queues at 1080p.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pipeline.config import load_settings
from tests.demo.browser import Chromium
from tests.demo.wallboard_fixture import (
    DEPLOY_CONFIG,
    ROOT,
    ServedWallboard,
    served_wallboard,
    show_page,
    simulated_lines,
    ten_queue_centre,
)

FULL_HD, UHD = (1920, 1080), (3840, 2160)
DEMO_SHOTS = (
    ("wallboard-1080p.png", "", FULL_HD),
    ("wallboard-4k.png", "", UHD),
    ("wallboard-light-1080p.png", "?theme=light", FULL_HD),
    ("wallboard-agents-1080p.png", "?view=agents&team=care-voice", FULL_HD),
)
TEN_SHOTS = (("wallboard-10-queues-1080p.png", "", FULL_HD),)


def shoot(
    browser: Chromium,
    server: ServedWallboard,
    shots: tuple[tuple[str, str, tuple[int, int]], ...],
    out: Path,
) -> None:
    for name, tail, size in shots:
        show_page(browser, f"{server.url}/wallboard{tail}", size)
        print(browser.screenshot(out / name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = load_settings(DEPLOY_CONFIG, env={})
    with tempfile.TemporaryDirectory() as folder, Chromium.launch(Path(folder)) as browser:
        with served_wallboard(simulated_lines(), settings) as server:
            shoot(browser, server, DEMO_SHOTS, args.out)
        with served_wallboard(simulated_lines(config=ten_queue_centre()), settings) as server:
            shoot(browser, server, TEN_SHOTS, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
