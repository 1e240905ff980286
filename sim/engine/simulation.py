"""The step engine: a deterministic, vectorised simulation of one service under load.

`Simulation` composes the components of this package, each owning its state and
its step logic (ARCHITECTURE.md has the map). State is struct-of-arrays: one row
per in-flight request in numpy arrays (`requests.RequestTable`), reused through a
free list and grown by doubling. A tick advances `dt_s`; inside it every
transition keeps its exact timestamp:

1. Actions queued by the operator and delayed effects take hold at the boundary
   (`actions`, `pools.Pools.run_delayed`).
2. Faults start/end; breakers, memory pressure and cache state are evaluated
   (`faults`, `workers`, `dependencies`).
3. Arrivals (Poisson count per class, times uniform in the tick) plus due retries
   pass the rate limiter and the shedder (`ingress`, `retries`).
4. Requests already past admission move through their transitions (segment ends,
   pool grants, query ends), round after round until none is left in the tick
   (`flow`, `segments`, `pools`). Each round yields slot releases at exact times.
5. The worker-slot queue is served FCFS by a heap of slot free times; a freed slot
   is reused at its exact free time, so FCFS stays exact regardless of dt
   (`slot_queue`, `slots`). Work that starts may release its slot again inside the
   tick, so 4-5 repeat until quiet.
6. Outcomes are recorded (latency histogram, per-class counts), failures and
   rejections schedule client retries, memory is checked for OOM, and the
   tick's metric row is written to the history rings and the digest
   (`outcomes`, `retries`, `workers`, `caches`, `metrics`).

A segment is the stretch of a request's plan that needs no shared resource but
its slot (cpu, cache lookup, calls, a stream); it is drawn in one go when it
starts, so a request makes a handful of transitions however long its plan is.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from sim.engine.actions import apply_action, apply_due
from sim.engine.caches import Caches
from sim.engine.clock import Clock
from sim.engine.dependencies import Dependencies
from sim.engine.events import EventLog
from sim.engine.faults import Faults
from sim.engine.flags import Flags
from sim.engine.flow import RequestFlow
from sim.engine.ingress import Ingress
from sim.engine.metrics import Metrics
from sim.engine.outcomes import Outcomes
from sim.engine.pending import PendingActions
from sim.engine.pools import Pools
from sim.engine.ratelimit import RateLimiter
from sim.engine.requests import RequestTable
from sim.engine.retries import ClientRetries
from sim.engine.segments import Plans
from sim.engine.slot_queue import SlotQueue
from sim.engine.slots import Slots
from sim.engine.workers import Workers
from sim.model.observe import Event, Gauges, RunResult
from sim.model.spec import Action, ModelSpec


class Simulation:
    """One run of a model: call `step()` / `run_until()`, `apply()` actions, read gauges.

    The components are public attributes (`ingress`, `queue`, `pools`, `deps`, ...):
    operator actions change the run through their methods.
    """

    def __init__(
        self,
        model: ModelSpec,
        seed: int,
        *,
        latency_thresholds_s: tuple[float, ...] = (),
        history_ticks: int = 32768,
    ):
        self.model = model
        self.seed = int(seed)
        self.dt_s = float(model.dt_s)
        self.latency_thresholds_s = tuple(float(x) for x in latency_thresholds_s)
        # One child generator per concern, so a new feature does not reshuffle the others' streams.
        root = np.random.SeedSequence(self.seed)
        rng_arrivals, rng_service, rng_errors, rng_ingress, rng_retry = (
            np.random.default_rng(s) for s in root.spawn(5))
        self._class_index = {c.name: i for i, c in enumerate(model.classes)}

        # Components, each built on those it uses (no component holds the Simulation).
        self.clock = Clock(self.dt_s)
        self.event_log = EventLog()
        self.table = RequestTable(1024)
        self.metrics = Metrics(len(model.classes), self.dt_s, self.latency_thresholds_s)
        self.retries = ClientRetries([c.retry for c in model.classes], rng_retry)
        self.slots = Slots(model.service, self.event_log)
        self.outcomes = Outcomes(self.table, self.slots, self.metrics, self.retries)
        self.caches = Caches(model.caches)
        self.deps = Dependencies(model, self.clock, rng_service, rng_errors, self.event_log)
        self.pools = Pools(model, self.table, self.deps, self.outcomes, self.event_log)
        self.workers = Workers(model, self.table, self.slots, self.pools, self.outcomes, self.event_log)
        self.flags = Flags(model)
        self.plans = Plans(model, self.table, self.deps, self.caches, self.workers, rng_service, self.flags)
        rl = model.service.ratelimit
        self.limiter = RateLimiter(rl.rate_rps if rl else None, rl.burst if rl else 0.0)
        self.queue = SlotQueue(model.service.queue_limit, self.table, self.slots, self.plans, self.outcomes,
                               self.retries, self.limiter, self.pools)
        self.pools.slot_queue = self.queue
        self.ingress = Ingress(model, self.clock, rng_arrivals, rng_ingress, self.table, self.metrics,
                               self.outcomes, self.retries, self.queue, self.limiter)
        self.flow = RequestFlow(self.table, self.plans, self.pools, self.outcomes)
        self.faults = Faults(model, self.clock, self.deps, self.ingress, self.caches, self.slots, self.workers,
                             self.event_log)

        # Operator actions.
        self._pending_actions: list[Action] = []
        self.pending_actions = PendingActions()
        """Actions sent and on their way (`sim.model.delays`)."""
        self._action_log: list[Action] = []

        self.history = self.metrics.new_history(history_ticks, len(self.pools), len(self.deps))

    # ------------------------------------------------------------------ public API

    @classmethod
    def from_drill(cls, drill, seed: int | None = None, **kwargs) -> Simulation:
        """A simulation of a drill, with the drill's latency SLO thresholds recorded."""
        thresholds = tuple(sorted({s.threshold_s for s in drill.slos if s.threshold_s is not None}))
        return cls(drill.model, drill.seed if seed is None else seed, latency_thresholds_s=thresholds, **kwargs)

    @property
    def tick(self) -> int:
        """Ticks simulated so far."""
        return self.clock.tick

    @property
    def t_s(self) -> float:
        return self.clock.t_s

    def class_index(self, name: str) -> int | None:
        """The index of traffic class `name` (None: no such class)."""
        return self._class_index.get(name)

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self.event_log.recent)

    @property
    def events_total(self) -> int:
        """Events ever logged (the log itself keeps only the last ones)."""
        return self.event_log.total

    def events_since(self, n: int) -> tuple[Event, ...]:
        """Events numbered n.. (by events_total), as far as the bounded log still holds them."""
        missing = self.events_total - n
        if missing <= 0:
            return ()
        recent = self.event_log.recent
        return tuple(recent)[-min(missing, len(recent)):]

    @property
    def action_log(self) -> tuple[Action, ...]:
        return tuple(self._action_log)

    def apply(self, action: Action) -> None:
        """Queue an operator action; it takes hold at the next tick boundary."""
        self._pending_actions.append(action)

    def step(self) -> None:
        """Advance one tick."""
        t0 = self.t_s
        t1 = (self.tick + 1) * self.dt_s
        self._begin_tick(t0)
        self._run_tick(t0, t1)
        self._end_tick(t0, t1)
        self.clock.tick += 1

    def run_until(self, t_s: float) -> None:
        """Step while the clock is before t_s (whole ticks)."""
        end_tick = int(math.ceil(t_s / self.dt_s - 1e-9))
        while self.tick < end_tick:
            self.step()

    def digest(self) -> str:
        """SHA-256 over every tick's metric row so far: equal digests, equal runs."""
        return self.metrics.digest()

    def fork(self) -> Simulation:
        """An independent copy of this run as it stands, history included: two futures from one past."""
        return copy.deepcopy(self)

    def checkpoint(self) -> object:
        """A copy of the full state, for `restore` on this same simulation (seeking).

        History rows are shared, not copied: after a restore the held history ends at
        the checkpoint and the run re-writes what follows.
        """
        history = self.__dict__["history"]
        self.__dict__["history"] = None
        try:
            state = copy.deepcopy(self.__dict__)
        finally:
            self.__dict__["history"] = history
        state["_history_written"] = history.written
        return state

    def restore(self, checkpoint: object) -> None:
        """Return to a state captured by `checkpoint()` of this simulation."""
        state = copy.deepcopy(checkpoint)
        written = state.pop("_history_written")
        history = self.history
        self.__dict__.update(state)
        self.history = history
        history.truncate(written)

    def result(self) -> RunResult:
        """Totals so far."""
        return self.metrics.result(self.t_s)

    def latency_histogram(self) -> np.ndarray:
        """Counts of successful latencies so far in the bins of `sim.model.histogram` (a copy)."""
        return self.metrics.latency_histogram()

    def gauges(self) -> Gauges:
        """A frozen snapshot of the service at the end of the last tick."""
        h, metrics = self.history, self.metrics
        mem = self.model.service.memory
        n_up = self.slots.n_up()
        p50, p95, p99 = metrics.percentiles_s
        arrival, fresh, retry, goodput, error, reject = metrics.recent_rates(
            h, ("arrivals", "fresh_arrivals", "retry_arrivals", "completed", "failed", "rejected"))
        return Gauges(
            t_s=self.t_s,
            tick=self.tick,
            busy_slots=self.slots.busy_count(),
            total_slots=n_up * self.slots.concurrency,
            live_workers=n_up,
            target_workers=self.slots.target_workers,
            queue_depth=self.queue.depth,
            queue_limit=self.queue.limit,
            in_flight=metrics.in_flight(),
            pools=self.pools.gauges(),
            workers=self.workers.gauges(),
            memory_limit_mb=mem.limit_mb,
            memory_pressure_mb=mem.limit_mb * mem.pressure_fraction,
            breakers=self.deps.breaker_gauges(),
            caches=self.caches.gauges(),
            dependencies=self.deps.dependency_gauges(self.t_s, self.pools.queries_in_progress()),
            arrival_rps=arrival,
            fresh_rps=fresh,
            retry_rps=retry,
            goodput_rps=goodput,
            error_rps=error,
            reject_rps=reject,
            p50_ms=1000 * p50,
            p95_ms=1000 * p95,
            p99_ms=1000 * p99,
            shed_fraction=self.ingress.shed_fraction,
            shed_mode=self.ingress.shed_mode,
            ratelimit_rps=self.ingress.ratelimit_rps,
        )

    # ------------------------------------------------------------------ the tick

    def _begin_tick(self, t0: float) -> None:
        """Steps 1 and 2: actions and delayed effects; faults, workers, breakers."""
        self.metrics.begin_tick(self.history)
        self.pools.run_delayed(t0)
        for action in self.pending_actions.due(t0):
            error = apply_due(self, action, t0)
            if error:
                self.event_log.add(t0, "action_refused", f"{action.name} refused: {error}", action.name)
        if self._pending_actions:
            pending, self._pending_actions = self._pending_actions, []
            for action in pending:
                self._apply_now(action, t0)
        self.workers.update(t0)
        self.faults.update(t0)
        self.deps.land_outcomes(t0)
        self.deps.update_breakers(t0)

    def _run_tick(self, t0: float, t1: float) -> None:
        """Steps 3 to 5: arrivals; transitions and the slot queue, round after round; deadlines."""
        self.ingress.admit_arrivals(t0, t1)
        queue, retries, pools = self.queue, self.retries, self.pools

        def arrivals_from() -> float:
            return min(queue.earliest_start(), retries.earliest(queue.committed_t))

        for _ in range(100_000):
            self.flow.advance_running(t0, t1, arrivals_from)
            # Every transition before t1 is stepped: clients past their deadline give up
            # now, and retries due inside the tick arrive at their own time.
            self.outcomes.expire_clients(t1)
            self.ingress.enter([], [], [], t1)
            # Only work started just now, and grants the pools held back for requests not
            # yet started, can still change phase inside this tick.
            if (queue.serve(t0, t1) >= t1 and not retries.due_before(t1)
                    and pools.earliest_grant() >= t1):
                break
        self.outcomes.expire_clients(t1)

    def _end_tick(self, t0: float, t1: float) -> None:
        """Step 6: memory and OOM, cache rewarming, the tick's metric row and digest."""
        self.workers.update_memory(t1, self.queue.depth)
        self.caches.rewarm()
        slots = self.slots
        up = slots.n_up()
        gauges = (self.table.in_flight(), self.queue.depth, slots.busy_count(),
                  up * slots.concurrency, up, self.workers.max_memory_mb())
        self.metrics.end_tick(
            self.history, self.tick, t1, gauges,
            self.pools.history_columns() if len(self.pools) else None,
            self.deps.history_columns(t1) if len(self.deps) else None,
        )

    def _apply_now(self, action: Action, t0: float) -> None:
        self._action_log.append(Action(t0, action.name, action.args))
        error = apply_action(self, action, t0)
        if error:
            self.event_log.add(t0, "action_refused", f"{action.name} refused: {error}", action.name)
