"""The worker-slot queue: admitted requests wait here, FCFS, for a slot; limit and client deadlines apply."""

from __future__ import annotations

import collections
import heapq

import numpy as np

from sim.engine.codes import END_FAIL, INF, J_QUEUE_FULL, R_TIMEOUT, any_set
from sim.engine.outcomes import Outcomes
from sim.engine.requests import RequestTable
from sim.engine.segments import Plans, Segment
from sim.engine.slots import Slots


class SlotQueue:
    """Rows waiting for a slot in FCFS order, served from a heap of slot free times."""

    def __init__(self, queue_limit: int | None, table: RequestTable, slots: Slots, plans: Plans,
                 outcomes: Outcomes):
        self._table = table
        self._slots = slots
        self._plans = plans
        self._outcomes = outcomes
        self.limit = queue_limit
        """At most this many waiting (None: unbounded); an arrival that finds it full is refused."""
        self._queue = np.empty(0, dtype=np.int64)
        """Rows waiting for a slot, FCFS order."""
        self._arriving: np.ndarray | None = None
        """Rows that arrived this tick, in time order: still subject to the queue limit."""

    @property
    def depth(self) -> int:
        return int(self._queue.size)

    def arrive(self, rows: np.ndarray) -> None:
        """This tick's admitted arrivals (time order) join the queue at the next `serve`."""
        self._arriving = rows

    def serve(self, t0: float, t1: float) -> float:
        """Serve the slot queue FCFS from a heap of slot free times.

        Returns the earliest time a request started here next changes phase (inf if none
        started), so the tick knows whether another round is due.

        Candidates are taken in arrival order; each gets the earliest free slot, starting
        at max(its arrival, the slot's free time). A segment that finishes the request
        inside the tick pushes its slot back at its exact end time. An arrival that finds
        `limit` requests waiting is refused; a waiter whose client deadline passes
        before a slot frees leaves at the deadline.
        """
        table = self._table
        arriving = self._arriving
        n_new = 0
        if arriving is not None:
            self._arriving = None
            self._queue = np.concatenate((self._queue, arriving))
            n_new = arriving.size
        queue = self._queue
        if queue.size == 0:
            return INF
        usable = self._slots.usable_slots()
        idle = self._slots.idle_among(usable)
        if idle.size == 0:
            self._enforce_queue_limit(queue, n_new)
            return INF
        idle = self._slots.spread(idle)
        if n_new == queue.size and idle.size >= n_new:
            # Nobody was waiting and there is a free slot for every arrival: each starts
            # the moment it arrives (the common, healthy case; no ordering to decide).
            slots = idle[:n_new]
            table.slot[queue] = slots
            self._slots.occupy(slots, queue)
            self._plans.start(queue, table.wait_t[queue], self._plans.draw(queue))
            self._queue = queue[:0]
            return float(table.next_t[queue].min())
        # Ties in free time go to the least busy worker (the order of `idle`).
        free = list(zip(np.maximum(self._slots.free_times(idle), t0).tolist(), range(idle.size), idle.tolist()))
        heapq.heapify(free)
        limit = self.limit
        n_old = queue.size - n_new
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
        starts_pos, starts_t, starts_slot, leave_pos, reject_pos = [], [], [], [], []
        waiting_starts: collections.deque = collections.deque()
        abandon: list = []
        stopped = queue.size
        # The loop runs once per candidate: bind what it calls.
        heappop, heappush = heapq.heappop, heapq.heappush
        for i in range(queue.size):
            if i >= len(waits):
                part = queue[i: i + max(64, 2 * i, 4 * len(free))]
                waits.extend(table.wait_t[part].tolist())
                deadlines.extend(table.deadline[part].tolist())
            w, dl = waits[i], deadlines[i]
            if i >= n_old and limit is not None:
                while waiting_starts and waiting_starts[0] <= w:
                    waiting_starts.popleft()
                while abandon and abandon[0] <= w:
                    heappop(abandon)
                if len(waiting_starts) + len(abandon) >= limit:
                    reject_pos.append(i)
                    continue
            if not free:
                stopped = i
                break
            ft, _, s = free[0]
            start = w if w > ft else ft
            if start >= t1:
                stopped = i
                break
            if start > dl:
                leave_pos.append(i)
                heappush(abandon, dl)
                continue
            heappop(free)
            while i >= drawn:
                size = min(queue.size - drawn, max(64, 2 * drawn, 2 * len(free) + 2))
                chunk = self._plans.draw(queue[drawn: drawn + size])
                chunks.append((drawn, chunk))
                durations.extend(chunk.dur.tolist())
                releases_slot.extend((chunk.ends_plan | (chunk.end_kind == END_FAIL)).tolist())
                drawn += size
            starts_pos.append(i)
            starts_t.append(start)
            starts_slot.append(s)
            if limit is not None:
                waiting_starts.append(start)
            end = start + durations[i]
            if releases_slot[i] and end < t1:
                heappush(free, (end, -1, s))
        if reject_pos:
            self._reject_queued(queue[np.array(reject_pos)], J_QUEUE_FULL)
        if leave_pos:
            gone = queue[np.array(leave_pos)]
            self._outcomes.fail(gone, table.deadline[gone], R_TIMEOUT)
        if starts_pos:
            pos = np.array(starts_pos)
            rows = queue[pos]
            slots = np.array(starts_slot, dtype=np.int64)
            table.slot[rows] = slots
            self._slots.occupy(slots, rows)
            self._plans.start(rows, np.array(starts_t), Segment.join(chunks, drawn), pos)
            earliest = float(table.next_t[rows].min())
        else:
            earliest = INF
        taken = np.zeros(queue.size, dtype=bool)
        for chosen in (starts_pos, leave_pos, reject_pos):
            if chosen:
                taken[np.array(chosen)] = True
        self._queue = queue[~taken]
        # Arrivals the loop did not reach found no free slot: only the limit decides.
        unreached_new = queue.size - max(stopped, n_old)
        if n_new and unreached_new > 0:
            self._enforce_queue_limit(self._queue, unreached_new)
        return earliest

    def _enforce_queue_limit(self, queue: np.ndarray, n_new: int) -> None:
        """No slot frees before these arrivals: each one that finds the queue full is rejected."""
        if self.limit is None or n_new == 0:
            return
        n_old = queue.size - n_new
        room = max(0, self.limit - n_old)
        if n_new > room:
            rejected = queue[n_old + room:]
            self._reject_queued(rejected, J_QUEUE_FULL)
            self._queue = queue[: n_old + room]

    def _reject_queued(self, rows: np.ndarray, reason: int) -> None:
        """Arrivals refused at the door: they were never admitted."""
        table = self._table
        t, c, a = table.t_arr[rows], table.cls[rows], table.att[rows]
        self._outcomes.reject(np.ones(rows.size, dtype=bool), t, c, a, reason)
        table.release(rows)

    def expire(self, t1: float) -> None:
        """Queued requests whose client deadline passed leave the queue at that deadline."""
        q = self._queue
        if q.size == 0:
            return
        deadline = self._table.deadline
        gone = deadline[q] < t1
        if any_set(gone):
            rows = q[gone]
            self._outcomes.fail(rows, deadline[rows], R_TIMEOUT)
            self._queue = q[~gone]
