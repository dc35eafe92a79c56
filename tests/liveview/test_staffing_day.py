"""Live staffing on a simulated day, through the stream's local runtime and the whole centre's
view: at several moments of the day, the wallboard's and the metrics' staffing figures are
the calculator's (`erlang.advise`) fed the trailing rates this test counts from the events
itself, with no part of the pipeline's live machinery."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field

import msgspec
import orjson
import pytest
from prometheus_client import CollectorRegistry

from pipeline.config import Settings, load_settings
from pipeline.core.clock import US_PER_S, parse_rfc3339
from pipeline.core.erlang import Traffic, advise
from pipeline.core.staffing import shares
from pipeline.liveview.server import view_collector
from pipeline.liveview.view import CentreView
from pipeline.simulator import CentreConfig, simulate_events
from pipeline.wallboard.pages import WallboardPages
from tests.stream.harness import LocalPipeline

MINUTE_US = 60 * US_PER_S
PARTITIONS = 3
# Few abandons suffice for a patience estimate here, so that the day shows both models.
MIN_ABANDONS = 3
STAFFED = ("available", "busy", "acw")
Group = tuple[str, str, str]


@dataclass
class Segment:
    """One contact in one queue, as the contract defines it: each part the earliest by
    (ts, event_id)."""

    channel: str = ""
    offered: tuple[int, str] | None = None
    outcome: tuple[int, str, str] | None = None  # (ts, event_id, type)
    transferred: tuple[int, str] | None = None
    ended: tuple[int, str, float] | None = None  # (ts, event_id, talk + hold)
    wrapup: tuple[int, str, float] | None = None  # (ts, event_id, acw)


@dataclass
class Expected:
    offered: int = 0  # last 15 minutes
    handled: int = 0  # last 60 minutes
    handle_us: int = 0
    handled_today: int = 0
    handle_today_us: int = 0
    abandons: int = 0
    exposure_us: int = 0
    waits: list[int] = field(default_factory=list)


def _earliest(held: tuple | None, new: tuple) -> tuple:  # type: ignore[type-arg]
    return new if held is None or new[:2] < held[:2] else held


def segments_and_agents(
    events: list[dict[str, object]],
) -> tuple[dict[tuple[str, str, str], Segment], dict[tuple[str, str], dict[str, object]], int]:
    """Segments by (tenant, contact, queue), each agent's latest state, and the watermark."""
    segments: dict[tuple[str, str, str], Segment] = defaultdict(Segment)
    agents: dict[tuple[str, str], dict[str, object]] = {}
    seen: set[str] = set()
    watermark = -1
    for event in events:
        event_id = str(event["event_id"])
        if event_id in seen:
            continue
        seen.add(event_id)
        ts = parse_rfc3339(str(event["ts"]))
        watermark = max(watermark, ts)
        tenant = str(event.get("tenant", "default"))
        kind = event["type"]
        if kind == "agent.state":
            key = (tenant, str(event["agent_id"]))
            held = agents.get(key)
            if held is None or (ts, event_id) > (held["ts_us"], held["event_id"]):
                agents[key] = {**event, "ts_us": ts}
            continue
        if kind == "survey.response":
            continue
        seg = segments[(tenant, str(event["contact_id"]), str(event["queue"]))]
        if kind == "contact.offered":
            seg.offered = _earliest(seg.offered, (ts, event_id))
            if seg.offered == (ts, event_id):
                seg.channel = str(event["channel"])
        elif kind in ("contact.answered", "contact.abandoned"):
            seg.outcome = _earliest(seg.outcome, (ts, event_id, kind))
        elif kind == "contact.transferred":
            seg.transferred = _earliest(seg.transferred, (ts, event_id))
        elif kind == "contact.ended":
            took = float(event["talk_s"]) + float(event.get("hold_s") or 0)  # type: ignore[arg-type]
            seg.ended = _earliest(seg.ended, (ts, event_id, took))
        elif kind == "contact.wrapup_ended":
            seg.wrapup = _earliest(seg.wrapup, (ts, event_id, float(event["acw_s"])))  # type: ignore[arg-type]
    return segments, agents, watermark


def expected_figures(
    events: list[dict[str, object]],
) -> tuple[int, dict[Group, Expected], dict[tuple[str, str], int], dict[Group, float]]:
    """(now, per channel what the trailing figures count, staffed per queue, the 15-minute
    window's elapsed seconds), from the events alone. Windows hold whole minutes of offer time
    from the first minute boundary at or after now - length (docs/live.md); today starts at
    the UTC midnight (the default zone)."""
    segments, agents, now = segments_and_agents(events)
    first_15 = -(-(now - 15 * MINUTE_US) // MINUTE_US) * MINUTE_US
    first_60 = -(-(now - 60 * MINUTE_US) // MINUTE_US) * MINUTE_US
    today = now - now % (24 * 3600 * US_PER_S)
    figures: dict[Group, Expected] = defaultdict(Expected)
    elapsed: dict[Group, float] = {}
    for (tenant, _, queue), seg in segments.items():
        if seg.offered is None:
            continue
        offered_at = seg.offered[0]
        minute = offered_at - offered_at % MINUTE_US
        group = (tenant, queue, seg.channel)
        got = figures[group]
        elapsed[group] = (now - first_15) / US_PER_S
        handle_us = 0
        if seg.ended is not None:
            acw = seg.wrapup[2] if seg.wrapup is not None else 0.0
            handle_us = round(seg.ended[2] * US_PER_S) + round(acw * US_PER_S)
        if minute >= first_15:
            got.offered += 1
        if minute >= today and seg.ended is not None:
            got.handled_today += 1
            got.handle_today_us += handle_us
        if minute < first_60:
            continue
        if seg.ended is not None:
            got.handled += 1
            got.handle_us += handle_us
        if seg.outcome is not None:
            got.exposure_us += seg.outcome[0] - offered_at
            got.abandons += seg.outcome[2] == "contact.abandoned"
        elif seg.transferred is None:
            got.exposure_us += max(0, now - offered_at)  # still waiting
    staffed: dict[tuple[str, str], int] = defaultdict(int)
    for (tenant, _), state in agents.items():
        if state["state"] in STAFFED:
            for queue in set(state.get("queues") or ()):  # type: ignore[call-overload]
                staffed[(tenant, queue)] += 1
    return now, figures, staffed, elapsed


def calculator(
    settings: Settings, events: list[dict[str, object]]
) -> tuple[int, dict[tuple[str, str], dict[str, object]]]:
    """What each queue should show: its need and staff, and per channel the need, the share
    and the projected service level, from `erlang.advise` fed the counted rates."""
    now, figures, staffed, elapsed = expected_figures(events)
    out: dict[tuple[str, str], dict[str, object]] = {}
    by_queue: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for group in figures:
        by_queue[group[:2]].append(group)
    for key, groups in by_queue.items():
        groups.sort()
        rows: dict[str, dict[str, object]] = {}
        traffic: dict[str, Traffic | None] = {}
        targets = {}
        for tenant, queue, channel in groups:
            got = figures[(tenant, queue, channel)]
            config = settings.queue(tenant, queue, channel)
            target = settings.targets.service_target(tenant, queue, channel, config)
            assert target is not None
            targets[channel] = target
            handled, handle_us = got.handled, got.handle_us
            if not handled:
                handled, handle_us = got.handled_today, got.handle_today_us
            if not got.offered:
                rows[channel] = {"required": 0, "model": None}
                traffic[channel] = None
                continue
            patience = (
                got.exposure_us / US_PER_S / got.abandons if got.abandons >= MIN_ABANDONS else None
            )
            rate = got.offered / elapsed[(tenant, queue, channel)]
            traffic[channel] = t = Traffic(rate, handle_us / US_PER_S / handled, patience)
            rows[channel] = {
                "required": advise(t, target, 1).required.agents,
                "model": "erlang_c" if patience is None else "erlang_a",
                "rate_per_hour": rate * 3600,
            }
        staff = staffed.get(key, 0)
        channels = [g[2] for g in groups]
        split = shares(staff, [int(rows[c]["required"]) for c in channels])  # type: ignore[call-overload]
        for channel, share in zip(channels, split, strict=True):
            rows[channel]["staffed"] = share
            t = traffic[channel]
            rows[channel]["projected_service_level"] = (
                None if t is None else advise(t, targets[channel], share).projected_service_level
            )
        need = sum(int(row["required"]) for row in rows.values())  # type: ignore[call-overload]
        out[key] = {"required": need, "staffed": staff, "gap": need - staff, "channels": rows}
    return now, out


@pytest.mark.parametrize("seed", [4])
def test_live_staffing_on_a_simulated_day_is_the_calculator_s(seed: int) -> None:
    base = load_settings(env={})
    settings = msgspec.structs.replace(
        base,
        targets=msgspec.structs.replace(
            base.targets,
            staffing=msgspec.structs.replace(base.targets.staffing, min_abandons=MIN_ABANDONS),
        ),
    )
    config = dataclasses.replace(CentreConfig(), contacts_per_day=2500)
    events = list(simulate_events(2500, seed, config=config))
    lines = [orjson.dumps(e) for e in events]
    pipeline = LocalPipeline(settings, partitions=PARTITIONS)
    view = CentreView(PARTITIONS, settings.tenant_timezone)
    pages = WallboardPages(view, settings.targets, settings.queue, settings.tenant_timezone)
    registry = CollectorRegistry()
    registry.register(view_collector(view, settings))
    models: set[object] = set()
    compared = 0
    done = 0
    # Mid-morning to late afternoon of the delivery order, each moment from the events so far.
    for upto in (len(lines) * k // 10 for k in (3, 4, 5, 6, 7)):
        pipeline.produce(lines[done:upto], batch=20)
        done = upto
        pipeline.run(max_messages=200)
        pipeline.assign_all()
        for p in range(PARTITIONS):
            for _, value in pipeline.segment_stage.publications(p, published_ms=1_000):
                view.apply(value)
        now, expected = calculator(settings, events[:upto])
        assert view.watermark_us == now
        page = orjson.loads(pages.current())
        shown = {(q["tenant"], q["queue"]): q for q in page["queues"]}
        for key, want in expected.items():
            queue = shown[key]
            assert queue["staffing"] == {
                "required": want["required"],
                "staffed": want["staffed"],
                "gap": want["gap"],
            }, key
            rows = {row["channel"]: row["staffing"] for row in queue["channels"]}
            for channel, row in want["channels"].items():  # type: ignore[attr-defined]
                got = rows[channel]
                labels = {"tenant": key[0], "queue": key[1], "channel": channel}
                assert got["required"] == row["required"], (key, channel)
                assert got["staffed"] == row["staffed"], (key, channel)
                assert got["model"] == row["model"], (key, channel)
                projected = row["projected_service_level"]
                if projected is None:
                    assert got["projected_service_level"] is None
                else:
                    assert got["projected_service_level"] == pytest.approx(projected, abs=1e-9)
                    assert got["rate_per_hour"] == pytest.approx(row["rate_per_hour"], rel=1e-12)
                    metric = registry.get_sample_value(
                        "ccpipe_staffing_projected_service_level", labels
                    )
                    assert metric == pytest.approx(projected, abs=1e-9)
                assert (
                    registry.get_sample_value("ccpipe_staffing_required_agents", labels)
                    == row["required"]
                )
                models.add(row["model"])
                compared += 1
            assert (
                registry.get_sample_value(
                    "ccpipe_staffing_staffed_agents", {"tenant": key[0], "queue": key[1]}
                )
                == want["staffed"]
            )
    # The day exercised both models and busy queues, with agents to share.
    assert {"erlang_a", "erlang_c"} <= models
    assert compared >= 20
