"""The wallboard page in headless Chromium, over simulated events served in-process
(tests/demo/wallboard_fixture.py): everything it shows equals /wallboard.json, the URL
filters select, ten queues fit a 1080p and a 4K screen with no text under the floor, and the
light theme applies. Each wait is on a condition of the page, with a deadline."""

from __future__ import annotations

import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.config import load_settings
from tests.demo.browser import Chromium, chromium_path
from tests.demo.page_text import FIGURE_MIN_PX, LABEL_SHARE, shown
from tests.demo.wallboard_fixture import (
    DEPLOY_CONFIG,
    ServedWallboard,
    served_wallboard,
    show_page,
    simulated_lines,
    ten_queue_centre,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium"),
]
SETTINGS = load_settings(DEPLOY_CONFIG, env={})
READ_TILES = """JSON.stringify([...document.querySelectorAll("article.tile")].map((tile) => ({
  tenant: tile.dataset.tenant, queue: tile.dataset.queue, overall: tile.dataset.overall,
  figures: Object.fromEntries([...tile.querySelectorAll("[data-figure]")].map((f) => [
    f.dataset.figure, {value: f.dataset.value, status: f.dataset.status, tip: f.title,
                       text: f.querySelector(".value").textContent}])),
  channels: Object.fromEntries([...tile.querySelectorAll("table.channels tbody tr")].map((r) => [
    r.dataset.channel, Object.fromEntries([...r.querySelectorAll("td")].map((c) => [
      c.dataset.channelFigure, {value: c.dataset.value, status: c.dataset.status,
                                text: c.querySelector(".value").textContent}]))])),
  states: Object.fromEntries([...tile.querySelectorAll(".states [data-state]")].map(
    (s) => [s.dataset.state, s.dataset.value])),
  bands: Object.fromEntries([...tile.querySelectorAll(".ages [data-band]")].map(
    (b) => [b.dataset.band, b.dataset.value])),
  staffing: (({hidden, title, textContent, dataset: d}) => hidden ? null : {
    text: textContent, tip: title, required: d.required, staffed: d.staffed,
    short: tile.querySelector(".staffing").classList.contains("short")})
    (tile.querySelector(".staffing")),
})))"""
READ_AGENTS = """JSON.stringify([...document.querySelectorAll(".agent")].map((a) => [
  a.dataset.agent, a.dataset.state, a.querySelector(".in-state").dataset.value,
  a.querySelector(".in-state").textContent, a.querySelector(".doing").textContent]))"""
READ_FLOOR = """JSON.stringify({
  goals: [...document.querySelectorAll(".goal-card")].map((g) => ({
    name: g.dataset.goal, value: g.dataset.value, track: g.dataset.track,
    text: g.querySelector(".value").textContent})),
  teams: [...document.querySelectorAll(".team-card")].map((t) => ({team: t.dataset.team,
    states: Object.fromEntries([...t.querySelectorAll("[data-state]")].map(
      (s) => [s.dataset.state, s.dataset.value]))})),
  firing: [...document.querySelectorAll(".alert[data-alert]")].map(
    (a) => [a.dataset.queue, a.dataset.alert]),
  pending: document.querySelector(".alert.pending")?.dataset.pending ?? "0",
})"""
# Every element with text of its own, shown: its type size in CSS pixels, and whether it is a
# figure (a value) or other text.
READ_TYPE = """JSON.stringify([...document.querySelectorAll("body *")].filter((e) =>
  [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
  && e.getClientRects().length && getComputedStyle(e).visibility !== "hidden"
  && !e.closest("[hidden]")).map((e) => ({
    px: parseFloat(getComputedStyle(e).fontSize),
    figure: !!e.closest(".value, td, .states b, .ages b, .chan-line b"),
    text: e.textContent.slice(0, 30)})))"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    with Chromium.launch(tmp_path_factory.mktemp("chromium")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def demo() -> Iterator[ServedWallboard]:
    with served_wallboard(simulated_lines(), SETTINGS) as server:
        yield server


@pytest.fixture(scope="module")
def ten() -> Iterator[ServedWallboard]:
    with served_wallboard(simulated_lines(config=ten_queue_centre()), SETTINGS) as server:
        yield server


def state_of(server: ServedWallboard) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.url}/wallboard.json", timeout=10) as response:
        state: dict[str, Any] = orjson.loads(response.read())
    return state


def show(
    browser: Chromium, server: ServedWallboard, tail: str = "", size: tuple[int, int] = (1920, 1080)
) -> None:
    show_page(browser, f"{server.url}/wallboard{tail}", size)


def same_number(on_page: str, expected: Any) -> bool:
    return on_page == "" if expected is None else float(on_page) == expected


def test_every_figure_on_the_page_equals_the_json(browser: Chromium, demo: ServedWallboard) -> None:
    state = state_of(demo)
    show(browser, demo)
    tiles = orjson.loads(browser.evaluate(READ_TILES))
    floor = orjson.loads(browser.evaluate(READ_FLOOR))
    specs = {spec["key"]: spec for spec in state["figures"]}
    channel_specs = {spec["key"]: spec for spec in state["channel_figures"]}
    assert [(t["tenant"], t["queue"]) for t in tiles] == [
        (q["tenant"], q["queue"]) for q in state["queues"]
    ]
    checked = staffed_tiles = 0
    for tile, queue in zip(tiles, state["queues"], strict=True):
        assert tile["overall"] == queue["overall"]
        assert set(tile["figures"]) == set(specs)
        for key, spec in specs.items():
            on_page, expected = tile["figures"][key], queue["figures"][key]
            where = f"{queue['queue']} {key}"
            assert same_number(on_page["value"], expected), where
            assert on_page["text"] == shown(expected, spec["format"]), where
            assert on_page["status"] == queue["status"].get(key, "none"), where
            assert on_page["tip"].startswith(spec["tooltip"]), where  # from the JSON's spec
            # A service level's hover lists every variant's value (docs/definitions.md).
            assert queue.get("hover", {}).get(key, "") in on_page["tip"], where
            checked += 1
        assert list(tile["channels"]) == [row["channel"] for row in queue["channels"]]
        for row in queue["channels"]:
            cells = tile["channels"][row["channel"]]
            for key, spec in channel_specs.items():
                where = f"{queue['queue']}/{row['channel']} {key}"
                assert same_number(cells[key]["value"], row["figures"][key]), where
                assert cells[key]["text"] == shown(row["figures"][key], spec["format"]), where
                assert cells[key]["status"] == row["status"].get(key, "none"), where
                checked += 1
        assert tile["states"] == {k: str(v) for k, v in queue["agents"].items()}
        bands = dict(zip(state["age_bands"], map(str, queue["age_bands"]), strict=True))
        assert tile["bands"] == {**bands, "callbacks": str(queue["callbacks_waiting"])}
        advice = queue.get("staffing")
        if advice is None or advice["required"] is None:
            assert tile["staffing"] is None, queue["queue"]
        else:
            spec = state["staffing"]
            assert tile["staffing"] == {
                "text": spec["label"].format(**advice),
                "tip": spec["tooltip"],
                "required": str(advice["required"]),
                "staffed": str(advice["staffed"]),
                "short": advice["gap"] > 0,
            }, queue["queue"]
            staffed_tiles += 1
    assert checked > 100
    assert staffed_tiles >= 1  # the demo's queues have agents and traffic: advice is shown
    assert [g["name"] for g in floor["goals"]] == [g["name"] for g in state["goals"]]
    for on_page, goal in zip(floor["goals"], state["goals"], strict=True):
        assert same_number(on_page["value"], goal["value"]), goal["name"]
        assert on_page["text"] == shown(goal["value"], goal["format"]), goal["name"]
        assert on_page["track"] == {True: "on", False: "off", None: "none"}[goal["on_track"]]
    assert len(floor["goals"]) == 3
    teams: dict[str, Counter[str]] = {}
    for agent in state["agents"]:
        teams.setdefault(agent["team"] or "", Counter())[agent["state"]] += 1
    assert sorted(teams) == sorted(state["teams"]) == ["care-voice", "digital", "sales-voice"]
    assert {t["team"]: t["states"] for t in floor["teams"]} == {
        team: {k: str(v) for k, v in counts.items()} for team, counts in teams.items()
    }
    alerts = state["alerts"]
    assert floor["firing"] == [[a["queue"], a["name"]] for a in alerts if a["firing"]]
    assert floor["pending"] == str(sum(not a["firing"] for a in alerts))


def test_the_agent_panel_shows_every_agent_as_the_json_has_it(
    browser: Chromium, demo: ServedWallboard
) -> None:
    state = state_of(demo)
    show(browser, demo, "?view=agents&page=1")
    pages = int(browser.evaluate("document.body.dataset.pages"))
    assert pages > 1  # 330 agents: more than a 1080p screen holds at the type floor
    agents: list[list[str]] = []
    for page in range(1, pages + 1):
        show(browser, demo, f"?view=agents&page={page}")
        assert browser.evaluate("document.body.dataset.fitted") == "true"  # each page fits
        assert browser.evaluate("document.getElementById('page').textContent") == (
            f"page {page} of {pages}"
        )
        agents += orjson.loads(browser.evaluate(READ_AGENTS))
    assert len(agents) == len(state["agents"]) > 100
    for on_page, agent in zip(agents, state["agents"], strict=True):
        doing = (
            f"{agent['serving_queue']}/{agent['serving_channel']}"
            if agent["serving_queue"] else agent["reason"] or ""
        )  # fmt: skip
        name, agent_state, value, text, shown_doing = on_page
        assert [name, agent_state, text, shown_doing] == [
            agent["agent_id"], agent["state"], shown(agent["in_state_s"], "duration"), doing,
        ]  # fmt: skip
        assert same_number(value, agent["in_state_s"])
    assert browser.evaluate("getComputedStyle(document.getElementById('tiles')).display") == "none"


def test_the_agent_panel_turns_its_pages_by_itself(
    browser: Chromium, demo: ServedWallboard
) -> None:
    show(browser, demo, "?view=agents&page_s=1")
    first = browser.evaluate("document.querySelector('.agent').dataset.agent")
    assert browser.evaluate("document.body.dataset.page") == "1"
    browser.wait_for("document.body.dataset.page === '2'", deadline_s=10)
    assert browser.evaluate("document.querySelector('.agent').dataset.agent") != first
    browser.wait_for("document.body.dataset.page === '1'", deadline_s=10)


def team_totals(browser: Chromium) -> Counter[str]:
    """Agents per team on the page's team summary."""
    cards = browser.evaluate("""[...document.querySelectorAll('.team-card')].map((t) => [
      t.dataset.team,
      [...t.querySelectorAll('[data-state]')].reduce((n, s) => n + +s.dataset.value, 0)])""")
    return Counter(dict(cards))


def test_the_url_filters_the_queues_the_goals_and_the_agents(
    browser: Chromium, demo: ServedWallboard
) -> None:
    state = state_of(demo)
    show(browser, demo, "?queue=sales,billing")
    queues = browser.evaluate(
        "[...document.querySelectorAll('article.tile')].map((t) => t.dataset.queue)"
    )
    assert queues == [q["queue"] for q in state["queues"] if q["queue"] in ("sales", "billing")]
    goals = browser.evaluate(
        "[...document.querySelectorAll('.goal-card')].map((g) => g.dataset.goal)"
    )
    assert goals == [g["name"] for g in state["goals"] if g["queue"] in (None, "sales", "billing")]
    assert "support-csat" not in goals
    assert (
        browser.evaluate("document.getElementById('filter').textContent") == "queue: sales, billing"
    )
    # Agents of the filtered queues only, in the team summary.
    show(browser, demo, "?queue=sales")
    serving = Counter(a["team"] for a in state["agents"] if "sales" in a["queues"])
    assert team_totals(browser) == serving
    assert set(serving) == {"sales-voice", "digital"}

    # A team's wall: its agents, and the queues they serve.
    show(browser, demo, "?team=care-voice")
    queues = browser.evaluate(
        "[...document.querySelectorAll('article.tile')].map((t) => t.dataset.queue)"
    )
    assert queues == ["billing", "support"]
    care = [a for a in state["agents"] if a["team"] == "care-voice"]
    assert team_totals(browser) == {"care-voice": len(care)}
    reasons = Counter(a["reason"] for a in care if a["reason"])
    assert reasons and browser.evaluate(
        "document.querySelector('.team-card .reasons').textContent"
    ) == (", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    show(browser, demo, "?team=care-voice&view=agents")
    shown_agents = browser.evaluate(
        "[...document.querySelectorAll('.agent')].map((a) => a.dataset.agent)"
    )
    assert shown_agents == [a["agent_id"] for a in care]

    show(browser, demo, "?tenant=acme")
    assert browser.evaluate("document.querySelectorAll('article.tile').length") == 0
    assert "No queue matches" in browser.evaluate("document.getElementById('tiles').textContent")
    show(browser, demo, "?team=nobody")
    assert browser.evaluate("document.querySelectorAll('article.tile, .team-card').length") == 0


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
def test_ten_queues_fit_the_screen_with_no_text_under_the_floor(
    browser: Chromium, ten: ServedWallboard, size: tuple[int, int]
) -> None:
    state = state_of(ten)
    assert len(state["queues"]) == 10
    show(browser, ten, "", size)
    assert browser.evaluate("document.querySelectorAll('article.tile').length") == 10
    assert browser.evaluate("document.body.dataset.fitted") == "true"
    assert browser.evaluate(
        "document.documentElement.scrollHeight <= innerHeight"
        " && document.documentElement.scrollWidth <= innerWidth"
    )
    # Every tile wholly on the screen.
    assert browser.evaluate(
        "[...document.querySelectorAll('article.tile')].every((t) => {"
        " const r = t.getBoundingClientRect();"
        " return r.bottom <= innerHeight && r.right <= innerWidth; })"
    )
    scale = min(size[0] / 1920, size[1] / 1080)
    texts = orjson.loads(browser.evaluate(READ_TYPE))
    assert len(texts) > 500
    figures = [t for t in texts if t["figure"]]
    assert len(figures) > 200
    small = [t for t in figures if t["px"] < FIGURE_MIN_PX * scale]
    assert not small, small[:5]
    small = [t for t in texts if t["px"] < FIGURE_MIN_PX * LABEL_SHARE * scale - 0.01]
    assert not small, small[:5]


def test_the_light_theme_applies(browser: Chromium, demo: ServedWallboard) -> None:
    read = (
        "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    )
    show(browser, demo)
    assert browser.evaluate(read) == ["rgb(11, 15, 20)", "rgb(242, 244, 247)"]
    show(browser, demo, "?theme=light")
    assert browser.evaluate("document.documentElement.dataset.theme") == "light"
    assert browser.evaluate(read) == ["rgb(244, 245, 247)", "rgb(17, 22, 28)"]


def test_a_figure_explains_itself_on_a_tap(browser: Chromium, demo: ServedWallboard) -> None:
    state = state_of(demo)
    show(browser, demo)
    browser.evaluate("document.querySelector('[data-figure=\"service_level_15m\"] .value').click()")
    tip = browser.wait_for(
        "!document.getElementById('tip').hidden && document.getElementById('tip').textContent", 10
    )
    spec = next(s for s in state["figures"] if s["key"] == "service_level_15m")
    assert tip.startswith(spec["tooltip"])


def test_screenshots_are_rendered(browser: Chromium, ten: ServedWallboard, tmp_path: Path) -> None:
    show(browser, ten)
    shot = browser.screenshot(tmp_path / "ten.png")
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
