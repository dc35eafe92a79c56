"""Parameters of the simulated contact centre, with the defaults `ccpipe simulate` uses.

Why each default is plausible is written in docs/simulator.md; a value changed here should be
changed there too. Everything is plain frozen data: the model reads it, never writes it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A lognormal duration in seconds, given by its median and the sigma of its log.

    Call-centre service times and patience are close to lognormal (Brown et al., "Statistical
    analysis of a telephone call center", JASA 2005); the median reads better than mu.
    """

    median: float
    sigma: float

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma * self.sigma / 2)

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)


@dataclass(frozen=True, slots=True)
class Exponential:
    """An exponential duration in seconds, given by its mean: the memoryless times the Erlang
    models assume (pipeline/simulator/stationary.py). A mean of 0 is always 0."""

    mean: float

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1 / self.mean) if self.mean > 0 else 0.0


Duration = Lognormal | Exponential


@dataclass(frozen=True, slots=True)
class ChannelBehaviour:
    """How contacts on one channel arrive, wait, are handled and are rated."""

    share: float  # of all contacts
    priority: int  # an agent serving several channels takes the lowest number first
    answer_delay_s: tuple[float, float]  # uniform: ring time, or the first reply's writing
    patience: Duration | None  # None: the customer never gives up (email)
    short_patience_share: float  # customers who hang up within `short_patience_s` anyway
    talk_factor: float  # times the queue's talk median
    hold_share: float  # of handled contacts that have some hold
    acw: Duration
    resolve_factor: float  # times the queue's resolve share
    retry_share: float  # of abandoning customers who try again
    survey_share: float  # of handled contacts that get a survey response
    survey_delay: Lognormal  # from the end of the conversation to the response


@dataclass(frozen=True, slots=True)
class QueueBehaviour:
    """What the customers of one queue want and how long it takes."""

    share: float  # of all contacts
    talk_median_s: float
    resolve_share: float  # of handled (not transferred) contacts resolved at wrap-up
    transfer_share: float  # of answered contacts transferred to another queue
    transfer_to: tuple[tuple[str, float], ...]  # (queue, weight)
    reasons: tuple[str, ...]
    resolved_dispositions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """A team: its agents serve every (queue, channel) pair of these queues and channels."""

    name: str
    queues: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Break:
    """A break `after_h` hours into the shift; the planner staggers it by `stagger_h` either
    way across the team (agents of rank 0, 1, 2 take it early, on time, late), so a whole
    cohort never leaves the floor at once. Shifts shorter than `after_h` + 1 h skip it."""

    after_h: float
    minutes: float
    stagger_h: float


def _channels() -> dict[str, ChannelBehaviour]:
    ivr_survey = Lognormal(40, 0.5)  # the post-call IVR survey follows the call at once
    link_survey = Lognormal(2 * 3600, 1.0)  # an e-mailed link is answered hours later
    return {
        "voice": ChannelBehaviour(
            share=0.58,
            priority=0,
            answer_delay_s=(2, 6),
            patience=Lognormal(120, 1.0),
            short_patience_share=0.04,
            talk_factor=1.0,
            hold_share=0.25,
            acw=Lognormal(25, 0.7),
            resolve_factor=1.0,
            retry_share=0.5,
            survey_share=0.12,
            survey_delay=ivr_survey,
        ),
        "chat": ChannelBehaviour(
            share=0.18,
            priority=0,
            answer_delay_s=(5, 25),
            patience=Lognormal(240, 0.9),
            short_patience_share=0.02,
            talk_factor=1.4,
            hold_share=0.0,
            acw=Lognormal(15, 0.6),
            resolve_factor=0.97,
            retry_share=0.3,
            survey_share=0.2,
            survey_delay=Lognormal(60, 0.8),
        ),
        "sms": ChannelBehaviour(
            share=0.04,
            priority=1,
            answer_delay_s=(10, 60),
            patience=Lognormal(8 * 3600, 0.8),
            short_patience_share=0.0,
            talk_factor=0.5,
            hold_share=0.0,
            acw=Lognormal(10, 0.6),
            resolve_factor=0.9,
            retry_share=0.2,
            survey_share=0.1,
            survey_delay=link_survey,
        ),
        "social": ChannelBehaviour(
            share=0.03,
            priority=1,
            answer_delay_s=(10, 60),
            patience=Lognormal(8 * 3600, 0.8),
            short_patience_share=0.0,
            talk_factor=0.5,
            hold_share=0.0,
            acw=Lognormal(10, 0.6),
            resolve_factor=0.9,
            retry_share=0.2,
            survey_share=0.05,
            survey_delay=link_survey,
        ),
        "callback": ChannelBehaviour(
            share=0.05,
            priority=2,
            answer_delay_s=(5, 20),
            patience=Lognormal(3 * 3600, 1.0),
            short_patience_share=0.0,
            talk_factor=0.9,
            hold_share=0.25,
            acw=Lognormal(25, 0.7),
            resolve_factor=1.0,
            retry_share=0.3,
            survey_share=0.12,
            survey_delay=ivr_survey,
        ),
        "email": ChannelBehaviour(
            share=0.12,
            priority=3,
            answer_delay_s=(60, 240),
            patience=None,
            short_patience_share=0.0,
            talk_factor=0.6,
            hold_share=0.0,
            acw=Lognormal(20, 0.6),
            resolve_factor=0.92,
            retry_share=0.0,
            survey_share=0.08,
            survey_delay=link_survey,
        ),
    }


def _queues() -> dict[str, QueueBehaviour]:
    return {
        "sales": QueueBehaviour(
            share=0.30,
            talk_median_s=330,
            resolve_share=0.88,
            transfer_share=0.05,
            transfer_to=(("support", 0.6), ("billing", 0.4)),
            reasons=("new_order", "upgrade", "pricing", "cancel_request"),
            resolved_dispositions=("sale", "no_sale", "information"),
        ),
        "support": QueueBehaviour(
            share=0.45,
            talk_median_s=420,
            resolve_share=0.78,
            transfer_share=0.07,
            transfer_to=(("billing", 0.6), ("sales", 0.4)),
            reasons=("technical_issue", "outage", "setup", "how_to"),
            resolved_dispositions=("fixed", "information"),
        ),
        "billing": QueueBehaviour(
            share=0.25,
            talk_median_s=270,
            resolve_share=0.85,
            transfer_share=0.06,
            transfer_to=(("support", 0.7), ("sales", 0.3)),
            reasons=("invoice_query", "payment", "refund", "direct_debit"),
            resolved_dispositions=("payment_taken", "adjusted", "information"),
        ),
    }


def _groups() -> tuple[AgentGroup, ...]:
    return (
        AgentGroup("sales-voice", ("sales",), ("voice", "callback")),
        AgentGroup("care-voice", ("support", "billing"), ("voice", "callback")),
        AgentGroup("digital", ("sales", "support", "billing"), ("chat", "sms", "social", "email")),
    )


@dataclass(frozen=True, slots=True)
class CentreConfig:
    """The whole model. `contacts_per_day` sets the scale; the rest is its shape."""

    # Demand: the volume of a full day, and its shape over the open hours (one weight an hour
    # from opening, interpolated linearly between hour midpoints).
    contacts_per_day: int = 20_000
    open_hours: int = 14
    hourly_profile: tuple[float, ...] = (
        3.0, 6.5, 9.5, 11.5, 10.0, 8.5, 8.0, 8.0, 7.5, 7.0, 6.0, 4.5, 3.0, 2.0,
    )  # fmt: skip
    day_volume_sigma: float = 0.04  # day-to-day variation of the volume, on multi-day runs
    queues: dict[str, QueueBehaviour] = field(default_factory=_queues)
    channels: dict[str, ChannelBehaviour] = field(default_factory=_channels)
    talk_sigma: float = 0.65
    talk: Exponential | None = None  # instead of the lognormal talk above, for every queue
    hold: Lognormal = Lognormal(40, 0.8)
    short_patience_s: tuple[float, float] = (0.3, 5.0)
    transfer_talk_factor: float = 0.35  # the first agent only finds out where it belongs

    # Customers: a base large enough that unrelated contacts of one customer within the FCR
    # window are rare, and the repeat behaviour that makes FCR what it is.
    population_per_daily_contact: int = 200
    unresolved_repeat_share: float = 0.6
    resolved_repeat_share: float = 0.04
    same_day_repeat_share: float = 0.35
    same_day_repeat_delay: Lognormal = Lognormal(90 * 60, 0.7)
    later_repeat_delay: Lognormal = Lognormal(1.5 * 86400, 0.7)
    retry_delay: Lognormal = Lognormal(4 * 60, 0.8)
    repeat_same_channel_share: float = 0.7

    # Workforce: square-root staffing per half hour, leaner at the peak, covered by shifts
    # of a few lengths that accept a small shortfall rather than a whole extra shift.
    groups: tuple[AgentGroup, ...] = field(default_factory=_groups)
    # Instead of the planner: this many agents per group, each on one shift over the whole
    # opening (absences, jitter and breaks below still apply).
    fixed_agents: tuple[int, ...] | None = None
    safety_beta: float = 1.0  # at or below the day's mean load
    peak_beta: float = 0.0  # at the day's highest load
    under_cover_share: float = 0.03
    absence_share: float = 0.03
    shift_hours: tuple[int, ...] = (8, 6, 4)  # full time first; part-time covers the peaks
    waste_weight: float = 0.5  # how much the planner minds an idle half hour against a gap
    breaks: tuple[Break, ...] = (Break(2.0, 15, 0.25), Break(4.0, 30, 0.5), Break(6.0, 15, 0.25))
    break_jitter_min: float = 5  # adherence: breaks start a few minutes off plan
    login_jitter_min: tuple[float, float] = (-3, 5)
    overtime_cap_min: float = 10  # an agent at shift end keeps taking waiting contacts this long

    # Surveys.
    csat_only_share: float = 0.3
    nps_only_share: float = 0.15

    def validate(self) -> None:
        """Refuse a model that could never finish: a contact nobody serves waits forever."""
        if len(self.hourly_profile) != self.open_hours:
            raise ValueError("hourly_profile needs one weight per open hour")
        if not self.shift_hours or max(self.shift_hours) > self.open_hours:
            raise ValueError("shifts must be given, and not longer than the opening hours")
        if self.open_hours > 23:
            raise ValueError("the centre must close for at least an hour a day")
        if self.fixed_agents is not None and len(self.fixed_agents) != len(self.groups):
            raise ValueError("fixed_agents needs one number per agent group")
        served = {(q, c) for g in self.groups for q in g.queues for c in g.channels}
        for queue, qb in self.queues.items():
            for channel, cb in self.channels.items():
                if qb.share > 0 and cb.share > 0 and (queue, channel) not in served:
                    raise ValueError(f"no agent group serves {queue}/{channel}")
            for target, _ in qb.transfer_to:
                if target not in self.queues:
                    raise ValueError(f"{queue} transfers to unknown queue {target}")
