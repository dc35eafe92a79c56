"""Simulated events for benchmarks, made once per size and kept in .ccpipe/bench/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".ccpipe" / "bench"


def simulated(contacts: int, seed: int = 7) -> Path:
    """A JSONL file of `ccpipe simulate --contacts N --seed S` (about 7 events a contact)."""
    path = CACHE / f"sim-{contacts}-{seed}.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pipeline.cli",
                    "simulate",
                    "--contacts",
                    str(contacts),
                    "--seed",
                    str(seed),
                    "--quiet",
                ],
                stdout=out,
                check=True,
            )
        tmp.rename(path)
    return path


def lines(path: Path, limit: int | None = None) -> list[bytes]:
    out = []
    with path.open("rb") as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                break
            out.append(line.rstrip(b"\n"))
    return out
