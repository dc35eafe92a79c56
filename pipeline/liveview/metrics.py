"""What a reader of the live topic says of its view, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from pipeline.core.catalogue import LIVE_MESSAGES, LIVE_OLDEST_UPDATE, LIVE_PARTITIONS
from pipeline.liveview.view import OUTCOMES, CentreView
from pipeline.metric_families import counter, gauge


class LiveViewCollector(Collector):
    def __init__(self, view: CentreView) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        view = self._view
        messages = counter(LIVE_MESSAGES)
        for outcome in OUTCOMES:
            messages.add_metric([outcome], view.counts[outcome])
        yield messages
        status = view.status()
        stale = len(status["stale"])
        partitions = gauge(LIVE_PARTITIONS)
        partitions.add_metric(["fresh"], status["present"] - stale)
        partitions.add_metric(["stale"], stale)
        partitions.add_metric(["missing"], len(status["missing"]))
        yield partitions
        oldest = status["oldest_update_s"]
        yield gauge(LIVE_OLDEST_UPDATE, value=float(oldest) if oldest is not None else 0.0)
