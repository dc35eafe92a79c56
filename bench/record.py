"""One place that writes benchmark results: a line on stdout and a row in docs/benchmarks.md.

Each row carries what makes a figure comparable: the command, the machine (cores, CPU
model), the versions that matter and the date. Ratios measured in one run are the figures to
trust on these shared, noisy machines; absolute rates are context.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
MARKER = "<!-- results: bench/record.py appends below -->"
HEADER = "| date | benchmark | result | command | machine | versions |\n|---|---|---|---|---|---|\n"


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def versions(*packages: str) -> str:
    parts = [f"Python {platform.python_version()}"]
    for name in packages:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    return ", ".join(parts)


def record(name: str, result: str, packages: tuple[str, ...] = ("msgspec",)) -> None:
    """Print the result line and append it to docs/benchmarks.md."""
    script = Path(sys.argv[0]).resolve()
    root = Path(__file__).resolve().parent.parent
    module = (
        ".".join(script.relative_to(root).with_suffix("").parts)
        if script.is_relative_to(root)
        else script.name
    )
    command = " ".join(["python -m", module, *(shlex.quote(a) for a in sys.argv[1:])])
    print(f"{name}: {result}")
    if os.environ.get("CCPIPE_BENCH_NO_RECORD"):
        return
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if MARKER not in text:
        text = text.rstrip() + f"\n\n## Results\n\n{MARKER}\n\n{HEADER}"
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    row = f"| {date} | {name} | {result} | `{command}` | {machine()} | {versions(*packages)} |\n"
    RESULTS.write_text(text + row)
