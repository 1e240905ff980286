"""Log-spaced latency histograms: fixed memory, ~1 % percentile resolution."""

from __future__ import annotations

import math

import numpy as np

MIN_S = 1e-4
GROWTH = 1.02
N_BINS = int(math.ceil(math.log(1e4 / MIN_S) / math.log(GROWTH))) + 2
_LOG_GROWTH = math.log(GROWTH)
EDGES_S = MIN_S * GROWTH ** np.arange(N_BINS + 1, dtype=float)
EDGES_S[0] = 0.0


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
    out = []
    for q in qs:
        rank = q * total
        k = int(np.searchsorted(cum, rank, side="left"))
        k = min(k, N_BINS - 1)
        below = cum[k - 1] if k > 0 else 0
        inside = hist[k]
        frac = (rank - below) / inside if inside > 0 else 0.0
        lo, hi = EDGES_S[k], EDGES_S[k + 1]
        out.append(float(lo + (hi - lo) * min(max(frac, 0.0), 1.0)))
    return tuple(out)
