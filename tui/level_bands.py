"""Level words that hold still: OK / WARN / CRIT judged on smoothed values, with hysteresis.

A level rises as soon as the smoothed value reaches a threshold, and falls only
once the value is `gap` below it. So a value that wanders inside a band narrower
than `gap` changes the word at most once, and a healthy service that touches a
threshold for a moment does not flicker between OK and WARN.
"""

from __future__ import annotations

import math

import attrs

from tui.frame import LEVELS, level_for


def _gap_fits(band: Band, attribute, gap: float) -> None:
    # With a gap wider than the warn-crit distance, a value just under crit could
    # fall two levels at once while staying near one threshold.
    if not 0.0 <= gap <= band.crit_at - band.warn_at:
        raise ValueError(f"gap must be between 0 and crit_at - warn_at ({band.crit_at - band.warn_at:g}), got {gap:g}")


@attrs.frozen
class Band:
    """Thresholds of a smoothed value: WARN from `warn_at`, CRIT from `crit_at`; back down `gap` below each."""

    warn_at: float
    crit_at: float
    gap: float = attrs.field(validator=_gap_fits)


def judge(previous: str, value: float, band: Band) -> str:
    """The level after `previous` for a new smoothed value (NaN: no reading, the level holds)."""
    if math.isnan(value):
        return previous
    rising = level_for(value, band.warn_at, band.crit_at)
    if LEVELS.index(rising) >= LEVELS.index(previous):
        return rising
    # Falling: only as far as the value is clear of each threshold by the gap.
    cleared = level_for(value + band.gap, band.warn_at, band.crit_at)
    return min(previous, cleared, key=LEVELS.index)


SLOTS = Band(0.85, 0.97, 0.05)
"""Busy share of the worker slots. A healthy service runs well above half busy; WARN when
little headroom is left, CRIT when arrivals must wait for a slot."""
QUEUE_LIMITED = Band(0.5, 0.8, 0.1)
"""Queue depth against its limit."""
QUEUE_UNBOUNDED = Band(1.0, 4.0, 0.25)
"""Queue depth against the slots (an unbounded queue has no limit to judge against). A busy
healthy service queues a few requests now and then; WARN once a whole round of slots is waiting
on average (every request waits about one more service time), CRIT at four rounds."""
POOL_IN_USE = Band(0.9, 2.0, 0.05)
"""Connections in use against the pool size: a full pool without waiters is at its edge (WARN), not failing."""
ERRORS = Band(0.01, 0.05, 0.005)
"""Failed or rejected share of attempts."""
DEPENDENCY_SLOWDOWN = Band(2.0, 5.0, 0.5)
"""A dependency's p95 as a multiple of its normal p95."""
DEPENDENCY_ERRORS = Band(0.02, 0.10, 0.01)
"""A dependency's failed share of calls."""
CACHE_DEFICIT = Band(0.05, 0.5, 0.03)
"""How far a cache's hit ratio is below its warm ratio, as a share of it."""


def pool_waiters_band(size: int) -> Band:
    """Requests waiting for a connection: WARN from a tenth of the pool's size on average (at least
    one), CRIT from half of it. A healthy pool three-quarters busy queues a request now and then
    (Erlang C: about 0.75 waiting on average for 20 connections), so one waiter is not a warning
    for a big pool."""
    warn = max(1.0, size / 10)
    crit = max(2 * warn, size / 2)
    return Band(warn, crit, min(0.5, crit - warn))


def memory_band(pressure_fraction: float) -> Band:
    """The fullest worker's memory as a share of its limit: WARN past the pressure mark
    (garbage collection slows it), CRIT halfway from there to the OOM kill."""
    crit = (pressure_fraction + 1.0) / 2
    return Band(pressure_fraction, crit, min(0.02, crit - pressure_fraction))
