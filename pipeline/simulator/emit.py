"""What leaves the simulator: the model's events, some late, some twice, as paced JSONL.

Real feeds are not clean: a platform's connector retries (the same event twice, same
`event_id`), and a slow node or a buffered agent desktop delivers an event seconds to minutes
after later ones. `disorder` adds both to the model's ordered stream, with its own random
stream, so changing the shares never changes the simulated centre itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any, BinaryIO

import orjson

from pipeline.core.clock import parse_rfc3339
from pipeline.simulator.model import ContactCentre
from pipeline.simulator.parameters import CentreConfig, Lognormal

Event = dict[str, Any]
DEFAULT_START_US = parse_rfc3339("2026-11-23T07:00:00Z")
_LATE_DELAY = Lognormal(20, 1.3)  # seconds to minutes
_DUPLICATE_DELAY = Lognormal(2, 1.5)  # a retry, mostly right after the original


@dataclass(frozen=True, slots=True)
class Disorder:
    """How much of the stream comes late or twice, and by how much."""

    late_share: float = 0.01
    duplicate_share: float = 0.005
    late_delay: Lognormal = _LATE_DELAY
    duplicate_delay: Lognormal = _DUPLICATE_DELAY
    max_delay_s: float = 900

    def __post_init__(self) -> None:
        for name in ("late_share", "duplicate_share"):
            share = getattr(self, name)
            if not 0 <= share <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {share}")


def disorder(
    events: Iterable[tuple[int, Event]], rng: random.Random, spec: Disorder
) -> Iterator[tuple[int, Event]]:
    """Delay some events and repeat others; yields (emission_us, event).

    A delayed event is held back and released once the stream has passed its release time,
    so it comes after events with later timestamps. A duplicate is the same dict (the same
    bytes once serialised), released a little after the original.
    """
    held: list[tuple[int, int, Event]] = []
    seq = 0
    max_us = spec.max_delay_s * 1_000_000
    late_share = spec.late_share
    duplicate_share = spec.duplicate_share
    for ts, event in events:
        while held and held[0][0] <= ts:
            release, _, early = heappop(held)
            yield release, early
        if rng.random() < late_share:
            delay = min(spec.late_delay.draw(rng) * 1_000_000, max_us)
            heappush(held, (ts + max(int(delay), 1000), seq, event))
            seq += 1
        else:
            yield ts, event
        if rng.random() < duplicate_share:
            delay = min(spec.duplicate_delay.draw(rng) * 1_000_000, max_us)
            heappush(held, (ts + int(delay), seq, event))
            seq += 1
    while held:
        release, _, late = heappop(held)
        yield release, late


def simulate_timed(
    contacts: int,
    seed: int,
    start_us: int = DEFAULT_START_US,
    *,
    tenant: str | None = None,
    disorder_spec: Disorder | None = None,
    config: CentreConfig | None = None,
) -> Iterator[tuple[int, Event]]:
    """(emission_us, event) pairs: the event and the simulated time it is delivered at.

    `disorder_spec` defaults to `Disorder()`; pass `Disorder(0, 0)` for a clean stream.
    """
    centre = ContactCentre(config or CentreConfig(), contacts, seed, start_us, tenant)
    spec = disorder_spec if disorder_spec is not None else Disorder()
    if not spec.late_share and not spec.duplicate_share:
        return centre.events()
    return disorder(centre.events(), random.Random(f"ccpipe-disorder-{seed}"), spec)


def simulate_events(
    contacts: int,
    seed: int,
    start_us: int = DEFAULT_START_US,
    *,
    tenant: str | None = None,
    disorder_spec: Disorder | None = None,
    config: CentreConfig | None = None,
) -> Iterator[Event]:
    """The simulated events in delivery order, as v1 contract dicts."""
    for _, event in simulate_timed(
        contacts, seed, start_us, tenant=tenant, disorder_spec=disorder_spec, config=config
    ):
        yield event


def write_jsonl(
    timed: Iterable[tuple[int, Event]],
    out: BinaryIO,
    speed: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write one compact JSON object a line; returns the number of lines.

    With `speed`, the simulated delivery times are kept against `clock` at `speed` times
    real time; the output is flushed before every wait, so a reader sees each event as soon
    as it is due.
    """
    dumps = orjson.dumps
    count = 0
    if speed is None:
        batch: list[bytes] = []
        for _, event in timed:
            batch.append(dumps(event))
            if len(batch) >= 4096:
                out.write(b"\n".join(batch) + b"\n")
                count += len(batch)
                batch.clear()
        if batch:
            out.write(b"\n".join(batch) + b"\n")
            count += len(batch)
        out.flush()
        return count
    if speed <= 0:
        raise ValueError(f"speed must be positive, not {speed}")
    origin_us: int | None = None
    wall0 = clock()
    for at_us, event in timed:
        if origin_us is None:
            origin_us = at_us
        due = wall0 + (at_us - origin_us) / 1_000_000 / speed
        wait = due - clock()
        if wait > 0:
            out.flush()
            sleep(wait)
        out.write(dumps(event) + b"\n")
        count += 1
    out.flush()
    return count
