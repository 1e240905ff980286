"""Log-spaced latency histograms: fixed memory, ~1 % percentile resolution."""

from __future__ import annotations

import math

import numpy as np

MIN_S = 1e-4
GROWTH = 1.02
N_BINS = int(math.ceil(math.log(1e4 / MIN_S) / math.log(GROWTH))) + 2
_LOG_GROWTH = math.log(GROWTH)
EDGES_S = MIN_S * GROWTH ** (np.arange(N_BINS + 1, dtype=float) - 1)
EDGES_S[0] = 0.0
"""Bin k holds latencies in [EDGES_S[k], EDGES_S[k + 1]); bin 0 is everything under MIN_S."""


def bin_index(latency_s: np.ndarray) -> np.ndarray:
    """Bin of each latency; bin 0 holds everything under MIN_S."""
    with np.errstate(divide="ignore"):
        k = np.floor(np.log(np.maximum(latency_s, 1e-12) / MIN_S) / _LOG_GROWTH).astype(np.int64) + 1
    return np.clip(k, 0, N_BINS - 1)


def counts(latency_s: np.ndarray) -> np.ndarray:
    """A histogram of the given latencies."""
    return np.bincount(bin_index(latency_s), minlength=N_BINS)


def percentiles(hist: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """Percentiles (q in 0..1) in seconds from a histogram, interpolating inside a bin."""
    total = hist.sum()
    if total <= 0:
        return tuple(math.nan for _ in qs)
    cum = np.cumsum(hist)
    ranks = np.asarray(qs, dtype=float) * total
    ks = np.minimum(np.searchsorted(cum, ranks, side="left"), N_BINS - 1)
    below = np.where(ks > 0, cum[ks - 1], 0)
    inside = hist[ks]
    frac = np.clip(np.where(inside > 0, (ranks - below) / np.maximum(inside, 1), 0.0), 0.0, 1.0)
    lo, hi = EDGES_S[ks], EDGES_S[ks + 1]
    return tuple((lo + (hi - lo) * frac).tolist())
