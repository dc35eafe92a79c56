"""Every platform's sample of one life cycle gives the KPIs computed by hand (see samples.py).

The same contacts, told five ways (Connect contact events, Connect contact records, TaskRouter
events, an Asterisk queue_log, Genesys Cloud conversation detail records), must make the same
report: answered within and outside the service level, abandoned, short-abandoned,
transferred, wrapped up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.adapters.samples import (
    BILLING,
    SUPPORT,
    convert_sample,
    kpis_of,
    report_by_queue,
)

CONNECT_QUEUES = {
    "0a1b2c3d-0000-4000-8000-00000000a001": "support",
    "0a1b2c3d-0000-4000-8000-00000000b002": "billing",
}


@dataclass(frozen=True)
class LifeCycle:
    fmt: str
    sample: str
    options: dict[str, Any] = field(default_factory=dict)
    # How the platform names agent alice, and where it says the transfer went.
    alice: str = "alice"
    to_queue: str = "billing"


LIFE_CYCLES = {
    "connect-events": LifeCycle(
        "connect-events",
        "connect-events-lifecycle.jsonl",
        {"queue_names": CONNECT_QUEUES},
        alice="a11ce000-0000-4000-8000-000000000001",
    ),
    "connect-ctr": LifeCycle("connect-ctr", "connect-ctr-lifecycle.jsonl"),
    "taskrouter": LifeCycle(
        "taskrouter",
        "taskrouter-lifecycle.txt",
        {"contact_from": "attribute:call_sid"},
        alice="WK0000000000000000000000000a11ce01",
    ),
    # Asterisk logs the extension the call was sent to, not a queue.
    "asterisk": LifeCycle(
        "asterisk",
        "asterisk-lifecycle.queue_log",
        {"acw_pause_reason": "ACW"},
        alice="PJSIP/alice",
        to_queue="602",
    ),
    "genesys": LifeCycle(
        "genesys", "genesys-lifecycle.jsonl", alice="a11ce000-0000-4000-8000-000000000001"
    ),
}


def converted(platform: str) -> list[dict[str, Any]]:
    life = LIFE_CYCLES[platform]
    conversion = convert_sample(life.fmt, life.sample, **life.options)
    assert conversion.dead == []
    return conversion.events


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_life_cycle_report_matches_the_hand_computed_kpis(platform: str) -> None:
    report = report_by_queue(converted(platform))
    assert set(report) == {"support", "billing"}
    assert kpis_of(report["support"], SUPPORT) == SUPPORT
    assert kpis_of(report["billing"], BILLING) == BILLING


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_the_transfer_names_both_queues_and_the_agent_who_made_it(platform: str) -> None:
    events = converted(platform)
    transfers = [event for event in events if event["type"] == "contact.transferred"]
    assert len(transfers) == 1
    transfer = transfers[0]
    assert transfer["queue"] == "support"
    assert transfer["to_queue"] == LIFE_CYCLES[platform].to_queue
    assert transfer["agent_id"] == LIFE_CYCLES[platform].alice
    # The contact keeps its id across the transfer: the billing segment continues it.
    (billing_offer,) = [
        event
        for event in events
        if event["type"] == "contact.offered" and event["queue"] == "billing"
    ]
    assert billing_offer["contact_id"] == transfer["contact_id"]


def test_asterisk_without_an_acw_pause_reason_has_no_wrap_up() -> None:
    """queue_log has no wrap-up event: without the option AHT is talk time alone."""
    conversion = convert_sample("asterisk", "asterisk-lifecycle.queue_log")
    assert not [e for e in conversion.events if e["type"] == "contact.wrapup_ended"]
    report = report_by_queue(conversion.events)
    assert report["support"]["aht_s"] == (210 + 300 + 60) / 3
    assert report["billing"]["aht_s"] == 120.0
    # Everything else is the same.
    for name in ("offered", "service_level", "asa_s", "abandon_rate", "transferred"):
        assert report["support"][name] == SUPPORT[name]


def test_taskrouter_without_a_contact_attribute_keeps_each_task_its_own_contact() -> None:
    """A Flex transfer makes a new task: without `contact_from` nothing links the two."""
    conversion = convert_sample("taskrouter", "taskrouter-lifecycle.txt")
    report = report_by_queue(conversion.events)
    assert report["support"]["transferred"] == 0
    assert report["billing"]["offered"] == 1
    assert report["support"]["aht_s"] == SUPPORT["aht_s"]
