"""The last lines of a log file, for failure reports: what every process helper shows."""

from __future__ import annotations

from pathlib import Path

LINES = 40


def log_tail(path: Path, lines: int = LINES) -> str:
    """The last `lines` lines of `path` ("" if it does not exist yet; the error if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"(unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:])
