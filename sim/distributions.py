"""Vectorised sampling of the duration distributions in `sim.spec.Distribution`."""

from __future__ import annotations

import math

import numpy as np

from sim.spec import Distribution

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
