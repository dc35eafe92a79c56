"""What the wallboard page (pipeline/wallboard/wallboard.js) prints, for tests to compare."""

from __future__ import annotations

import math

# The page's type floor at 1920x1080 (wallboard.js FIGURE_MIN_PX, docs/demo.md): figures at
# least this many CSS pixels, other text at least LABEL_SHARE of it; both scale with the screen.
FIGURE_MIN_PX = 18
LABEL_SHARE = 0.8


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves go up), not Python's round (halves go to even)."""
    return math.floor(x + 0.5)


def shown(value: float | None, kind: str) -> str:
    """The page's `format()`."""
    if value is None:
        return "—"
    if kind in ("count", "score"):
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
