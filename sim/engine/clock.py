"""The run's clock, shared by every component that needs the time of the current tick."""

from __future__ import annotations


class Clock:
    """Whole ticks of `dt_s`: sim time is `tick * dt_s`, never a running sum."""

    def __init__(self, dt_s: float):
        self.dt_s = float(dt_s)
        self.tick = 0

    @property
    def t_s(self) -> float:
        """The start of the current tick."""
        return self.tick * self.dt_s
