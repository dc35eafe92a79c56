"""The demo's children, started in order and stopped in reverse, whatever happens.

`Supervisor` owns the `ChildProcess`es (broker, worker, sink, feed); leaving its `with` block
stops every one still running, so an exception on the way up leaves nothing behind either.
`StopSignals` turns the first Ctrl-C or SIGTERM into a polite request (the demo drains, then
stops) and a second one into "stop now" (no draining).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from pipeline.demo.process import ChildProcess


class Supervisor:
    def __init__(self) -> None:
        self.children: list[ChildProcess] = []
        # Children that may end by themselves without that being a failure (the feed).
        self._may_finish: set[str] = set()

    def start(self, child: ChildProcess, may_finish: bool = False) -> ChildProcess:
        child.start()
        return self.adopt(child, may_finish)

    def adopt(self, child: ChildProcess, may_finish: bool = False) -> ChildProcess:
        """Take charge of a child started elsewhere (the broker starts its own)."""
        self.children.append(child)
        if may_finish:
            self._may_finish.add(child.name)
        return child

    def __getitem__(self, name: str) -> ChildProcess:
        return next(child for child in self.children if child.name == name)

    def __iter__(self) -> Iterator[ChildProcess]:
        return iter(self.children)

    def failed(self) -> ChildProcess | None:
        """A child that ended although nobody asked it to, if any."""
        for child in self.children:
            if child.stopping or child.running or child.process is None:
                continue
            if child.name in self._may_finish and child.returncode == 0:
                continue
            return child
        return None

    def stop(self, name: str, deadline_s: float | None = None) -> int | None:
        return self[name].stop(deadline_s)

    def stop_all(self, deadline_s: float | None = None) -> None:
        """Stop every child, the last started first (each one's input outlives it)."""
        for child in reversed(self.children):
            child.stop(deadline_s)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


class StopSignals:
    """SIGINT and SIGTERM as flags while the demo runs; the old handlers come back after."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.urgent = threading.Event()
        self.received: list[str] = []
        self._previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)
        if self.requested.is_set():
            self.urgent.set()
        self.requested.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on a stop request; True if one came."""
        return self.requested.wait(seconds)

    def __enter__(self) -> StopSignals:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
