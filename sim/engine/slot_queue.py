"""The worker-slot queue: arrivals meet the rate limiter and the queue limit at their own time, then wait FCFS for a slot."""

from __future__ import annotations

import bisect
import collections
import heapq

import numpy as np

from sim.engine.codes import END_FAIL, INF, J_QUEUE_FULL, J_RATELIMIT, R_TIMEOUT
from sim.engine.outcomes import Outcomes
from sim.engine.ratelimit import RateLimiter
from sim.engine.requests import RequestTable
from sim.engine.retries import ClientRetries
from sim.engine.segments import Plans, Segment
from sim.engine.slots import Slots


class SlotQueue:
    """Rows waiting for a slot in FCFS order, served from a heap of slot free times."""

    def __init__(self, queue_limit: int | None, table: RequestTable, slots: Slots, plans: Plans,
                 outcomes: Outcomes, retries: ClientRetries, limiter: RateLimiter, pools=None):
        self._table = table
        self._slots = slots
        self._plans = plans
        self._outcomes = outcomes
        self._retries = retries
        self._limiter = limiter
        self._pools = pools
        """Its `earliest_give_up()` is the earliest time a slot may free that no segment end
        announces (a pool waiter's acquire deadline): waiting decisions are not taken past it."""
        self.limit = queue_limit
        """At most this many waiting (None: unbounded); an arrival that finds it full is refused."""
        self._queue = np.empty(0, dtype=np.int64)
        """Rows waiting for a slot, FCFS order."""
        self._pending = np.empty(0, dtype=np.int64)
        """Rows that arrived this tick and have not yet met the rate limiter and queue limit, in time order."""
        self.committed_t = 0.0
        """This tick's decisions are taken up to here (see `serve`)."""
        self.undecided_from = 0.0
        """The earliest time a request waiting here or pending could still start."""
        self._waited_from: list[float] = []
        self._waited_until: list[float] = []
        """Sorted arrivals and ends of the waits decided by this tick's earlier scans (a
        start or a departure): a later round may decide an arrival before they end (a slot
        it could not see freed earlier), and the queue limit counts them at that arrival."""

    def earliest_start(self) -> float:
        """The earliest time a request waiting here or pending could still start: where
        the last scan stopped, or earlier if a slot was freed since then."""
        if self._slots.freed_from < self.undecided_from and self.has_waiters():
            return self._slots.freed_from
        return self.undecided_from

    def has_waiters(self) -> bool:
        """Whether a request waits for a slot, or arrived this tick and is not yet served."""
        return bool(self._queue.size or self._pending.size)

    @property
    def depth(self) -> int:
        return int(self._queue.size)

    def begin_tick(self, t0: float) -> None:
        """No decision of the tick starting at t0 is taken yet."""
        self.committed_t = t0
        self.undecided_from = t0
        self._waited_from, self._waited_until = [], []

    def arrive(self, rows: np.ndarray) -> None:
        """Arrivals (time order) wait to be reached by the next `serve`, behind the pending ones."""
        if self._pending.size:
            rows = np.concatenate((self._pending, rows))
            rows = rows[np.argsort(self._table.wait_t[rows], kind="stable")]
        self._pending = rows

    def serve(self, t0: float, t1: float) -> float:
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
        or another segment inside the tick, or a pool waiter's acquire deadline: it frees
        its slot when it gives up). The tick steps that work and calls again, so
        every start, refusal and departure holds at its own time, whatever dt. An arrival
        that finds a slot free starts even past the horizon: a slot freed earlier would not
        change that. (One approximation is left: a request waiting for a connection that a
        pool grants only in a later round, because this scan's starts may reach the pool
        first, and that then ends inside the horizon, frees its slot unseen by this scan.)
        """
        table = self._table
        self._slots.freed_from = INF
        queue, pending = self._queue, self._pending
        n_old = queue.size
        cand = np.concatenate((queue, pending)) if pending.size else queue
        n = cand.size
        if n == 0:
            self.undecided_from = INF
            return INF
        limit = self.limit
        limiter = self._limiter
        rate_limited = limiter.rate_rps is not None
        usable = self._slots.usable_slots()
        idle = self._slots.idle_among(usable)
        if idle.size:
            idle = self._slots.spread(idle)
        if n_old == 0 and idle.size >= n:
            # Nobody waits and, for every arrival, a slot free since the tick began: each
            # starts the moment it arrives (the healthy case; the heap would choose the same).
            early = idle[self._slots.free_times(idle) <= t0]
            if early.size >= n:
                self._pending = pending[:0]
                self.committed_t = max(self.committed_t, float(table.wait_t[cand[-1]]))
                self.undecided_from = INF
                rows = cand
                if rate_limited:
                    ok = np.array(limiter.take(table.wait_t[rows].tolist()), dtype=bool)
                    if not ok.all():
                        self._reject_queued(rows[~ok], J_RATELIMIT)
                        rows = rows[ok]
                    if rows.size == 0:
                        return INF
                slots = early[: rows.size]
                table.slot[rows] = slots
                self._slots.occupy(slots, rows)
                self._plans.start(rows, table.wait_t[rows], self._plans.draw(rows))
                return float(table.next_t[rows].min())
        # Ties in free time go to the least busy worker (the order of `idle`).
        free = list(zip(np.maximum(self._slots.free_times(idle), t0).tolist(), range(idle.size), idle.tolist()))
        heapq.heapify(free)
        horizon = t1 if self._pools is None else min(t1, self._pools.earliest_give_up())
        hard = t1
        """No decision at all past here: a client retry may arrive then."""
        last_w = t0
        # Segments of the candidates are drawn ahead in growing chunks. The draw does
        # not depend on where inside the tick the segment starts, so this is the same
        # as drawing when service starts.
        # Waiting times are read in chunks too: the loop usually stops long before the
        # end of a long queue (no slot frees), and the rest is handled in bulk.
        waits: list = []
        deadlines: list = []
        retry_gap: list = []
        """How soon after giving up the candidate's client retries, at the earliest (inf:
        it does not): a new arrival the heap cannot see."""
        retry_gaps = self._retries.retry_gaps
        chunks: list = []
        drawn = 0
        durations: list = []
        releases_slot: list = []
        starts_pos, starts_t, starts_slot, leave_pos, reject_pos, limited_pos = [], [], [], [], [], []
        waiting_until: collections.deque = collections.deque()
        """Start times of candidates started here: each waited until then."""
        left_at: list = []
        """Heap of the deadlines of candidates that left: each waited until then."""
        tokens, last, rate, burst = limiter.tokens, limiter.last_t, limiter.rate_rps, limiter.burst
        stop = n
        waited_from, waited_until = self._waited_from, self._waited_until
        # The loop runs once per candidate: bind what it calls.
        heappop, heappush, popleft = heapq.heappop, heapq.heappush, waiting_until.popleft
        for i in range(n):
            if i >= len(waits):
                part = cand[i: i + max(64, 2 * i, 4 * len(free))]
                waits.extend(table.wait_t[part].tolist())
                deadlines.extend(table.deadline[part].tolist())
                retry_gap.extend(retry_gaps(table.cls[part], table.att[part]).tolist())
            w, dl = waits[i], deadlines[i]
            ft = free[0][0] if free else INF
            start = w if w > ft else ft
            if start >= horizon and (start > w or start >= hard):
                # A slot the heap does not know of yet only matters to an arrival that
                # would wait; one that finds a slot free starts at its own time either way,
                # unless a client retry it cannot see yet may arrive before it.
                stop = i
                break
            last_w = w
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
                    earlier = (bisect.bisect_right(waited_from, w) - bisect.bisect_right(waited_until, w)
                               if waited_from else 0)
                    if len(waiting_until) + len(left_at) + earlier >= limit:
                        reject_pos.append(i)
                        continue
            if start > dl:
                leave_pos.append(i)
                heappush(left_at, dl)
                continue
            s = heappop(free)[2]
            while i >= drawn:
                size = min(n - drawn, max(64, 2 * drawn, 2 * len(free) + 2))
                chunk = self._plans.draw(cand[drawn: drawn + size])
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
            if dl < end and dl + retry_gap[i] < hard:
                # Its client gives up at dl and retries after its backoff: a new arrival
                # the heap cannot see, and no decision is taken from then on.
                hard = dl + retry_gap[i]
                if hard < horizon:
                    horizon = hard
        # Candidates not reached wait past the horizon (no slot frees before it): the
        # departures and refusals due before it are still decided here, at their times.
        proc_end = n
        if stop < n:
            if stop < n_old:
                dl_old = table.deadline[cand[stop:n_old]]
                leave_pos.extend((stop + (dl_old < horizon).nonzero()[0]).tolist())
                still_old = np.sort(dl_old)
            else:
                still_old = np.empty(0)
            p0 = max(stop, n_old)
            w_rest = table.wait_t[cand[p0:]]
            m = int(np.searchsorted(w_rest, horizon, "left"))
            proc_end = p0 + m
            if m and not rate_limited and limit is None:
                dl_new = table.deadline[cand[p0:proc_end]]
                leave_pos.extend((p0 + (dl_new < horizon).nonzero()[0]).tolist())
            elif m:
                dl_new = table.deadline[cand[p0:proc_end]].tolist()
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
                        if waited_from:
                            waiting += bisect.bisect_right(waited_from, w) - bisect.bisect_right(waited_until, w)
                        if n_still:
                            waiting += n_still - int(np.searchsorted(still_old, w, "right"))
                        if waiting >= limit:
                            reject_pos.append(p0 + j)
                            continue
                    dl = dl_new[j]
                    heappush(staying, dl)
                    if dl < horizon:
                        leave_pos.append(p0 + j)
        limiter.tokens, limiter.last_t = tokens, last
        self.committed_t = max(horizon, last_w)
        if limited_pos:
            self._reject_queued(cand[np.array(limited_pos)], J_RATELIMIT)
        if reject_pos:
            self._reject_queued(cand[np.array(reject_pos)], J_QUEUE_FULL)
        if limit is not None and (starts_pos or leave_pos):
            self._remember_waits(cand, starts_pos, starts_t, leave_pos)
        if leave_pos:
            gone = cand[np.sort(np.array(leave_pos))]
            self._outcomes.fail(gone, table.deadline[gone], R_TIMEOUT)
        if starts_pos:
            pos = np.array(starts_pos)
            rows = cand[pos]
            slots = np.array(starts_slot, dtype=np.int64)
            table.slot[rows] = slots
            self._slots.occupy(slots, rows)
            self._plans.start(rows, np.array(starts_t), Segment.join(chunks, drawn), pos)
            earliest = float(table.next_t[rows].min())
        else:
            earliest = INF
        taken = np.zeros(proc_end, dtype=bool)
        for chosen in (starts_pos, leave_pos, reject_pos, limited_pos):
            if chosen:
                taken[np.array(chosen)] = True
        self._queue = cand[:proc_end][~taken]
        self._pending = cand[proc_end:]
        self.undecided_from = horizon if (self._queue.size or self._pending.size) else INF
        return min(earliest, horizon) if horizon < t1 else earliest

    def _remember_waits(self, cand: np.ndarray, starts_pos: list, starts_t: list, leave_pos: list) -> None:
        """Keep the waits this scan decided (arrival to start, or to departure) for the queue
        limit of later rounds in the tick."""
        table = self._table
        arrived, ended = [], []
        if starts_pos:
            rows = cand[np.array(starts_pos)]
            w, s = table.wait_t[rows], np.array(starts_t)
            waited = s > w
            arrived.append(w[waited])
            ended.append(s[waited])
        if leave_pos:
            rows = cand[np.array(leave_pos)]
            arrived.append(table.wait_t[rows])
            ended.append(table.deadline[rows])
        arrived, ended = np.concatenate(arrived), np.concatenate(ended)
        if arrived.size:
            self._waited_from = sorted(self._waited_from + arrived.tolist())
            self._waited_until = sorted(self._waited_until + ended.tolist())

    def _reject_queued(self, rows: np.ndarray, reason: int) -> None:
        """Arrivals refused at the door: they were never admitted."""
        table = self._table
        t, c, a = table.t_arr[rows], table.cls[rows], table.att[rows]
        self._outcomes.reject(np.ones(rows.size, dtype=bool), t, c, a, reason)
        table.release(rows)
