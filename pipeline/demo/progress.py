"""The demo's progress line, read from the worker's own /metrics.

    ccpipe demo: 84,210 events (1,420/s), lag 0, 0 dead-lettered, event time 09:42:10 UTC

Reading the worker's page rather than counting in the feed shows what the pipeline has
really processed: events/s is the rate of `ccpipe_events_total` between two reads, lag the
sum of `ccpipe_consumer_lag_messages`, dead letters the sum of
`ccpipe_events_dead_lettered_total`.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from pipeline.core.catalogue import (
    CONSUMER_LAG,
    DEAD_LETTERED,
    EVENTS,
    LIVE_PUBLICATIONS,
    WATERMARK,
)
from pipeline.core.clock import format_utc

READ_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # time.monotonic() of the read
    events: float
    dead_lettered: float
    lag: float
    watermark_s: float


def parse_metrics(text: str, at: float) -> Sample:
    values = {"events": 0.0, "dead": 0.0, "lag": 0.0, "watermark": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == EVENTS.name:
                values["events"] += sample.value
            elif sample.name == DEAD_LETTERED.name:
                values["dead"] += sample.value
            elif sample.name == CONSUMER_LAG.name:
                values["lag"] += sample.value
            elif sample.name == WATERMARK.name:
                values["watermark"] = sample.value
    return Sample(at, values["events"], values["dead"], values["lag"], values["watermark"])


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=READ_TIMEOUT_S) as response:
            body: bytes = response.read()
            return body
    except (OSError, urllib.error.URLError):
        return None


def read_metrics(base_url: str) -> Sample | None:
    """The worker's figures now, or None while its web server does not answer."""
    body = _get(f"{base_url}/metrics")
    return None if body is None else parse_metrics(body.decode(), time.monotonic())


def publications(base_url: str) -> int:
    """How many live-state publications the worker has sent (0 while it does not answer)."""
    body = _get(f"{base_url}/metrics")
    if body is None:
        return 0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == LIVE_PUBLICATIONS.name:
                return int(sample.value)
    return 0


def combined(samples: list[Sample | None]) -> Sample | None:
    """The whole group's figures from each worker's (None until every worker answers):
    counts and lag add up, the watermark is the largest."""
    if not samples or any(s is None for s in samples):
        return None
    found = [s for s in samples if s is not None]
    return Sample(
        max(s.at for s in found),
        sum(s.events for s in found),
        sum(s.dead_lettered for s in found),
        sum(s.lag for s in found),
        max(s.watermark_s for s in found),
    )


def wallboard_has_figures(base_url: str) -> bool:
    """True once the wallboard shows a queue with a service level (rolling or today)."""
    body = _get(f"{base_url}/wallboard.json")
    if body is None:
        return False
    state: dict[str, Any] = orjson.loads(body)
    return any(queue["figures"].get("service_level_15m") is not None for queue in state["queues"])


class Progress:
    """Formats one line per sample, with the event rate since the previous sample."""

    def __init__(self) -> None:
        self.previous: Sample | None = None

    def moved(self, sample: Sample) -> bool:
        """Whether anything shown changed since the previous line."""
        previous = self.previous
        if previous is None:
            return True
        return (sample.events, sample.dead_lettered, sample.lag, sample.watermark_s) != (
            previous.events,
            previous.dead_lettered,
            previous.lag,
            previous.watermark_s,
        )

    def line(self, sample: Sample) -> str:
        rate = ""
        previous = self.previous
        if previous is not None and sample.at > previous.at:
            per_s = max(0.0, sample.events - previous.events) / (sample.at - previous.at)
            rate = f" ({per_s:,.0f}/s)"
        self.previous = sample
        clock = (
            format_utc(int(sample.watermark_s * 1e6))[11:19] + " UTC"
            if sample.watermark_s > 0
            else "none yet"
        )
        return (
            f"{sample.events:,.0f} events{rate}, lag {sample.lag:,.0f}, "
            f"{sample.dead_lettered:,.0f} dead-lettered, event time {clock}"
        )
