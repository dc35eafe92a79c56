"""The simulated centre run as the Erlang models assume it: to check the staffing maths.

One queue on one channel; Poisson arrivals at a steady rate; exponential handle times (talk
only: no ring time, hold or wrap-up, so the time an agent is taken is the handle time the
events report); exponential patience (or none), with no short abandons beyond those the
patience itself makes; a fixed number of agents on the floor the whole opening (no shifts,
breaks, absences or late logins); no transfers, retries, repeat contacts or surveys. That is
Erlang A's M/M/n+M queue (Erlang C's M/M/n without patience), run by the same model as
`ccpipe simulate`. Its events go through the KPI core like any others.

The run opens with every agent free and ends at closing time, so the first minutes and the
contacts offered near the close are not stationary: the checks leave them out
(tests/test_stationary_simulator.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pipeline.simulator.emit import DEFAULT_START_US, Disorder, simulate_events
from pipeline.simulator.parameters import (
    AgentGroup,
    CentreConfig,
    ChannelBehaviour,
    Exponential,
    Lognormal,
    QueueBehaviour,
)

QUEUE = "queue"
CHANNEL = "voice"


def stationary_config(
    agents: int, aht_s: float, patience_s: float | None, hours: int
) -> CentreConfig:
    """The M/M/agents+M centre, open `hours` a day (1 to 23)."""
    channel = ChannelBehaviour(
        share=1.0,
        priority=0,
        answer_delay_s=(0.0, 0.0),
        patience=None if patience_s is None else Exponential(patience_s),
        short_patience_share=0.0,
        talk_factor=1.0,
        hold_share=0.0,
        acw=Exponential(0.0),
        resolve_factor=1.0,
        retry_share=0.0,
        survey_share=0.0,
        survey_delay=Lognormal(60, 0.5),  # no surveys: never drawn
    )
    queue = QueueBehaviour(
        share=1.0,
        talk_median_s=aht_s,  # unused: `talk` below is the handle time
        resolve_share=1.0,
        transfer_share=0.0,
        transfer_to=(),
        reasons=("enquiry",),
        resolved_dispositions=("resolved",),
    )
    return CentreConfig(
        open_hours=hours,
        hourly_profile=(1.0,) * hours,
        queues={QUEUE: queue},
        channels={CHANNEL: channel},
        talk=Exponential(aht_s),
        groups=(AgentGroup("team", (QUEUE,), (CHANNEL,)),),
        fixed_agents=(agents,),
        absence_share=0.0,
        shift_hours=(hours,),
        breaks=(),
        break_jitter_min=0.0,
        login_jitter_min=(0.0, 0.0),
        overtime_cap_min=0.0,
        unresolved_repeat_share=0.0,
        resolved_repeat_share=0.0,
    )


def stationary_events(
    agents: int,
    rate_per_hour: float,
    aht_s: float,
    patience_s: float | None,
    hours: int,
    seed: int,
    start_us: int = DEFAULT_START_US,
) -> Iterator[dict[str, Any]]:
    """The events of one day of the stationary centre, in order, with no late or duplicated
    deliveries. The day has round(rate_per_hour * hours) arrivals, spread as a Poisson
    process given its count: independently and uniformly over the opening."""
    contacts = round(rate_per_hour * hours)
    config = replace(
        stationary_config(agents, aht_s, patience_s, hours), contacts_per_day=max(contacts, 1)
    )
    return simulate_events(contacts, seed, start_us, disorder_spec=Disorder(0, 0), config=config)
