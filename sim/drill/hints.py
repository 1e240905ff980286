"""When a drill's hints fire: timed ones at their time, conditional ones once their condition held.

Hints are judged on gauge samples taken every SAMPLE_EVERY_S of sim time (tick 0,
then every `sample_every_ticks(dt_s)` ticks, and at the drill's last tick), the
cadence the live app samples at. The replay index walks a whole saved run with the
same cadence (`sim.records.replay.Replay.build_index`), so a replay viewer that seeks knows
which hints had fired by then and when, exactly as the player saw them.
"""

from __future__ import annotations

import attrs

from sim.drill.conditions import ConditionTracker, parse_condition
from sim.drill.drill import Hint
from sim.model.observe import Gauges

SAMPLE_EVERY_S = 0.25
"""Sim seconds between gauge samples (smoothing, hint conditions, symptoms)."""


def sample_every_ticks(dt_s: float) -> int:
    """Ticks between gauge samples at step dt_s."""
    return max(1, int(round(SAMPLE_EVERY_S / dt_s)))


@attrs.define
class HintWatch:
    """Follows a drill's hints over the gauge samples of one run."""

    hints: tuple[Hint, ...]
    trackers: dict[int, ConditionTracker] = attrs.Factory(dict)
    fired: dict[int, float] = attrs.Factory(dict)
    """Hint index -> sim time it fired, in firing order."""

    @classmethod
    def for_hints(cls, hints: tuple[Hint, ...]) -> HintWatch:
        trackers = {i: ConditionTracker(parse_condition(h.when)) for i, h in enumerate(hints) if h.when}
        return cls(tuple(hints), trackers)

    def check(self, gauges: Gauges) -> list[int]:
        """Feed one gauge sample; the indexes of the hints that fire on it, in drill order."""
        new = []
        for index, hint in enumerate(self.hints):
            if index in self.fired:
                continue
            if index in self.trackers:
                fired = self.trackers[index].update(gauges)
            else:
                fired = hint.at_s is not None and gauges.t_s >= hint.at_s - 1e-9
            if fired:
                self.fired[index] = gauges.t_s
                new.append(index)
        return new
