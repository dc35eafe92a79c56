"""For the whole suite: failure reports of tests that ran `ccpipe worker` processes end with
each worker's log, and property tests have no per-example time limit."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from hypothesis import settings

from tests.stream.worker_process import WorkerGroup

# Hypothesis fails an example that takes over 200 ms; on a loaded machine a plain one can
# (seen: tests/stream/test_offsets.py beside other sessions' work, load average over 20).
# What the properties test is the answer, not the time, so the suite has no such limit.
settings.register_profile("ccpipe", deadline=None)
settings.load_profile("ccpipe")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran workers (any WorkerGroup among its fixtures: the stream's,
    the live view's, the sink's) shows the end of each worker's log in its report."""
    report = yield
    if report.when == "call" and report.failed:
        for group in getattr(item, "funcargs", {}).values():
            if isinstance(group, WorkerGroup) and group.workers:
                report.sections.append((f"worker logs of {group.app_id} (tail)", group.log_tails()))
    return report
