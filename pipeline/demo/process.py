"""One child process of the demo: started so that it cannot outlive the demo, stopped for sure.

Each child runs in its own session (so the terminal's Ctrl-C reaches only the demo, which
then stops the children in order) and asks the kernel to SIGKILL it if the demo dies
(`PR_SET_PDEATHSIG`), so even a SIGKILLed demo leaves nothing behind. Stopping sends the
child's own stop signal with a deadline, then SIGKILL to its whole process group, and always
reaps it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
LOG_TAIL_LINES = 30


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A preexec_fn: SIGKILL this child when the process that started it ends (Linux)."""

    def arm() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would kill us.
        if os.getppid() != parent:
            os._exit(1)

    return arm


class ChildProcess:
    """A named command with a log file; `stop_signal` None means "SIGKILL at once"."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        stop_signal: signal.Signals | None = signal.SIGTERM,
        stop_deadline_s: float = 20.0,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.stop_signal = stop_signal
        self.stop_deadline_s = stop_deadline_s
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, sig: signal.Signals) -> None:
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def request_stop(self) -> None:
        """Send the stop signal without waiting, so several children stop at once."""
        self.stopping = True
        self.signal(self.stop_signal or signal.SIGKILL)

    def stop(self, deadline_s: float | None = None) -> int | None:
        """Stop signal, wait up to the deadline, then SIGKILL the group; always reaped."""
        if self.process is None:
            return None
        self.request_stop()
        deadline = self.stop_deadline_s if deadline_s is None else deadline_s
        try:
            self.process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
        self._kill_group()
        return self.process.returncode

    def _kill_group(self) -> None:
        # Anything the child started in its session goes with it.
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
