"""Outcome counters and metrics: per-tick counts, totals, the latency window, history rows, the digest."""

from __future__ import annotations

import collections
import copy
import hashlib
import math

import numpy as np

from sim.model import histogram
from sim.model.history import History
from sim.model.observe import FAIL_REASONS, REJECT_REASONS, RunResult

LATENCY_WINDOW_S = 10.0
RATE_WINDOW_S = 1.0

SCALAR_SERIES = (
    "t_s", "arrivals", "fresh_arrivals", "retry_arrivals", "admitted", "completed", "degraded", "failed",
    *(f"failed_{r}" for r in FAIL_REASONS), "rejected", *(f"rejected_{r}" for r in REJECT_REASONS),
    "in_flight", "queue_depth", "busy_slots", "total_slots", "live_workers", "memory_mb",
    "p50_ms", "p95_ms", "p99_ms", "latency_sum_ms",
)
SERIES_INDEX = {name: i for i, name in enumerate(SCALAR_SERIES)}
_I_ARRIVALS, _I_FRESH, _I_RETRY, _I_ADMITTED = (
    SERIES_INDEX[k] for k in ("arrivals", "fresh_arrivals", "retry_arrivals", "admitted"))
_I_GAUGES = [SERIES_INDEX[k] for k in (
    "t_s", "in_flight", "queue_depth", "busy_slots", "total_slots", "live_workers", "memory_mb",
    "p50_ms", "p95_ms", "p99_ms", "latency_sum_ms")]
"""Columns of the series `end_tick` sets (not counts bumped during the tick), in the order it writes them."""
_I_FAILED = SERIES_INDEX["failed"]
_I_FAILED_BY_REASON = np.array([SERIES_INDEX[f"failed_{r}"] for r in FAIL_REASONS])
POOL_SERIES = ("pool_in_use", "pool_size", "pool_waiters")
DEPENDENCY_SERIES = ("breaker_state", "dep_active")
_DIGESTED_BUFFERS = (*POOL_SERIES, *DEPENDENCY_SERIES)


class Metrics:
    """Counts of one tick (arrivals, outcomes, latencies), folded into totals, history and digest at its end."""

    def __init__(self, n_classes: int, dt_s: float, latency_thresholds_s: tuple[float, ...]):
        self._n_cls = n_classes
        self._dt_s = dt_s
        self._thresholds = latency_thresholds_s
        self._tot = collections.Counter()
        self._tot_fail = np.zeros(len(FAIL_REASONS), dtype=np.int64)
        self._tot_reject = np.zeros(len(REJECT_REASONS), dtype=np.int64)
        self._tot_hist = np.zeros(histogram.N_BINS, dtype=np.int64)
        self._tot_lat_sum = 0.0
        self._lat_window = max(1, int(round(LATENCY_WINDOW_S / dt_s)))
        self._lat_ring = np.zeros((self._lat_window, histogram.N_BINS), dtype=np.int32)
        self._lat_ring_count = np.zeros(self._lat_window, dtype=np.int8)
        self._lat_roll = np.zeros(histogram.N_BINS, dtype=np.int64)
        self._rate_window = max(1, int(round(RATE_WINDOW_S / dt_s)))
        self._pcts = (math.nan, math.nan, math.nan)
        self._digest = hashlib.sha256()
        self._tick_counts = np.zeros(len(SCALAR_SERIES))
        self._row_pos = 0
        self._tick_class = np.zeros((4, n_classes, 2), dtype=np.int64)
        self._tick_within = np.zeros((n_classes, 2, len(latency_thresholds_s)), dtype=np.int64)
        # Degraded answers per class and attempt kind, for scoring what a fallback costs; not
        # digested (the scalar "degraded" count already is), so digests and saves are unchanged.
        self._tick_degraded = np.zeros((n_classes, 2), dtype=np.int64)
        self._tick_success: list = []
        self._tick_lat_sum = 0.0

    def __deepcopy__(self, memo) -> Metrics:
        # hashlib objects cannot be deep-copied: the copy gets its own .copy() of the hash state.
        memo[id(self._digest)] = self._digest.copy()
        other = copy.copy(self)
        memo[id(self)] = other
        other.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return other

    def new_history(self, ticks: int, n_pools: int, n_deps: int) -> History:
        """The ring of per-tick rows this writes: scalar series plus per-class, pool and dependency arrays."""
        nc, nt = self._n_cls, len(self._thresholds)
        shapes: dict[str, tuple[int, ...]] = dict(
            class_arrivals=(nc, 2), class_completed=(nc, 2), class_failed=(nc, 2), class_rejected=(nc, 2),
            class_within=(nc, 2, nt), class_degraded=(nc, 2), pool_in_use=(n_pools,), pool_size=(n_pools,), pool_waiters=(n_pools,),
            breaker_state=(n_deps,), dep_active=(n_deps,),
        )
        dtypes = {k: np.int32 for k in shapes}
        shapes = {k: v for k, v in shapes.items() if k not in SERIES_INDEX}
        return History(ticks, shapes, dtypes, scalars=SCALAR_SERIES)

    # -- during the tick ---------------------------------------------------------------

    def begin_tick(self, history: History) -> None:
        """Claim this tick's history row and zero the tick's counts."""
        self._row_pos = history.begin_row()
        self._tick_counts[:] = 0
        self._tick_class = np.zeros((4, self._n_cls, 2), dtype=np.int64)
        self._tick_within = np.zeros((self._n_cls, 2, len(self._thresholds)), dtype=np.int64)
        self._tick_degraded = np.zeros((self._n_cls, 2), dtype=np.int64)
        self._tick_success = []
        self._tick_lat_sum = 0.0

    def bump(self, name: str, n: float) -> None:
        """Add n to this tick's count of a scalar series."""
        self._tick_counts[SERIES_INDEX[name]] += n

    def count_arrivals(self, c: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Arrivals of classes c, attempts a; returns their count per (class, fresh/retry)."""
        retry = (a > 0).astype(np.int64)
        per_class = np.bincount(c * 2 + retry, minlength=2 * self._n_cls).reshape(-1, 2)
        self._tick_class[0] += per_class
        self.bump("arrivals", c.size)
        self.bump("retry_arrivals", int(retry.sum()))
        self.bump("fresh_arrivals", c.size - int(retry.sum()))
        return per_class

    def count_rejected(self, c: np.ndarray, a: np.ndarray, reason: int) -> None:
        """Arrivals of classes c, attempts a refused at the door for REJECT_REASONS[reason]."""
        self._tick_class[3] += np.bincount(c * 2 + (a > 0), minlength=2 * self._n_cls).reshape(-1, 2)
        self.bump("rejected", c.size)
        self.bump(f"rejected_{REJECT_REASONS[reason]}", c.size)
        self._tot_reject[reason] += c.size

    def count_successes(self, latency: np.ndarray, code: np.ndarray, degraded: np.ndarray) -> None:
        """Successes with these latencies and class*2+retry codes (binned at the end of the tick);
        `degraded` marks those a fallback answered."""
        self._tick_success.append((latency, code))
        n = latency.size
        if degraded.any():
            self._tick_degraded += np.bincount(code[degraded], minlength=2 * self._n_cls).reshape(-1, 2)
        degraded = int(np.count_nonzero(degraded))
        self.bump("completed", n)
        self.bump("degraded", degraded)
        self._tot["completed"] += n
        self._tot["degraded"] += degraded

    def count_failures(self, c: np.ndarray, a: np.ndarray, reasons: np.ndarray) -> None:
        """Failures of classes c, attempts a, for reasons (indices into FAIL_REASONS)."""
        self._tick_class[2] += np.bincount(c * 2 + (a > 0), minlength=2 * self._n_cls).reshape(-1, 2)
        counts = np.bincount(reasons, minlength=len(FAIL_REASONS))
        self._tick_counts[_I_FAILED] += c.size
        self._tick_counts[_I_FAILED_BY_REASON] += counts
        self._tot_fail += counts[: len(FAIL_REASONS)]

    # -- end of the tick -----------------------------------------------------------------

    def end_tick(self, history: History, tick: int, t1: float, gauges: tuple, pool_columns: tuple | None,
                 dependency_columns: tuple | None) -> None:
        """Fold the tick into the latency window and totals; write its history row and digest it.

        gauges: (in_flight, queue_depth, busy_slots, total_slots, live_workers, memory_mb);
        pool_columns, dependency_columns: the POOL_SERIES and DEPENDENCY_SERIES rows (None: none exist).
        """
        tick_hist = self._tally_successes()
        # Latency window: percentiles only change when what the window holds changes.
        slot = tick % self._lat_window
        leaving = self._lat_ring_count[slot]
        if leaving or tick_hist is not None:
            if leaving:
                self._lat_roll -= self._lat_ring[slot]
                self._lat_ring[slot] = 0
                self._lat_ring_count[slot] = 0
            if tick_hist is not None:
                self._lat_ring[slot] = tick_hist
                self._lat_ring_count[slot] = 1
                self._lat_roll += tick_hist
                self._tot_hist += tick_hist
            self._pcts = histogram.percentiles(self._lat_roll, (0.5, 0.95, 0.99))
        self._tot_lat_sum += self._tick_lat_sum
        tc = self._tick_class
        counts = self._tick_counts
        self._tot["arrivals"] += int(counts[_I_ARRIVALS])
        self._tot["fresh"] += int(counts[_I_FRESH])
        self._tot["retry"] += int(counts[_I_RETRY])
        admitted = int(tc[0].sum() - tc[3].sum())
        self._tot["admitted"] += admitted
        counts[_I_ADMITTED] += admitted
        # Gauge-like series. in_flight is counted from the request table, not derived
        # from the counters, so the conservation law is a real check.
        counts[_I_GAUGES] = (
            t1, *gauges,
            1000 * self._pcts[0],
            1000 * self._pcts[1],
            1000 * self._pcts[2],
            1000 * self._tick_lat_sum,
        )
        pos = self._row_pos
        history.scalars[pos] = counts
        history.buffer("class_arrivals")[pos] = tc[0]
        history.buffer("class_completed")[pos] = tc[1]
        history.buffer("class_failed")[pos] = tc[2]
        history.buffer("class_rejected")[pos] = tc[3]
        history.buffer("class_within")[pos] = self._tick_within
        history.buffer("class_degraded")[pos] = self._tick_degraded
        for names, columns in ((POOL_SERIES, pool_columns), (DEPENDENCY_SERIES, dependency_columns)):
            if columns is not None:
                for name, column in zip(names, columns):
                    history.buffer(name)[pos] = column
        # Pools and dependencies too: an action that only moves a pool size must change the digest.
        # (One update of the joined bytes hashes exactly what one update per part would.)
        self._digest.update(b"".join((
            counts.tobytes(), tc.tobytes(), self._tick_within.tobytes(),
            *(history.buffer(name)[pos].tobytes() for name in _DIGESTED_BUFFERS),
        )))

    def _tally_successes(self) -> np.ndarray | None:
        """Bin this tick's successes: latency histogram, per class, within each threshold."""
        if not self._tick_success:
            return None
        lat = np.concatenate([x[0] for x in self._tick_success])
        code = np.concatenate([x[1] for x in self._tick_success])
        n2 = 2 * self._n_cls
        self._tick_class[1] += np.bincount(code, minlength=n2).reshape(-1, 2)
        for k, thr in enumerate(self._thresholds):
            self._tick_within[:, :, k] += np.bincount(code[lat <= thr + 1e-12], minlength=n2).reshape(-1, 2)
        self._tick_lat_sum = float(lat.sum())
        return histogram.counts(lat)

    # -- reading -------------------------------------------------------------------------

    def digest(self) -> str:
        """SHA-256 over every tick's metric row so far."""
        return self._digest.hexdigest()

    @property
    def percentiles_s(self) -> tuple[float, float, float]:
        """p50, p95, p99 of the latency window (seconds; nan before any success)."""
        return self._pcts

    def latency_histogram(self) -> np.ndarray:
        """Counts of successful latencies so far (a copy)."""
        return self._tot_hist.copy()

    def recent_rate(self, history: History, name: str) -> float:
        """Per-second rate of a count series over the last RATE_WINDOW_S."""
        n = min(self._rate_window, history.length)
        if not n:
            return 0.0
        per_s = 1.0 / (n * self._dt_s)
        buf = history.buffer(name)
        idx = (np.arange(history.written - n, history.written)) % history.capacity
        return float(buf[idx].sum()) * per_s

    def recent_rates(self, history: History, names: tuple[str, ...]) -> tuple[float, ...]:
        """`recent_rate` of each series in `names` (the window's positions found once)."""
        n = min(self._rate_window, history.length)
        if not n:
            return (0.0,) * len(names)
        per_s = 1.0 / (n * self._dt_s)
        idx = (np.arange(history.written - n, history.written)) % history.capacity
        return tuple(float(history.buffer(name)[idx].sum()) * per_s for name in names)

    def in_flight(self) -> int:
        """Requests admitted and not yet ended (`result().in_flight`, without the percentiles)."""
        tot = self._tot
        return tot["admitted"] - tot["completed"] - int(self._tot_fail.sum())

    def result(self, t_s: float) -> RunResult:
        """Totals so far."""
        tot = self._tot
        p50, p95, p99 = histogram.percentiles(self._tot_hist, (0.5, 0.95, 0.99))
        completed = tot["completed"]
        return RunResult(
            duration_s=t_s,
            arrivals=tot["arrivals"],
            fresh_arrivals=tot["fresh"],
            retry_arrivals=tot["retry"],
            admitted=tot["admitted"],
            completed=completed,
            degraded=tot["degraded"],
            failed={r: int(n) for r, n in zip(FAIL_REASONS, self._tot_fail)},
            rejected={r: int(n) for r, n in zip(REJECT_REASONS, self._tot_reject)},
            in_flight=self.in_flight(),
            latency_mean_ms=1000 * self._tot_lat_sum / completed if completed else math.nan,
            p50_ms=1000 * p50,
            p95_ms=1000 * p95,
            p99_ms=1000 * p99,
        )
