"""The Kafka fixtures (tests/kafka/broker.py) and the worker processes of the stream tests."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.kafka.broker import kafka_broker, kafka_sasl, kafka_settings, topic_prefix
from tests.stream.worker_process import WorkerGroup, worker_group

__all__ = ["kafka_broker", "kafka_sasl", "kafka_settings", "topic_prefix", "worker_group"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran workers shows the end of each worker's log in its report."""
    report = yield
    if report.when == "call" and report.failed:
        group: Any = getattr(item, "funcargs", {}).get("worker_group")
        if isinstance(group, WorkerGroup) and group.workers:
            report.sections.append(("worker logs (tail)", group.log_tails()))
    return report
