"""`ccpipe demo` as a person runs it: live figures within 30 s, figures that move, Ctrl-C that
leaves no process behind, and a store that then equals `ccpipe kpis` over what was sent.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.demo.demo_process import running_demo, sorted_rows, still_running
from tests.stream.worker_process import ccpipe_command, child_environment

pytestmark = pytest.mark.slow

FIRST_FIGURES_S = 30.0
# Simulated minutes the watermark must move while we watch: the figures are live.
MOVES_S = 300


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_everything_and_the_store_equals_kpis(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with running_demo(tmp_path / "demo", "--events-file", str(events)) as demo:
        # Default pacing (60x after a 2-hour warm-up): the demo as `make demo` runs it.
        def figures() -> dict[str, Any] | None:
            state = demo.wallboard()
            if state is None:
                return None
            shown = any(q["figures"]["service_level_15m"] is not None for q in state["queues"])
            return state if shown else None

        first = demo.wait_until(figures, FIRST_FIGURES_S, "live figures on the wallboard")
        took = time.monotonic() - demo.started
        assert took <= FIRST_FIGURES_S
        start_us = first["watermark_us"]
        demo.wait_until(
            lambda: (demo.wallboard() or {}).get("watermark_us", 0) >= start_us + MOVES_S * 1e6,
            30,
            "the watermark moving on",
        )
        # Another terminal's `ccpipe sql` goes through the store's owner, the sink.
        during = subprocess.run(
            [*ccpipe_command(), "sql", "--store", demo.store, "--format", "csv",
             "SELECT count() > 0 FROM events"],
            capture_output=True, env=child_environment(), timeout=60, check=False,
        )  # fmt: skip
        assert during.returncode == 0, during.stderr.decode()
        processes = demo.tree()
        names = " ".join(" ".join(p.cmdline()) for p in processes)
        for part in ("tansu", "worker", "sink", "pipeline.demo.feed"):
            assert part in names, f"no {part} among the demo's processes"
        broker_port = int(demo.output().split("ready on 127.0.0.1:")[1].split()[0])

        code = demo.interrupt(deadline_s=120)
        output = demo.output()
        assert code == 0, output
        assert "everything sent is in the store" in output, output
        assert still_running(processes) == []
        assert not port_taken(demo.port) and not port_taken(broker_port)

    env = child_environment()
    query = "SELECT * FROM kpi_interval_report"
    stored = subprocess.run(
        [*ccpipe_command(), "sql", "--store", demo.store, "--format", "jsonl", query],
        capture_output=True, env=env, check=True,
    ).stdout  # fmt: skip
    report = subprocess.run(
        [*ccpipe_command(), "kpis", str(events), "--format", "jsonl"],
        capture_output=True, env=env, check=True,
    ).stdout  # fmt: skip
    rows = sorted_rows(stored)
    assert len(rows) > 100
    assert rows == sorted_rows(report)
