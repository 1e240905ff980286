"""The request table: one row per in-flight request, as struct-of-arrays.

Rows are reused through a free list; the arrays grow by doubling. The columns
are the table's public face (every component reads the rows it works on), but
only the table allocates and frees rows, and the arrays are replaced when they
grow: read them through the table each time, never keep one.
"""

from __future__ import annotations

import numpy as np

from sim.engine.codes import FREE, INF

COLUMNS = {
    "phase": np.int8, "cls": np.int64, "att": np.int64, "t_arr": np.float64, "deadline": np.float64,
    "next_t": np.float64, "wait_t": np.float64, "slot": np.int64, "stepi": np.int64,
    "qleft": np.int64, "pool": np.int64, "reported": bool, "degraded": bool, "end_kind": np.int8,
    "fail_reason": np.int8, "stream_mb": np.float64, "seg_start": np.float64,
}
"""Column -> dtype. phase: FREE..QUERY; cls, att: class and attempt (0: fresh); t_arr,
deadline: arrival and client deadline; next_t: the next transition (inf: none due);
wait_t: since when it waits (queue or pool); slot: the worker slot held (-1: none);
stepi: plan step; qleft: queries left in a db step; pool: the pool waited on or held;
reported: the client already knows the outcome; end_kind, fail_reason: what the running
segment ends in; stream_mb: memory a stream holds; seg_start: when the segment began."""


class RequestTable:
    """Struct-of-arrays rows of in-flight requests (see COLUMNS)."""

    phase: np.ndarray
    cls: np.ndarray
    att: np.ndarray
    t_arr: np.ndarray
    deadline: np.ndarray
    next_t: np.ndarray
    wait_t: np.ndarray
    slot: np.ndarray
    stepi: np.ndarray
    qleft: np.ndarray
    pool: np.ndarray
    reported: np.ndarray
    degraded: np.ndarray
    end_kind: np.ndarray
    fail_reason: np.ndarray
    stream_mb: np.ndarray
    seg_start: np.ndarray

    def __init__(self, capacity: int = 1024):
        self._cap = 0
        self.hw = 0
        """High-water mark: rows >= hw have never been used."""
        self._alloc(capacity)
        self._free_rows: list[int] = list(range(capacity - 1, -1, -1))

    def _alloc(self, cap: int) -> None:
        old = self._cap
        for name, dtype in COLUMNS.items():
            new = np.zeros(cap, dtype=dtype)
            if old:
                new[:old] = getattr(self, name)
            setattr(self, name, new)
        self._cap = cap

    def new_rows(self, n: int) -> np.ndarray:
        """n free rows (lowest first), growing the table if needed."""
        while len(self._free_rows) < n:
            old = self._cap
            self._alloc(old * 2)
            self._free_rows[:0] = range(self._cap - 1, old - 1, -1)
        rows = np.array(self._free_rows[-n:][::-1], dtype=np.int64) if n else np.empty(0, dtype=np.int64)
        del self._free_rows[len(self._free_rows) - n:]
        if n:
            self.hw = max(self.hw, int(rows.max()) + 1)
        return rows

    def release(self, rows: np.ndarray) -> None:
        """The requests are gone: their rows are free for reuse."""
        if rows.size:
            self.phase[rows] = FREE
            self.next_t[rows] = INF
            self.slot[rows] = -1
            self.stream_mb[rows] = 0.0
            self._free_rows.extend(rows.tolist())

    def in_flight(self) -> int:
        """Rows in use whose client has no outcome yet (counted, not derived from counters)."""
        hw = self.hw
        return np.count_nonzero((self.phase[:hw] != FREE) & ~self.reported[:hw])

    def next_transition(self) -> float:
        """The earliest transition still due of any row (inf if none: free, queued and
        waiting rows have none)."""
        hw = self.hw
        return float(self.next_t[:hw].min()) if hw else INF
