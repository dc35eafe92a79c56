"""The demo's progress line, read from a real Prometheus exposition."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from pipeline.demo.progress import Progress, parse_metrics


def exposition(events: float, dead: dict[str, float], lag: dict[str, float]) -> str:
    registry = CollectorRegistry()
    Counter("ccpipe_events", "Events.", registry=registry).inc(events)
    letters = Counter("ccpipe_events_dead_lettered", "Dead.", ["reason"], registry=registry)
    for reason, count in dead.items():
        letters.labels(reason).inc(count)
    gauge = Gauge("ccpipe_consumer_lag_messages", "Lag.", ["partition"], registry=registry)
    for partition, value in lag.items():
        gauge.labels(partition).set(value)
    Gauge("ccpipe_event_time_watermark_seconds", "W.", registry=registry).set(1795424400.0)
    return generate_latest(registry).decode()


def test_the_line_sums_labels_and_rates_events_between_reads() -> None:
    first = parse_metrics(exposition(1000, {"not_json": 2, "field:ts": 3}, {"0": 4}), at=10.0)
    assert (first.events, first.dead_lettered, first.lag) == (1000, 5, 4)
    second = parse_metrics(exposition(3000, {"not_json": 2, "field:ts": 3}, {"0": 0, "1": 0}), 12.0)
    progress = Progress()
    assert progress.line(first) == ("1,000 events, lag 4, 5 dead-lettered, event time 09:00:00 UTC")
    assert progress.moved(second)
    assert progress.line(second).startswith("3,000 events (1,000/s), lag 0,")
    assert not progress.moved(parse_metrics(exposition(3000, {"x": 5}, {}), 14.0))
