"""The workers' concurrency slots and each worker's state (what can serve right now)."""

from __future__ import annotations

import numpy as np

from sim.engine.codes import INF, W_DOWN, W_DRAINING, W_OFF, W_UP, W_WARMING, any_set, count
from sim.engine.events import EventLog
from sim.model.spec import ServiceSpec

_COMES_UP = np.array([False, True, False, True, False])
"""By worker state: a warming or down worker comes up when its time is due."""


class Slots:
    """max_workers x concurrency slots; a request holds one slot for its whole life after admission."""

    def __init__(self, svc: ServiceSpec, events: EventLog):
        self._events = events
        self.concurrency = svc.concurrency
        self.max_workers = max(svc.max_workers, svc.workers)
        n_slots = self.max_workers * self.concurrency
        self._worker_state = np.full(self.max_workers, W_OFF, dtype=np.int8)
        self._worker_state[: svc.workers] = W_UP
        self._worker_until = np.zeros(self.max_workers)
        self.target_workers = svc.workers
        self._slot_holder = np.full(n_slots, -1, dtype=np.int64)
        self._slot_free_t = np.full(n_slots, -INF)
        self.freed_from = INF
        """The earliest time a slot was freed since the slot queue last looked (its scan
        resets this): a request waiting for a slot may start then."""
        self._slot_worker = np.arange(n_slots) // self.concurrency
        self._warmup_s = svc.warmup_s

    # -- reading ---------------------------------------------------------------------

    def state(self, w: int) -> int:
        """Worker w's state (W_OFF .. W_DRAINING)."""
        return int(self._worker_state[w])

    def states(self) -> np.ndarray:
        """Every worker's state (a read-only view)."""
        view = self._worker_state.view()
        view.flags.writeable = False
        return view

    def up_mask(self) -> np.ndarray:
        """Workers serving now."""
        return self._worker_state == W_UP

    def n_up(self) -> int:
        return count(self._worker_state == W_UP)

    def busy_count(self) -> int:
        """Slots held by a request."""
        return count(self._slot_holder >= 0)

    def busy_per_worker(self) -> np.ndarray:
        return np.bincount(self._slot_worker[self._slot_holder >= 0], minlength=self.max_workers)

    def holders(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows holding a slot, the worker of each)."""
        busy = self._slot_holder >= 0
        return self._slot_holder[busy], self._slot_worker[busy]

    def rows_on(self, w: int) -> np.ndarray:
        """Rows holding a slot of worker w."""
        rows = self._slot_holder[w * self.concurrency:(w + 1) * self.concurrency]
        return rows[rows >= 0]

    # -- the slot queue's side -------------------------------------------------------------

    def usable_slots(self) -> np.ndarray:
        """Slots of the serving workers, worker by worker."""
        ok_workers = (self._worker_state == W_UP).nonzero()[0]
        if ok_workers.size == 0:
            return np.empty(0, dtype=np.int64)
        return (ok_workers[:, None] * self.concurrency + np.arange(self.concurrency)[None, :]).ravel()

    def idle_among(self, slots: np.ndarray) -> np.ndarray:
        """The slots of `slots` no request holds."""
        return slots[self._slot_holder[slots] < 0]

    def free_times(self, slots: np.ndarray) -> np.ndarray:
        """When each slot last freed (-inf: idle since before the run)."""
        return self._slot_free_t[slots]

    def spread(self, idle: np.ndarray) -> np.ndarray:
        """Idle slots in the order a balancer hands them out: least busy worker first.

        Per-worker memory (and so OOM risk) falls with more workers only if work spreads.
        """
        workers = idle // self.concurrency
        if workers.size == 0 or workers[0] == workers[-1]:
            return idle
        first = np.searchsorted(workers, workers)
        busy = self.concurrency - np.bincount(workers, minlength=self.max_workers)[workers]
        return idle[np.argsort(busy + (np.arange(idle.size) - first), kind="stable")]

    def occupy(self, slots: np.ndarray, rows: np.ndarray) -> None:
        """Rows take these slots."""
        self._slot_holder[slots] = rows

    def free_held(self, rows: np.ndarray, slots: np.ndarray, t: np.ndarray) -> None:
        """Rows that end at times t give back their slots (-1: none held)."""
        # A slot may already serve the next request (the heap reuses it at this exact
        # time), so only a slot still held by this row is freed here.
        mine = slots >= 0
        mine[mine] = self._slot_holder[slots[mine]] == rows[mine]
        self._slot_holder[slots[mine]] = -1
        self._slot_free_t[slots[mine]] = t[mine]
        if mine.any():
            self.freed_from = min(self.freed_from, float(t[mine].min()))

    # -- workers coming and going ----------------------------------------------------------

    def update(self, t0: float) -> list[int]:
        """Warming and restarted workers whose time is due come up; drained workers stop.

        Returns the workers that came up.
        """
        came_up = []
        for w in _COMES_UP[self._worker_state].nonzero()[0].tolist():
            if self._worker_until[w] <= t0 + 1e-9:
                was_down = self._worker_state[w] == W_DOWN
                self._worker_state[w] = W_UP
                came_up.append(w)
                self._events.add(t0, "worker_up", f"worker {w} is {'back up' if was_down else 'warm and serving'}", str(w))
        draining = (self._worker_state == W_DRAINING).nonzero()[0]
        for w in draining.tolist():
            if not any_set(self._slot_holder[w * self.concurrency:(w + 1) * self.concurrency] >= 0):
                self._worker_state[w] = W_OFF
        return came_up

    def take_down(self, w: int, until: float) -> None:
        """Worker w is down (its slots empty) until `until`."""
        slots = np.arange(w * self.concurrency, (w + 1) * self.concurrency)
        self._slot_holder[slots] = -1
        self._slot_free_t[slots] = -INF
        self._worker_state[w] = W_DOWN
        self._worker_until[w] = until

    def newest_up(self, n: int) -> list[int]:
        """The n newest serving workers, newest first."""
        return (self._worker_state == W_UP).nonzero()[0][::-1][:n].tolist()

    def bring_back_at(self, until: float, t0: float) -> None:
        """Down workers due back at `until` come back at t0 instead."""
        for w in np.nonzero((self._worker_state == W_DOWN) & (self._worker_until == until))[0].tolist():
            self._worker_until[w] = t0

    def scale(self, n: int, t0: float) -> str:
        """Serve with n workers: new ones warm up, surplus ones drain. Returns what happens."""
        states = self._worker_state
        serving = np.nonzero(np.isin(states, (W_UP, W_WARMING, W_DOWN)))[0]
        if n > serving.size:
            spare = np.nonzero(np.isin(states, (W_OFF, W_DRAINING)))[0][: n - serving.size]
            warmup = self._warmup_s
            for w in spare.tolist():
                if states[w] == W_DRAINING:
                    states[w] = W_UP
                else:
                    states[w] = W_WARMING
                    self._worker_until[w] = t0 + warmup
            msg = f"scaling to {n} workers (new ones warm for {warmup:g}s)"
        else:
            # Drain the newest workers: they finish what they hold, take nothing new.
            for w in serving[n:].tolist():
                states[w] = W_DRAINING if states[w] == W_UP else W_OFF
            msg = f"scaling down to {n} workers (draining)"
        self.target_workers = n
        return msg
