"""Quantiles of the duration distributions: closed forms, and agreement with the sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.distributions import cdf, quantile, sample
from sim.model.spec import Distribution

DISTRIBUTIONS = {
    "constant": Distribution.constant(0.2),
    "exponential": Distribution.exponential(0.05),
    "lognormal": Distribution.lognormal(0.04, 0.15),
    "pareto": Distribution.pareto(0.01, 2.5),
    "mixture": Distribution.mixture(
        (Distribution.lognormal(0.8, 2.0), Distribution.exponential(5.0), Distribution.constant(0.3)),
        (0.7, 0.2, 0.1),
    ),
}


def test_closed_forms():
    # Exponential: P(X <= x) = 1 - exp(-x / mean), so p99 = mean x ln 100.
    assert quantile(Distribution.exponential(0.05), 0.99) == pytest.approx(0.05 * math.log(100), rel=1e-12)
    # A lognormal is specified by its median and p99.
    assert quantile(Distribution.lognormal(0.04, 0.15), 0.5) == pytest.approx(0.04, rel=1e-6)
    assert quantile(Distribution.lognormal(0.04, 0.15), 0.99) == pytest.approx(0.15, rel=1e-12)
    assert cdf(Distribution.lognormal(0.04, 0.15), 0.15) == pytest.approx(0.99, abs=1e-9)
    # Pareto with minimum x_m and index a: P(X > x) = (x_m / x) ** a.
    assert quantile(Distribution.pareto(0.01, 2.0), 0.99) == pytest.approx(0.1, rel=1e-12)
    assert cdf(Distribution.pareto(0.01, 2.0), 0.005) == 0.0
    assert quantile(Distribution.constant(0.2), 0.99) == 0.2


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_quantile_matches_the_sampler(name, q):
    dist = DISTRIBUTIONS[name]
    draws = np.sort(sample(dist, np.random.default_rng(7), 400_000))
    expected = quantile(dist, q)
    # The empirical CDF at the computed quantile is q, up to sampling noise (binomial sd ~ 0.0005)
    # or the point mass of a constant part (then the quantile sits on the mass).
    below = np.searchsorted(draws, expected, side="left") / len(draws)
    at_or_below = np.searchsorted(draws, expected, side="right") / len(draws)
    assert below - 0.003 <= q <= at_or_below + 0.003, (name, q, expected, below, at_or_below)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quantile_inverts_cdf(name):
    dist = DISTRIBUTIONS[name]
    for q in (0.01, 0.25, 0.5, 0.75, 0.95, 0.999):
        x = quantile(dist, q)
        assert cdf(dist, x) >= q - 1e-9
        assert cdf(dist, x * (1 - 1e-6)) <= q + 1e-9


def test_quantile_rejects_probabilities_outside_0_1():
    with pytest.raises(ValueError, match="0 < q < 1"):
        quantile(DISTRIBUTIONS["exponential"], 1.0)
