"""`ccpipe simulate`: deterministic, valid under the contract, and realistic where it matters.

The realism checks read only the event stream, the way the pipeline does, so they test what a
consumer sees: waits from timestamps, agents from their events, repeats from customer ids.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.core.clock import parse_rfc3339
from pipeline.core.events import decode_message
from pipeline.report import run_report
from pipeline.simulator import (
    DEFAULT_START_US,
    CentreConfig,
    Disorder,
    simulate_events,
    simulate_timed,
    write_jsonl,
)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
CONTACTS = 3000
PER_DAY = 1500  # two days of a small centre: fast, and repeats cross a night
SEED = 11
CONFIG = dataclasses.replace(CentreConfig(), contacts_per_day=PER_DAY)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
TS_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "contact.offered": {"contact_id": str, "queue": str, "channel": str},
    "contact.answered": {"contact_id": str, "queue": str, "agent_id": str},
    "contact.abandoned": {"contact_id": str, "queue": str},
    "contact.transferred": {"contact_id": str, "queue": str, "to_queue": str},
    "contact.ended": {"contact_id": str, "queue": str, "agent_id": str, "talk_s": (int, float)},
    "contact.wrapup_ended": {
        "contact_id": str,
        "queue": str,
        "agent_id": str,
        "acw_s": (int, float),
    },
    "survey.response": {"contact_id": str, "queue": str},
    "agent.state": {"agent_id": str, "state": str},
}
CHANNELS = {"voice", "chat", "email", "sms", "social", "callback"}
STATES = {"available", "busy", "acw", "away", "offline"}
# Agent state changes an ACD can make.
TRANSITIONS = {
    "offline": {"available"},
    "available": {"busy", "away", "offline"},
    "busy": {"acw"},
    "acw": {"busy", "available", "away", "offline"},
    "away": {"available", "busy", "offline"},
}


def _jsonl(contacts: int, seed: int, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_jsonl(simulate_timed(contacts, seed, config=CONFIG, **kwargs), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    """The delivered stream, disorder included."""
    return _jsonl(CONTACTS, SEED).splitlines()


@pytest.fixture(scope="module")
def events(lines: list[bytes]) -> list[dict[str, Any]]:
    """Each event once, in event-time order (ties by event_id), as the pipeline orders them."""
    unique = {e["event_id"]: e for e in map(orjson.loads, lines)}
    return sorted(unique.values(), key=lambda e: (parse_rfc3339(e["ts"]), e["event_id"]))


@pytest.fixture(scope="module")
def segments(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Per (contact_id, queue), its first event of each type."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for e in events:
        if "contact_id" in e and e["type"] != "survey.response":
            found[(e["contact_id"], e["queue"])].setdefault(e["type"], e)
    return found


def _us(event: dict[str, Any]) -> int:
    return parse_rfc3339(event["ts"])


def _waits(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any], float]]:
    """(offered, outcome, wait_s) of every answered or abandoned segment."""
    for seg in segments.values():
        outcome = seg.get("contact.answered") or seg.get("contact.abandoned")
        if outcome is not None:
            offered = seg["contact.offered"]
            yield offered, outcome, (_us(outcome) - _us(offered)) / 1e6


# Determinism and format.


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first = _jsonl(600, 5)
    assert first == _jsonl(600, 5)
    assert first != _jsonl(600, 6)
    assert len(first.splitlines()) > 600 * 5


def test_lines_are_compact_single_objects_in_stable_key_order(lines: list[bytes]) -> None:
    for line in lines[:2000]:
        event = orjson.loads(line)
        assert isinstance(event, dict)
        assert orjson.dumps(event) == line  # compact, no trailing spaces
        assert list(event)[:3] == ["event_id", "type", "ts"]


def test_the_run_has_exactly_the_contacts_asked_for(events: list[dict[str, Any]]) -> None:
    contacts = {e["contact_id"] for e in events if e["type"] == "contact.offered"}
    assert len(contacts) == CONTACTS


def test_a_run_larger_than_a_day_spans_days_from_the_start(events: list[dict[str, Any]]) -> None:
    days = Counter(
        (_us(e) - DEFAULT_START_US) // DAY_US for e in events if e["type"] == "contact.offered"
    )
    assert sorted(days) == [0, 1]
    assert abs(days[0] - days[1]) < 0.15 * PER_DAY
    assert events[0]["ts"].startswith("2026-11-23T07:0")


# The contract.


def test_every_event_is_accepted_by_the_pipelines_decoder(lines: list[bytes]) -> None:
    rejected = [r.reason for line in lines for r in decode_message(line)[1]]
    assert rejected == []


def test_every_event_has_its_types_required_fields_and_ranges(
    events: list[dict[str, Any]],
) -> None:
    for e in events:
        assert TS_SHAPE.fullmatch(e["ts"]), e
        assert isinstance(e["event_id"], str) and e["event_id"]
        for name, kind in REQUIRED[e["type"]].items():
            assert isinstance(e.get(name), kind) and e[name] != "", (name, e)
        kind = e["type"]
        if kind == "contact.offered":
            assert e["channel"] in CHANNELS
            assert e["customer_id"] and e["reason"]
        elif kind == "contact.ended":
            assert e["talk_s"] >= 0 and e["hold_s"] >= 0
        elif kind == "contact.wrapup_ended":
            assert e["acw_s"] >= 0 and isinstance(e["resolved"], bool)
        elif kind == "survey.response":
            assert "csat" in e or "nps" in e
            if "csat" in e:
                assert type(e["csat"]) is int and 1 <= e["csat"] <= 5
            if "nps" in e:
                assert type(e["nps"]) is int and 0 <= e["nps"] <= 10
        elif kind == "agent.state":
            assert e["state"] in STATES
            assert e["queues"] and all(isinstance(q, str) and q for q in e["queues"])


def test_a_sample_of_every_type_passes_the_json_schemas(events: list[dict[str, Any]]) -> None:
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.json")]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas
    )
    event_schema = next(s for s in schemas if s["$id"].endswith("/event.json"))
    validator = Draft202012Validator(event_schema, registry=registry)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if len(by_type[e["type"]]) < 200:
            by_type[e["type"]].append(e)
    assert set(by_type) == set(REQUIRED)
    for sample in by_type.values():
        for e in sample:
            assert list(validator.iter_errors(e)) == [], e


def test_tenant_is_on_every_event_when_given() -> None:
    tenants = {e.get("tenant") for e in simulate_events(50, 1, tenant="acme", config=CONFIG)}
    assert tenants == {"acme"}


# Disorder.


def test_output_is_in_ts_order_without_disorder() -> None:
    stamps = [_us(e) for e in simulate_events(800, 3, disorder_spec=Disorder(0, 0), config=CONFIG)]
    assert stamps == sorted(stamps)


def test_late_and_duplicated_events_come_in_the_configured_shares(lines: list[bytes]) -> None:
    seen: set[str] = set()
    duplicates = late = 0
    latest = 0
    by_id: dict[str, bytes] = {}
    for line in lines:
        e = orjson.loads(line)
        if e["event_id"] in seen:
            duplicates += 1
            assert by_id[e["event_id"]] == line  # the exact same line
            continue
        seen.add(e["event_id"])
        by_id[e["event_id"]] = line
        ts = _us(e)
        if ts < latest:
            late += 1
        latest = max(latest, ts)
    assert 0.003 < duplicates / len(lines) < 0.0075
    # Nearly every delayed event is overtaken by a later one; a few fall in a lull.
    assert 0.005 < late / len(seen) < 0.0125


# Realism.


def test_some_contacts_are_abandoned_but_not_too_many(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    outcomes = [o["type"] for _, o, _ in _waits(segments)]
    share = outcomes.count("contact.abandoned") / len(outcomes)
    assert 0.005 < share < 0.3


def test_voice_has_short_abandons_under_five_seconds(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    short = [
        w
        for offered, outcome, w in _waits(segments)
        if outcome["type"] == "contact.abandoned" and offered["channel"] == "voice" and w < 5
    ]
    assert len(short) >= 3


def test_peak_hour_waits_longer_than_an_afternoon_hour(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    by_hour: dict[int, list[float]] = defaultdict(list)
    for offered, _, wait in _waits(segments):
        if offered["channel"] == "voice":
            by_hour[(_us(offered) - DEFAULT_START_US) % DAY_US // HOUR_US].append(wait)
    peak = statistics.mean(by_hour[3])  # 10:00-11:00, the profile's peak
    afternoon = statistics.mean(by_hour[7] + by_hour[8] + by_hour[9])  # 14:00-17:00
    assert peak > afternoon


def test_transferred_contacts_are_offered_to_the_other_queue(
    events: list[dict[str, Any]],
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    transfers = [e for e in events if e["type"] == "contact.transferred"]
    answered = sum(1 for s in segments.values() if "contact.answered" in s)
    assert 0.02 < len(transfers) / answered < 0.15
    for t in transfers:
        assert t["to_queue"] != t["queue"]
        onward = segments[(t["contact_id"], t["to_queue"])]["contact.offered"]
        assert onward["ts"] == t["ts"]
        first = segments[(t["contact_id"], t["queue"])]
        assert first["contact.wrapup_ended"]["resolved"] is False
        assert onward["channel"] == first["contact.offered"]["channel"]


def test_customers_come_back_within_seven_days_and_fcr_is_not_perfect(
    events: list[dict[str, Any]],
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    offers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for e in events:
        if e["type"] == "contact.offered":
            offers[e["customer_id"]].append((_us(e), e["contact_id"]))
    handled = [s for s in segments.values() if "contact.ended" in s]
    not_first_resolved = 0
    for seg in handled:
        offered = seg["contact.offered"]
        at = _us(offered)
        again = any(
            at < t <= at + 7 * DAY_US and c != offered["contact_id"]
            for t, c in offers[offered["customer_id"]]
        )
        if again or seg["contact.wrapup_ended"]["resolved"] is False:
            not_first_resolved += 1
    share = not_first_resolved / len(handled)
    assert 0.1 < share < 0.45  # FCR between 55 % and 90 %
    next_day = [c for c in offers.values() if len(c) > 1 and c[-1][0] - c[0][0] > 12 * HOUR_US]
    assert next_day, "no customer came back after a night"


def test_surveys_follow_handled_contacts(
    events: list[dict[str, Any]],
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    surveys = [e for e in events if e["type"] == "survey.response"]
    handled = sum(1 for s in segments.values() if "contact.ended" in s)
    assert 0.05 < len(surveys) / handled < 0.3
    for s in surveys:
        ended = segments[(s["contact_id"], s["queue"])]["contact.ended"]
        assert _us(s) > _us(ended)
    csat = [s["csat"] for s in surveys if "csat" in s]
    assert len(set(csat)) >= 4  # a spread, not a constant
    assert 0.5 < sum(c >= 4 for c in csat) / len(csat) < 0.95


def test_durations_agree_with_the_timestamps_around_them(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    for seg in segments.values():
        if "contact.wrapup_ended" not in seg:
            continue
        answered, ended = seg["contact.answered"], seg["contact.ended"]
        wrapup = seg["contact.wrapup_ended"]
        talk_hold_ms = round((ended["talk_s"] + ended["hold_s"]) * 1000)
        assert (_us(ended) - _us(answered)) // 1000 == talk_hold_ms
        assert (_us(wrapup) - _us(ended)) // 1000 == round(wrapup["acw_s"] * 1000)


def test_every_segment_runs_to_its_end(
    segments: dict[tuple[str, str], dict[str, dict[str, Any]]],
) -> None:
    for seg in segments.values():
        assert "contact.offered" in seg
        assert ("contact.answered" in seg) != ("contact.abandoned" in seg), seg
        if "contact.answered" in seg:
            assert "contact.ended" in seg and "contact.wrapup_ended" in seg, seg


def test_no_contacts_no_events() -> None:
    assert list(simulate_events(0, 1, config=CONFIG)) == []


def test_agents_handle_one_contact_at_a_time(events: list[dict[str, Any]]) -> None:
    current: dict[str, str | None] = {}
    handled = 0
    for e in events:
        if e["type"] == "contact.answered":
            assert current.get(e["agent_id"]) is None, e
            current[e["agent_id"]] = e["contact_id"]
        elif e["type"] == "contact.wrapup_ended":
            assert current.get(e["agent_id"]) == e["contact_id"], e
            current[e["agent_id"]] = None
            handled += 1
    assert handled > CONTACTS * 0.8
    assert all(c is None for c in current.values())


def test_agent_states_follow_a_shift(events: list[dict[str, Any]]) -> None:
    state: dict[str, str] = {}
    seen = Counter[str]()
    for e in events:
        if e["type"] != "agent.state":
            continue
        before = state.get(e["agent_id"], "offline")
        assert e["state"] in TRANSITIONS[before], (before, e)
        state[e["agent_id"]] = e["state"]
        seen[e["state"]] += 1
    assert set(seen) == STATES
    assert set(state.values()) == {"offline"}  # everyone logged off at the end
    served = {tuple(e["queues"]) for e in events if e["type"] == "agent.state"}
    assert any(len(q) > 1 for q in served)  # some agents serve several queues


def test_the_offline_report_reads_a_simulated_day() -> None:
    data = _jsonl(1500, 2)
    run = run_report(data.splitlines(), load_settings(None), on_bad=lambda bad: None)
    assert run.bad == 0 and run.duplicates > 0
    total = Counter[str]()
    for row in run.rows:
        for name in ("offered", "answered", "abandoned", "answered_within_sl", "handled"):
            total[name] += row[name]
    assert {r["channel"] for r in run.rows} == CHANNELS
    assert {r["queue"] for r in run.rows} == {"sales", "support", "billing"}
    assert 0.5 < total["answered_within_sl"] / (total["answered"] + total["abandoned"]) < 1


# The command and pacing.


def test_cli_writes_what_the_api_makes(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    code = main(
        [
            "simulate",
            "--contacts",
            "300",
            "--seed",
            "4",
            "--contacts-per-day",
            str(PER_DAY),
            "--tenant",
            "t1",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    assert out.read_bytes() == _jsonl(300, 4, tenant="t1")


class _Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 100.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _Recording(io.BytesIO):
    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock
        self.lines_at: list[tuple[float, int]] = []

    def write(self, data: Any) -> int:
        self.lines_at.append((self.clock.now, len(self.getvalue().splitlines())))
        return super().write(data)

    def flush(self) -> None:
        self.lines_at.append((self.clock.now, -1))


def test_paced_output_keeps_simulated_time_at_the_given_speed() -> None:
    timed = list(simulate_timed(100, 1, config=CONFIG))
    clock = _Clock()
    out = _Recording(clock)
    write_jsonl(iter(timed), out, speed=60, clock=clock.time, sleep=clock.sleep)
    writes = [at for at, n in out.lines_at if n >= 0]
    assert len(writes) == len(timed)
    origin = timed[0][0]
    for wall, (sim_us, _) in zip(writes, timed, strict=True):
        assert wall == pytest.approx(100 + (sim_us - origin) / 1e6 / 60, abs=1e-6)
    # Every wait is preceded by a flush, so a reader has all that is due.
    flushes = sum(1 for _, n in out.lines_at if n < 0)
    assert flushes >= len({at for at in writes}) - 1


def test_paced_output_takes_real_time() -> None:
    timed = list(simulate_timed(20, 1, config=CONFIG))[:40]
    span_s = (timed[-1][0] - timed[0][0]) / 1e6
    speed = span_s / 0.3  # about 0.3 s of wall time
    began = time.monotonic()
    write_jsonl(iter(timed), io.BytesIO(), speed=speed)
    assert time.monotonic() - began >= 0.29
