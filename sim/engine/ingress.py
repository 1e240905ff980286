"""Ingress: arrivals (fresh and retries), the load shedder and the rate limiter's settings."""

from __future__ import annotations

import numpy as np

from sim.engine.clock import Clock
from sim.engine.codes import INF, J_SHED, QUEUED, any_set
from sim.engine.metrics import Metrics
from sim.engine.outcomes import Outcomes
from sim.engine.ratelimit import RateLimiter
from sim.engine.requests import RequestTable
from sim.engine.retries import ClientRetries
from sim.engine.slot_queue import SlotQueue
from sim.model.spec import ModelSpec


class Ingress:
    """The door: draws each tick's arrivals, refuses what the shedder refuses, and hands the
    rest to the slot queue, which meets each at its own time (limiter, queue limit)."""

    def __init__(self, model: ModelSpec, clock: Clock, rng_arrivals: np.random.Generator,
                 rng_ingress: np.random.Generator, table: RequestTable, metrics: Metrics, outcomes: Outcomes,
                 retries: ClientRetries, queue: SlotQueue, limiter: RateLimiter):
        self._clock = clock
        self._rng_arrivals = rng_arrivals
        self._rng_ingress = rng_ingress
        self._table = table
        self._metrics = metrics
        self._outcomes = outcomes
        self._retries = retries
        self._queue = queue
        svc = model.service
        self._classes = model.classes
        self._n_cls = len(model.classes)
        self._class_timeout = np.array([INF if c.timeout_s is None else c.timeout_s for c in model.classes])
        self._class_rate = np.array([c.arrivals.rate_rps for c in model.classes], dtype=float)
        self._traffic_factor = np.ones(self._n_cls)
        self.shed_fraction = svc.shed_fraction
        self.shed_mode = svc.shed_mode
        self._limiter = limiter

    # -- operator and fault controls -----------------------------------------------------------

    def set_shedding(self, fraction: float, mode: str) -> None:
        """Shed `fraction` of arrivals, "random" or lowest "priority" first."""
        self.shed_fraction = fraction
        self.shed_mode = mode

    @property
    def ratelimit_rps(self) -> float | None:
        return self._limiter.rate_rps

    def set_ratelimit(self, rate_rps: float | None, burst: float, t0: float) -> None:
        """Token bucket of rate_rps (None: off), full at `burst` tokens from t0."""
        self._limiter.set(rate_rps, burst, t0)

    def clear_traffic_factors(self) -> None:
        self._traffic_factor[:] = 1.0

    def scale_traffic(self, ci: int, factor: float) -> None:
        """A traffic fault multiplies class ci's arrival rate."""
        self._traffic_factor[ci] *= factor

    # -- arrivals ---------------------------------------------------------------------------------

    def _rate_at(self, ci: int, t: float) -> float:
        a = self._classes[ci].arrivals
        base = a.rate_rps
        if a.kind == "ramp":
            if t >= a.end_s:
                base = a.to_rps
            elif t > a.start_s and a.end_s > a.start_s:
                base = a.rate_rps + (a.to_rps - a.rate_rps) * (t - a.start_s) / (a.end_s - a.start_s)
        elif a.kind == "step" and t >= a.start_s:
            base = a.to_rps
        elif a.kind == "burst" and a.start_s <= t < a.start_s + a.duration_s:
            base = a.to_rps
        elif a.kind == "pulses" and t >= a.start_s and a.period_s > 0:
            if (t - a.start_s) % a.period_s < a.width_s:
                base = a.to_rps
        return base * self._traffic_factor[ci]

    def admit_arrivals(self, t0: float, t1: float) -> None:
        """This tick's fresh arrivals and due retries pass the shedder and wait to be reached.

        They become the slot queue's pending rows, in time order: its scan meets each at
        its own time and applies the rate limiter and the queue limit there.
        """
        dt_s = self._clock.dt_s
        mid = 0.5 * (t0 + t1)
        ts, cls, att = [], [], []
        for ci in range(self._n_cls):
            n = int(self._rng_arrivals.poisson(self._rate_at(ci, mid) * dt_s))
            if n:
                ts.append(self._rng_arrivals.uniform(t0, t1, n))
                cls.append(np.full(n, ci, dtype=np.int64))
                att.append(np.zeros(n, dtype=np.int64))
        self._queue.begin_tick(t0)
        per_class = self.enter(ts, cls, att, t1)
        # Smoothed offered rate per class (about 5 s), for priority shedding.
        alpha = min(1.0, dt_s / 5.0)
        self._class_rate += alpha * (per_class.sum(axis=1) / dt_s - self._class_rate)

    def enter(self, ts: list, cls: list, att: list, t1: float) -> np.ndarray:
        """Arrivals (and the retries due before t1) are counted, shed or made pending rows.

        Returns the arrivals per (class, fresh/retry). A retry that fell due behind the
        point up to which this tick's queue decisions are taken arrives at that point.
        """
        due = self._retries.take_due(t1, self._queue.committed_t)
        if due is not None:
            ts.append(due[0])
            cls.append(due[1])
            att.append(due[2])
        if not ts:
            return np.zeros((self._n_cls, 2), dtype=np.int64)
        t = np.concatenate(ts)
        c = np.concatenate(cls)
        a = np.concatenate(att)
        order = np.lexsort((a, c, t))
        t, c, a = t[order], c[order], a[order]
        per_class = self._metrics.count_arrivals(c, a)
        if self.shed_fraction > 0:
            shed = self._shed_mask(c)
            self._outcomes.reject(shed, t, c, a, J_SHED)
            if any_set(shed):
                t, c, a = t[~shed], c[~shed], a[~shed]
        if t.size == 0:
            return per_class
        table = self._table
        rows = table.new_rows(t.size)
        table.phase[rows] = QUEUED
        table.cls[rows] = c
        table.att[rows] = a
        table.t_arr[rows] = t
        table.wait_t[rows] = t
        table.deadline[rows] = t + self._class_timeout[c]
        table.next_t[rows] = INF
        table.slot[rows] = -1
        table.stepi[rows] = 0
        table.reported[rows] = False
        table.degraded[rows] = False
        table.stream_mb[rows] = 0.0
        self._queue.arrive(rows)
        return per_class

    def _shed_mask(self, c: np.ndarray) -> np.ndarray:
        if self.shed_mode == "random":
            return self._rng_ingress.random(c.size) < self.shed_fraction
        # Lowest priority first: the fraction of the offered rate is taken from the
        # lowest-priority classes' smoothed rates, so one tick's mix does not decide.
        rates = self._class_rate
        to_shed = self.shed_fraction * rates.sum()
        p_shed = np.zeros(self._n_cls)
        for ci in sorted(range(self._n_cls), key=lambda k: self._classes[k].priority):
            if to_shed <= 0 or rates[ci] <= 0:
                continue
            take = min(rates[ci], to_shed)
            p_shed[ci] = take / rates[ci]
            to_shed -= take
        return self._rng_ingress.random(c.size) < p_shed[c]
