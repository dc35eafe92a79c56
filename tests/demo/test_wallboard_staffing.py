"""The wallboard's staffing: "needs N · has M" per queue, each channel's share and projected
service level, and the leading alerts mirrored as Prometheus fires them."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.core.clock import US_PER_S, parse_rfc3339
from pipeline.core.erlang import Traffic, advise
from pipeline.core.staffing import demand
from pipeline.targets import parse_targets
from pipeline.wallboard.board import STAFFING_SPEC, AlertTracker, wallboard
from tests.core.test_live import ZONES, Owner, agent, answer, end, offer

S = US_PER_S
NOW = parse_rfc3339("2026-11-22T10:00:30Z")


def busy_queue() -> Owner:
    """Voice, 45 contacts in the last 15 minutes handled in 240 s, two agents on it."""
    events = [agent(parse_rfc3339("2026-11-22T09:00:00Z"), f"a{i}", "busy", ["q"]) for i in (1, 2)]
    start = parse_rfc3339("2026-11-22T09:46:00Z")
    for i in range(45):
        offered_at = start + i * 19 * S
        events += [
            offer(offered_at, f"c{i}"),
            answer(offered_at + 10 * S, f"c{i}"),
            end(offered_at + 250 * S, f"c{i}", talk=240),
        ]
    return Owner().feed(events)


def page(owner: Owner, tracker: AlertTracker, now: int) -> dict:  # type: ignore[type-arg]
    settings = Settings(targets=parse_targets({}))
    tiles = owner.board.snapshot(NOW, ZONES, owner.state.agents, per_channel=True)
    return wallboard(
        tiles, {}, now, settings.targets, tracker, settings.queue, settings.tenant_timezone
    )


def test_the_page_shows_needs_and_has_per_queue_and_channel() -> None:
    owner = busy_queue()
    out = page(owner, AlertTracker(), NOW)
    (queue,) = out["queues"]
    (voice,) = queue["channels"]
    tile = next(
        t for t in owner.board.snapshot(NOW, ZONES, per_channel=True) if t.channel == "voice"
    )
    dem = demand(tile, NOW)
    settings = Settings()
    target = settings.targets.service_target(
        "default", "q", "voice", settings.queue("default", "q", "voice")
    )
    assert target is not None
    expected = advise(Traffic(dem.rate_per_s, dem.aht_s or 0), target, 2)
    need = expected.required.agents
    assert queue["staffing"] == {"required": need, "staffed": 2, "gap": need - 2}
    assert voice["staffing"]["required"] == need and voice["staffing"]["staffed"] == 2
    assert voice["staffing"]["projected_service_level"] == expected.projected_service_level
    assert voice["staffing"]["model"] == "erlang_c" and voice["staffing"]["target"] == 0.8
    assert [f["key"] for f in out["staffing"]["queue"]] == ["required", "staffed", "gap"]
    assert out["staffing"] == STAFFING_SPEC


def test_the_leading_alerts_fire_after_their_own_durations() -> None:
    owner = busy_queue()
    tracker = AlertTracker()
    first = page(owner, tracker, NOW)
    # Apart from the tiles' alerts, whose figures the page looks up in `figures`.
    assert first["alerts"] == []
    assert {(a["name"], a["channel"], a["firing"]) for a in first["staffing_alerts"]} == {
        ("CcpipeStaffingGap", None, False),
        ("CcpipeProjectedServiceLevelBelowTarget", "voice", False),
    }
    # Five minutes on: the projection has held for its 5 minutes, the gap not its 10.
    later = page(owner, tracker, NOW + 300 * S)
    firing = {(a["name"], a["firing"]) for a in later["staffing_alerts"]}
    assert ("CcpipeProjectedServiceLevelBelowTarget", True) in firing
    assert ("CcpipeStaffingGap", False) in firing
    gap = next(a for a in later["staffing_alerts"] if a["name"] == "CcpipeStaffingGap")
    assert gap["value"] == later["queues"][0]["staffing"]["gap"] and gap["for_s"] == 600
    done = page(owner, tracker, NOW + 600 * S)
    assert {a["name"] for a in done["staffing_alerts"] if a["firing"]} == {
        "CcpipeStaffingGap",
        "CcpipeProjectedServiceLevelBelowTarget",
    }
