"""The gamma functions of pipeline/core/gamma.py against closed forms they must meet."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.gamma import digamma, log_lower_gammas

EULER = 0.5772156649015329


@pytest.mark.parametrize("z", [1e-8, 0.3, 1.0, 2.9, 3.1, 10.0, 50.0, 700.0])
def test_lower_gamma_of_one_and_a_half_have_closed_forms(z: float) -> None:
    # gamma(1, z) = 1 - e^-z and gamma(2, z) = 1 - (1 + z) e^-z (both branches: z < 3, z >= 3);
    # gamma(1/2, z) = sqrt(pi) erf(sqrt(z)).
    log1, log2 = log_lower_gammas(1.0, z)
    assert math.exp(log1) == pytest.approx(-math.expm1(-z), rel=1e-13)
    assert math.exp(log2) == pytest.approx(1 - (1 + z) * math.exp(-z), rel=1e-11)
    log_half, _ = log_lower_gammas(0.5, z)
    assert math.exp(log_half) == pytest.approx(math.sqrt(math.pi) * math.erf(math.sqrt(z)))


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=0.001, max_value=3.0))
def test_lower_gammas_keep_their_recurrence_and_limit(a: float, ratio: float) -> None:
    z = a * ratio
    log0, log1 = log_lower_gammas(a, z)
    # gamma(a + 1, z) = a gamma(a, z) - z^a e^-z, both sides in log space.
    head = a * math.log(z) - z
    assert log1 == pytest.approx(log0 + math.log(a - math.exp(head - log0)), rel=1e-9, abs=1e-9)
    # gamma(a, z) < Gamma(a), and close to it far above the transition.
    assert log0 <= math.lgamma(a) + 1e-12
    assert log_lower_gammas(a, z * 2 + 50)[0] >= log0


def test_lower_gamma_of_nothing_is_nothing() -> None:
    assert log_lower_gammas(3.0, 0.0) == (-math.inf, -math.inf)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 1000])
def test_digamma_of_whole_numbers_is_a_harmonic_number_less_euler(n: int) -> None:
    harmonic = sum(1 / k for k in range(1, n))
    assert digamma(n) == pytest.approx(harmonic - EULER, abs=1e-13)
    assert digamma(n + 0.5) - digamma(0.5) == pytest.approx(
        sum(1 / (k + 0.5) for k in range(n)), rel=1e-12
    )
