"""The built-in wallboard: a page served by the worker's own web server (`/wallboard`).

`board` computes what the page shows from the worker's state; the page itself is three
static files beside this module (package data), plain HTML, CSS and JavaScript with no build
step and nothing fetched from elsewhere, fed by server-sent events from `/live/stream`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

ASSETS: tuple[str, ...] = ("wallboard.html", "wallboard.css", "wallboard.js")


@cache
def asset(name: str) -> bytes:
    """One of the page's static files, read once from the installed package."""
    if name not in ASSETS:
        raise KeyError(name)
    return resources.files(__name__).joinpath(name).read_bytes()
