"""Connection pools and the queries run on them: FCFS grants, acquire timeouts, bulkheads, resizes."""

from __future__ import annotations

import heapq

import attrs
import numpy as np

from sim.engine.codes import END_CONTINUE, END_FAIL, INF, POOL_WAIT, QUERY, R_DEPENDENCY, RUNNING, R_POOL_TIMEOUT, any_set, count
from sim.engine.dependencies import Dependencies
from sim.engine.events import EventLog
from sim.engine.outcomes import Outcomes
from sim.engine.requests import RequestTable
from sim.model.observe import PoolGauge
from sim.model.spec import DbStep, ModelSpec

POOL_RESIZE_DELAY_S = 2.0
"""A pool resize is a config push plus new connections: it takes effect after this."""


@attrs.define
class Pool:
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


class Pools:
    """The model's pools plus one dormant bulkhead per (class, pool it uses); the rows waiting on them."""

    def __init__(self, model: ModelSpec, table: RequestTable, deps: Dependencies, outcomes: Outcomes,
                 events: EventLog):
        self._table = table
        self._deps = deps
        self._outcomes = outcomes
        self._events = events
        self._class_names = tuple(c.name for c in model.classes)
        self.slot_queue = None
        """The slot queue (the simulation sets it; an object, not a bound method, so a
        checkpoint pickles): while a request waits for a worker slot, any segment end may
        free a slot that starts it, and it may come to a pool."""
        self._pools: list[Pool] = []
        self._pool_index: dict[str, int] = {}
        for p in model.pools:
            self._add_pool(Pool(p.name, deps.index(p.database), p.size, p.acquire_timeout_s))
        self._bulkhead_of: dict[tuple[int, int], int] = {}
        for ci, cls in enumerate(model.classes):
            for st in cls.plan:
                if isinstance(st, DbStep) and (ci, self._pool_index[st.pool]) not in self._bulkhead_of:
                    shared = self._pools[self._pool_index[st.pool]]
                    idx = self._add_pool(
                        Pool(f"{shared.name}/{cls.name}", shared.database, 0, shared.acquire_timeout_s, bulkhead_class=ci)
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
        self._last_db_step = np.array(
            [max((si for si, st in enumerate(c.plan) if isinstance(st, DbStep)), default=-1) for c in model.classes],
            dtype=np.int64)
        """By class: the last db step of its plan (-1: none); a request past it never waits for a connection again."""
        self._pool_route = np.tile(np.arange(len(self._pools), dtype=np.int64), (len(model.classes), 1))
        """[class, shared pool] -> the pool its db steps use (a bulkhead once one is active)."""
        self._pool_wait_possible = False
        """False only when no request waits for a connection (lets a round skip the pools)."""
        self._held_back = False
        """Whether the last `serve` held grants back for requests not yet started."""
        self._delayed: list[tuple[float, int, str, tuple]] = []
        self._delayed_seq = 0

    def _add_pool(self, pool: Pool) -> int:
        pool.free_times = [-INF] * pool.size
        self._pools.append(pool)
        self._pool_index[pool.name] = len(self._pools) - 1
        return len(self._pools) - 1

    # -- names and sizes, for the operator's actions ---------------------------------------------

    def __len__(self) -> int:
        return len(self._pools)

    def shared_index(self, name: str) -> int | None:
        """The index of a shared (not bulkhead) pool called `name` (None: no such pool)."""
        pi = self._pool_index.get(name)
        return pi if pi is not None and self._pools[pi].bulkhead_class < 0 else None

    def shared_names(self) -> list[str]:
        return [p.name for p in self._pools if p.bulkhead_class < 0]

    def bulkhead_of(self, ci: int, shared: int) -> int | None:
        """The bulkhead pool of class ci carved from pool `shared` (None: ci does not use it)."""
        return self._bulkhead_of.get((ci, shared))

    def pool(self, pi: int) -> Pool:
        """Pool pi (read it; resize it with `resize`)."""
        return self._pools[pi]

    def connections_on(self, di: int, changing: int, new_size: int) -> int:
        """Connections database di would be asked for if pool `changing` had new_size."""
        total = 0
        for i, p in enumerate(self._pools):
            if p.database == di:
                size = p.target_size or p.size
                total += new_size if i == changing else size
        return total

    def resize(self, pi: int, size: int, t0: float) -> float:
        """Pool pi becomes `size` connections POOL_RESIZE_DELAY_S from t0; returns that delay."""
        self._pools[pi].target_size = size
        self._schedule(t0 + POOL_RESIZE_DELAY_S, "pool_size", (pi, size))
        return POOL_RESIZE_DELAY_S

    def route_bulkhead(self, ci: int, shared: int, bulkhead: int | None, t0: float) -> None:
        """From POOL_RESIZE_DELAY_S after t0, class ci's db steps on `shared` use `bulkhead` (None: shared)."""
        self._schedule(t0 + POOL_RESIZE_DELAY_S, "bulkhead_route", (ci, shared, bulkhead))

    def _schedule(self, t: float, kind: str, payload: tuple) -> None:
        self._delayed_seq += 1
        heapq.heappush(self._delayed, (t, self._delayed_seq, kind, payload))

    def run_delayed(self, t0: float) -> None:
        """Resizes and bulkhead routes due by t0 take hold."""
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
                self._events.add(t0, "action_applied", f"pool {pool.name} is now {size} connections", pool.name)
            elif kind == "bulkhead_route":
                ci, shared, bi = payload
                self._pool_route[ci, shared] = shared if bi is None else bi

    # -- waiting, grants and queries ---------------------------------------------------------

    def to_pool(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Rows reach a db step: they queue for a connection of the step's pool."""
        table = self._table
        cls, steps = table.cls[rows], table.stepi[rows]
        table.pool[rows] = self._pool_route[cls, self._step_pool[cls, steps]]
        table.qleft[rows] = self._step_queries[cls, steps]
        table.phase[rows] = POOL_WAIT
        self._pool_wait_possible = True
        table.wait_t[rows] = t
        table.next_t[rows] = INF

    def waiters(self, pi: int) -> int:
        """Rows waiting for a connection of pool pi."""
        table = self._table
        hw = table.hw
        return count((table.phase[:hw] == POOL_WAIT) & (table.pool[:hw] == pi))

    def serve(self, t0: float, t1: float, arrivals_from: float = INF) -> bool:
        """Grant free connections FCFS; a waiter past its acquire timeout gives up.

        A pool decides only before its horizon: the earliest transition still to be
        stepped in this tick (it may bring a waiter or return a connection), the earliest
        return of a connection granted here, and `arrivals_from`, the earliest time a
        request not yet started (queued for a slot, or a client retry on its way) could
        start and so come to a pool ahead of a waiter. Later grants and timeouts wait for
        the next round, so each holds at its own time, whatever dt.
        """
        self._held_back = False
        if not self._pool_wait_possible:
            return False
        table = self._table
        hw = table.hw
        waiting = (table.phase[:hw] == POOL_WAIT).nonzero()[0]
        if waiting.size == 0:
            self._pool_wait_possible = False
            return False
        # A waiter there before such a request keeps its turn: a grant at arrivals_from
        # itself is still decided here.
        horizon = self._next_pool_event(t1)
        not_started = float(np.nextafter(arrivals_from, INF))
        if not_started < horizon:
            horizon = not_started
            self._held_back = True
        # A waiter that gives up frees its slot and may retry at once: either can bring a
        # request to a pool ahead of a later grant, so nothing past the first give-up is decided.
        give_up = float(np.nextafter(self.earliest_give_up(), INF))
        if give_up < horizon:
            horizon = give_up
            self._held_back = True
        granted_any = False
        wp = table.pool[waiting]
        lo, hi = int(wp.min()), int(wp.max())
        for pi in ([lo] if lo == hi else present(wp, lo)):
            pool = self._pools[pi]
            rows = waiting[wp == pi]
            patience = INF if pool.acquire_timeout_s is None else pool.acquire_timeout_s
            free = sorted(pool.free_times)
            if not free and (patience == INF or float(table.wait_t[rows].min()) + patience >= horizon):
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
                deadline = table.wait_t[rows] + patience
                gone = (~taken & (deadline < pool_horizon)).nonzero()[0]
                if gone.size:
                    # In queue order, like the grants (their retries draw jitter in this order).
                    gone = gone[np.argsort(deadline[gone], kind="stable")]
                    self._outcomes.finish(rows[gone], deadline[gone], ok=False, reasons=np.full(gone.size, R_POOL_TIMEOUT))
        return granted_any

    def _next_pool_event(self, t1: float) -> float:
        """The earliest transition before t1 that may bring a waiter to a pool or a
        connection back (t1 if none): a query's end, or the end of a segment of a
        request with a db step still ahead, or, while requests wait for a worker slot,
        any segment's end (the slot it frees starts a waiter that may need a pool).
        Other transitions cannot change a grant."""
        table = self._table
        due = (table.next_t[: table.hw] < t1).nonzero()[0]
        if due.size == 0:
            return t1
        phase = table.phase[due]
        if self.slot_queue is not None and self.slot_queue.has_waiters():
            relevant = (phase == QUERY) | (phase == RUNNING)
        else:
            relevant = (phase == QUERY) | ((phase == RUNNING) & (table.stepi[due] <= self._last_db_step[table.cls[due]]))
        return float(table.next_t[due[relevant]].min()) if any_set(relevant) else t1

    def earliest_give_up(self) -> float:
        """The earliest acquire deadline of a waiter (inf if none): a waiter that gives up
        then frees its worker slot, which the slot queue cannot see coming otherwise."""
        if not self._pool_wait_possible:
            return INF
        table = self._table
        waiting = (table.phase[: table.hw] == POOL_WAIT).nonzero()[0]
        if waiting.size == 0:
            return INF
        patience = np.array([INF if p.acquire_timeout_s is None else p.acquire_timeout_s for p in self._pools])
        return float((table.wait_t[waiting] + patience[table.pool[waiting]]).min())

    def earliest_grant(self) -> float:
        """The earliest time a connection not yet decided could be granted (inf if none):
        the tick goes on while one is due before it ends."""
        if not (self._pool_wait_possible and self._held_back):
            # Every grant due before the horizon the tick's transitions set was decided.
            return INF
        table = self._table
        hw = table.hw
        phase, pool_of = table.phase[:hw], table.pool[:hw]
        waiting = (phase == POOL_WAIT).nonzero()[0]
        if waiting.size == 0:
            return INF
        querying = (phase == QUERY).nonzero()[0]
        earliest = INF
        wp = pool_of[waiting]
        for pi in present(wp, int(wp.min())):
            pool = self._pools[pi]
            if pool.free_times:
                conn = min(pool.free_times)
            else:
                back = table.next_t[querying[pool_of[querying] == pi]]
                conn = float(back.min()) if back.size else INF
            earliest = min(earliest, max(conn, float(table.wait_t[waiting[wp == pi]].min())))
        return earliest

    def _fcfs_grants(self, rows: np.ndarray, free: list, patience: float, t0: float, t1: float) -> tuple[list, list]:
        """Hand the free connections (sorted times) to waiting `rows` in FCFS order.

        Returns the positions in `rows` served, in grant order, and their start times.
        Waiters past their acquire timeout are passed over. Only the head of a long
        queue can be served, so it is found with a partition and sorted alone; the
        whole queue is sorted only when passed-over waiters use up that head.
        """
        wait_all = self._table.wait_t[rows]
        head_size = 2 * len(free) + 32
        if rows.size > 2 * head_size:
            kth = np.partition(wait_all, head_size)[head_size]
            # Every tie with the k-th wait joins the head, so the stable order is exact.
            head = (wait_all <= kth).nonzero()[0]
            order = head[np.argsort(wait_all[head], kind="stable")]
        else:
            order = np.argsort(wait_all, kind="stable")
        take, start, complete = scan_grants(wait_all, order, free, patience, t0, t1)
        if not complete and order.size < rows.size:
            # The head ran out (timed-out waiters passed over): serve from the whole queue.
            take, start, _ = scan_grants(wait_all, np.argsort(wait_all, kind="stable"), free, patience, t0, t1)
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
        table = self._table
        pool = self._pools[pi]
        di = pool.database
        dep = self._deps.spec(di)
        active = sum(p.in_use for p in self._pools if p.database == di) + rows.size
        # A database slows once active queries pass its knee, so a bigger pool is not free.
        contention = max(1.0, active / dep.knee) ** dep.contention if dep.knee > 0 else 1.0
        timeout = self._deps.effective_timeout(di, None)
        if others_waiting:
            lat, err = self._deps.call_latency(di, rows.size, float(start[0]), timeout)
            total = lat * contention
            n_q = np.ones(rows.size, dtype=np.int64)
            queries = None
        else:
            total, err, n_q, queries = self._query_run(di, table.qleft[rows], float(start[0]), timeout)
            total *= contention
        back = start + total
        kept = rows.size
        if kept > 1:
            first_back = np.minimum.accumulate(back)
            late = start[1:] >= first_back[:-1]
            if dep.knee <= 0 or active <= dep.knee:
                # Below the knee every query of the batch runs at full speed whatever the
                # overlap, and a grant made the moment its waiter came is not moved by a
                # connection coming back sooner: only a grant that waited is.
                late &= start[1:] > table.wait_t[rows[1:]]
            late = late.nonzero()[0]
            if late.size:
                kept = int(late[0]) + 1
                rows, back, err, n_q = rows[:kept], back[:kept], err[:kept], n_q[:kept]
        # The database's gauge counts the queries of the grants made (times approximate within a run).
        if queries is None:
            self._deps.record_calls(di, start[:kept], back - start[:kept], err)
        else:
            q_lat, q_err, owner = queries
            made = owner < kept
            self._deps.record_calls(di, start[owner[made]], q_lat[made] * contention, q_err[made])
        pool.in_use += kept
        table.qleft[rows] -= n_q
        table.phase[rows] = QUERY
        table.next_t[rows] = back
        table.end_kind[rows] = np.where(err, END_FAIL, END_CONTINUE)
        return kept, float(back.min())

    def _query_run(self, di: int, n_q: np.ndarray, t: float, timeout: float | None):
        """Rows run n_q queries back to back on one connection, stopping at the first error.

        All queries are drawn in one pass (row by row); returns each row's total
        latency, whether it ended on an error, how many queries it ran, and the queries
        that ran (latency, error, row) for the database's gauge.
        """
        lat, e = self._deps.call_latency(di, int(n_q.sum()), t, timeout)
        if (n_q == 1).all():
            return lat, e, n_q.copy(), (lat.copy(), e, np.arange(n_q.size))  # the caller scales lat in place
        owner = np.repeat(np.arange(n_q.size), n_q)
        pos = np.arange(lat.size) - np.repeat(np.cumsum(n_q) - n_q, n_q)
        first_err = n_q.copy()
        if any_set(e):
            np.minimum.at(first_err, owner[e], pos[e])
        ran = pos <= first_err[owner]
        total = np.bincount(owner, weights=np.where(ran, lat, 0.0), minlength=n_q.size)
        err = first_err < n_q
        return total, err, np.where(err, first_err + 1, n_q), (lat[ran], e[ran], owner[ran])

    def end_queries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Queries end: connections go back, failures end their request, the rest query again.

        Returns the rows whose db step is done, and when (they go on with their plan).
        """
        table = self._table
        t = table.next_t[rows]
        pools = table.pool[rows]
        lo, hi = int(pools.min()), int(pools.max())
        for pi in ([lo] if lo == hi else present(pools, lo)):
            sel = pools == pi
            pool = self._pools[pi]
            n = count(sel)
            pool.in_use -= n
            # A shrinking pool closes connections as they come back.
            keep = max(0, min(n, pool.size - pool.in_use - len(pool.free_times)))
            pool.free_times.extend(sorted(t[sel].tolist())[:keep])
        failed = table.end_kind[rows] == END_FAIL
        if any_set(failed):
            fr = rows[failed]
            self._outcomes.finish(fr, t[failed], ok=False, reasons=np.full(fr.size, R_DEPENDENCY))
        ok_rows, ok_t = rows[~failed], t[~failed]
        again = table.qleft[ok_rows] > 0
        if any_set(again):
            table.phase[ok_rows[again]] = POOL_WAIT
            self._pool_wait_possible = True
            table.wait_t[ok_rows[again]] = ok_t[again]
            table.next_t[ok_rows[again]] = INF
        nxt = ok_rows[~again]
        if nxt.size:
            # The db step is done: what follows starts at the last query's end.
            table.stepi[nxt] += 1
        return nxt, ok_t[~again]

    def give_back(self, rows: np.ndarray, t: float) -> None:
        """Rows dropped mid-query (their worker died) return their connections at t."""
        holding = rows[self._table.phase[rows] == QUERY]
        for pi in self._table.pool[holding].tolist():
            self._pools[pi].in_use -= 1
            self._pools[pi].free_times.append(t)

    # -- gauges and history -----------------------------------------------------------------

    def gauges(self) -> tuple[PoolGauge, ...]:
        return tuple(
            PoolGauge(p.name, self._deps.spec(p.database).name, p.in_use, p.size, p.target_size or p.size,
                      int(self.waiters(i)))
            for i, p in enumerate(self._pools)
            if p.bulkhead_class < 0 or p.size > 0 or p.in_use > 0 or p.target_size > 0
        )

    def queries_in_progress(self) -> dict[int, int]:
        """Database index -> connections in use across its pools (each holds a query running)."""
        held: dict[int, int] = {}
        for p in self._pools:
            held[p.database] = held.get(p.database, 0) + p.in_use
        return held

    def history_columns(self) -> tuple:
        """(pool_in_use, pool_size, pool_waiters) now."""
        table = self._table
        hw = table.hw
        waiting = table.phase[:hw] == POOL_WAIT
        return ([p.in_use for p in self._pools], [p.size for p in self._pools],
                np.bincount(table.pool[:hw][waiting], minlength=len(self._pools)))


def scan_grants(wait_all: np.ndarray, order: np.ndarray, free: list, patience: float, t0: float, t1: float):
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


def present(indices: np.ndarray, lo: int) -> list[int]:
    """The distinct values of small non-negative `indices` (>= lo), ascending: a count per
    value is far cheaper than sorting thousands of waiters."""
    return (np.flatnonzero(np.bincount(indices - lo)) + lo).tolist()
