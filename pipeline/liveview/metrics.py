"""What a reader of the live topic says of its view, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from pipeline.core.catalogue import (
    LIVE_MESSAGES,
    LIVE_OLDEST_UPDATE,
    LIVE_PARTITIONS,
    STAFFING_PROJECTED,
    STAFFING_REQUIRED,
    STAFFING_STAFFED,
    STAFFING_TARGET,
)
from pipeline.core.staffing import LiveStaffing
from pipeline.liveview.view import OUTCOMES, CentreView
from pipeline.metric_families import counter, described, gauge


class LiveViewCollector(Collector):
    """The view's own state, and with `staffing` the live staffing advice of the whole centre
    at the view's clock (the same figures in every reader, docs/staffing.md)."""

    def __init__(self, view: CentreView, staffing: LiveStaffing | None = None) -> None:
        self._view = view
        self._staffing = staffing

    def describe(self) -> list[Metric]:
        return list(
            described(
                (
                    LIVE_MESSAGES,
                    LIVE_PARTITIONS,
                    LIVE_OLDEST_UPDATE,
                    STAFFING_REQUIRED,
                    STAFFING_STAFFED,
                    STAFFING_PROJECTED,
                    STAFFING_TARGET,
                )
            )
        )

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
        yield from self._staffing_families()

    def _staffing_families(self) -> Iterator[Metric]:
        required, staffed = gauge(STAFFING_REQUIRED), gauge(STAFFING_STAFFED)
        projected, target = gauge(STAFFING_PROJECTED), gauge(STAFFING_TARGET)
        view = self._view
        advice = (
            []
            if self._staffing is None
            else self._staffing.advise(view.live(per_channel=True), view.watermark_us)
        )
        for queue in advice:
            staffed.add_metric([queue.tenant, queue.queue], queue.staffed)
            for channel in queue.channels:
                labels = [queue.tenant, queue.queue, channel.channel]
                if channel.required is not None:
                    required.add_metric(labels, channel.required)
                if channel.projected_service_level is not None:
                    projected.add_metric(labels, channel.projected_service_level)
                if channel.target is not None:
                    target.add_metric(labels, channel.target.service_level)
        yield from (required, staffed, projected, target)
