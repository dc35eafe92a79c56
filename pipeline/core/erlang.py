"""Erlang C and Erlang A: what a number of agents delivers, and how many a target needs.

Both models: one queue, Poisson arrivals at `rate_per_s`, exponential handle times of mean
`aht_s` (talk, hold and after-contact work: the time an agent is taken), `agents` identical
agents always on the floor, first come first served, a stationary state (docs/staffing.md says
what that ignores). Erlang C (M/M/n) lets every customer wait as long as it takes; Erlang A
(M/M/n+M) gives each an exponential patience of mean `patience_s` and lets them abandon when
it runs out. Write a = rate * aht (the offered load in Erlangs), mu = 1/aht, theta =
1/patience.

**Service level.** The contract's (shared/spec/events-and-kpis.md): answered within the
threshold T over answered + abandoned, where abandons quicker than the queue's
`short_abandon_s` (s) count in neither. In Erlang C nobody abandons, so that is
P(W <= T) over all arrivals. In Erlang A it is

    SL = P(answered and wait <= T) / (1 - P(abandoned after waiting less than s)),

and the abandon rate, likewise the contract's, is P(abandoned, wait >= s) / (1 - P(abandoned,
wait < s)). With s = 0 (the contract's default on every channel but voice) both are shares of
all arrivals. ASA is the mean wait of answered contacts (the contract's `asa_s`), and
`mean_wait_s` that of all arrivals, answered or abandoned.

**Formulas.** Erlang B by its recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)): every step
is a contraction, so it is exact to rounding at any size and underflows gracefully to 0 where
the truth is below 1e-308; no factorial or power of a is ever formed.

Erlang C from it: C = n B / (n - a (1 - B)) for n > a (else every arrival waits and the queue
grows without bound), P(W > t) = C exp(-(n mu - lambda) t), ASA = C / (n mu - lambda).

Erlang A as in Garnett, Mandelbaum and Reiman, "Designing a call center with impatient
customers" (MSOM 4(3), 2002) and Mandelbaum and Zeltyn, "The M/M/n+G queue: summary of
performance measures" (Technion notes), for exponential patience. With x = n mu / theta,
y = lambda / theta, gamma the lower incomplete gamma function and
A = x e^y y^-x gamma(x, y) (= sum over k >= 0 of y^k / ((x+1)...(x+k))):

    P(V > 0) = A B / (1 + (A - 1) B)                                  (probability of waiting)
    P(V > t) = P(V > 0) gamma(x, y e^(-theta t)) / gamma(x, y)         (offered wait V)

from the density of the offered wait, f_V(t) = n mu pi_n exp(lambda (1 - e^(-theta t)) / theta
- n mu t). Integrating it against the patience with the substitution v = y e^(-theta t) gives
each measure as incomplete gamma functions of (x, .) and (x + 1, .) at y, y u_T and y u_s,
where u_t = e^(-theta t):

    P(answered, V <= T | V > 0) = [gamma(x+1, y) - gamma(x+1, y u_T)] / (y gamma(x, y))
    P(abandoned | V > 0)        = 1 - gamma(x+1, y) / (y gamma(x, y))
    P(abandoned, W < s | V > 0) = P(abandoned | V > 0) - u_s gamma(x, y u_s) / gamma(x, y)
                                  + gamma(x+1, y u_s) / (y gamma(x, y))
    mean wait of all arrivals   = P(abandoned) / theta

The abandonment line is Garnett et al.'s 1 - 1/rho + 1/(rho A) (rho = lambda / (n mu)) in
another form; the last is Little's law for the queue, theta E[Lq] = lambda P(abandoned).
ASA needs one more sum: given k customers ahead, those answered waited H_k / theta on average,
H_k = sum over j = 0..k of 1 / (x + 1 + j), so E[V | answered, V > 0] is the average of
H_k / theta under the weights y^k / ((x+1)...(x+k+1)). Its terms are all positive and summed
outwards from the largest (H there from the digamma function).

**Stability.** The incomplete gamma functions (pipeline/core/gamma.py) are only ever used in
log space and as ratios: log gamma(x, z) and log gamma(x + 1, z) come together from one
evaluation, a series of positive terms below the transition z = x + 2 and a continued
fraction above it, O(sqrt(x)) terms at worst. A = x e^y y^-x gamma(x, y) is kept as its log,
so P(V > 0) is formed as 1 / (1 + (1 - B) / (A B)) without overflow. The remaining
subtractions (1 - P, differences of two ratios) lose at most absolute precision of a few
1e-16, which is what a probability needs. Everything stays finite and consistent beyond
2,000 agents; the cost grows with sqrt(n patience / aht), which is why patience is capped at
PATIENCE_RATIO_LIMIT handle times (more patient customers than that are Erlang C's).

**Required agents.** The fewest agents on the floor that reach the service-level target and,
when given, keep occupancy at or under `max_occupancy`; with shrinkage the agents to schedule
are agents / (1 - shrinkage), rounded up. Both figures are monotone in the number of agents,
so the search steps out from a guess by 1, 2, 4, ... agents and bisects: from Erlang C's
answer (closed forms, cheap), or for `advise` from the last refresh's answer, where two
service levels usually settle it. It stops at `max_agents` with a `StaffingError`, never
loops.

**For the live view**, `advise(traffic, target, staffed, previous)` gives the required agents
and the service level projected at the agents staffed in one search; 300 queue/channel
groups take about 15-20 ms a refresh (bench/erlang.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.core.gamma import digamma, log_lower_gammas

MAX_AGENTS = 10_000  # the search limit of `required_agents`
PATIENCE_RATIO_LIMIT = 10_000.0  # patience at most this many handle times (see Stability)
_EPS = 1e-16  # relative size of the last term a sum keeps
# Scheduled agents are agents / (1 - shrinkage) rounded up, less this: 14 / (1 - 0.3) is
# 20.000000000000004 in floating point and needs 20, not 21 (a need within a billionth of
# an agent over a whole number is that number).
SCHEDULE_SLACK = 1e-9
# An occupancy within a billionth over the cap meets it. In overload Erlang A's occupancy is
# 1 less a share far below the float noise of its terms (about 1e-12), so the computed
# figure jumps between 1.0 and 0.9999999999992 from one agent count to the next; a cap that
# close to 1 would otherwise be met by some counts and missed by their neighbours.
OCCUPANCY_SLACK = 1e-9


class StaffingError(ValueError):
    """Input the staffing maths cannot use, said in a planner's words: `field` names the
    input at fault (a `Traffic` or `ServiceTarget` field, or `agents`; None for the load as a
    whole) and `reason` says what is wrong with it."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def _check(field: str, value: float, ok: bool, rule: str) -> None:
    if not ok or math.isnan(value):
        raise StaffingError(field, f"must be {rule}, not {value:g}")


@dataclass(frozen=True, slots=True)
class Traffic:
    """What a queue is offered: Poisson arrivals at `rate_per_s` contacts a second, handle
    times of mean `aht_s`, and patience of mean `patience_s` (None: customers never give up,
    Erlang C; a number: Erlang A)."""

    rate_per_s: float
    aht_s: float
    patience_s: float | None = None

    def __post_init__(self) -> None:
        _check("rate_per_s", self.rate_per_s, 0 < self.rate_per_s < math.inf, "more than 0")
        _check("aht_s", self.aht_s, 0 < self.aht_s < math.inf, "more than 0 seconds")
        if self.patience_s is not None:
            _check(
                "patience_s", self.patience_s, 0 < self.patience_s < math.inf, "more than 0 seconds"
            )
            if self.patience_s > PATIENCE_RATIO_LIMIT * self.aht_s:
                raise StaffingError(
                    "patience_s",
                    f"{self.patience_s:g} s is more than {PATIENCE_RATIO_LIMIT:,.0f} handle "
                    "times: customers that patient do not abandon; leave the patience out "
                    "(Erlang C)",
                )

    @classmethod
    def from_counts(
        cls, offered: float, interval_s: float, aht_s: float, patience_s: float | None = None
    ) -> Traffic:
        """`offered` contacts over `interval_s` seconds, as a planner's forecast says it."""
        _check("offered", offered, 0 < offered < math.inf, "more than 0 contacts")
        _check("interval_s", interval_s, 0 < interval_s < math.inf, "more than 0 seconds")
        return cls(offered / interval_s, aht_s, patience_s)

    @property
    def load(self) -> float:
        """The offered load in Erlangs: agents kept busy on average if all were answered."""
        return self.rate_per_s * self.aht_s


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """A service-level target: `service_level` (a share, 0 < x < 1) of contacts answered
    within `threshold_s`, measured as the contract does with `short_abandon_s`; optionally at
    most `max_occupancy` (0 < x <= 1) of the agents' time busy, and `shrinkage` (0 <= x < 1)
    of the scheduled agents' time off the floor (breaks, training, absence)."""

    service_level: float
    threshold_s: float
    short_abandon_s: float = 0.0
    max_occupancy: float | None = None
    shrinkage: float = 0.0

    def __post_init__(self) -> None:
        _check("service_level", self.service_level, 0 < self.service_level < 1, "between 0 and 1")
        _check_thresholds(self.threshold_s, self.short_abandon_s)
        if self.max_occupancy is not None:
            _check(
                "max_occupancy",
                self.max_occupancy,
                0 < self.max_occupancy <= 1,
                "more than 0 and at most 1",
            )
        _check("shrinkage", self.shrinkage, 0 <= self.shrinkage < 1, "at least 0 and less than 1")


def _check_thresholds(threshold_s: float, short_abandon_s: float) -> None:
    _check("threshold_s", threshold_s, 0 <= threshold_s < math.inf, "0 seconds or more")
    _check("short_abandon_s", short_abandon_s, 0 <= short_abandon_s < math.inf, "0 seconds or more")


@dataclass(frozen=True, slots=True)
class Performance:
    """What `agents` on the floor deliver. Erlang C (no patience) has no abandons: its
    `p_abandon` and `abandon_rate` are 0, its `mean_wait_s` is its ASA, and with no more agents
    than the load (agents <= a) every arrival waits for ever: p_wait 1, service level 0,
    waits infinite, occupancy 1."""

    agents: int
    p_wait: float  # an arrival finds every agent busy
    service_level: float  # the contract's, at the threshold asked (module docstring)
    asa_s: float  # mean wait of answered contacts
    occupancy: float  # share of the agents' time handling contacts
    p_abandon: float  # an arrival abandons (short abandons included)
    abandon_rate: float  # the contract's: abandons after the short limit / offered - short
    mean_wait_s: float  # mean wait of all arrivals, answered or abandoned


@dataclass(frozen=True, slots=True)
class Staffing:
    """The answer of `required_agents`: `agents` on the floor, `scheduled` with shrinkage,
    which constraint set it, and the service level those agents give."""

    agents: int
    scheduled: int
    limited_by: Literal["service level", "occupancy"]
    service_level: float


# --- Erlang B and C ---------------------------------------------------------------------------


class _ErlangB:
    """Erlang B for 0, 1, 2, ... agents at one load, extended by the recursion as asked."""

    __slots__ = ("_load", "_values")

    def __init__(self, load: float) -> None:
        self._load = load
        self._values = [1.0]

    def __call__(self, agents: int) -> float:
        values = self._values
        load = self._load
        b = values[-1]
        for k in range(len(values), agents + 1):
            b = load * b / (k + load * b)
            values.append(b)
        return values[agents]


def erlang_b(agents: int, load: float) -> float:
    """The Erlang B blocking probability of `agents` servers offered `load` Erlangs."""
    _check_agents(agents, allow_zero=True)
    _check("load", load, 0 < load < math.inf, "more than 0 Erlangs")
    return _ErlangB(load)(agents)


def _check_agents(agents: int, allow_zero: bool = False) -> None:
    if agents < (0 if allow_zero else 1):
        raise StaffingError("agents", f"must be at least {0 if allow_zero else 1}, not {agents}")


def _erlang_c(traffic: Traffic, agents: int, b: float) -> float:
    """Probability of waiting (Erlang C) from Erlang B; 1 when the queue cannot keep up."""
    load = traffic.load
    if agents <= load:
        return 1.0
    return agents * b / (agents - load * (1 - b))


def _erlang_c_service_level(traffic: Traffic, agents: int, b: float, threshold_s: float) -> float:
    if agents <= traffic.load:
        return 0.0
    c = _erlang_c(traffic, agents, b)
    return 1 - c * math.exp(-(agents - traffic.load) / traffic.aht_s * threshold_s)


def _erlang_c_performance(
    traffic: Traffic, agents: int, b: float, threshold_s: float
) -> Performance:
    load = traffic.load
    if agents <= load:
        return Performance(agents, 1.0, 0.0, math.inf, 1.0, 0.0, 0.0, math.inf)
    c = _erlang_c(traffic, agents, b)
    asa = c * traffic.aht_s / (agents - load)
    sl = _erlang_c_service_level(traffic, agents, b, threshold_s)
    return Performance(agents, c, sl, asa, load / agents, 0.0, 0.0, asa)


# --- Erlang A ---------------------------------------------------------------------------------


class _ErlangA:
    """The Erlang A measures of one (traffic, agents), sharing the terms at y between them."""

    __slots__ = ("_log_g0", "_p_answered_if_wait", "p_wait", "theta", "x", "y")

    def __init__(self, traffic: Traffic, agents: int, b: float) -> None:
        assert traffic.patience_s is not None
        self.theta = theta = 1 / traffic.patience_s
        self.x = x = agents / traffic.aht_s / theta
        self.y = y = traffic.rate_per_s / theta
        self._log_g0, log_g1 = log_lower_gammas(x, y)
        log_a = math.log(x) + y - x * math.log(y) + self._log_g0
        if b <= 0:
            self.p_wait = 0.0
        else:
            # P(V > 0) = A B / (1 + (A - 1) B) = 1 / (1 + (1 - B) / (A B)), A kept as its log.
            ratio = math.log1p(-b) - math.log(b) - log_a
            self.p_wait = 0.0 if ratio > 700 else 1 / (1 + math.exp(ratio))
        self._p_answered_if_wait = min(math.exp(log_g1 - self._log_g0) / y, 1.0)

    def _ratios(self, t: float) -> tuple[float, float, float]:
        """(u_t, gamma(x, y u_t) / gamma(x, y), gamma(x+1, y u_t) / (y gamma(x, y)))."""
        u = math.exp(-self.theta * t)
        log0, log1 = log_lower_gammas(self.x, self.y * u)
        return u, math.exp(log0 - self._log_g0), math.exp(log1 - self._log_g0) / self.y

    @property
    def p_abandon(self) -> float:
        return self.p_wait * (1 - self._p_answered_if_wait)

    def answered_within(self, threshold_s: float) -> float:
        """P(answered with a wait <= threshold_s), over all arrivals."""
        _, _, late = self._ratios(threshold_s)
        within_if_wait = max(self._p_answered_if_wait - late, 0.0)
        return 1 - self.p_wait + self.p_wait * within_if_wait

    def short_abandoned(self, short_abandon_s: float) -> float:
        """P(abandoned after a wait < short_abandon_s), over all arrivals."""
        if short_abandon_s <= 0:
            return 0.0
        u, waiting, late = self._ratios(short_abandon_s)
        share = 1 - self._p_answered_if_wait - u * waiting + late
        return self.p_wait * min(max(share, 0.0), 1.0)

    def service_level(self, threshold_s: float, short_abandon_s: float) -> float:
        counted = 1 - self.short_abandoned(short_abandon_s)
        return min(self.answered_within(threshold_s) / counted, 1.0)

    def answered_wait_s(self) -> float:
        """E[V | answered, V > 0]: the mean of H_k / theta under the weights
        w_k = y^k / ((x+1)...(x+k+1)), summed outwards from the largest weight."""
        x, y = self.x, self.y
        top = max(0, int(y - x - 1))
        h_top = digamma(x + 2 + top) - digamma(x + 1) if top else 1 / (x + 1)
        total = 1.0  # the weights relative to w_top
        excess = 0.0  # sum of w_k (H_k - H_top)
        w, h, k = 1.0, 0.0, top
        while True:  # upwards: w_{k+1} = w_k y / (x+2+k), H_{k+1} = H_k + 1 / (x+2+k)
            w *= y / (x + 2 + k)
            h += 1 / (x + 2 + k)
            k += 1
            total += w
            excess += w * h
            if w < total * _EPS:
                break
        w, h, k = 1.0, 0.0, top
        while k > 0:  # downwards: w_{k-1} = w_k (x+1+k) / y, H_{k-1} = H_k - 1 / (x+1+k)
            w *= (x + 1 + k) / y
            h -= 1 / (x + 1 + k)
            k -= 1
            total += w
            excess += w * h
            if w < total * _EPS:
                break
        return (h_top + excess / total) / self.theta

    def performance(
        self, traffic: Traffic, agents: int, threshold_s: float, short_abandon_s: float
    ) -> Performance:
        p_abandon = self.p_abandon
        short = self.short_abandoned(short_abandon_s)
        counted = 1 - short
        answered = 1 - p_abandon
        answered_after_wait = self.p_wait * self._p_answered_if_wait
        asa = answered_after_wait * self.answered_wait_s() / answered if answered > 0 else 0.0
        return Performance(
            agents=agents,
            p_wait=self.p_wait,
            service_level=min(self.answered_within(threshold_s) / counted, 1.0),
            asa_s=asa,
            occupancy=min(traffic.load * answered / agents, 1.0),
            p_abandon=p_abandon,
            abandon_rate=max(p_abandon - short, 0.0) / counted,
            mean_wait_s=p_abandon / self.theta,
        )


# --- the public functions ---------------------------------------------------------------------


def performance(
    traffic: Traffic, agents: int, threshold_s: float, short_abandon_s: float = 0.0
) -> Performance:
    """Every measure of `agents` on the floor: Erlang A when `traffic` has a patience, else
    Erlang C. The service level is at `threshold_s`, counted as the contract does."""
    _check_agents(agents)
    _check_thresholds(threshold_s, short_abandon_s)
    b = _ErlangB(traffic.load)(agents)
    if traffic.patience_s is None:
        return _erlang_c_performance(traffic, agents, b, threshold_s)
    return _ErlangA(traffic, agents, b).performance(traffic, agents, threshold_s, short_abandon_s)


def service_level(
    traffic: Traffic, agents: int, threshold_s: float, short_abandon_s: float = 0.0
) -> float:
    """The service level `agents` give, as `performance` has it, without the rest (cheaper:
    for projecting the live service level at the agents staffed)."""
    _check_agents(agents)
    _check_thresholds(threshold_s, short_abandon_s)
    return _service_level(_ErlangB(traffic.load), traffic, agents, threshold_s, short_abandon_s)


def _service_level(
    table: _ErlangB, traffic: Traffic, agents: int, threshold_s: float, short_abandon_s: float
) -> float:
    b = table(agents)
    if traffic.patience_s is None:
        return _erlang_c_service_level(traffic, agents, b, threshold_s)
    return _ErlangA(traffic, agents, b).service_level(threshold_s, short_abandon_s)


def _occupancy(table: _ErlangB, traffic: Traffic, agents: int) -> float:
    load = traffic.load
    if traffic.patience_s is None:
        return min(load / agents, 1.0)
    return min(load * (1 - _ErlangA(traffic, agents, table(agents)).p_abandon) / agents, 1.0)


def required_agents(
    traffic: Traffic, target: ServiceTarget, max_agents: int = MAX_AGENTS
) -> Staffing:
    """The fewest agents on the floor that meet `target` (module docstring), and how many
    to schedule. Raises `StaffingError` when more than `max_agents` would be needed."""
    return _Search(traffic, target, max_agents).staffing()


@dataclass(frozen=True, slots=True)
class Advice:
    """A queue's staffing now: the agents it needs, those it has, and the service level
    those give (what the live view shows: "needs 14, has 12, projected 64 %")."""

    required: Staffing
    staffed: int
    projected_service_level: float

    @property
    def gap(self) -> int:
        """Agents short on the floor (negative: to spare)."""
        return self.required.agents - self.staffed


def advise(
    traffic: Traffic,
    target: ServiceTarget,
    staffed: int,
    previous: int | None = None,
    max_agents: int = MAX_AGENTS,
) -> Advice:
    """`required_agents`, and the service level projected at `staffed` agents on the floor
    (0 with none). Cheaper than the two calls apart: they share Erlang B and the service
    levels the search has computed, often that of the agents staffed among them. `previous`,
    the agents this queue needed at the last refresh, is where the search starts: trailing
    rates move little between refreshes, so two probes usually settle it."""
    if staffed < 0:
        raise StaffingError("staffed", f"must be 0 or more, not {staffed}")
    search = _Search(traffic, target, max_agents)
    required = search.staffing(previous)
    projected = search.level(staffed) if staffed else 0.0
    return Advice(required, staffed, projected)


class _Search:
    """The search for one (traffic, target): Erlang B by recursion and every service level
    computed, kept for the answer and for the agents staffed."""

    __slots__ = ("_levels", "_max", "_table", "_target", "_traffic")

    def __init__(self, traffic: Traffic, target: ServiceTarget, max_agents: int) -> None:
        self._traffic = traffic
        self._target = target
        self._max = max_agents
        self._table = _ErlangB(traffic.load)
        self._levels: dict[int, float] = {}

    def level(self, agents: int) -> float:
        levels = self._levels
        if agents not in levels:
            target = self._target
            levels[agents] = _service_level(
                self._table, self._traffic, agents, target.threshold_s, target.short_abandon_s
            )
        return levels[agents]

    def _too_many(self) -> StaffingError:
        return StaffingError(
            None,
            f"the load of {self._traffic.load:,.1f} Erlangs needs more than {self._max:,} "
            "agents (the search limit): check the volume, interval and handle time",
        )

    def staffing(self, guess: int | None = None) -> Staffing:
        traffic, target, table, most = self._traffic, self._target, self._table, self._max
        load = traffic.load
        if load >= most:
            raise self._too_many()
        agents = guess
        if guess is None or traffic.patience_s is None:
            # Erlang C's answer: cheap (a closed form per count), and Erlang A's starting
            # guess, usually within an agent or two of it. Square-root staffing guesses it.
            c_traffic = Traffic(traffic.rate_per_s, traffic.aht_s)

            def meets_c(n: int) -> bool:
                level = _service_level(table, c_traffic, n, target.threshold_s, 0.0)
                return level >= target.service_level

            start = guess if guess is not None else math.ceil(load + math.sqrt(load))
            agents = _fewest(meets_c, start, math.floor(load) + 1, most)
        if traffic.patience_s is not None:
            # Answered within T is at most n / a of the arrivals, and the short abandons at
            # most 1 - e^(-s / patience), so no fewer agents than this can meet the target.
            short = math.exp(-target.short_abandon_s / traffic.patience_s)
            floor = max(math.floor(target.service_level * load * short), 1)
            agents = _fewest(
                lambda n: self.level(n) >= target.service_level,
                most if agents is None else agents,
                floor,
                most,
            )
        if agents is None:
            raise self._too_many()
        limited_by: Literal["service level", "occupancy"] = "service level"
        if target.max_occupancy is not None:
            cap = target.max_occupancy
            by_occupancy = _fewest(
                lambda n: _occupancy(table, traffic, n) <= cap + OCCUPANCY_SLACK,
                min(math.ceil(load / cap), most),
                1,
                most,
            )
            if by_occupancy is None:
                raise self._too_many()
            if by_occupancy > agents:
                agents, limited_by = by_occupancy, "occupancy"
        scheduled = math.ceil(agents / (1 - target.shrinkage) - SCHEDULE_SLACK)
        return Staffing(agents, max(scheduled, agents), limited_by, self.level(agents))


def _fewest(ok: Callable[[int], bool], guess: int, lo: int, hi: int) -> int | None:
    """The smallest n in [lo, hi] with ok(n), for ok false then true as n grows; None if
    ok(hi) is false. Probes the guess, then guess -+ 1, 2, 4, ... (the answer is usually next
    to the guess) until ok changes, then bisects the bracket."""
    guess = min(max(guess, lo), hi)
    bad, good = lo - 1, hi + 1  # ok(bad) is false, ok(good) true, once probed
    offset = 1
    if ok(guess):
        good = guess
        while good > lo:
            n = max(guess - offset, lo)
            if not ok(n):
                bad = n
                break
            good, offset = n, offset * 2
    else:
        bad = guess
        while bad < hi:
            n = min(guess + offset, hi)
            if ok(n):
                good = n
                break
            bad, offset = n, offset * 2
    while good - bad > 1:
        middle = (good + bad) // 2
        if ok(middle):
            good = middle
        else:
            bad = middle
    return good if good <= hi else None
