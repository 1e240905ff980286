"""The bounded log of what happened: faults, breakers, workers, actions."""

from __future__ import annotations

import collections

from sim.model.observe import Event

EVENT_LOG_SIZE = 500


class EventLog:
    """The last EVENT_LOG_SIZE events, and how many were ever logged."""

    def __init__(self):
        self.recent: collections.deque[Event] = collections.deque(maxlen=EVENT_LOG_SIZE)
        self.total = 0

    def add(self, t: float, kind: str, message: str, subject: str = "") -> None:
        """Log one event at sim time t."""
        self.recent.append(Event(t_s=t, kind=kind, message=message, subject=subject))
        self.total += 1
