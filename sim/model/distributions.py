"""Vectorised sampling of the duration distributions in `sim.model.spec.Distribution`."""

from __future__ import annotations

import math

import numpy as np

from sim.model.spec import Distribution

_Z99 = 2.3263478740408408  # standard normal quantile at 0.99


def sample(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw n durations in seconds."""
    if n == 0:
        return np.empty(0)
    kind = dist.kind
    if kind == "constant":
        return np.full(n, dist.value_s)
    if kind == "exponential":
        return rng.exponential(dist.mean_s, n)
    if kind == "lognormal":
        sigma = math.log(dist.p99_s / dist.median_s) / _Z99 if dist.p99_s > dist.median_s else 0.0
        return dist.median_s * np.exp(sigma * rng.standard_normal(n))
    if kind == "pareto":
        # Lomax + 1 scaled: a classic Pareto with minimum scale_s and tail index alpha.
        return dist.scale_s * (1.0 + rng.pareto(dist.alpha, n))
    weights = np.asarray(dist.weights, dtype=float)
    which = rng.choice(len(dist.components), size=n, p=weights / weights.sum())
    out = np.empty(n)
    for k, component in enumerate(dist.components):
        mask = which == k
        count = int(mask.sum())
        if count:
            out[mask] = sample(component, rng, count)
    return out


def cdf(dist: Distribution, x: float) -> float:
    """P(duration <= x) for one distribution (what a dashboard's percentile line is read from)."""
    kind = dist.kind
    if kind == "constant":
        return 1.0 if x >= dist.value_s else 0.0
    if x <= 0.0:
        return 0.0
    if kind == "exponential":
        return 1.0 - math.exp(-x / dist.mean_s) if dist.mean_s > 0 else 1.0
    if kind == "lognormal":
        sigma = math.log(dist.p99_s / dist.median_s) / _Z99 if dist.p99_s > dist.median_s else 0.0
        if sigma == 0.0:
            return 1.0 if x >= dist.median_s else 0.0
        return 0.5 * (1.0 + math.erf(math.log(x / dist.median_s) / (sigma * math.sqrt(2.0))))
    if kind == "pareto":
        return 0.0 if x < dist.scale_s else 1.0 - (dist.scale_s / x) ** dist.alpha
    total = float(sum(dist.weights))
    return sum(w / total * cdf(c, x) for w, c in zip(dist.weights, dist.components))


def quantile(dist: Distribution, q: float) -> float:
    """The duration below which a fraction q (0 < q < 1) of draws fall, in seconds.

    Closed form where there is one; a mixture is solved by bisection on its CDF
    (to 1e-9 relative), which also covers the point masses of constant parts.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile needs 0 < q < 1, got {q}")
    kind = dist.kind
    if kind == "constant":
        return dist.value_s
    if kind == "exponential":
        return -dist.mean_s * math.log1p(-q)
    if kind == "pareto":
        return dist.scale_s * (1.0 - q) ** (-1.0 / dist.alpha)
    if kind == "lognormal" and q == 0.99:
        return max(dist.p99_s, dist.median_s)
    lo, hi = 0.0, 1e-3
    while cdf(dist, hi) < q:
        lo, hi = hi, hi * 2.0
        if hi > 1e9:
            return math.inf
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        if cdf(dist, mid) >= q:
            hi = mid
        else:
            lo = mid
    return hi
