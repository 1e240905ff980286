"""Workers' memory and fate: leaks, GC pressure, OOM kills, restarts and lost workers."""

from __future__ import annotations

import numpy as np

from sim.engine.codes import R_OOM, R_WORKER_LOST, W_DRAINING, W_OFF, W_UP, W_WARMING, count
from sim.engine.events import EventLog
from sim.engine.outcomes import Outcomes
from sim.engine.pools import Pools
from sim.engine.requests import RequestTable
from sim.engine.slots import Slots
from sim.model.observe import WorkerGauge
from sim.model.spec import ModelSpec, StreamStep

_HOLDS_MEMORY = np.array([False, True, True, False, True])
"""By worker state: a warming, serving or draining worker holds memory; an absent or down one does not."""


class Workers:
    """Per-worker memory (baseline, leak, requests, streams, queue buffers) and what kills a worker."""

    def __init__(self, model: ModelSpec, table: RequestTable, slots: Slots, pools: Pools, outcomes: Outcomes,
                 events: EventLog):
        self._table = table
        self._slots = slots
        self._pools = pools
        self._outcomes = outcomes
        self._events = events
        self._memory = model.service.memory
        n = slots.max_workers
        self._worker_leak_mb = np.zeros(n)
        self._worker_mem_mb = np.zeros(n)
        self._leak_mb_per_s = 0.0
        self.gc_factor = 1.0
        """How much slower cpu work runs under memory pressure (1: not at all)."""
        mem = model.service.memory
        self._memory_modelled = bool(
            mem.limit_mb < 1e8 or mem.baseline_mb or mem.per_request_mb or mem.per_queued_mb
            or any(f.kind == "memory_leak" for f in model.faults)
            or any(isinstance(st, StreamStep) for c in model.classes for st in c.plan)
        )
        """A drill that sets no memory figures skips the per-tick memory bookkeeping."""

    def model_memory(self) -> None:
        """Track memory from now on (a memory leak was injected into a drill that did not model it)."""
        self._memory_modelled = True

    def update(self, t0: float) -> None:
        """Workers due come up (with no leak), drained ones stop."""
        for w in self._slots.update(t0):
            self._worker_leak_mb[w] = 0.0

    def set_leak(self, mb_per_s: float) -> None:
        """Every serving worker leaks this much (the active memory_leak faults together)."""
        self._leak_mb_per_s = mb_per_s

    def leak(self, dt_s: float) -> None:
        """One tick of the leak on the serving workers."""
        if self._leak_mb_per_s:
            up = self._slots.up_mask()
            self._worker_leak_mb[up] += self._leak_mb_per_s * dt_s

    def kill(self, w: int, t: float, reason: int, until: float, why: str) -> None:
        """Everything in flight on worker w is dropped; it restarts at `until`."""
        rows = self._slots.rows_on(w)
        if rows.size:
            # Connections they held go back to their pools.
            self._pools.give_back(rows, t)
            self._outcomes.finish(rows, np.full(rows.size, t), ok=False, reasons=np.full(rows.size, reason))
        self._slots.take_down(w, until)
        self._worker_leak_mb[w] = 0.0
        self._worker_mem_mb[w] = self._memory.baseline_mb
        kind = "oom" if reason == R_OOM else "worker_down"
        self._events.add(t, kind, f"worker {w} {why}: {rows.size} requests dropped", str(w))

    def restart(self, w: int, t0: float) -> float:
        """The operator restarts worker w at t0; returns how long it is down."""
        restart = self._memory.restart_s
        self.kill(w, t0, R_WORKER_LOST, t0 + restart, "restarted by operator")
        return restart

    def update_memory(self, t1: float, queue_depth: int) -> None:
        """Memory per worker at the end of the tick; GC pressure; OOM kills at the limit."""
        if not self._memory_modelled:
            return
        mem = self._memory
        slots = self._slots
        holders, worker_of = slots.holders()
        per_worker = np.bincount(worker_of, minlength=slots.max_workers).astype(float)
        streams = np.bincount(worker_of, weights=self._table.stream_mb[holders], minlength=slots.max_workers)
        up = slots.up_mask()
        n_up = max(1, count(up))
        # Queued requests are buffered by the live workers; a down or absent worker holds nothing.
        queued = np.where(up, mem.per_queued_mb * queue_depth / n_up, 0.0)
        used = (mem.baseline_mb + self._worker_leak_mb + mem.per_request_mb * per_worker + streams + queued)
        self._worker_mem_mb = np.where(_HOLDS_MEMORY[slots.states()], used, 0.0)
        pressure = mem.limit_mb * mem.pressure_fraction
        if mem.limit_mb > pressure:
            over = np.clip((used[up] - pressure) / (mem.limit_mb - pressure), 0, 1)
            self.gc_factor = 1.0 + (mem.gc_slowdown - 1.0) * float(over.mean()) if over.size else 1.0
        for w in (up & (used >= mem.limit_mb)).nonzero()[0].tolist():
            self.kill(w, t1, R_OOM, t1 + mem.restart_s, f"OOM-killed at {used[w]:.0f} MB")

    def max_memory_mb(self) -> float:
        return float(self._worker_mem_mb.max()) if self._worker_mem_mb.size else 0.0

    def gauges(self) -> tuple[WorkerGauge, ...]:
        # As Python numbers first: indexing numpy arrays one element at a time costs more than the gauge.
        states = self._slots.states().tolist()
        busy_per_worker = self._slots.busy_per_worker().tolist()
        memory_mb = self._worker_mem_mb.tolist()
        return tuple(
            WorkerGauge(
                index=w, up=states[w] in (W_UP, W_DRAINING), busy=busy_per_worker[w],
                memory_mb=memory_mb[w], warming=states[w] == W_WARMING,
            )
            for w in range(self._slots.max_workers)
            if states[w] != W_OFF
        )
