"""Child processes of the demo: stopped for sure, never orphaned (real processes, no mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from pipeline.demo.process import ChildProcess
from pipeline.demo.supervisor import StopSignals, Supervisor


def gone(pid: int, deadline_s: float = 10.0) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def python(tmp_path: Path, name: str, code: str, stop_deadline_s: float = 20.0) -> ChildProcess:
    return ChildProcess(
        name,
        [sys.executable, "-c", textwrap.dedent(code)],
        tmp_path / f"{name}.log",
        stop_deadline_s=stop_deadline_s,
    )


def wait_for_line(path: Path, deadline_s: float = 10.0) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return text.strip()
        time.sleep(0.05)
    raise AssertionError(f"nothing written to {path}")


def test_a_child_that_ignores_sigterm_is_killed_at_the_deadline_with_its_group(
    tmp_path: Path,
) -> None:
    child = python(
        tmp_path,
        "stubborn",
        f"""
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen(["sleep", "600"])
        open({str(tmp_path / "pid")!r}, "w").write(f"{{grandchild.pid}}\\n")
        time.sleep(600)
        """,
        stop_deadline_s=1.0,
    )
    child.start()
    grandchild = int(wait_for_line(tmp_path / "pid"))
    started = time.monotonic()
    code = child.stop()
    assert code == -signal.SIGKILL
    assert time.monotonic() - started >= 1.0  # it was given its stop deadline first
    assert gone(grandchild), "the child's own child outlived it"


def test_children_die_with_a_killed_parent(tmp_path: Path) -> None:
    """A SIGKILLed demo cannot stop anything: the kernel does (PR_SET_PDEATHSIG)."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from pipeline.demo.process import ChildProcess
                child = ChildProcess("sleeper", ["sleep", "600"], Path({str(tmp_path)!r}) / "s.log")
                child.start()
                print(child.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    sleeper = int(parent.stdout.readline())
    assert psutil.pid_exists(sleeper)
    parent.kill()
    parent.wait()
    assert gone(sleeper), "the child outlived its killed parent"


def test_the_supervisor_stops_in_reverse_order_and_reports_failures(tmp_path: Path) -> None:
    order = tmp_path / "order"
    record = f"""
        import signal, sys, time
        def bye(*_):
            open({str(order)!r}, "a").write(sys.argv[1] + "\\n"); sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        print("ready", flush=True)
        time.sleep(600)
        """
    with Supervisor() as children:
        for name in ("first", "second"):
            child = python(tmp_path, name, record)
            child.argv.append(name)
            children.start(child)
        children.start(python(tmp_path, "done", "pass"), may_finish=True)
        crash = children.start(python(tmp_path, "crash", "raise SystemExit(3)"))
        deadline = time.monotonic() + 10
        while children.failed() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children.failed() is crash  # "done" ended with 0 and may: not a failure
        for name in ("first", "second"):  # their handlers are in place
            assert wait_for_line(tmp_path / f"{name}.log") == "ready"
    assert order.read_text().split() == ["second", "first"]
    assert all(not child.running for child in children)


def test_a_second_signal_asks_for_an_urgent_stop() -> None:
    # What was there before, not Python's default: a shell's background job starts with
    # SIGINT ignored, and the handler put back must be that.
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGINT)
        assert signals.wait(5)
        assert not signals.urgent.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not signals.urgent.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signals.urgent.is_set()
        assert signals.received == ["SIGINT", "SIGTERM"]
    assert signal.getsignal(signal.SIGINT) is before


@pytest.fixture(autouse=True)
def no_leftovers() -> object:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=5)
    assert not alive, f"left behind: {alive}"
