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
_EDGES = EDGES_S.tolist()


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
    cum = np.cumsum(hist)
    total = int(cum[-1])
    if total <= 0:
        return tuple(math.nan for _ in qs)
    # A handful of scalars: plain floats beat a dozen tiny array operations (once per tick).
    out = []
    for q, k in zip(qs, np.searchsorted(cum, [q * total for q in qs], side="left").tolist()):
        k = min(k, N_BINS - 1)
        below = int(cum[k - 1]) if k > 0 else 0
        inside = int(hist[k])
        frac = min(1.0, max(0.0, (q * total - below) / inside)) if inside > 0 else 0.0
        lo, hi = _EDGES[k], _EDGES[k + 1]
        out.append(lo + (hi - lo) * frac)
    return tuple(out)
