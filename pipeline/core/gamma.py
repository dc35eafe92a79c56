"""The gamma functions Erlang A needs, in plain Python: the lower incomplete gamma function
in log space, and digamma.

`log_lower_gammas(a, z)` gives log gamma(a, z) and log gamma(a + 1, z) together, from one
evaluation: below the transition (z < a + 2) the series sum z^k / ((a+2)...(a+1+k)) for
gamma(a + 1, z), whose terms are all positive, and gamma(a, z) from it by adding positive
terms; above it the continued fraction of the upper function Gamma(a, z) by the modified
Lentz method (Numerical Recipes, `gser` and `gcf`), which converges there, with
Gamma(a + 1, z) = a Gamma(a, z) + z^a e^-z. Nothing is formed that could overflow: powers and
Gamma(a) appear only as logs. Both take O(sqrt(a)) terms at worst, near z = a.
"""

from __future__ import annotations

import math

_EPS = 1e-16  # relative size of the last term a series or fraction keeps
_TINY = 1e-300  # Lentz's guard against a zero denominator


def log_lower_gammas(a: float, z: float) -> tuple[float, float]:
    """(log gamma(a, z), log gamma(a + 1, z)): lower incomplete gamma functions, a > 0."""
    if z <= 0:
        return -math.inf, -math.inf
    log_z = math.log(z)
    log_head = a * log_z - z  # log(z^a e^-z)
    if z < a + 2:
        # gamma(a+1, z) = z^(a+1) e^-z / (a+1) * S, S = sum_k z^k / ((a+2)...(a+1+k)): the
        # ratio of terms z / (a+1+k) is below 1 from the first, so the loop ends.
        term = total = 1.0
        d = a + 1
        while term > total * _EPS:
            d += 1
            term *= z / d
            total += term
        # gamma(a, z) = z^a e^-z / a * (1 + z / (a+1) * S)
        log0 = log_head - math.log(a) + math.log1p(z / (a + 1) * total)
        log1 = log_head + log_z - math.log(a + 1) + math.log(total)
        return log0, log1
    upper = _upper_gamma_fraction(a, z)  # Gamma(a, z) = z^a e^-z * upper
    lgamma0 = math.lgamma(a)
    lgamma1 = lgamma0 + math.log(a)
    # Q(a, z) = Gamma(a, z) / Gamma(a) is at most ~1/2 for z >= a + 1, so log1p(-Q) is exact.
    log0 = lgamma0 + math.log1p(-math.exp(log_head + math.log(upper) - lgamma0))
    log1 = lgamma1 + math.log1p(-math.exp(log_head + math.log1p(a * upper) - lgamma1))
    return log0, log1


def _upper_gamma_fraction(a: float, z: float) -> float:
    """Gamma(a, z) / (z^a e^-z) by the modified Lentz method, for z > a + 1."""
    b = z + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    # Converges in O(sqrt(a)) steps for z > a + 1; the bound only guards against a bug.
    for i in range(1, 100 + 50 * int(math.sqrt(a + z))):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            return h
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={a}, z={z}")


def digamma(z: float) -> float:
    """The digamma function for z > 0: recurrence up to 10, then the asymptotic series."""
    shift = 0.0
    while z < 10:
        shift -= 1 / z
        z += 1
    f = 1 / (z * z)
    tail = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return shift + math.log(z) - 0.5 / z - tail
