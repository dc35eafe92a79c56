"""A seeded mix of contract events for stream tests: realistic enough to touch every KPI,
with duplicates, disorder and bad lines (the simulator gives the realistic day)."""

from __future__ import annotations

import random

import orjson

from tests.core.builders import at


def mixed_events(seed: int, contacts: int = 300) -> list[bytes]:
    rng = random.Random(seed)
    lines: list[dict[str, object]] = []
    n = 0

    def add(kind: str, s: float, **fields: object) -> None:
        nonlocal n
        n += 1
        lines.append({"event_id": f"s{seed}-{n}", "type": kind, "ts": at(s), **fields})

    for c in range(contacts):
        tenant = rng.choice(["default", "acme"])
        queue = rng.choice(["sales", "support"])
        channel = rng.choice(["voice", "voice", "chat", "email"])
        customer = f"u{rng.randrange(contacts // 3)}"
        t = rng.uniform(0, 4 * 3600)
        cid = f"c{c}"
        base = {"contact_id": cid, "queue": queue, "tenant": tenant}
        add("contact.offered", t, channel=channel, customer_id=customer, **base)
        wait = rng.expovariate(1 / 25)
        if rng.random() < 0.15:
            add("contact.abandoned", t + wait, **base)
            continue
        add("contact.answered", t + wait, agent_id="a1", **base)
        talk = rng.uniform(30, 600)
        if rng.random() < 0.1:
            add("contact.transferred", t + wait + talk, to_queue="billing", **base)
            add(
                "contact.offered",
                t + wait + talk + 1,
                channel=channel,
                customer_id=customer,
                contact_id=cid,
                queue="billing",
                tenant=tenant,
            )
            continue
        add("contact.ended", t + wait + talk, agent_id="a1", talk_s=round(talk, 3), **base)
        add(
            "contact.wrapup_ended",
            t + wait + talk + 30,
            agent_id="a1",
            acw_s=30,
            resolved=rng.random() > 0.2,
            **base,
        )
        if rng.random() < 0.3:
            add(
                "survey.response",
                t + wait + talk + 60,
                csat=rng.randint(1, 5),
                nps=rng.randint(0, 10),
                **base,
            )
    for a in range(5):
        add(
            "agent.state",
            rng.uniform(0, 4 * 3600),
            agent_id=f"a{a}",
            state="available",
            queues=["sales"],
        )
    # A far-future event so that some FCR windows close.
    add("agent.state", 8 * 86400, agent_id="a0", state="offline")
    encoded = [orjson.dumps(line) for line in lines]
    rng.shuffle(encoded)  # disorder
    encoded += rng.sample(encoded, len(encoded) // 50)  # duplicates
    encoded.insert(rng.randrange(len(encoded)), b'{"type":"contact.offered","event_id":"bad"}')
    encoded.insert(rng.randrange(len(encoded)), b"not json at all")
    return encoded
