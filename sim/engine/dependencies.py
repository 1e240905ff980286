"""Dependencies: call latency and errors (faults included), per-call timeouts and retries, breakers."""

from __future__ import annotations

import math

import attrs
import numpy as np

from sim.engine.call_stats import CallStats
from sim.engine.clock import Clock
from sim.engine.codes import (
    B_CLOSED,
    B_HALF,
    B_OPEN,
    BREAKER_NAMES,
    FORCE_CLOSED,
    FORCE_NONE,
    FORCE_OPEN,
    R_BREAKER,
    R_DEPENDENCY,
    any_set,
    count,
)
from sim.engine.events import EventLog
from sim.model.distributions import sample
from sim.model.observe import BreakerGauge, DependencyGauge
from sim.model.spec import CallStep, Dependency, Fault, ModelSpec

DOWN_REFUSAL_S = 0.001
"""A refused connection to a down dependency still costs a round trip."""


@attrs.define
class DependencyState:
    """Mutable per-dependency state: faults, operator overrides and its breaker."""

    timeout_s: float | None = None
    """Operator override of the per-call timeout (None: the plan's own; inf: none at all)."""
    retries: int | None = None
    backoff_s: float | None = None
    fallback: bool = False
    forced: int = FORCE_NONE
    """FORCE_NONE automatic, FORCE_OPEN, FORCE_CLOSED."""
    state: int = B_CLOSED
    open_until: float = 0.0
    probes_left: int = 0
    probe_ok: int = 0
    # Fault effects, recomputed at every tick boundary.
    slow_factor: float = 1.0
    add_s: float = 0.0
    error_rate: float = 0.0
    down: bool = False
    blackhole_until: float = 0.0
    pulses: tuple = ()
    loss_rate: float = 0.0
    retransmit_s: float = 1.0


class Dependencies:
    """Every dependency's spec and state; calls drawn against them; breaker windows fed by call outcomes."""

    def __init__(self, model: ModelSpec, clock: Clock, rng_service: np.random.Generator,
                 rng_errors: np.random.Generator, events: EventLog):
        self._clock = clock
        self._rng_service = rng_service
        self._rng_errors = rng_errors
        self._events = events
        self._deps = model.dependencies
        # Plans never change during a run: the call timeout each dependency's gauge shows by default.
        self._plan_timeouts = tuple(_plan_timeout(model, d.name) for d in model.dependencies)
        self._dep_index = {d.name: i for i, d in enumerate(model.dependencies)}
        self._dep_state = [DependencyState() for _ in self._deps]
        self._call_stats = CallStats(self._deps, clock.dt_s)
        # Breaker observations that land in the future (when each call ends).
        self._out_t = np.empty(0)
        self._out_start = np.empty(0)
        self._out_dep = np.empty(0, dtype=np.int64)
        self._out_ok = np.empty(0, dtype=bool)
        self._out_probe = np.empty(0, dtype=bool)
        self._out_new: list = []
        n_deps = len(self._deps)
        self._win_ticks = max(1, int(round(max([d.breaker.window_s for d in self._deps if d.breaker] or [10.0]) / clock.dt_s)))
        self._win_ok = np.zeros((n_deps, self._win_ticks))
        self._win_fail = np.zeros((n_deps, self._win_ticks))

    # -- names ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._deps)

    def index(self, name: str) -> int | None:
        """The index of dependency `name` (None: no such dependency)."""
        return self._dep_index.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._dep_index)

    def spec(self, di: int) -> Dependency:
        return self._deps[di]

    def state(self, di: int) -> DependencyState:
        """Dependency di's live state (read it; change it through the methods below)."""
        return self._dep_state[di]

    # -- operator overrides ----------------------------------------------------------------

    def force_breaker(self, di: int, mode: int) -> None:
        """A forced breaker is a kill switch (FORCE_OPEN, FORCE_CLOSED); FORCE_NONE hands it back, closed."""
        ds = self._dep_state[di]
        ds.forced = mode
        if mode == FORCE_NONE and self._deps[di].breaker is not None:
            ds.state = B_CLOSED
            ds.open_until = 0.0

    def set_timeout(self, di: int, seconds: float) -> None:
        """Per-call timeout override (math.inf: no timeout at all)."""
        self._dep_state[di].timeout_s = seconds

    def set_call_retries(self, di: int, retries: int, backoff_s: float) -> None:
        self._dep_state[di].retries, self._dep_state[di].backoff_s = retries, backoff_s

    def set_fallback(self, di: int, enabled: bool) -> None:
        self._dep_state[di].fallback = enabled

    def effective_timeout(self, di: int, plan_timeout: float | None) -> float | None:
        """The per-call timeout: the operator's override (inf: none at all), else the plan's."""
        override = self._dep_state[di].timeout_s
        if override is None:
            return plan_timeout
        return None if math.isinf(override) else override

    def shown_timeout(self, di: int) -> float | None:
        """The call timeout the gauge shows: the override, else the plans' own."""
        return self.effective_timeout(di, self._plan_timeouts[di])

    # -- faults ----------------------------------------------------------------------------

    def clear_fault_effects(self) -> None:
        for ds in self._dep_state:
            ds.slow_factor, ds.add_s, ds.error_rate, ds.down = 1.0, 0.0, 0.0, False
            ds.blackhole_until, ds.pulses, ds.loss_rate = 0.0, (), 0.0

    def add_fault_effect(self, f: Fault) -> None:
        """An active fault on a dependency adds its effect (after clear_fault_effects)."""
        ds = self._dep_state[self._dep_index[f.target]]
        if f.kind == "slow":
            ds.slow_factor *= f.factor
            ds.add_s += f.add_s
        elif f.kind == "errors":
            ds.error_rate = max(ds.error_rate, f.rate)
        elif f.kind == "down":
            ds.down = True
        elif f.kind == "blackhole":
            ds.blackhole_until = max(ds.blackhole_until, f.end_s)
        elif f.kind == "latency_pulses":
            ds.pulses = ds.pulses + ((f.at_s, f.period_s, f.width_s, f.add_s),)
        elif f.kind == "packet_loss":
            ds.loss_rate, ds.retransmit_s = f.rate, f.retransmit_s

    # -- calls -----------------------------------------------------------------------------

    def draw_calls(self, st: CallStep, live: np.ndarray, seg):
        """One call step for the rows at positions `live` of segment draw `seg`; adds its time to their duration.

        Returns (positions whose request fails, their reasons).
        """
        none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8))
        di = self._dep_index[st.dependency]
        ds = self._dep_state[di]
        dep = self._deps[di]
        n = live.size
        # A fallback does not stop the calls: the service still asks the dependency and
        # degrades only the answers whose call failed, timed out or met an open breaker.
        state = self.breaker_seen(di)
        allowed = np.ones(n, dtype=bool)
        probe = np.zeros(n, dtype=bool)
        if state == B_OPEN:
            allowed[:] = False
        elif state == B_HALF:
            k = min(ds.probes_left, n)
            allowed[k:] = False
            probe[:k] = True
        refused = None
        t_s = self._clock.t_s
        if dep.capacity > 0:
            active = int(self.active(t_s)[di])
            refused = allowed & (np.cumsum(allowed) + active > dep.capacity)
        timeout = self.effective_timeout(di, st.timeout_s)
        retries = st.retries if ds.retries is None else ds.retries
        backoff = st.backoff_s if ds.backoff_s is None else ds.backoff_s
        elapsed = np.zeros(n)
        ok = np.zeros(n, dtype=bool)
        trying = allowed.copy()
        for attempt in range(retries + 1):
            idx = trying.nonzero()[0]
            if idx.size == 0:
                break
            lat, err = self.call_latency(di, idx.size, t_s, timeout)
            over = None if refused is None else refused[idx]
            if over is not None and any_set(over):
                err |= over
                lat = np.where(over, DOWN_REFUSAL_S, lat)
            begin = elapsed[idx].copy()
            elapsed[idx] += lat
            good = ~err
            ok[idx[good]] = True
            seg.outs.append((live[idx], begin, elapsed[idx].copy(), di, good, probe[idx].copy()))
            trying[idx[good]] = False
            probe[idx] = False
            if backoff > 0:
                elapsed[idx[err]] += backoff * (2.0 ** attempt)
        seg.dur[live] += elapsed
        failed_mask = ~ok
        if not any_set(failed_mask):
            return none
        if st.fallback or ds.fallback:
            seg.degraded[live[failed_mask]] = True
            return none
        why = np.where(allowed[failed_mask], R_DEPENDENCY, R_BREAKER).astype(np.int8)
        return live[failed_mask], why

    def call_latency(self, di: int, n: int, t: float, timeout: float | None):
        """Latency and error flag of n call attempts (or queries) to dependency di at time t."""
        dep, ds = self._deps[di], self._dep_state[di]
        lat = sample(dep.latency, self._rng_service, n)
        # x * 1.0 + 0.0 is x exactly (latencies are never -0.0): skip the no-op arithmetic.
        if ds.slow_factor != 1.0 or ds.add_s != 0.0:
            lat = lat * ds.slow_factor + ds.add_s
        for start, period, width, add in ds.pulses:
            if ((t - start) % period) < width:
                lat = lat + add
        if ds.loss_rate > 0:
            lost = self._rng_errors.random(n) < ds.loss_rate
            lat = np.where(lost, lat + ds.retransmit_s, lat)
        err = self._rng_errors.random(n) < max(dep.error_rate, ds.error_rate)
        if ds.down:
            lat = np.full(n, DOWN_REFUSAL_S)
            err = np.ones(n, dtype=bool)
        elif ds.blackhole_until > t:
            lat = lat + (ds.blackhole_until - t)
            err = np.ones(n, dtype=bool) if timeout is not None else err
        if timeout is not None:
            late = lat > timeout
            if any_set(late):
                lat = np.minimum(lat, timeout)
                err = err | late
        return lat, err

    def record_calls(self, di: int, start_t, lat_s: np.ndarray, err: np.ndarray) -> None:
        """Calls or queries to di that were made, as they will go (for its gauge only: the run does not
        read it back). Only what starts counts: segments and grants are drawn ahead and some are not."""
        self._call_stats.record(di, self._clock.tick, start_t, lat_s, err)

    # -- breaker observations ------------------------------------------------------------------

    def spend_probes(self, di: int, n: int) -> None:
        """n half-open probes to di started."""
        self._dep_state[di].probes_left -= n

    def observe(self, ends: list, starts: list, deps: list, oks: list, probes: list) -> None:
        """Call outcomes (arrays of end times, start times, dependency, ok, probe) that land when each call ends."""
        self._out_new.append((ends, starts, deps, oks, probes))
        # The calls of segments that started: what the dependency's own gauge counts.
        for end, start, dep, ok in zip(ends, starts, deps, oks):
            if dep.size:
                self.record_calls(int(dep[0]), start, end - start, ~ok)

    def _gather_outcomes(self) -> None:
        """Fold observations recorded since the last call into the pending arrays."""
        if not self._out_new:
            return
        parts = self._out_new
        self._out_new = []
        self._out_t = np.concatenate([self._out_t, *(x for p in parts for x in p[0])])
        self._out_start = np.concatenate([self._out_start, *(x for p in parts for x in p[1])])
        self._out_dep = np.concatenate([self._out_dep, *(x for p in parts for x in p[2])])
        self._out_ok = np.concatenate([self._out_ok, *(x for p in parts for x in p[3])])
        self._out_probe = np.concatenate([self._out_probe, *(x for p in parts for x in p[4])])

    def land_outcomes(self, t0: float) -> None:
        """Breaker observations whose call ended before this tick join the window."""
        slot = self._clock.tick % self._win_ticks
        self._win_ok[:, slot] = 0
        self._win_fail[:, slot] = 0
        self._gather_outcomes()
        if self._out_t.size == 0:
            return
        landed = self._out_t <= t0
        if not any_set(landed):
            return
        d, ok, probe = self._out_dep[landed], self._out_ok[landed], self._out_probe[landed]
        n_deps = len(self._deps)
        self._win_ok[:, slot] += np.bincount(d[ok], minlength=n_deps)
        self._win_fail[:, slot] += np.bincount(d[~ok], minlength=n_deps)
        probed = np.unique(d[probe]).tolist() if any_set(probe) else ()
        for di in probed:
            ds = self._dep_state[di]
            sel = probe & (d == di)
            if any_set(~ok[sel]):
                ds.state, ds.open_until = B_OPEN, t0 + self._deps[di].breaker.open_s
                self._events.add(t0, "breaker", f"breaker {self._deps[di].name}: probe failed, OPEN again", self._deps[di].name)
            else:
                ds.probe_ok += count(sel)
        keep = ~landed
        self._out_t, self._out_start, self._out_dep = self._out_t[keep], self._out_start[keep], self._out_dep[keep]
        self._out_ok, self._out_probe = self._out_ok[keep], self._out_probe[keep]

    def active(self, t: float) -> np.ndarray:
        """Calls in progress at t, per dependency."""
        self._gather_outcomes()
        if self._out_t.size == 0:
            return np.zeros(len(self._deps), dtype=np.int64)
        running = (self._out_start <= t) & (self._out_t > t)
        return np.bincount(self._out_dep[running], minlength=len(self._deps))

    def breaker_seen(self, di: int) -> int:
        """The breaker state calls meet (a forced one wins)."""
        ds = self._dep_state[di]
        if ds.forced == FORCE_OPEN:
            return B_OPEN
        if ds.forced == FORCE_CLOSED or self._deps[di].breaker is None:
            return B_CLOSED
        return ds.state

    def update_breakers(self, t0: float) -> None:
        """Trip, half-open and close breakers on the window's counts."""
        tick, dt_s = self._clock.tick, self._clock.dt_s
        for di, dep in enumerate(self._deps):
            spec = dep.breaker
            if spec is None:
                continue
            ds = self._dep_state[di]
            if ds.state == B_CLOSED:
                w = max(1, int(round(spec.window_s / dt_s)))
                if w >= self._win_ticks:
                    # The window is the whole ring (counts are whole numbers: any summing order is exact).
                    ok, fail = self._win_ok[di].sum(), self._win_fail[di].sum()
                else:
                    idx = (tick - np.arange(w)) % self._win_ticks
                    ok, fail = self._win_ok[di, idx].sum(), self._win_fail[di, idx].sum()
                calls = ok + fail
                if calls >= spec.min_calls and fail / calls >= spec.failure_threshold:
                    ds.state, ds.open_until = B_OPEN, t0 + spec.open_s
                    if ds.forced == FORCE_NONE:
                        self._events.add(t0, "breaker", f"breaker {dep.name} tripped OPEN ({fail / calls:.0%} failures)", dep.name)
            elif ds.state == B_OPEN and t0 >= ds.open_until - 1e-9:
                ds.state, ds.probes_left, ds.probe_ok = B_HALF, spec.half_open_probes, 0
                if ds.forced == FORCE_NONE:
                    self._events.add(t0, "breaker", f"breaker {dep.name} HALF-OPEN: probing", dep.name)
            elif ds.state == B_HALF and ds.probe_ok >= spec.half_open_probes:
                ds.state = B_CLOSED
                self._win_ok[di] = 0
                self._win_fail[di] = 0
                if ds.forced == FORCE_NONE:
                    self._events.add(t0, "breaker", f"breaker {dep.name} CLOSED: probes succeeded", dep.name)

    # -- gauges and history -----------------------------------------------------------------

    def breaker_gauges(self) -> tuple[BreakerGauge, ...]:
        return tuple(self._breaker_gauge(i) for i, d in enumerate(self._deps) if d.breaker is not None)

    def _breaker_gauge(self, di: int) -> BreakerGauge:
        ds = self._dep_state[di]
        spec = self._deps[di].breaker
        w = max(1, int(round(spec.window_s / self._clock.dt_s)))
        idx = (self._clock.tick - 1 - np.arange(min(w, self._win_ticks))) % self._win_ticks
        ok, fail = float(self._win_ok[di, idx].sum()), float(self._win_fail[di, idx].sum())
        calls = ok + fail
        forced = {FORCE_NONE: None, FORCE_OPEN: "open", FORCE_CLOSED: "closed"}[ds.forced]
        return BreakerGauge(self._deps[di].name, BREAKER_NAMES[self.breaker_seen(di)], forced,
                            fail / calls if calls else 0.0, int(calls))

    def dependency_gauges(self, t: float, queries: dict[int, int] | None = None) -> tuple[DependencyGauge, ...]:
        """Each dependency's gauge; `queries` holds a database's queries in progress (its pools' connections
        in use), since queries are not calls the breaker window follows."""
        active = self.active(t)
        stats, tick = self._call_stats, self._clock.tick
        gauges = []
        for i, d in enumerate(self._deps):
            calls_per_s, error_ratio = stats.rates(i, tick)
            gauges.append(DependencyGauge(
                d.name, d.kind,
                int(queries.get(i, 0)) if queries is not None and d.kind == "database" else int(active[i]),
                self.shown_timeout(i), self._dep_state[i].fallback,
                calls_per_s=calls_per_s, error_ratio=error_ratio,
                p95_ms=stats.p95_ms(i, t), normal_p95_ms=stats.normal_p95_ms[i],
            ))
        return tuple(gauges)

    def history_columns(self, t1: float) -> tuple:
        """(breaker_state, dep_active) of the tick ending at t1."""
        return [self.breaker_seen(i) for i in range(len(self._deps))], self.active(t1)


def _plan_timeout(model: ModelSpec, dependency: str) -> float | None:
    """The timeout the plans give calls to `dependency` (the first call step's)."""
    for cls in model.classes:
        for st in cls.plan:
            if isinstance(st, CallStep) and st.dependency == dependency:
                return st.timeout_s
    return None
