"""Record every queue, pool and rate-limiter transition of a run, at its own time.

The engine reports per-tick rows; a bound that holds only at tick ends can still be
broken inside a tick. `TransitionLog` wraps the engine's transition methods of one
Simulation instance (never the class) and keeps what each request did and when:

- queue stays: [arrival, start of service or departure) of every admitted request
  that waited for a slot (requests still waiting at the end stay to +inf);
- connection holds: [grant, return) per pool, and each grant's wait for it;
- rate-limiter passes: the arrival time of every request the limiter let through
  (every arrival that became a pending row, less those it refused).

`max_overlap` then gives the most intervals open at any instant.
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine import codes as engine
from sim.engine.simulation import Simulation


class TransitionLog:
    """Instance-level wrappers around one Simulation's transition methods."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.queue_stays: list[tuple[float, float]] = []
        self.starts = 0
        """Requests that left the queue for a slot (at once or after a wait)."""
        self.holds: dict[int, list[tuple[float, float]]] = {}
        self.grant_waits: dict[int, list[float]] = {}
        self.acquire_timeouts: list[tuple[float, float]] = []
        """(wait start, time given up) of each waiter failed on its acquire timeout."""
        self.limiter_passes: list[float] = []
        self.limiter_refusals: list[float] = []
        self._held_since: dict[int, tuple[int, float]] = {}
        self._wrap()

    def _wrap(self) -> None:
        sim = self.sim
        table = sim.table
        apply_segments, fail, grant = sim.plans.start, sim.outcomes.fail, sim.pools._grant_connections
        end_queries, finish, reject_queued = sim.pools.end_queries, sim.outcomes.finish, sim.queue._reject_queued
        enter = sim.ingress.enter

        def logged_apply_segments(rows, start_t, seg, pos=None):
            queued = table.phase[rows] == engine.QUEUED
            self.starts += int(queued.sum())
            if queued.any():
                for w, s in zip(table.wait_t[rows[queued]].tolist(), np.asarray(start_t)[queued].tolist()):
                    if s > w:
                        self.queue_stays.append((w, s))
            return apply_segments(rows, start_t, seg, pos)

        def logged_fail(rows, t, reason):
            queued = table.phase[rows] == engine.QUEUED
            for w, s in zip(table.wait_t[rows[queued]].tolist(), np.asarray(t)[queued].tolist()):
                if s > w:
                    self.queue_stays.append((w, s))
            return fail(rows, t, reason)

        def logged_grant(pi, rows, start, others_waiting):
            waited_since = table.wait_t[rows].copy()
            kept, first_back = grant(pi, rows, start, others_waiting)
            for row, w, s in zip(rows[:kept].tolist(), waited_since[:kept].tolist(), start[:kept].tolist()):
                self.grant_waits.setdefault(pi, []).append(s - w)
                self._held_since[row] = (pi, s)
            return kept, first_back

        def release(rows, t):
            for row, e in zip(rows.tolist(), np.asarray(t).tolist()):
                held = self._held_since.pop(row, None)
                if held is not None:
                    self.holds.setdefault(held[0], []).append((held[1], e))

        def logged_end_queries(rows):
            release(rows, table.next_t[rows])
            return end_queries(rows)

        def logged_finish(rows, t, ok, reasons=None):
            if not ok and reasons is not None:
                timed_out = (np.asarray(reasons) == engine.R_POOL_TIMEOUT) & (table.phase[rows] == engine.POOL_WAIT)
                for w, s in zip(table.wait_t[rows[timed_out]].tolist(), np.asarray(t)[timed_out].tolist()):
                    self.acquire_timeouts.append((w, s))
            # A worker killed mid-query hands its connections back at the kill.
            querying = table.phase[rows] == engine.QUERY
            if querying.any():
                release(rows[querying], np.asarray(t)[querying])
            return finish(rows, t, ok, reasons)

        def logged_enter(ts, cls, att, t1):
            before = sim.queue._pending
            out = enter(ts, cls, att, t1)
            new = np.setdiff1d(sim.queue._pending, before, assume_unique=True)
            self.limiter_passes.extend(table.t_arr[new].tolist())
            return out

        def logged_reject_queued(rows, reason):
            if reason == 0:
                self.limiter_refusals.extend(table.t_arr[rows].tolist())
            return reject_queued(rows, reason)

        sim.plans.start = logged_apply_segments
        sim.outcomes.fail = logged_fail
        sim.pools._grant_connections = logged_grant
        sim.pools.end_queries = logged_end_queries
        sim.outcomes.finish = logged_finish
        sim.ingress.enter = logged_enter
        sim.queue._reject_queued = logged_reject_queued

    def close(self) -> None:
        """Requests still waiting at the end of the run stay in the queue for good."""
        sim = self.sim
        passes = sorted(self.limiter_passes)
        for t in self.limiter_refusals:
            passes.remove(t)
        self.limiter_passes = passes
        for w in sim.table.wait_t[sim.queue._queue].tolist():
            self.queue_stays.append((w, math.inf))
        for pi, since in self._held_since.values():
            self.holds.setdefault(pi, []).append((since, math.inf))
        self._held_since = {}


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most half-open intervals [a, b) open at one instant (an end at x frees before a start at x)."""
    if not intervals:
        return 0
    starts = np.sort(np.array([a for a, _ in intervals]))
    ends = np.sort(np.array([b for _, b in intervals]))
    # At each start, how many intervals have started (this one included) minus how many have ended.
    opened = np.arange(1, starts.size + 1)
    closed = np.searchsorted(ends, starts, side="right")
    return int((opened - closed).max())


def min_overlap_within(intervals: list[tuple[float, float]], a: float, b: float) -> int:
    """The fewest half-open intervals open at one instant of [a, b)."""
    if b <= a:
        return max_overlap([(x, y) for x, y in intervals if x <= a < y])
    points = sorted({a, *(x for x, _ in intervals if a < x < b), *(y for _, y in intervals if a < y < b)})
    return min(sum(1 for x, y in intervals if x <= p < y) for p in points)
