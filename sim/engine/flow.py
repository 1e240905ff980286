"""Requests past admission move through their transitions: segment ends, pool grants, query ends."""

from __future__ import annotations

import numpy as np

from sim.engine.codes import END_FAIL, INF, QUERY, RUNNING, any_set
from sim.engine.outcomes import Outcomes
from sim.engine.pools import Pools
from sim.engine.requests import RequestTable
from sim.engine.segments import Plans


class RequestFlow:
    """Moves running requests along their plans, round after round, until nothing is due in the tick."""

    def __init__(self, table: RequestTable, plans: Plans, pools: Pools, outcomes: Outcomes):
        self._table = table
        self._plans = plans
        self._pools = pools
        self._outcomes = outcomes

    def advance_running(self, t0: float, t1: float, arrivals_from=lambda: INF) -> None:
        """Process every transition due inside the tick, round after round.

        `arrivals_from()` is the earliest time a request not yet started could start
        (the pools grant nothing past it: such a request may come to a pool first).
        """
        table = self._table
        for _ in range(100_000):
            # Free, queued and waiting rows have next_t = inf: find the few due rows
            # first, then split them by phase.
            due = (table.next_t[: table.hw] < t1).nonzero()[0]
            phase = table.phase[due]
            q_due = due[phase == QUERY]
            seg_due = due[phase == RUNNING]
            if q_due.size:
                self._end_queries(q_due)
            if seg_due.size:
                self._end_segments(seg_due)
            granted = self._pools.serve(t0, t1, arrivals_from())
            if not (q_due.size or seg_due.size or granted):
                return

    def _end_queries(self, rows: np.ndarray) -> None:
        nxt, t = self._pools.end_queries(rows)
        if nxt.size:
            self._continue_plan(nxt, t)

    def _end_segments(self, rows: np.ndarray) -> None:
        table = self._table
        t = table.next_t[rows]
        table.stream_mb[rows] = 0.0
        fail = table.end_kind[rows] == END_FAIL
        if any_set(fail):
            fr = rows[fail]
            self._outcomes.finish(fr, t[fail], ok=False, reasons=table.fail_reason[fr].astype(np.int64))
        cont, tc = rows[~fail], t[~fail]
        if cont.size == 0:
            return
        done = self._plans.done(cont)
        if any_set(done):
            self._outcomes.finish(cont[done], tc[done], ok=True)
        more = ~done
        if not any_set(more):
            return
        self._continue_plan(cont[more], tc[more])

    def _continue_plan(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Rows go on with their plan at time t: finish, queue for a pool, or run a segment."""
        table = self._table
        steps = table.stepi[rows]
        done = self._plans.done(rows)
        if any_set(done):
            self._outcomes.finish(rows[done], t[done], ok=True)
            rows, t, steps = rows[~done], t[~done], steps[~done]
            if rows.size == 0:
                return
        is_db = self._plans.at_db_step(table.cls[rows], steps)
        if any_set(is_db):
            self._pools.to_pool(rows[is_db], t[is_db])
            rows, t = rows[~is_db], t[~is_db]
        if rows.size:
            self._plans.start(rows, t, self._plans.draw(rows))
