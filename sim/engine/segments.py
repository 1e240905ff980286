"""Plans and segments: the stretch of a request's plan that needs nothing shared but its slot.

A segment (cpu, cache lookup, calls, a stream) is drawn in one go when it starts,
so a request makes a handful of transitions however long its plan is.
"""

from __future__ import annotations

import attrs
import numpy as np

from sim.engine.caches import Caches
from sim.engine.codes import END_CONTINUE, END_FAIL, RUNNING, any_set, count
from sim.engine.dependencies import Dependencies
from sim.engine.flags import Flags
from sim.engine.requests import RequestTable
from sim.engine.workers import Workers
from sim.model.distributions import sample
from sim.model.spec import CacheStep, CallStep, CpuStep, DbStep, ModelSpec, StreamStep


@attrs.define
class Segment:
    """Draws for the next segment of a batch of requests (see `Plans.draw`)."""

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
    def join(cls, chunks: list, n: int) -> Segment:
        """One segment draw from chunks [(offset, Segment)] drawn for consecutive rows."""
        if len(chunks) == 1:
            return chunks[0][1]
        parts = [c for _, c in chunks]
        outs = [(positions + offset, *rest) for offset, c in chunks for positions, *rest in c.outs]
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts])
                     for f in attrs.fields(cls) if f.name != "outs"), outs=outs)


class Plans:
    """Each class's plan; draws and starts segments of it."""

    def __init__(self, model: ModelSpec, table: RequestTable, deps: Dependencies, caches: Caches,
                 workers: Workers, rng_service: np.random.Generator, flags: Flags):
        self._classes = model.classes
        self._table = table
        self._deps = deps
        self._caches = caches
        self._workers = workers
        self._rng_service = rng_service
        self._flags = flags
        # What a coalesced miss waits for: the fetch after its cache step (the next query or call).
        self._fill = {}
        databases = {p.name: p.database for p in model.pools}
        latency = {d.name: d.latency for d in model.dependencies}
        for ci, cls in enumerate(model.classes):
            for si, st in enumerate(cls.plan):
                if isinstance(st, CacheStep):
                    nxt = next((x for x in cls.plan[si + 1:] if isinstance(x, (DbStep, CallStep))), None)
                    if isinstance(nxt, DbStep) and nxt.pool in databases:
                        self._fill[ci, si] = (latency[databases[nxt.pool]], nxt.queries)
                    elif isinstance(nxt, CallStep):
                        self._fill[ci, si] = (latency[nxt.dependency], 1)
        n_cls = len(model.classes)
        self._plan_len = np.array([len(c.plan) for c in model.classes], dtype=np.int64)
        longest = int(self._plan_len.max()) if n_cls else 0
        self._is_db_step = np.zeros((n_cls, longest + 1), dtype=bool)
        for ci, cls in enumerate(model.classes):
            for si, st in enumerate(cls.plan):
                self._is_db_step[ci, si] = isinstance(st, DbStep)

    def done(self, rows: np.ndarray) -> np.ndarray:
        """Which rows have no step left."""
        table = self._table
        return table.stepi[rows] >= self._plan_len[table.cls[rows]]

    def at_db_step(self, cls: np.ndarray, steps: np.ndarray) -> np.ndarray:
        return self._is_db_step[cls, steps]

    def draw(self, rows: np.ndarray) -> Segment:
        """Draw the next plan segment of each row, starting at its current step.

        Pure: nothing about the service changes until `start` applies the drawn
        segments of the rows that actually start. The draw holds, per row: duration,
        ends_plan, end_kind, next_step, fail reason, degraded, stream_mb, cache misses
        (n, caches), and outs: breaker observations (row positions, start offsets,
        end offsets, dependency, ok, probe).
        """
        table = self._table
        n = rows.size
        seg = Segment(
            dur=np.zeros(n),
            ends_plan=np.zeros(n, dtype=bool),
            end_kind=np.full(n, END_CONTINUE, dtype=np.int8),
            next_step=table.stepi[rows].copy(),
            reason=np.full(n, -1, dtype=np.int8),
            degraded=table.degraded[rows].copy(),
            stream_mb=np.zeros(n),
            cache_miss=np.zeros((n, max(1, len(self._caches))), dtype=np.int64),
            outs=[],
        )
        key = table.cls[rows] * 64 + seg.next_step
        lo, hi = int(key.min()), int(key.max())
        if lo == hi:
            self._draw_group(*divmod(lo, 64), np.arange(n), seg)
            return seg
        for k in (np.flatnonzero(np.bincount(key - lo)) + lo).tolist():
            ci, si = divmod(k, 64)
            self._draw_group(ci, si, (key == k).nonzero()[0], seg)
        return seg

    def _draw_group(self, ci: int, si: int, live: np.ndarray, seg: Segment) -> None:
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
                seg.dur[live] += sample(st.duration, self._rng_service, live.size) * self._workers.gc_factor
            elif isinstance(st, CacheStep):
                c = self._caches.index(st.cache)
                hit = self._rng_service.random(live.size) < self._caches.hit_ratio(c)
                if not any_set(~hit) or not (self._caches.coalescing(c) or self._caches.serving_stale(c)):
                    seg.cache_miss[live[~hit], c] += 1
                    done = live[hit]
                    seg.next_step[done] = len(plan)
                    seg.ends_plan[done] = True
                    live = live[~hit]
                else:
                    live = self._answer_misses(ci, j, c, live, hit, seg, len(plan))
            elif isinstance(st, CallStep):
                if st.feature and self._flags.is_off(st.feature):
                    # The feature is turned off: no call, a lesser answer.
                    seg.degraded[live] = True
                    j += 1
                    continue
                failed, why = self._deps.draw_calls(st, live, seg)
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

    def _answer_misses(self, ci: int, si: int, c: int, live: np.ndarray, hit: np.ndarray, seg: Segment,
                       plan_len: int) -> np.ndarray:
        """Cache misses under serve-stale and coalescing; returns the rows that still fetch.

        A stale copy answers at once (degraded). A duplicate miss waits for the fetch already
        under way (one draw of the fetch's normal latency: the leader's own wait for a
        connection is not modelled) and does not refill the cache: only the fetch does.
        """
        spec = self._caches.spec(c)
        miss = live[~hit]
        u = self._rng_service.random(miss.size)
        stale = (u < spec.stale_ratio) if self._caches.serving_stale(c) else np.zeros(miss.size, dtype=bool)
        rest = 1.0 - spec.stale_ratio if self._caches.serving_stale(c) else 1.0
        low = spec.stale_ratio if self._caches.serving_stale(c) else 0.0
        coalesced = ~stale & (u < low + rest * spec.duplicate_misses) if self._caches.coalescing(c) \
            else np.zeros(miss.size, dtype=bool)
        fill = self._fill.get((ci, si))
        if fill is not None and any_set(coalesced):
            dist, queries = fill
            waiters = miss[coalesced]
            seg.dur[waiters] += sum(sample(dist, self._rng_service, waiters.size) for _ in range(queries))
        seg.degraded[miss[stale]] = True
        fetch = miss[~stale & ~coalesced]
        seg.cache_miss[fetch, c] += 1
        done = np.concatenate([live[hit], miss[stale | coalesced]])
        seg.next_step[done] = plan_len
        seg.ends_plan[done] = True
        return fetch

    def start(self, rows: np.ndarray, start_t: np.ndarray, seg: Segment, pos: np.ndarray | None = None) -> None:
        """Rows begin the segments drawn for them (positions `pos` of the draw, sorted)."""
        table = self._table
        take = (lambda a: a) if pos is None else (lambda a: a[pos])
        table.phase[rows] = RUNNING
        table.seg_start[rows] = start_t
        table.next_t[rows] = start_t + take(seg.dur)
        table.end_kind[rows] = take(seg.end_kind)
        table.stepi[rows] = take(seg.next_step)
        table.fail_reason[rows] = take(seg.reason)
        table.degraded[rows] = take(seg.degraded)
        table.stream_mb[rows] = take(seg.stream_mb)
        n_caches = len(self._caches)
        if n_caches:
            self._caches.add_misses(take(seg.cache_miss).sum(axis=0)[:n_caches])
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
                if not any_set(keep):
                    continue
                positions, begin, end, good, probe = positions[keep], begin[keep], end[keep], good[keep], probe[keep]
                base = start_t[at[keep]]
            ts.append(base + end)
            ss.append(base + begin)
            ds.append(np.full(positions.size, di, dtype=np.int64))
            oks.append(good)
            probes.append(probe)
            used = count(probe)
            if used:
                self._deps.spend_probes(di, used)
        if ts:
            self._deps.observe(ts, ss, ds, oks, probes)
