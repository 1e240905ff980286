"""How requests end: success, failure or rejection, told to the client once, with its retry."""

from __future__ import annotations

import numpy as np

from sim.engine.codes import R_TIMEOUT, RUNNING, any_set
from sim.engine.metrics import Metrics
from sim.engine.requests import RequestTable
from sim.engine.retries import ClientRetries
from sim.engine.slots import Slots


class Outcomes:
    """Ends requests: frees their rows and slots, counts the outcome the client sees, schedules retries."""

    def __init__(self, table: RequestTable, slots: Slots, metrics: Metrics, retries: ClientRetries):
        self._table = table
        self._slots = slots
        self._metrics = metrics
        self._retries = retries

    def finish(self, rows: np.ndarray, t: np.ndarray, ok: bool, reasons=None) -> None:
        """Requests end on the server: free slots, record client outcomes not yet known."""
        if rows.size == 0:
            return
        table = self._table
        self._slots.free_held(rows, table.slot[rows], t)
        unreported = ~table.reported[rows]
        if ok:
            in_time = t <= table.deadline[rows]
            good = unreported & in_time
            self.succeed(rows[good], t[good])
            late = unreported & ~in_time
            if any_set(late):
                self.fail_outcome(rows[late], table.deadline[rows[late]], np.full(np.count_nonzero(late), R_TIMEOUT))
        else:
            late = t > table.deadline[rows]
            reasons = np.where(late, R_TIMEOUT, np.asarray(reasons))
            when = np.where(late, table.deadline[rows], t)
            self.fail_outcome(rows[unreported], when[unreported], reasons[unreported])
        table.release(rows)

    def fail(self, rows: np.ndarray, t: np.ndarray, reason: int) -> None:
        """Queued requests that fail without ever holding a slot."""
        self.fail_outcome(rows, t, np.full(rows.size, reason))
        self._table.release(rows)

    def expire_clients(self, t1: float) -> None:
        """Clients give up at their deadline even while the server keeps working (the
        work runs on and holds its slot), so they retry on time, not when it ends."""
        table = self._table
        hw = table.hw
        phase = table.phase[:hw]
        late = ((phase >= RUNNING) & ~table.reported[:hw] & (table.deadline[:hw] < t1)).nonzero()[0]
        if late.size:
            self.fail_outcome(late, table.deadline[late], np.full(late.size, R_TIMEOUT))

    def succeed(self, rows, t) -> None:
        """The client gets its reply at t (latencies are binned at the end of the tick)."""
        if rows.size == 0:
            return
        table = self._table
        self._metrics.count_successes(t - table.t_arr[rows], table.cls[rows] * 2 + (table.att[rows] > 0),
                                      table.degraded[rows])
        table.reported[rows] = True

    def fail_outcome(self, rows, t, reasons) -> None:
        """The client learns at t that its request failed (reasons: indices into FAIL_REASONS)."""
        if rows.size == 0:
            return
        table = self._table
        reasons = np.asarray(reasons, dtype=np.int64)
        c = table.cls[rows]
        att = table.att[rows]
        self._metrics.count_failures(c, att, reasons)
        table.reported[rows] = True
        self._retries.schedule(np.asarray(t, dtype=float), c, att)

    def reject(self, mask: np.ndarray, t: np.ndarray, c: np.ndarray, a: np.ndarray, reason: int) -> None:
        """Arrivals (where mask is set) refused at the door for REJECT_REASONS[reason]."""
        if not any_set(mask):
            return
        cm, am, tm = c[mask], a[mask], t[mask]
        self._metrics.count_rejected(cm, am, reason)
        self._retries.schedule(tm, cm, am)
