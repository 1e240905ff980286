"""The step engine: a deterministic, vectorised simulation of one service under load.

State is struct-of-arrays: one row per in-flight request in numpy arrays, reused
through a free list and grown by doubling. A tick advances `dt_s`; inside it every
transition keeps its exact timestamp:

1. Actions queued by the operator and delayed effects take hold at the boundary.
2. Faults start/end; breakers, memory pressure and cache state are evaluated.
3. Arrivals (Poisson count per class, times uniform in the tick) plus due retries
   pass the rate limiter and the shedder.
4. Requests already past admission move through their transitions (segment ends,
   pool grants, query ends), round after round until none is left in the tick.
   Each round yields slot releases at exact times.
5. The worker-slot queue is served FCFS by a heap of slot free times; a freed slot
   is reused at its exact free time, so FCFS stays exact regardless of dt. Work
   that starts may release its slot again inside the tick, so 4-5 repeat until
   quiet.
6. Outcomes are recorded (latency histogram, per-class counts), failures and
   rejections schedule client retries, memory is checked for OOM, and the
   tick's metric row is written to the history rings and the digest.

A segment is the stretch of a request's plan that needs no shared resource but
its slot (cpu, cache lookup, calls, a stream); it is drawn in one go when it
starts, so a request makes a handful of transitions however long its plan is.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import heapq
import math

import attrs
import numpy as np

from sim.model import histogram
from sim.model.distributions import sample
from sim.model.history import History
from sim.model.observe import (
    BREAKER_CLOSED,
    BREAKER_HALF_OPEN,
    BREAKER_OPEN,
    FAIL_REASONS,
    REJECT_REASONS,
    BreakerGauge,
    CacheGauge,
    DependencyGauge,
    Event,
    Gauges,
    PoolGauge,
    RunResult,
    WorkerGauge,
)
from sim.model.spec import (
    Action,
    CacheStep,
    CallStep,
    CpuStep,
    DbStep,
    Fault,
    ModelSpec,
    StreamStep,
)

# Request phases.
FREE, QUEUED, RUNNING, POOL_WAIT, QUERY = 0, 1, 2, 3, 4
# What happens when a running segment ends.
END_CONTINUE, END_FAIL = 0, 1
# Failure reasons, as indices into FAIL_REASONS.
R_TIMEOUT, R_DEPENDENCY, R_BREAKER, R_OOM, R_POOL_TIMEOUT, R_WORKER_LOST = range(6)
# Worker states.
W_OFF, W_WARMING, W_UP, W_DOWN, W_DRAINING = 0, 1, 2, 3, 4
_HOLDS_MEMORY = np.array([False, True, True, False, True])
"""By worker state: a warming, serving or draining worker holds memory; an absent or down one does not."""
_COMES_UP = np.array([False, True, False, True, False])
"""By worker state: a warming or down worker comes up when its time is due."""
# Breaker codes as stored in history.
B_CLOSED, B_OPEN, B_HALF = 0, 1, 2
_BREAKER_NAMES = {B_CLOSED: BREAKER_CLOSED, B_OPEN: BREAKER_OPEN, B_HALF: BREAKER_HALF_OPEN}

POOL_RESIZE_DELAY_S = 2.0
"""A pool resize is a config push plus new connections: it takes effect after this."""
LATENCY_WINDOW_S = 10.0
RATE_WINDOW_S = 1.0
EVENT_LOG_SIZE = 500
DOWN_REFUSAL_S = 0.001
"""A refused connection to a down dependency still costs a round trip."""

INF = math.inf

_any = np.count_nonzero
"""Truthy iff any element is set: a third of the cost of ndarray.any() on the small arrays of a tick."""


def _count(mask: np.ndarray) -> int:
    """How many elements are set, as a Python int (numpy's int64 must not leak into gauges or JSON)."""
    return int(np.count_nonzero(mask))


@attrs.define
class _DepState:
    """Mutable per-dependency state: faults, operator overrides and its breaker."""

    timeout_s: float | None = None
    """Operator override of the per-call timeout (None: the plan's own)."""
    retries: int | None = None
    backoff_s: float | None = None
    fallback: bool = False
    forced: int = 0
    """0 automatic, 1 forced open, 2 forced closed."""
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


@attrs.define
class _Pool:
    """A connection pool (shared, or a bulkhead dedicated to one class)."""

    name: str
    database: int
    size: int
    acquire_timeout_s: float | None
    bulkhead_class: int = -1
    target_size: int = 0
    resize_at: float = INF
    free_times: list = attrs.Factory(list)
    """Exact free times of idle connections (a connection idle since before the tick is at -inf)."""
    in_use: int = 0


@attrs.define
class _Segment:
    """Draws for the next segment of a batch of requests (see `_draw_segments`)."""

    dur: np.ndarray
    ends_plan: np.ndarray
    end_kind: np.ndarray
    next_step: np.ndarray
    reason: np.ndarray
    degraded: np.ndarray
    stream_mb: np.ndarray
    cache_miss: np.ndarray
    outs: list

    @classmethod
    def join(cls, chunks: list, n: int) -> _Segment:
        """One segment draw from chunks [(offset, _Segment)] drawn for consecutive rows."""
        if len(chunks) == 1:
            return chunks[0][1]
        parts = [c for _, c in chunks]
        outs = [(positions + offset, *rest) for offset, c in chunks for positions, *rest in c.outs]
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts])
                     for f in attrs.fields(cls) if f.name != "outs"), outs=outs)


class Simulation:
    """One run of a model: call `step()` / `run_until()`, `apply()` actions, read gauges."""

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
        self.tick = 0
        self.latency_thresholds_s = tuple(float(x) for x in latency_thresholds_s)
        root = np.random.SeedSequence(self.seed)
        (self._rng_arrivals, self._rng_service, self._rng_errors,
         self._rng_ingress, self._rng_retry) = (np.random.default_rng(s) for s in root.spawn(5))

        svc = model.service
        self._classes = model.classes
        self._n_cls = len(model.classes)
        self._cls_index = {c.name: i for i, c in enumerate(model.classes)}
        self._deps = model.dependencies
        # Plans never change during a run: the call timeout each dependency's gauge shows by default.
        self._plan_timeouts = tuple(_plan_timeout(model, d.name) for d in model.dependencies)
        self._dep_index = {d.name: i for i, d in enumerate(model.dependencies)}
        self._dep_state = [_DepState() for _ in self._deps]
        self._cache_index = {c.name: i for i, c in enumerate(model.caches)}
        self._cache_hit = np.array([c.hit_ratio for c in model.caches], dtype=float)
        self._cache_misses = np.zeros(len(model.caches))
        self._set_retry_table([c.retry for c in model.classes])
        self._plan_len = np.array([len(c.plan) for c in model.classes], dtype=np.int64)
        longest = int(self._plan_len.max()) if self._n_cls else 0
        self._is_db_step = np.zeros((self._n_cls, longest + 1), dtype=bool)
        for ci, cls in enumerate(model.classes):
            for si, st in enumerate(cls.plan):
                self._is_db_step[ci, si] = isinstance(st, DbStep)
        self._class_timeout = np.array([INF if c.timeout_s is None else c.timeout_s for c in model.classes])
        self._pending = np.empty(0, dtype=np.int64)
        """Rows that arrived this tick and have not yet met the rate limiter and queue limit, in time order."""
        self._committed_t = 0.0
        """This tick's slot-queue decisions are taken up to here (see `_serve_queue`)."""
        self._class_rate = np.array([c.arrivals.rate_rps for c in model.classes], dtype=float)
        self._pool_wait_possible = False
        """False only when no request waits for a connection (lets a round skip the pools)."""

        # Pools: the model's, plus one dormant bulkhead per (class, pool it uses).
        self._pools: list[_Pool] = []
        self._pool_index: dict[str, int] = {}
        for p in model.pools:
            self._add_pool(_Pool(p.name, self._dep_index[p.database], p.size, p.acquire_timeout_s))
        self._bulkhead_of: dict[tuple[int, int], int] = {}
        for ci, cls in enumerate(model.classes):
            for st in cls.plan:
                if isinstance(st, DbStep) and (ci, self._pool_index[st.pool]) not in self._bulkhead_of:
                    shared = self._pools[self._pool_index[st.pool]]
                    idx = self._add_pool(
                        _Pool(f"{shared.name}/{cls.name}", shared.database, 0, shared.acquire_timeout_s, bulkhead_class=ci)
                    )
                    self._bulkhead_of[(ci, self._pool_index[st.pool])] = idx
        longest = max((len(c.plan) for c in model.classes), default=0) + 1
        self._step_pool = np.zeros((len(model.classes), longest), dtype=np.int64)
        self._step_queries = np.zeros((len(model.classes), longest), dtype=np.int64)
        for ci, cls in enumerate(model.classes):
            for si, st in enumerate(cls.plan):
                if isinstance(st, DbStep):
                    self._step_pool[ci, si] = self._pool_index[st.pool]
                    self._step_queries[ci, si] = st.queries
        self._pool_route = np.tile(np.arange(len(self._pools), dtype=np.int64), (len(model.classes), 1))
        """[class, shared pool] -> the pool its db steps use (a bulkhead once one is active)."""

        # Workers and slots.
        self._conc = svc.concurrency
        self._max_workers = max(svc.max_workers, svc.workers)
        n_slots = self._max_workers * self._conc
        self._worker_state = np.full(self._max_workers, W_OFF, dtype=np.int8)
        self._worker_state[: svc.workers] = W_UP
        self._worker_until = np.zeros(self._max_workers)
        self._worker_leak_mb = np.zeros(self._max_workers)
        self._worker_mem_mb = np.zeros(self._max_workers)
        self._target_workers = svc.workers
        self._slot_holder = np.full(n_slots, -1, dtype=np.int64)
        self._slot_free_t = np.full(n_slots, -INF)
        self._slot_worker = np.arange(n_slots) // self._conc
        self._gc_factor = 1.0
        mem = svc.memory
        self._memory_modelled = bool(
            mem.limit_mb < 1e8 or mem.baseline_mb or mem.per_request_mb or mem.per_queued_mb
            or any(f.kind == "memory_leak" for f in model.faults)
            or any(isinstance(st, StreamStep) for c in model.classes for st in c.plan)
        )
        """A drill that sets no memory figures skips the per-tick memory bookkeeping."""

        # Ingress.
        self._queue_limit = svc.queue_limit
        self._shed_fraction = svc.shed_fraction
        self._shed_mode = svc.shed_mode
        self._rate = svc.ratelimit.rate_rps if svc.ratelimit else None
        self._burst = svc.ratelimit.burst if svc.ratelimit else 0.0
        self._tokens = self._burst
        self._tokens_t = 0.0
        self._queue = np.empty(0, dtype=np.int64)
        """Rows waiting for a slot, FCFS order."""

        # Request table (struct of arrays).
        self._cap = 0
        self._alloc(1024)
        self._free_rows: list[int] = list(range(1023, -1, -1))

        # Client retries and breaker outcomes that land in the future.
        self._retry_t = np.empty(0)
        self._retry_cls = np.empty(0, dtype=np.int64)
        self._retry_att = np.empty(0, dtype=np.int64)
        self._retry_new: list = []
        """Retries scheduled since the last admission, (times, classes, attempts) in order:
        folded into the arrays once per tick, not concatenated on every failure."""
        self._out_t = np.empty(0)
        self._out_start = np.empty(0)
        self._out_dep = np.empty(0, dtype=np.int64)
        self._out_ok = np.empty(0, dtype=bool)
        self._out_probe = np.empty(0, dtype=bool)
        self._out_new: list = []
        n_deps = len(self._deps)
        self._win_ticks = max(1, int(round(max([d.breaker.window_s for d in self._deps if d.breaker] or [10.0]) / self.dt_s)))
        self._win_ok = np.zeros((n_deps, self._win_ticks))
        self._win_fail = np.zeros((n_deps, self._win_ticks))

        # Faults.
        self._fault_active = [False] * len(model.faults)
        self._traffic_factor = np.ones(self._n_cls)
        self._leak_mb_per_s = 0.0

        # Operator actions.
        self._pending_actions: list[Action] = []
        self._delayed: list[tuple[float, int, str, tuple]] = []
        self._delayed_seq = 0
        self._action_log: list[Action] = []

        # Events.
        self._events: collections.deque[Event] = collections.deque(maxlen=EVENT_LOG_SIZE)
        self.events_total = 0

        # Totals.
        self._tot = collections.Counter()
        self._tot_fail = np.zeros(len(FAIL_REASONS), dtype=np.int64)
        self._tot_reject = np.zeros(len(REJECT_REASONS), dtype=np.int64)
        self._tot_hist = np.zeros(histogram.N_BINS, dtype=np.int64)
        self._tot_lat_sum = 0.0
        self._lat_window = max(1, int(round(LATENCY_WINDOW_S / self.dt_s)))
        self._lat_ring = np.zeros((self._lat_window, histogram.N_BINS), dtype=np.int32)
        self._lat_ring_count = np.zeros(self._lat_window, dtype=np.int8)
        self._lat_roll = np.zeros(histogram.N_BINS, dtype=np.int64)
        self._rate_window = max(1, int(round(RATE_WINDOW_S / self.dt_s)))
        self._pcts = (math.nan, math.nan, math.nan)

        # History.
        nc, nt, npl = self._n_cls, len(self.latency_thresholds_s), len(self._pools)
        shapes: dict[str, tuple[int, ...]] = {}
        shapes.update(
            class_arrivals=(nc, 2), class_completed=(nc, 2), class_failed=(nc, 2), class_rejected=(nc, 2),
            class_within=(nc, 2, nt), class_degraded=(nc, 2), pool_in_use=(npl,), pool_size=(npl,), pool_waiters=(npl,),
            breaker_state=(n_deps,), dep_active=(n_deps,),
        )
        dtypes = {k: np.int32 for k in shapes}
        shapes = {k: v for k, v in shapes.items() if k not in _SERIES_INDEX}
        self.history = History(history_ticks, shapes, dtypes, scalars=_SCALAR_SERIES)
        self._digest = hashlib.sha256()
        self._tick_counts = np.zeros(len(_SCALAR_SERIES))

    # ------------------------------------------------------------------ public API

    @classmethod
    def from_drill(cls, drill, seed: int | None = None, **kwargs) -> Simulation:
        """A simulation of a drill, with the drill's latency SLO thresholds recorded."""
        thresholds = tuple(sorted({s.threshold_s for s in drill.slos if s.threshold_s is not None}))
        return cls(drill.model, drill.seed if seed is None else seed, latency_thresholds_s=thresholds, **kwargs)

    @property
    def t_s(self) -> float:
        return self.tick * self.dt_s

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def events_since(self, n: int) -> tuple[Event, ...]:
        """Events numbered n.. (by events_total), as far as the bounded log still holds them."""
        missing = self.events_total - n
        if missing <= 0:
            return ()
        return tuple(self._events)[-min(missing, len(self._events)):]

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
        self.tick += 1

    def run_until(self, t_s: float) -> None:
        """Step while the clock is before t_s (whole ticks)."""
        end_tick = int(math.ceil(t_s / self.dt_s - 1e-9))
        while self.tick < end_tick:
            self.step()

    def digest(self) -> str:
        """SHA-256 over every tick's metric row so far: equal digests, equal runs."""
        return self._digest.hexdigest()

    def fork(self) -> Simulation:
        """An independent copy of this run as it stands, history included: two futures from one past."""
        # hashlib objects cannot be deep-copied; the memo hands deepcopy a .copy() instead.
        return copy.deepcopy(self, {id(self._digest): self._digest.copy()})

    def checkpoint(self) -> object:
        """A copy of the full state, for `restore` on this same simulation (seeking).

        History rows are shared, not copied: after a restore the held history ends at
        the checkpoint and the run re-writes what follows.
        """
        history = self.__dict__["history"]
        self.__dict__["history"] = None
        try:
            # hashlib objects cannot be deep-copied; the memo hands deepcopy a .copy() instead.
            state = copy.deepcopy(self.__dict__, {id(self._digest): self._digest.copy()})
        finally:
            self.__dict__["history"] = history
        state["_history_written"] = history.written
        return state

    def restore(self, checkpoint: object) -> None:
        """Return to a state captured by `checkpoint()` of this simulation."""
        state = copy.deepcopy(checkpoint, {id(checkpoint["_digest"]): checkpoint["_digest"].copy()})
        written = state.pop("_history_written")
        history = self.history
        self.__dict__.update(state)
        self.history = history
        history.truncate(written)

    def result(self) -> RunResult:
        """Totals so far."""
        tot = self._tot
        p50, p95, p99 = histogram.percentiles(self._tot_hist, (0.5, 0.95, 0.99))
        completed = tot["completed"]
        return RunResult(
            duration_s=self.t_s,
            arrivals=tot["arrivals"],
            fresh_arrivals=tot["fresh"],
            retry_arrivals=tot["retry"],
            admitted=tot["admitted"],
            completed=completed,
            degraded=tot["degraded"],
            failed={r: int(n) for r, n in zip(FAIL_REASONS, self._tot_fail)},
            rejected={r: int(n) for r, n in zip(REJECT_REASONS, self._tot_reject)},
            in_flight=tot["admitted"] - completed - int(self._tot_fail.sum()),
            latency_mean_ms=1000 * self._tot_lat_sum / completed if completed else math.nan,
            p50_ms=1000 * p50,
            p95_ms=1000 * p95,
            p99_ms=1000 * p99,
        )

    def latency_histogram(self) -> np.ndarray:
        """Counts of successful latencies so far in the bins of `sim.model.histogram` (a copy)."""
        return self._tot_hist.copy()

    def gauges(self) -> Gauges:
        """A frozen snapshot of the service at the end of the last tick."""
        h = self.history
        n = min(self._rate_window, h.length)
        per_s = 1.0 / (n * self.dt_s) if n else 0.0

        def recent(name: str) -> float:
            if not n:
                return 0.0
            buf = h.buffer(name)
            idx = (np.arange(h.written - n, h.written)) % h.capacity
            return float(buf[idx].sum()) * per_s

        up = self._worker_state == W_UP
        busy_per_worker = np.bincount(self._slot_worker[self._slot_holder >= 0], minlength=self._max_workers)
        workers = tuple(
            WorkerGauge(
                index=int(w), up=bool(self._worker_state[w] in (W_UP, W_DRAINING)), busy=int(busy_per_worker[w]),
                memory_mb=float(self._worker_mem_mb[w]), warming=bool(self._worker_state[w] == W_WARMING),
            )
            for w in range(self._max_workers)
            if self._worker_state[w] != W_OFF
        )
        mem = self.model.service.memory
        active = self._dep_active(self.t_s)
        return Gauges(
            t_s=self.t_s,
            tick=self.tick,
            busy_slots=_count(self._slot_holder >= 0),
            total_slots=_count(up) * self._conc,
            live_workers=_count(up),
            target_workers=self._target_workers,
            queue_depth=int(self._queue.size),
            queue_limit=self._queue_limit,
            in_flight=self.result().in_flight,
            pools=tuple(
                PoolGauge(p.name, self._deps[p.database].name, p.in_use, p.size, p.target_size or p.size,
                          int(self._pool_waiters(i)))
                for i, p in enumerate(self._pools)
                if p.bulkhead_class < 0 or p.size > 0 or p.in_use > 0 or p.target_size > 0
            ),
            workers=workers,
            memory_limit_mb=mem.limit_mb,
            memory_pressure_mb=mem.limit_mb * mem.pressure_fraction,
            breakers=tuple(
                self._breaker_gauge(i) for i, d in enumerate(self._deps) if d.breaker is not None
            ),
            caches=tuple(CacheGauge(c.name, float(self._cache_hit[i])) for i, c in enumerate(self.model.caches)),
            dependencies=tuple(
                DependencyGauge(d.name, d.kind, int(active[i]), self._effective_timeout(i, self._plan_timeouts[i]),
                                self._dep_state[i].fallback)
                for i, d in enumerate(self._deps)
            ),
            arrival_rps=recent("arrivals"),
            fresh_rps=recent("fresh_arrivals"),
            retry_rps=recent("retry_arrivals"),
            goodput_rps=recent("completed"),
            error_rps=recent("failed"),
            reject_rps=recent("rejected"),
            p50_ms=1000 * self._pcts[0],
            p95_ms=1000 * self._pcts[1],
            p99_ms=1000 * self._pcts[2],
            shed_fraction=self._shed_fraction,
            shed_mode=self._shed_mode,
            ratelimit_rps=self._rate,
        )

    # ------------------------------------------------------------------ tick phases

    def _begin_tick(self, t0: float) -> None:
        row = self.history.begin_row()
        self._row_pos = row
        self._tick_counts[:] = 0
        self._tick_class = np.zeros((4, self._n_cls, 2), dtype=np.int64)
        self._tick_within = np.zeros((self._n_cls, 2, len(self.latency_thresholds_s)), dtype=np.int64)
        # Degraded answers per class and attempt kind, for scoring what a fallback costs;
        # not digested (the scalar "degraded" count already is), so saves replay unchanged.
        self._tick_degraded = np.zeros((self._n_cls, 2), dtype=np.int64)
        self._tick_success = []
        self._tick_lat_sum = 0.0
        self._run_delayed(t0)
        if self._pending_actions:
            pending, self._pending_actions = self._pending_actions, []
            for action in pending:
                self._apply_now(action, t0)
        self._update_workers(t0)
        self._update_faults(t0)
        self._land_outcomes(t0)
        self._update_breakers(t0)

    def _run_tick(self, t0: float, t1: float) -> None:
        self._admit_arrivals(t0, t1)
        for _ in range(100_000):
            self._advance_running(t0, t1)
            # Every transition before t1 is stepped: clients past their deadline give up
            # now, and retries due inside the tick arrive at their own time.
            self._expire_clients(t1)
            self._enter([], [], [], t1)
            # Only work started just now can still change phase inside this tick.
            if self._serve_queue(t0, t1) >= t1 and not self._retry_due(t1):
                break
        self._expire_clients(t1)

    def _retry_due(self, t1: float) -> bool:
        """Whether a retry scheduled since the last admission falls due before t1."""
        return any(_any(times < t1) for times, _, _ in self._retry_new)

    # ------------------------------------------------------------------ request table

    _FIELDS = {
        "_phase": np.int8, "_cls": np.int64, "_att": np.int64, "_t_arr": np.float64, "_deadline": np.float64,
        "_next_t": np.float64, "_wait_t": np.float64, "_slot": np.int64, "_stepi": np.int64,
        "_qleft": np.int64, "_pool": np.int64, "_reported": bool, "_degraded": bool, "_end_kind": np.int8,
        "_fail_reason": np.int8, "_stream_mb": np.float64, "_seg_start": np.float64,
    }

    def _alloc(self, cap: int) -> None:
        old = self._cap
        for name, dtype in self._FIELDS.items():
            new = np.zeros(cap, dtype=dtype)
            if old:
                new[:old] = getattr(self, name)
            setattr(self, name, new)
        self._cap = cap
        self._hw = getattr(self, "_hw", 0)
        """High-water mark: rows >= _hw have never been used."""

    def _new_rows(self, n: int) -> np.ndarray:
        while len(self._free_rows) < n:
            old = self._cap
            self._alloc(old * 2)
            self._free_rows[:0] = range(self._cap - 1, old - 1, -1)
        rows = np.array(self._free_rows[-n:][::-1], dtype=np.int64) if n else np.empty(0, dtype=np.int64)
        del self._free_rows[len(self._free_rows) - n:]
        if n:
            self._hw = max(self._hw, int(rows.max()) + 1)
        return rows

    def _release_rows(self, rows: np.ndarray) -> None:
        if rows.size:
            self._phase[rows] = FREE
            self._next_t[rows] = INF
            self._slot[rows] = -1
            self._stream_mb[rows] = 0.0
            self._free_rows.extend(rows.tolist())

    # ------------------------------------------------------------------ arrivals and ingress

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

    def _admit_arrivals(self, t0: float, t1: float) -> None:
        """This tick's fresh arrivals and due retries pass the shedder and wait to be reached.

        They become `_pending` rows in time order: the slot queue's scan meets each at its
        own time and applies the rate limiter and the queue limit there (see `_serve_queue`).
        """
        mid = 0.5 * (t0 + t1)
        ts, cls, att = [], [], []
        for ci in range(self._n_cls):
            n = int(self._rng_arrivals.poisson(self._rate_at(ci, mid) * self.dt_s))
            if n:
                ts.append(self._rng_arrivals.uniform(t0, t1, n))
                cls.append(np.full(n, ci, dtype=np.int64))
                att.append(np.zeros(n, dtype=np.int64))
        self._committed_t = t0
        self._enter(ts, cls, att, t1)
        # Smoothed offered rate per class (about 5 s), for priority shedding.
        alpha = min(1.0, self.dt_s / 5.0)
        self._class_rate += alpha * (self._tick_class[0].sum(axis=1) / self.dt_s - self._class_rate)

    def _enter(self, ts: list, cls: list, att: list, t1: float) -> None:
        """Arrivals (and the retries due before t1) are counted, shed or made pending rows.

        A retry that fell due behind the point up to which this tick's queue decisions are
        already taken (`_committed_t`) arrives at that point: it cannot change them.
        """
        if self._retry_new:
            new, self._retry_new = self._retry_new, []
            self._retry_t = np.concatenate((self._retry_t, *(x[0] for x in new)))
            self._retry_cls = np.concatenate((self._retry_cls, *(x[1] for x in new)))
            self._retry_att = np.concatenate((self._retry_att, *(x[2] for x in new)))
        when = np.maximum(self._retry_t, self._committed_t)
        due = when < t1
        if _any(due):
            ts.append(when[due])
            cls.append(self._retry_cls[due])
            att.append(self._retry_att[due])
            keep = ~due
            self._retry_t, self._retry_cls, self._retry_att = self._retry_t[keep], self._retry_cls[keep], self._retry_att[keep]
        if not ts:
            return
        t = np.concatenate(ts)
        c = np.concatenate(cls)
        a = np.concatenate(att)
        order = np.lexsort((a, c, t))
        t, c, a = t[order], c[order], a[order]
        self._count_arrivals(c, a)
        if self._shed_fraction > 0:
            shed = self._shed_mask(c)
            self._reject(shed, t, c, a, 1)
            if _any(shed):
                t, c, a = t[~shed], c[~shed], a[~shed]
        if t.size == 0:
            return
        rows = self._new_rows(t.size)
        self._phase[rows] = QUEUED
        self._cls[rows] = c
        self._att[rows] = a
        self._t_arr[rows] = t
        self._wait_t[rows] = t
        self._deadline[rows] = t + self._class_timeout[c]
        self._next_t[rows] = INF
        self._slot[rows] = -1
        self._stepi[rows] = 0
        self._reported[rows] = False
        self._degraded[rows] = False
        self._stream_mb[rows] = 0.0
        if self._pending.size:
            rows = np.concatenate((self._pending, rows))
            rows = rows[np.argsort(self._wait_t[rows], kind="stable")]
        self._pending = rows

    def _count_arrivals(self, c: np.ndarray, a: np.ndarray) -> None:
        retry = (a > 0).astype(np.int64)
        self._tick_class[0] += np.bincount(c * 2 + retry, minlength=2 * self._n_cls).reshape(-1, 2)
        self._bump("arrivals", c.size)
        self._bump("retry_arrivals", int(retry.sum()))
        self._bump("fresh_arrivals", c.size - int(retry.sum()))

    def _take_tokens(self, t: list[float]) -> list[bool]:
        """The rate limiter's answer to arrivals at times t (in order), one token each."""
        ok = []
        tokens, last, rate, burst = self._tokens, self._tokens_t, self._rate, self._burst
        for ti in t:
            tokens = min(burst, tokens + (ti - last) * rate)
            last = ti
            if tokens >= 1.0:
                tokens -= 1.0
                ok.append(True)
            else:
                ok.append(False)
        self._tokens, self._tokens_t = tokens, last
        return ok

    def _shed_mask(self, c: np.ndarray) -> np.ndarray:
        if self._shed_mode == "random":
            return self._rng_ingress.random(c.size) < self._shed_fraction
        # Lowest priority first: the fraction of the offered rate is taken from the
        # lowest-priority classes' smoothed rates, so one tick's mix does not decide.
        rates = self._class_rate
        to_shed = self._shed_fraction * rates.sum()
        p_shed = np.zeros(self._n_cls)
        for ci in sorted(range(self._n_cls), key=lambda k: self._classes[k].priority):
            if to_shed <= 0 or rates[ci] <= 0:
                continue
            take = min(rates[ci], to_shed)
            p_shed[ci] = take / rates[ci]
            to_shed -= take
        return self._rng_ingress.random(c.size) < p_shed[c]

    def _reject(self, mask: np.ndarray, t: np.ndarray, c: np.ndarray, a: np.ndarray, reason: int) -> None:
        if not _any(mask):
            return
        cm, am, tm = c[mask], a[mask], t[mask]
        self._tick_class[3] += np.bincount(cm * 2 + (am > 0), minlength=2 * self._n_cls).reshape(-1, 2)
        self._bump("rejected", cm.size)
        self._bump(f"rejected_{REJECT_REASONS[reason]}", cm.size)
        self._tot_reject[reason] += cm.size
        self._schedule_retries(tm, cm, am)

    # ------------------------------------------------------------------ slots and the queue

    def _serve_queue(self, t0: float, t1: float) -> float:
        """Serve the slot queue FCFS from a heap of slot free times.

        Returns the earliest time a request started here next changes phase (inf if none
        started), so the tick knows whether another round is due.

        Candidates are the waiting queue, then this tick's pending arrivals, in time order.
        Each gets the earliest free slot and starts at max(its arrival, the slot's free
        time); a segment that finishes the request inside the tick pushes its slot back at
        its exact end. At its own arrival time a pending arrival meets the rate limiter,
        then, if no slot is free, the queue limit (refused if `queue_limit` requests are
        waiting then). A waiter whose client deadline passes before a slot frees leaves at
        that deadline, and its place frees then.

        Decisions are taken only before the horizon: the earliest moment a slot could come
        free that the heap does not know of yet (work started here that goes on to a pool
        or another segment inside the tick). The tick steps that work and calls again, so
        every start, refusal and departure holds at its own time, whatever dt.
        """
        queue, pending = self._queue, self._pending
        n_old = queue.size
        cand = np.concatenate((queue, pending)) if pending.size else queue
        n = cand.size
        if n == 0:
            return INF
        limit = self._queue_limit
        rate_limited = self._rate is not None
        usable = self._usable_slots()
        idle = usable[self._slot_holder[usable] < 0]
        if idle.size:
            idle = self._spread(idle)
        if n_old == 0 and idle.size >= n:
            # Nobody waits and, for every arrival, a slot free since the tick began: each
            # starts the moment it arrives (the healthy case; the heap would choose the same).
            early = idle[self._slot_free_t[idle] <= t0]
            if early.size >= n:
                self._pending = pending[:0]
                self._committed_t = max(self._committed_t, float(self._wait_t[cand[-1]]))
                rows = cand
                if rate_limited:
                    ok = np.array(self._take_tokens(self._wait_t[rows].tolist()), dtype=bool)
                    if not ok.all():
                        self._reject_queued(rows[~ok], 0)
                        rows = rows[ok]
                    if rows.size == 0:
                        return INF
                slots = early[: rows.size]
                self._slot[rows] = slots
                self._slot_holder[slots] = rows
                self._apply_segments(rows, self._wait_t[rows], self._draw_segments(rows))
                return float(self._next_t[rows].min())
        # Ties in free time go to the least busy worker (the order of `idle`).
        free = list(zip(np.maximum(self._slot_free_t[idle], t0).tolist(), range(idle.size), idle.tolist()))
        heapq.heapify(free)
        horizon = t1
        # Segments of the candidates are drawn ahead in growing chunks. The draw does
        # not depend on where inside the tick the segment starts, so this is the same
        # as drawing when service starts.
        # Waiting times are read in chunks too: the loop usually stops long before the
        # end of a long queue (no slot frees), and the rest is handled in bulk.
        waits: list = []
        deadlines: list = []
        chunks: list = []
        drawn = 0
        durations: list = []
        releases_slot: list = []
        starts_pos, starts_t, starts_slot, leave_pos, reject_pos, limited_pos = [], [], [], [], [], []
        waiting_until: collections.deque = collections.deque()
        """Start times of candidates started here: each waited until then."""
        left_at: list = []
        """Heap of the deadlines of candidates that left: each waited until then."""
        tokens, last, rate, burst = self._tokens, self._tokens_t, self._rate, self._burst
        stop = n
        # The loop runs once per candidate: bind what it calls.
        heappop, heappush, popleft = heapq.heappop, heapq.heappush, waiting_until.popleft
        for i in range(n):
            if i >= len(waits):
                part = cand[i: i + max(64, 2 * i, 4 * len(free))]
                waits.extend(self._wait_t[part].tolist())
                deadlines.extend(self._deadline[part].tolist())
            w, dl = waits[i], deadlines[i]
            ft = free[0][0] if free else INF
            start = w if w > ft else ft
            if start >= horizon:
                stop = i
                break
            if i >= n_old:
                if rate_limited:
                    tokens = min(burst, tokens + (w - last) * rate)
                    last = w
                    if tokens < 1.0:
                        limited_pos.append(i)
                        continue
                    tokens -= 1.0
                if limit is not None and start > w:
                    # It would wait: refused if the queue is full at its arrival.
                    while waiting_until and waiting_until[0] <= w:
                        popleft()
                    while left_at and left_at[0] <= w:
                        heappop(left_at)
                    if len(waiting_until) + len(left_at) >= limit:
                        reject_pos.append(i)
                        continue
            if start > dl:
                leave_pos.append(i)
                heappush(left_at, dl)
                continue
            s = heappop(free)[2]
            while i >= drawn:
                size = min(n - drawn, max(64, 2 * drawn, 2 * len(free) + 2))
                chunk = self._draw_segments(cand[drawn: drawn + size])
                chunks.append((drawn, chunk))
                durations.extend(chunk.dur.tolist())
                releases_slot.extend((chunk.ends_plan | (chunk.end_kind == END_FAIL)).tolist())
                drawn += size
            starts_pos.append(i)
            starts_t.append(start)
            starts_slot.append(s)
            end = start + durations[i]
            waiting_until.append(start)
            if end < t1:
                if releases_slot[i]:
                    heappush(free, (end, -1, s))
                elif end < horizon:
                    horizon = end
            if dl < end and dl < horizon:
                # Its client gives up at dl and may retry: a new arrival the heap cannot see.
                horizon = dl
        # Candidates not reached wait past the horizon (no slot frees before it): the
        # departures and refusals due before it are still decided here, at their times.
        proc_end = n
        if stop < n:
            if stop < n_old:
                dl_old = self._deadline[cand[stop:n_old]]
                leave_pos.extend((stop + (dl_old < horizon).nonzero()[0]).tolist())
                still_old = np.sort(dl_old)
            else:
                still_old = np.empty(0)
            p0 = max(stop, n_old)
            w_rest = self._wait_t[cand[p0:]]
            m = int(np.searchsorted(w_rest, horizon, "left"))
            proc_end = p0 + m
            if m and not rate_limited and limit is None:
                dl_new = self._deadline[cand[p0:proc_end]]
                leave_pos.extend((p0 + (dl_new < horizon).nonzero()[0]).tolist())
            elif m:
                dl_new = self._deadline[cand[p0:proc_end]].tolist()
                staying: list = []
                """Heap of the deadlines of arrivals admitted here (each waits until then or past the horizon)."""
                n_still = still_old.size
                for j, w in enumerate(w_rest[:m].tolist()):
                    if rate_limited:
                        tokens = min(burst, tokens + (w - last) * rate)
                        last = w
                        if tokens < 1.0:
                            limited_pos.append(p0 + j)
                            continue
                        tokens -= 1.0
                    if limit is not None:
                        while waiting_until and waiting_until[0] <= w:
                            popleft()
                        while left_at and left_at[0] <= w:
                            heappop(left_at)
                        while staying and staying[0] <= w:
                            heappop(staying)
                        waiting = len(waiting_until) + len(left_at) + len(staying)
                        if n_still:
                            waiting += n_still - int(np.searchsorted(still_old, w, "right"))
                        if waiting >= limit:
                            reject_pos.append(p0 + j)
                            continue
                    dl = dl_new[j]
                    heappush(staying, dl)
                    if dl < horizon:
                        leave_pos.append(p0 + j)
        self._tokens, self._tokens_t = tokens, last
        self._committed_t = horizon
        if limited_pos:
            self._reject_queued(cand[np.array(limited_pos)], 0)
        if reject_pos:
            self._reject_queued(cand[np.array(reject_pos)], 2)
        if leave_pos:
            gone = cand[np.sort(np.array(leave_pos))]
            self._fail(gone, self._deadline[gone], R_TIMEOUT)
        if starts_pos:
            pos = np.array(starts_pos)
            rows = cand[pos]
            slots = np.array(starts_slot, dtype=np.int64)
            self._slot[rows] = slots
            self._slot_holder[slots] = rows
            self._apply_segments(rows, np.array(starts_t), _Segment.join(chunks, drawn), pos)
            earliest = float(self._next_t[rows].min())
        else:
            earliest = INF
        taken = np.zeros(proc_end, dtype=bool)
        for chosen in (starts_pos, leave_pos, reject_pos, limited_pos):
            if chosen:
                taken[np.array(chosen)] = True
        self._queue = cand[:proc_end][~taken]
        self._pending = cand[proc_end:]
        return min(earliest, horizon) if horizon < t1 else earliest

    def _reject_queued(self, rows: np.ndarray, reason: int) -> None:
        """Arrivals refused at the door: they were never admitted."""
        t, c, a = self._t_arr[rows], self._cls[rows], self._att[rows]
        self._reject(np.ones(rows.size, dtype=bool), t, c, a, reason)
        self._release_rows(rows)

    def _spread(self, idle: np.ndarray) -> np.ndarray:
        """Idle slots in the order a balancer hands them out: least busy worker first.

        Per-worker memory (and so OOM risk) falls with more workers only if work spreads.
        """
        workers = idle // self._conc
        if workers.size == 0 or workers[0] == workers[-1]:
            return idle
        first = np.searchsorted(workers, workers)
        busy = self._conc - np.bincount(workers, minlength=self._max_workers)[workers]
        return idle[np.argsort(busy + (np.arange(idle.size) - first), kind="stable")]

    def _usable_slots(self) -> np.ndarray:
        ok_workers = (self._worker_state == W_UP).nonzero()[0]
        if ok_workers.size == 0:
            return np.empty(0, dtype=np.int64)
        return (ok_workers[:, None] * self._conc + np.arange(self._conc)[None, :]).ravel()

    # ------------------------------------------------------------------ segments

    def _draw_segments(self, rows: np.ndarray):
        """Draw the next plan segment of each row, starting at its current step.

        Pure: nothing about the service changes until `_apply_segments` applies the
        drawn segments of the rows that actually start. Returns a tuple
        (duration, ends_plan, end_kind, next_step, fail_reason, degraded, stream_mb,
        cache_misses (n, caches), outcomes) where outcomes are breaker observations
        (row positions, start offsets, end offsets, dependency, ok, probe).
        """
        n = rows.size
        seg = _Segment(
            dur=np.zeros(n),
            ends_plan=np.zeros(n, dtype=bool),
            end_kind=np.full(n, END_CONTINUE, dtype=np.int8),
            next_step=self._stepi[rows].copy(),
            reason=np.full(n, -1, dtype=np.int8),
            degraded=self._degraded[rows].copy(),
            stream_mb=np.zeros(n),
            cache_miss=np.zeros((n, max(1, len(self._cache_hit))), dtype=np.int64),
            outs=[],
        )
        key = self._cls[rows] * 64 + seg.next_step
        lo, hi = int(key.min()), int(key.max())
        if lo == hi:
            self._draw_group(*divmod(lo, 64), np.arange(n), seg)
            return seg
        for k in np.unique(key).tolist():
            ci, si = divmod(k, 64)
            self._draw_group(ci, si, (key == k).nonzero()[0], seg)
        return seg

    def _draw_group(self, ci: int, si: int, live: np.ndarray, seg: _Segment) -> None:
        plan = self._classes[ci].plan
        j = si
        while live.size and j < len(plan):
            st = plan[j]
            if isinstance(st, DbStep):
                seg.next_step[live] = j
                return
            if isinstance(st, StreamStep):
                if j > si:
                    seg.next_step[live] = j
                    return
                d = sample(st.duration, self._rng_service, live.size)
                if st.slow_fraction > 0:
                    slow = self._rng_service.random(live.size) < st.slow_fraction
                    d = np.where(slow, d * st.slow_factor, d)
                seg.dur[live] += d
                seg.stream_mb[live] = st.size_mb
                j += 1
                break
            if isinstance(st, CpuStep):
                seg.dur[live] += sample(st.duration, self._rng_service, live.size) * self._gc_factor
            elif isinstance(st, CacheStep):
                c = self._cache_index[st.cache]
                hit = self._rng_service.random(live.size) < self._cache_hit[c]
                seg.cache_miss[live[~hit], c] += 1
                done = live[hit]
                seg.next_step[done] = len(plan)
                seg.ends_plan[done] = True
                live = live[~hit]
            elif isinstance(st, CallStep):
                failed, why = self._draw_calls(st, live, seg)
                if failed.size:
                    seg.end_kind[failed] = END_FAIL
                    seg.reason[failed] = why
                    seg.next_step[failed] = len(plan)
                    seg.ends_plan[failed] = True
                    live = np.setdiff1d(live, failed, assume_unique=True)
            j += 1
        seg.next_step[live] = j
        if j >= len(plan):
            seg.ends_plan[live] = True

    def _draw_calls(self, st: CallStep, live: np.ndarray, seg: _Segment):
        """One call step for the rows at positions `live`; adds its time to their duration.

        Returns (positions whose request fails, their reasons).
        """
        none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8))
        di = self._dep_index[st.dependency]
        ds = self._dep_state[di]
        dep = self._deps[di]
        n = live.size
        if ds.fallback:
            seg.degraded[live] = True
            return none
        state = self._breaker_seen(di)
        allowed = np.ones(n, dtype=bool)
        probe = np.zeros(n, dtype=bool)
        if state == B_OPEN:
            allowed[:] = False
        elif state == B_HALF:
            k = min(ds.probes_left, n)
            allowed[k:] = False
            probe[:k] = True
        refused = None
        if dep.capacity > 0:
            active = int(self._dep_active(self.t_s)[di])
            refused = allowed & (np.cumsum(allowed) + active > dep.capacity)
        timeout = self._effective_timeout(di, st.timeout_s)
        retries = st.retries if ds.retries is None else ds.retries
        backoff = st.backoff_s if ds.backoff_s is None else ds.backoff_s
        elapsed = np.zeros(n)
        ok = np.zeros(n, dtype=bool)
        trying = allowed.copy()
        for attempt in range(retries + 1):
            idx = trying.nonzero()[0]
            if idx.size == 0:
                break
            lat, err = self._call_latency(di, idx.size, self.t_s, timeout)
            over = None if refused is None else refused[idx]
            if over is not None and _any(over):
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
        if not _any(failed_mask):
            return none
        if st.fallback:
            seg.degraded[live[failed_mask]] = True
            return none
        why = np.where(allowed[failed_mask], R_DEPENDENCY, R_BREAKER).astype(np.int8)
        return live[failed_mask], why

    def _call_latency(self, di: int, n: int, t: float, timeout: float | None):
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
            if _any(late):
                lat = np.minimum(lat, timeout)
                err = err | late
        return lat, err

    def _effective_timeout(self, di: int, plan_timeout: float | None) -> float | None:
        """The per-call timeout: the operator's override (inf: none at all), else the plan's."""
        override = self._dep_state[di].timeout_s
        if override is None:
            return plan_timeout
        return None if math.isinf(override) else override

    def _apply_segments(self, rows: np.ndarray, start_t: np.ndarray, seg: _Segment, pos: np.ndarray | None = None) -> None:
        """Rows begin the segments drawn for them (positions `pos` of the draw, sorted)."""
        take = (lambda a: a) if pos is None else (lambda a: a[pos])
        self._phase[rows] = RUNNING
        self._seg_start[rows] = start_t
        self._next_t[rows] = start_t + take(seg.dur)
        self._end_kind[rows] = take(seg.end_kind)
        self._stepi[rows] = take(seg.next_step)
        self._fail_reason[rows] = take(seg.reason)
        self._degraded[rows] = take(seg.degraded)
        self._stream_mb[rows] = take(seg.stream_mb)
        if len(self._cache_hit):
            self._cache_misses += take(seg.cache_miss).sum(axis=0)[: len(self._cache_hit)]
        if not seg.outs:
            return
        # Breaker observations land when each call ends (exact time), not when drawn.
        ts, ss, ds, oks, probes = [], [], [], [], []
        for positions, begin, end, di, good, probe in seg.outs:
            if pos is None:
                base = start_t[positions]
            else:
                # pos is sorted and unique: a drawn row starts iff pos holds it where it would go.
                at = np.searchsorted(pos, positions)
                keep = pos[np.minimum(at, pos.size - 1)] == positions
                if not _any(keep):
                    continue
                positions, begin, end, good, probe = positions[keep], begin[keep], end[keep], good[keep], probe[keep]
                base = start_t[at[keep]]
            ts.append(base + end)
            ss.append(base + begin)
            ds.append(np.full(positions.size, di, dtype=np.int64))
            oks.append(good)
            probes.append(probe)
            used = _count(probe)
            if used:
                self._dep_state[di].probes_left -= used
        if ts:
            self._out_new.append((ts, ss, ds, oks, probes))

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

    # ------------------------------------------------------------------ running requests and pools

    def _advance_running(self, t0: float, t1: float) -> None:
        """Process every transition due inside the tick, round after round."""
        for _ in range(100_000):
            # Free, queued and waiting rows have next_t = inf: find the few due rows
            # first, then split them by phase.
            due = (self._next_t[: self._hw] < t1).nonzero()[0]
            phase = self._phase[due]
            q_due = due[phase == QUERY]
            seg_due = due[phase == RUNNING]
            if q_due.size:
                self._end_queries(q_due)
            if seg_due.size:
                self._end_segments(seg_due)
            granted = self._serve_pools(t0, t1)
            if not (q_due.size or seg_due.size or granted):
                return

    def _end_segments(self, rows: np.ndarray) -> None:
        t = self._next_t[rows]
        self._stream_mb[rows] = 0.0
        fail = self._end_kind[rows] == END_FAIL
        if _any(fail):
            fr = rows[fail]
            self._finish(fr, t[fail], ok=False, reasons=self._fail_reason[fr].astype(np.int64))
        cont, tc = rows[~fail], t[~fail]
        if cont.size == 0:
            return
        cls, steps = self._cls[cont], self._stepi[cont]
        done = steps >= self._plan_len[cls]
        if _any(done):
            self._finish(cont[done], tc[done], ok=True)
        more = ~done
        if not _any(more):
            return
        self._continue_plan(cont[more], tc[more])

    def _continue_plan(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Rows go on with their plan at time t: finish, queue for a pool, or run a segment."""
        steps = self._stepi[rows]
        done = steps >= self._plan_len[self._cls[rows]]
        if _any(done):
            self._finish(rows[done], t[done], ok=True)
            rows, t, steps = rows[~done], t[~done], steps[~done]
            if rows.size == 0:
                return
        is_db = self._is_db_step[self._cls[rows], steps]
        if _any(is_db):
            self._to_pool(rows[is_db], t[is_db])
            rows, t = rows[~is_db], t[~is_db]
        if rows.size:
            self._apply_segments(rows, t, self._draw_segments(rows))

    def _to_pool(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Rows reach a db step: they queue for a connection of the step's pool."""
        cls, steps = self._cls[rows], self._stepi[rows]
        self._pool[rows] = self._pool_route[cls, self._step_pool[cls, steps]]
        self._qleft[rows] = self._step_queries[cls, steps]
        self._phase[rows] = POOL_WAIT
        self._pool_wait_possible = True
        self._wait_t[rows] = t
        self._next_t[rows] = INF

    def _pool_waiters(self, pi: int) -> int:
        hw = self._hw
        return _count((self._phase[:hw] == POOL_WAIT) & (self._pool[:hw] == pi))

    def _serve_pools(self, t0: float, t1: float) -> bool:
        """Grant free connections FCFS; a waiter past its acquire timeout gives up.

        Like the slot queue, a pool decides only before its horizon: the earliest
        transition still to be stepped in this tick (it may bring a waiter or return a
        connection), or the earliest return of a connection granted here. Later grants
        and timeouts wait for the next round, so each holds at its own time, whatever dt.
        """
        if not self._pool_wait_possible:
            return False
        hw = self._hw
        waiting = (self._phase[:hw] == POOL_WAIT).nonzero()[0]
        if waiting.size == 0:
            self._pool_wait_possible = False
            return False
        horizon = min(t1, float(self._next_t[:hw].min()))
        granted_any = False
        wp = self._pool[waiting]
        lo, hi = int(wp.min()), int(wp.max())
        for pi in ([lo] if lo == hi else np.unique(wp).tolist()):
            pool = self._pools[pi]
            rows = waiting[wp == pi]
            patience = INF if pool.acquire_timeout_s is None else pool.acquire_timeout_s
            free = sorted(pool.free_times)
            if not free and (patience == INF or float(self._wait_t[rows].min()) + patience >= horizon):
                continue  # no connection to hand out and nobody's acquire timeout runs out
            take, start = ([], []) if not free else self._fcfs_grants(rows, free, patience, t0, horizon)
            pool_horizon = horizon
            if take:
                granted_any = True
                others_waiting = rows.size - len(take) > 0
                kept, first_back = self._grant_connections(pi, rows[take], np.array(start), others_waiting=others_waiting)
                take = take[:kept]
                pool_horizon = min(horizon, first_back)
            pool.free_times = free[len(take):]
            if patience != INF:
                taken = np.zeros(rows.size, dtype=bool)
                taken[take] = True
                deadline = self._wait_t[rows] + patience
                gone = (~taken & (deadline < pool_horizon)).nonzero()[0]
                if gone.size:
                    # In queue order, like the grants (their retries draw jitter in this order).
                    gone = gone[np.argsort(deadline[gone], kind="stable")]
                    self._finish(rows[gone], deadline[gone], ok=False, reasons=np.full(gone.size, R_POOL_TIMEOUT))
        return granted_any

    def _fcfs_grants(self, rows: np.ndarray, free: list, patience: float, t0: float, t1: float) -> tuple[list, list]:
        """Hand the free connections (sorted times) to waiting `rows` in FCFS order.

        Returns the positions in `rows` served, in grant order, and their start times.
        Waiters past their acquire timeout are passed over. Only the head of a long
        queue can be served, so it is found with a partition and sorted alone; the
        whole queue is sorted only when passed-over waiters use up that head.
        """
        wait_all = self._wait_t[rows]
        head_size = 2 * len(free) + 32
        if rows.size > 2 * head_size:
            kth = np.partition(wait_all, head_size)[head_size]
            # Every tie with the k-th wait joins the head, so the stable order is exact.
            head = (wait_all <= kth).nonzero()[0]
            order = head[np.argsort(wait_all[head], kind="stable")]
        else:
            order = np.argsort(wait_all, kind="stable")
        take, start, complete = _scan_grants(wait_all, order, free, patience, t0, t1)
        if not complete and order.size < rows.size:
            # The head ran out (timed-out waiters passed over): serve from the whole queue.
            take, start, _ = _scan_grants(wait_all, np.argsort(wait_all, kind="stable"), free, patience, t0, t1)
        return take, start

    def _grant_connections(self, pi: int, rows: np.ndarray, start: np.ndarray, others_waiting: bool) -> tuple[int, float]:
        """Rows (in grant order) hold a connection and run queries.

        With nobody else waiting a row keeps the connection for the rest of its step's
        queries (release and immediate re-acquire with an empty queue is the same thing);
        otherwise it runs one query and queues again behind the others, which is what
        makes N+1 query patterns collapse under contention.

        A grant due at or after the moment an earlier grant's connection comes back is
        not made (that connection may serve a waiter sooner): returns how many of the
        rows were granted, and the earliest return of a connection granted here.
        """
        pool = self._pools[pi]
        di = pool.database
        dep = self._deps[di]
        active = sum(p.in_use for p in self._pools if p.database == di) + rows.size
        # A database slows once active queries pass its knee, so a bigger pool is not free.
        contention = max(1.0, active / dep.knee) ** dep.contention if dep.knee > 0 else 1.0
        timeout = self._effective_timeout(di, None)
        if others_waiting:
            lat, err = self._call_latency(di, rows.size, float(start[0]), timeout)
            total = lat * contention
            n_q = np.ones(rows.size, dtype=np.int64)
        else:
            total, err, n_q = self._query_run(di, self._qleft[rows], float(start[0]), timeout)
            total *= contention
        back = start + total
        kept = rows.size
        if kept > 1:
            first_back = np.minimum.accumulate(back)
            late = (start[1:] >= first_back[:-1]).nonzero()[0]
            if late.size:
                kept = int(late[0]) + 1
                rows, back, err, n_q = rows[:kept], back[:kept], err[:kept], n_q[:kept]
        pool.in_use += kept
        self._qleft[rows] -= n_q
        self._phase[rows] = QUERY
        self._next_t[rows] = back
        self._end_kind[rows] = np.where(err, END_FAIL, END_CONTINUE)
        return kept, float(back.min())

    def _query_run(self, di: int, n_q: np.ndarray, t: float, timeout: float | None):
        """Rows run n_q queries back to back on one connection, stopping at the first error.

        All queries are drawn in one pass (row by row); returns each row's total
        latency, whether it ended on an error, and how many queries it ran.
        """
        lat, e = self._call_latency(di, int(n_q.sum()), t, timeout)
        if (n_q == 1).all():
            return lat, e, n_q.copy()
        owner = np.repeat(np.arange(n_q.size), n_q)
        pos = np.arange(lat.size) - np.repeat(np.cumsum(n_q) - n_q, n_q)
        first_err = n_q.copy()
        if _any(e):
            np.minimum.at(first_err, owner[e], pos[e])
        ran = pos <= first_err[owner]
        total = np.bincount(owner, weights=np.where(ran, lat, 0.0), minlength=n_q.size)
        err = first_err < n_q
        return total, err, np.where(err, first_err + 1, n_q)

    def _end_queries(self, rows: np.ndarray) -> None:
        t = self._next_t[rows]
        pools = self._pool[rows]
        lo, hi = int(pools.min()), int(pools.max())
        for pi in ([lo] if lo == hi else np.unique(pools).tolist()):
            sel = pools == pi
            pool = self._pools[pi]
            n = _count(sel)
            pool.in_use -= n
            # A shrinking pool closes connections as they come back.
            keep = max(0, min(n, pool.size - pool.in_use - len(pool.free_times)))
            pool.free_times.extend(sorted(t[sel].tolist())[:keep])
        failed = self._end_kind[rows] == END_FAIL
        if _any(failed):
            fr = rows[failed]
            self._finish(fr, t[failed], ok=False, reasons=np.full(fr.size, R_DEPENDENCY))
        ok_rows, ok_t = rows[~failed], t[~failed]
        again = self._qleft[ok_rows] > 0
        if _any(again):
            self._phase[ok_rows[again]] = POOL_WAIT
            self._pool_wait_possible = True
            self._wait_t[ok_rows[again]] = ok_t[again]
            self._next_t[ok_rows[again]] = INF
        nxt = ok_rows[~again]
        if nxt.size:
            # The db step is done: what follows starts at the last query's end.
            self._stepi[nxt] += 1
            self._continue_plan(nxt, ok_t[~again])

    # ------------------------------------------------------------------ outcomes

    def _finish(self, rows: np.ndarray, t: np.ndarray, ok: bool, reasons=None) -> None:
        """Requests end on the server: free slots, record client outcomes not yet known."""
        if rows.size == 0:
            return
        slots = self._slot[rows]
        # A slot may already serve the next request (the heap reuses it at this exact
        # time), so only a slot still held by this row is freed here.
        mine = slots >= 0
        mine[mine] = self._slot_holder[slots[mine]] == rows[mine]
        self._slot_holder[slots[mine]] = -1
        self._slot_free_t[slots[mine]] = t[mine]
        unreported = ~self._reported[rows]
        if ok:
            in_time = t <= self._deadline[rows]
            good = unreported & in_time
            self._succeed(rows[good], t[good])
            late = unreported & ~in_time
            if _any(late):
                self._fail_outcome(rows[late], self._deadline[rows[late]], np.full(np.count_nonzero(late), R_TIMEOUT))
        else:
            late = t > self._deadline[rows]
            reasons = np.where(late, R_TIMEOUT, np.asarray(reasons))
            when = np.where(late, self._deadline[rows], t)
            self._fail_outcome(rows[unreported], when[unreported], reasons[unreported])
        self._release_rows(rows)

    def _fail(self, rows: np.ndarray, t: np.ndarray, reason: int) -> None:
        """Queued requests that fail without ever holding a slot."""
        self._fail_outcome(rows, t, np.full(rows.size, reason))
        self._release_rows(rows)

    def _expire_clients(self, t1: float) -> None:
        """Clients give up at their deadline even while the server keeps working (the
        work runs on and holds its slot), so they retry on time, not when it ends."""
        hw = self._hw
        phase = self._phase[:hw]
        late = ((phase >= RUNNING) & ~self._reported[:hw] & (self._deadline[:hw] < t1)).nonzero()[0]
        if late.size:
            self._fail_outcome(late, self._deadline[late], np.full(late.size, R_TIMEOUT))

    def _succeed(self, rows, t) -> None:
        if rows.size == 0:
            return
        # Latencies are binned once at the end of the tick (see _tally_successes).
        self._tick_success.append((t - self._t_arr[rows], self._cls[rows] * 2 + (self._att[rows] > 0)))
        self._bump("completed", rows.size)
        deg = _count(self._degraded[rows])
        if deg:
            degraded = rows[self._degraded[rows]]
            self._tick_degraded += np.bincount(self._cls[degraded] * 2 + (self._att[degraded] > 0),
                                               minlength=2 * self._n_cls).reshape(-1, 2)
        self._bump("degraded", deg)
        self._tot["completed"] += rows.size
        self._tot["degraded"] += deg
        self._reported[rows] = True

    def _fail_outcome(self, rows, t, reasons) -> None:
        if rows.size == 0:
            return
        reasons = np.asarray(reasons, dtype=np.int64)
        c = self._cls[rows]
        self._tick_class[2] += np.bincount(c * 2 + (self._att[rows] > 0), minlength=2 * self._n_cls).reshape(-1, 2)
        counts = np.bincount(reasons, minlength=len(FAIL_REASONS))
        self._tick_counts[_I_FAILED] += rows.size
        self._tick_counts[_I_FAILED_BY_REASON] += counts
        self._tot_fail += counts[: len(FAIL_REASONS)]
        self._reported[rows] = True
        self._schedule_retries(np.asarray(t, dtype=float), c, self._att[rows])

    def _schedule_retries(self, t: np.ndarray, c: np.ndarray, a: np.ndarray) -> None:
        """A failed or rejected attempt comes back as a new arrival after its backoff,
        at its own time (inside this tick too: `_run_tick` admits it before the tick ends)."""
        policy = self._retry_table
        go = a < policy[0][c]
        if not _any(go):
            return
        t, c, a = t[go], c[go], a[go]
        base, mult, jitter = policy[1][c], policy[2][c], policy[3][c]
        wait = base * mult ** a
        if _any(jitter):
            wait = wait * (1.0 - jitter * self._rng_retry.random(t.size))
        self._retry_new.append((t + wait, c, a + 1))

    # ------------------------------------------------------------------ tick start: state updates

    def _run_delayed(self, t0: float) -> None:
        while self._delayed and self._delayed[0][0] <= t0 + 1e-9:
            _, _, kind, payload = heapq.heappop(self._delayed)
            if kind == "pool_size":
                pi, size = payload
                pool = self._pools[pi]
                old = pool.size
                pool.size = size
                pool.target_size = 0
                if size > old:
                    pool.free_times.extend([-INF] * (size - old))
                else:
                    excess = old - size
                    idle = len(pool.free_times)
                    drop = min(excess, idle)
                    pool.free_times = sorted(pool.free_times)[drop:]
                self._event(t0, "action_applied", f"pool {pool.name} is now {size} connections", pool.name)
            elif kind == "bulkhead_route":
                ci, shared, bi = payload
                self._pool_route[ci, shared] = shared if bi is None else bi

    def _update_workers(self, t0: float) -> None:
        for w in _COMES_UP[self._worker_state].nonzero()[0].tolist():
            if self._worker_until[w] <= t0 + 1e-9:
                was_down = self._worker_state[w] == W_DOWN
                self._worker_state[w] = W_UP
                self._worker_leak_mb[w] = 0.0
                self._event(t0, "worker_up", f"worker {w} is {'back up' if was_down else 'warm and serving'}", str(w))
        draining = (self._worker_state == W_DRAINING).nonzero()[0]
        for w in draining.tolist():
            if not _any(self._slot_holder[w * self._conc:(w + 1) * self._conc] >= 0):
                self._worker_state[w] = W_OFF

    def _update_faults(self, t0: float) -> None:
        changed = False
        for i, f in enumerate(self.model.faults):
            active = f.at_s <= t0 + 1e-9 and t0 < f.end_s - 1e-9
            if active != self._fault_active[i]:
                self._fault_active[i] = active
                changed = True
                self._fault_edge(f, active, t0)
        if changed or t0 == 0:
            self._recompute_fault_effects()
        if self._leak_mb_per_s:
            up = self._worker_state == W_UP
            self._worker_leak_mb[up] += self._leak_mb_per_s * self.dt_s

    def _fault_edge(self, f: Fault, starting: bool, t0: float) -> None:
        word = "starts" if starting else "ends"
        self._event(t0, "fault_start" if starting else "fault_end", f"fault {f.kind} on {f.target} {word}", f.target)
        if starting and f.kind == "cache_flush":
            self._cache_hit[self._cache_index[f.target]] = f.hit_ratio
        if f.kind == "lose_workers":
            if starting:
                up = (self._worker_state == W_UP).nonzero()[0][::-1][: f.count]
                for w in up.tolist():
                    self._kill_worker(w, t0, R_WORKER_LOST, INF if f.duration_s is None else f.end_s, "lost")
            else:
                for w in np.nonzero((self._worker_state == W_DOWN) & (self._worker_until == f.end_s))[0].tolist():
                    self._worker_until[w] = t0

    def _recompute_fault_effects(self) -> None:
        for ds in self._dep_state:
            ds.slow_factor, ds.add_s, ds.error_rate, ds.down = 1.0, 0.0, 0.0, False
            ds.blackhole_until, ds.pulses, ds.loss_rate = 0.0, (), 0.0
        self._traffic_factor[:] = 1.0
        self._leak_mb_per_s = 0.0
        for active, f in zip(self._fault_active, self.model.faults):
            if not active:
                continue
            if f.target in self._dep_index:
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
            elif f.kind == "traffic" and f.target in self._cls_index:
                self._traffic_factor[self._cls_index[f.target]] *= f.factor
            elif f.kind == "memory_leak":
                self._leak_mb_per_s += f.mb_per_s

    def _land_outcomes(self, t0: float) -> None:
        """Breaker observations whose call ended before this tick join the window."""
        slot = self.tick % self._win_ticks
        self._win_ok[:, slot] = 0
        self._win_fail[:, slot] = 0
        self._gather_outcomes()
        if self._out_t.size == 0:
            return
        landed = self._out_t <= t0
        if not _any(landed):
            return
        d, ok, probe = self._out_dep[landed], self._out_ok[landed], self._out_probe[landed]
        n_deps = len(self._deps)
        self._win_ok[:, slot] += np.bincount(d[ok], minlength=n_deps)
        self._win_fail[:, slot] += np.bincount(d[~ok], minlength=n_deps)
        probed = np.unique(d[probe]).tolist() if _any(probe) else ()
        for di in probed:
            ds = self._dep_state[di]
            sel = probe & (d == di)
            if _any(~ok[sel]):
                ds.state, ds.open_until = B_OPEN, t0 + self._deps[di].breaker.open_s
                self._event(t0, "breaker", f"breaker {self._deps[di].name}: probe failed, OPEN again", self._deps[di].name)
            else:
                ds.probe_ok += _count(sel)
        keep = ~landed
        self._out_t, self._out_start, self._out_dep = self._out_t[keep], self._out_start[keep], self._out_dep[keep]
        self._out_ok, self._out_probe = self._out_ok[keep], self._out_probe[keep]

    def _dep_active(self, t: float) -> np.ndarray:
        self._gather_outcomes()
        if self._out_t.size == 0:
            return np.zeros(len(self._deps), dtype=np.int64)
        running = (self._out_start <= t) & (self._out_t > t)
        return np.bincount(self._out_dep[running], minlength=len(self._deps))

    def _breaker_seen(self, di: int) -> int:
        ds = self._dep_state[di]
        if ds.forced == 1:
            return B_OPEN
        if ds.forced == 2 or self._deps[di].breaker is None:
            return B_CLOSED
        return ds.state

    def _update_breakers(self, t0: float) -> None:
        for di, dep in enumerate(self._deps):
            spec = dep.breaker
            if spec is None:
                continue
            ds = self._dep_state[di]
            if ds.state == B_CLOSED:
                w = max(1, int(round(spec.window_s / self.dt_s)))
                if w >= self._win_ticks:
                    # The window is the whole ring (counts are whole numbers: any summing order is exact).
                    ok, fail = self._win_ok[di].sum(), self._win_fail[di].sum()
                else:
                    idx = (self.tick - np.arange(w)) % self._win_ticks
                    ok, fail = self._win_ok[di, idx].sum(), self._win_fail[di, idx].sum()
                calls = ok + fail
                if calls >= spec.min_calls and fail / calls >= spec.failure_threshold:
                    ds.state, ds.open_until = B_OPEN, t0 + spec.open_s
                    if ds.forced == 0:
                        self._event(t0, "breaker", f"breaker {dep.name} tripped OPEN ({fail / calls:.0%} failures)", dep.name)
            elif ds.state == B_OPEN and t0 >= ds.open_until - 1e-9:
                ds.state, ds.probes_left, ds.probe_ok = B_HALF, spec.half_open_probes, 0
                if ds.forced == 0:
                    self._event(t0, "breaker", f"breaker {dep.name} HALF-OPEN: probing", dep.name)
            elif ds.state == B_HALF and ds.probe_ok >= spec.half_open_probes:
                ds.state = B_CLOSED
                self._win_ok[di] = 0
                self._win_fail[di] = 0
                if ds.forced == 0:
                    self._event(t0, "breaker", f"breaker {dep.name} CLOSED: probes succeeded", dep.name)

    def _breaker_gauge(self, di: int) -> BreakerGauge:
        ds = self._dep_state[di]
        spec = self._deps[di].breaker
        w = max(1, int(round(spec.window_s / self.dt_s)))
        idx = (self.tick - 1 - np.arange(min(w, self._win_ticks))) % self._win_ticks
        ok, fail = float(self._win_ok[di, idx].sum()), float(self._win_fail[di, idx].sum())
        calls = ok + fail
        forced = {0: None, 1: "open", 2: "closed"}[ds.forced]
        return BreakerGauge(self._deps[di].name, _BREAKER_NAMES[self._breaker_seen(di)], forced,
                            fail / calls if calls else 0.0, int(calls))

    # ------------------------------------------------------------------ memory and OOM

    def _kill_worker(self, w: int, t: float, reason: int, until: float, why: str) -> None:
        """Everything in flight on worker w is dropped; it restarts at `until`."""
        slots = np.arange(w * self._conc, (w + 1) * self._conc)
        rows = self._slot_holder[slots]
        rows = rows[rows >= 0]
        if rows.size:
            # Connections they held go back to their pools.
            holding = rows[self._phase[rows] == QUERY]
            for pi in self._pool[holding].tolist():
                self._pools[pi].in_use -= 1
                self._pools[pi].free_times.append(t)
            self._finish(rows, np.full(rows.size, t), ok=False, reasons=np.full(rows.size, reason))
        self._slot_holder[slots] = -1
        self._slot_free_t[slots] = -INF
        self._worker_state[w] = W_DOWN
        self._worker_until[w] = until
        self._worker_leak_mb[w] = 0.0
        self._worker_mem_mb[w] = self.model.service.memory.baseline_mb
        kind = "oom" if reason == R_OOM else "worker_down"
        self._event(t, kind, f"worker {w} {why}: {rows.size} requests dropped", str(w))

    def _update_memory(self, t1: float) -> None:
        if not self._memory_modelled:
            return
        mem = self.model.service.memory
        holders = self._slot_holder
        busy = holders >= 0
        worker_of = self._slot_worker[busy]
        per_worker = np.bincount(worker_of, minlength=self._max_workers).astype(float)
        streams = np.bincount(worker_of, weights=self._stream_mb[holders[busy]], minlength=self._max_workers)
        up = self._worker_state == W_UP
        n_up = max(1, _count(up))
        # Queued requests are buffered by the live workers; a down or absent worker holds nothing.
        queued = np.where(up, mem.per_queued_mb * self._queue.size / n_up, 0.0)
        used = (mem.baseline_mb + self._worker_leak_mb + mem.per_request_mb * per_worker + streams + queued)
        self._worker_mem_mb = np.where(_HOLDS_MEMORY[self._worker_state], used, 0.0)
        pressure = mem.limit_mb * mem.pressure_fraction
        if mem.limit_mb > pressure:
            over = np.clip((used[up] - pressure) / (mem.limit_mb - pressure), 0, 1)
            self._gc_factor = 1.0 + (mem.gc_slowdown - 1.0) * float(over.mean()) if over.size else 1.0
        for w in (up & (used >= mem.limit_mb)).nonzero()[0].tolist():
            self._kill_worker(w, t1, R_OOM, t1 + mem.restart_s, f"OOM-killed at {used[w]:.0f} MB")

    # ------------------------------------------------------------------ tick end

    def _end_tick(self, t0: float, t1: float) -> None:
        self._update_memory(t1)
        # Cache rewarming: each miss moves the hit ratio 1/warm_requests of the way back.
        for i, c in enumerate(self.model.caches):
            m = self._cache_misses[i]
            if m:
                self._cache_hit[i] += (c.hit_ratio - self._cache_hit[i]) * (1 - (1 - 1 / c.warm_requests) ** m)
                self._cache_misses[i] = 0
        tick_hist = self._tally_successes()
        # Latency window: percentiles only change when what the window holds changes.
        slot = self.tick % self._lat_window
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
        hw = self._hw
        up = _count(self._worker_state == W_UP)
        counts[_I_GAUGES] = (
            t1,
            np.count_nonzero((self._phase[:hw] != FREE) & ~self._reported[:hw]),
            self._queue.size,
            np.count_nonzero(self._slot_holder >= 0),
            up * self._conc,
            up,
            float(self._worker_mem_mb.max()) if self._worker_mem_mb.size else 0.0,
            1000 * self._pcts[0],
            1000 * self._pcts[1],
            1000 * self._pcts[2],
            1000 * self._tick_lat_sum,
        )
        h, pos = self.history, self._row_pos
        b = h._buffers
        h.scalars[pos] = counts
        b["class_arrivals"][pos] = tc[0]
        b["class_completed"][pos] = tc[1]
        b["class_failed"][pos] = tc[2]
        b["class_rejected"][pos] = tc[3]
        b["class_within"][pos] = self._tick_within
        b["class_degraded"][pos] = self._tick_degraded
        if self._pools:
            waiting = self._phase[:hw] == POOL_WAIT
            b["pool_in_use"][pos] = [p.in_use for p in self._pools]
            b["pool_size"][pos] = [p.size for p in self._pools]
            b["pool_waiters"][pos] = np.bincount(self._pool[:hw][waiting], minlength=len(self._pools))
        if self._deps:
            b["breaker_state"][pos] = [self._breaker_seen(i) for i in range(len(self._deps))]
            b["dep_active"][pos] = self._dep_active(t1)
        # Pools and dependencies too: an action that only moves a pool size must change the digest.
        # (One update of the joined bytes hashes exactly what one update per part would.)
        self._digest.update(b"".join((
            counts.tobytes(), tc.tobytes(), self._tick_within.tobytes(),
            *(b[name][pos].tobytes() for name in _DIGESTED_BUFFERS),
        )))

    def _tally_successes(self) -> np.ndarray | None:
        """Bin this tick's successes: latency histogram, per class, within each threshold."""
        if not self._tick_success:
            return None
        lat = np.concatenate([x[0] for x in self._tick_success])
        code = np.concatenate([x[1] for x in self._tick_success])
        n2 = 2 * self._n_cls
        self._tick_class[1] += np.bincount(code, minlength=n2).reshape(-1, 2)
        for k, thr in enumerate(self.latency_thresholds_s):
            self._tick_within[:, :, k] += np.bincount(code[lat <= thr + 1e-12], minlength=n2).reshape(-1, 2)
        self._tick_lat_sum = float(lat.sum())
        return histogram.counts(lat)

    def _bump(self, name: str, n: float) -> None:
        self._tick_counts[_SERIES_INDEX[name]] += n

    def _event(self, t: float, kind: str, message: str, subject: str = "") -> None:
        self._events.append(Event(t_s=t, kind=kind, message=message, subject=subject))
        self.events_total += 1

    def _add_pool(self, pool: _Pool) -> int:
        pool.free_times = [-INF] * pool.size
        self._pools.append(pool)
        self._pool_index[pool.name] = len(self._pools) - 1
        return len(self._pools) - 1

    # ------------------------------------------------------------------ operator actions

    def _apply_now(self, action: Action, t0: float) -> None:
        logged = Action(t0, action.name, action.args)
        self._action_log.append(logged)
        from sim.engine.actions import apply_action  # one module per job: actions validate and act

        error = apply_action(self, action, t0)
        if error:
            self._event(t0, "action_refused", f"{action.name} refused: {error}", action.name)

    def _set_retry_table(self, policies) -> None:
        self._client_retry = list(policies)
        self._retry_table = (
            np.array([p.retries for p in policies], dtype=np.int64),
            np.array([p.backoff_s for p in policies], dtype=float),
            np.array([p.multiplier for p in policies], dtype=float),
            np.array([p.jitter for p in policies], dtype=float),
        )

    def _schedule(self, t: float, kind: str, payload: tuple) -> None:
        self._delayed_seq += 1
        heapq.heappush(self._delayed, (t, self._delayed_seq, kind, payload))


def _scan_grants(wait_all: np.ndarray, order: np.ndarray, free: list, patience: float, t0: float, t1: float):
    """Walk waiters in `order` handing out the `free` connection times in turn.

    Returns the positions served, their start times, and whether the walk ended
    on its own (connections or tick used up) rather than by running out of waiters.
    """
    # Usually the k-th waiter simply gets the k-th connection: pair them up at once,
    # and walk one by one only from the first waiter whose acquire timeout runs out
    # before its connection frees (it is passed over, shifting every later pairing).
    m = min(len(free), order.size)
    w = wait_all[order[:m]]
    s = np.maximum(np.maximum(w, free[:m]), t0)
    stop = s >= t1
    bad = (stop | (s > w + patience)).nonzero()[0]
    k = int(bad[0]) if bad.size else m
    if k == m or stop[k]:
        return order[:k].tolist(), s[:k].tolist(), k < m or m == len(free)
    take, start = order[:k].tolist(), s[:k].tolist()
    fi = k
    for i, w in enumerate(wait_all[order[k:]].tolist(), start=k):
        if fi >= len(free):
            return take, start, True
        s = max(w, free[fi], t0)
        if s >= t1:
            return take, start, True
        if s > w + patience:
            continue
        take.append(int(order[i]))
        start.append(s)
        fi += 1
    return take, start, fi >= len(free)


def _plan_timeout(model: ModelSpec, dependency: str) -> float | None:
    """The timeout the plans give calls to `dependency` (the first call step's)."""
    for cls in model.classes:
        for st in cls.plan:
            if isinstance(st, CallStep) and st.dependency == dependency:
                return st.timeout_s
    return None


_SCALAR_SERIES = (
    "t_s", "arrivals", "fresh_arrivals", "retry_arrivals", "admitted", "completed", "degraded", "failed",
    *(f"failed_{r}" for r in FAIL_REASONS), "rejected", *(f"rejected_{r}" for r in REJECT_REASONS),
    "in_flight", "queue_depth", "busy_slots", "total_slots", "live_workers", "memory_mb",
    "p50_ms", "p95_ms", "p99_ms", "latency_sum_ms",
)
_SERIES_INDEX = {name: i for i, name in enumerate(_SCALAR_SERIES)}
_I_ARRIVALS, _I_FRESH, _I_RETRY, _I_ADMITTED = (
    _SERIES_INDEX[k] for k in ("arrivals", "fresh_arrivals", "retry_arrivals", "admitted"))
_I_GAUGES = [_SERIES_INDEX[k] for k in (
    "t_s", "in_flight", "queue_depth", "busy_slots", "total_slots", "live_workers", "memory_mb",
    "p50_ms", "p95_ms", "p99_ms", "latency_sum_ms")]
"""Columns of the series `_end_tick` sets (not counts bumped during the tick), in the order it writes them."""
_I_FAILED = _SERIES_INDEX["failed"]
_I_FAILED_BY_REASON = np.array([_SERIES_INDEX[f"failed_{r}"] for r in FAIL_REASONS])
_DIGESTED_BUFFERS = ("pool_in_use", "pool_size", "pool_waiters", "breaker_state", "dep_active")
