"""Fixed-size ring buffers for per-tick metrics: memory does not grow with run length."""

from __future__ import annotations

import numpy as np


class History:
    """Named per-tick series kept in ring buffers of `capacity` ticks.

    `series(name)` returns the held ticks oldest first. Rows are written once per
    tick by the engine through `begin_row()`.
    """

    def __init__(
        self,
        capacity: int,
        shapes: dict[str, tuple[int, ...]],
        dtypes: dict[str, type] | None = None,
        scalars: tuple[str, ...] = (),
    ):
        self.capacity = int(capacity)
        dtypes = dtypes or {}
        self._buffers = {
            name: np.zeros((self.capacity, *shape), dtype=dtypes.get(name, np.float64))
            for name, shape in shapes.items()
        }
        # Scalar series share one table so a tick writes them as a single row.
        self.scalars = np.zeros((self.capacity, len(scalars)))
        self._column = {name: i for i, name in enumerate(scalars)}
        self.written = 0
        """Ticks ever written (the next row's absolute index)."""

    @property
    def names(self) -> tuple[str, ...]:
        return (*self._column, *self._buffers)

    @property
    def length(self) -> int:
        return min(self.written, self.capacity)

    def begin_row(self) -> int:
        """Claim the next row; returns its position in the ring (zeroed)."""
        pos = self.written % self.capacity
        for buffer in self._buffers.values():
            buffer[pos] = 0
        self.scalars[pos] = 0
        self.written += 1
        return pos

    def buffer(self, name: str) -> np.ndarray:
        """The raw ring for in-place writes by the engine."""
        if name in self._column:
            return self.scalars[:, self._column[name]]
        return self._buffers[name]

    def series(self, name: str, last: int | None = None) -> np.ndarray:
        """A copy of the held ticks of one series, oldest first (only the `last` n if given)."""
        buffer = self.buffer(name)
        n = self.length if last is None else max(0, min(int(last), self.length))
        idx = np.arange(self.written - n, self.written) % self.capacity
        if self.written <= self.capacity:
            return buffer[self.written - n: self.written].copy()
        return buffer[idx]

    def truncate(self, written: int) -> None:
        """Forget ticks after `written` (used when restoring a checkpoint)."""
        self.written = int(written)
