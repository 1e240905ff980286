"""What a dependency's dashboard would show: call rate, error share and p95 of recent calls.

Recording only: nothing here draws a random number or is read by the engine's
physics, so keeping these statistics cannot change a run (the digests stay put).
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.distributions import quantile
from sim.model.spec import Dependency

WINDOW_S = 5.0
"""The span the rates and p95 cover: long enough to smooth a 20 req/s trickle, short
enough that a fault shows within seconds."""
KEEP_LATENCIES = 2048
"""Latest call latencies kept per dependency for its p95 (a busy database makes thousands
of queries in the window: the newest ones stand for them all)."""


def normal_p95_ms(dep: Dependency) -> float:
    """The p95 a call to `dep` has with no fault and no contention: its spec's own distribution."""
    return 1000.0 * quantile(dep.latency, 0.95)


P95_Q = 95 / 100
"""The quantile `np.percentile(values, 95)` computes (it divides by 100 the same way)."""


def percentile_95(values: np.ndarray) -> float:
    """`float(np.percentile(values, 95))` for a non-empty array of finite floats (reordered in
    place), bit for bit: numpy's default "linear" method (Hyndman & Fan 7), its index and its
    two-sided interpolation in the same float64 operations, without the machinery that makes a
    call on a small array cost ten times the partition it needs (`tests/sim/test_call_stats.py`)."""
    count = values.size
    virtual = (count - 1) * P95_Q
    if virtual >= count - 1:
        return float(values.max())
    below = math.floor(virtual)
    values.partition((below, below + 1))
    a, b = float(values[below]), float(values[below + 1])
    gamma = virtual - below
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


class CallStats:
    """Per-dependency rings of call counts (per tick started) and of latencies (by end time)."""

    def __init__(self, deps: tuple[Dependency, ...], dt_s: float):
        n = len(deps)
        self._dt_s = dt_s
        self._win = max(1, int(round(WINDOW_S / dt_s)))
        self._calls = np.zeros((n, self._win))
        self._errors = np.zeros((n, self._win))
        self._slot_tick = np.full(self._win, -1, dtype=np.int64)
        self._end_t = np.full((n, KEEP_LATENCIES), -math.inf)
        self._lat_s = np.zeros((n, KEEP_LATENCIES))
        self._pos = np.zeros(n, dtype=np.int64)
        self.normal_p95_ms = tuple(normal_p95_ms(d) for d in deps)
        self._pending: list[tuple] = []
        self._pending_tick = -1

    def record(self, di: int, tick: int, start_t, lat_s: np.ndarray, err: np.ndarray) -> None:
        """Call attempts to di that started at start_t (a time or one per call) in `tick`, with their
        latencies and failures. Kept as they come and folded once per tick: a database in an N+1
        pattern records dozens of small batches a tick, and a list append is what they can afford."""
        if lat_s.size == 0:
            return
        if tick != self._pending_tick:
            self._fold()
            self._pending_tick = tick
        self._pending.append((di, start_t, lat_s, err))

    def _fold(self) -> None:
        """Move the calls recorded in the pending tick into the rings."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        tick = self._pending_tick
        slot = tick % self._win
        if self._slot_tick[slot] != tick:
            # A new tick reuses the slot of the tick a window ago.
            self._slot_tick[slot] = tick
            self._calls[:, slot] = 0.0
            self._errors[:, slot] = 0.0
        for di in sorted({entry[0] for entry in pending}):
            mine = [entry for entry in pending if entry[0] == di]
            lat = np.concatenate([entry[2] for entry in mine])
            err = np.concatenate([entry[3] for entry in mine])
            end = np.concatenate([np.asarray(entry[1], dtype=float) + entry[2] for entry in mine])
            self._calls[di, slot] += lat.size
            self._errors[di, slot] += int(np.count_nonzero(err))
            m = min(lat.size, KEEP_LATENCIES)
            at = (self._pos[di] + np.arange(m)) % KEEP_LATENCIES
            self._end_t[di, at] = end[-m:]
            self._lat_s[di, at] = lat[-m:]
            self._pos[di] += m

    def _recent_slots(self, tick: int) -> np.ndarray:
        """Slots of the window's ticks that ended by `tick` (ticks tick - win .. tick - 1)."""
        return (self._slot_tick >= tick - self._win) & (self._slot_tick < tick)

    def rates(self, di: int, tick: int) -> tuple[float, float]:
        """(calls started per second over the window, share of the window's calls that failed:
        errors, timeouts, refusals; 0 with no calls)."""
        self._fold()
        mask = self._recent_slots(tick)
        calls = float(self._calls[di, mask].sum())
        return calls / (self._win * self._dt_s), float(self._errors[di, mask].sum()) / calls if calls else 0.0

    def p95_ms(self, di: int, t_s: float) -> float:
        """p95 of the calls that ended within the window before t_s (NaN: none ended)."""
        self._fold()
        end = self._end_t[di]
        done = (end > t_s - WINDOW_S) & (end <= t_s)
        if not done.any():
            return math.nan
        return 1000.0 * percentile_95(self._lat_s[di][done])
