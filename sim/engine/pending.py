"""Operator actions on their way: accepted now, taking hold when their delay is over."""

from __future__ import annotations

import heapq

from sim.model.spec import Action


class PendingActions:
    """A heap of (due time, sequence, action); the sequence keeps equal times in the order sent.

    Plain data only (no callbacks), so a fork or a checkpoint copies it faithfully.
    """

    def __init__(self):
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = 0

    def add(self, due_s: float, action: Action) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due_s, self._seq, action))

    def due(self, t0: float) -> list[Action]:
        """The actions due at or before t0, in order; they leave the heap."""
        out = []
        while self._heap and self._heap[0][0] <= t0 + 1e-9:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def waiting(self) -> tuple[tuple[float, Action], ...]:
        """(due time, action) of every action still on its way, soonest first."""
        return tuple((t, a) for t, _, a in sorted(self._heap))

    def waiting_for(self, name: str) -> bool:
        """Whether an action called `name` is on its way."""
        return any(a.name == name for _, _, a in self._heap)
