"""A drill: the incident story, its model, its SLOs, the par solution and hints.

Values only. `sim.drill.loader.load_drill` builds a `Drill` from a TOML file,
drawing any seeded ranges with the run's seed.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from sim.model.spec import Action, ModelSpec


@attrs.frozen
class SLOSpec:
    """A good-events / valid-events objective.

    kind "availability": good = successful requests; rejected, shed and failed are bad.
    kind "latency": good = successful requests answered within threshold_s.
    events "fresh" counts first attempts only, "attempts" counts retries too.
    classes restricts the SLI to some traffic classes (empty = all).
    """

    name: str
    kind: str = attrs.field(validator=v.in_({"availability", "latency"}))
    target: float = attrs.field(validator=[v.gt(0), v.lt(1)])
    threshold_s: float | None = None
    classes: tuple[str, ...] = ()
    events: str = attrs.field(default="fresh", validator=v.in_({"fresh", "attempts"}))


@attrs.frozen
class Hint:
    """Advice shown at a time (at_s) or when a condition on the gauges holds (when)."""

    text: str
    at_s: float | None = None
    when: str | None = None


@attrs.frozen
class Drill:
    """One playable incident. `model` is what the engine simulates."""

    id: str
    title: str
    difficulty: int
    briefing: str
    duration_s: float
    seed: int
    model: ModelSpec
    slos: tuple[SLOSpec, ...] = ()
    par: tuple[Action, ...] = ()
    hints: tuple[Hint, ...] = ()
    incident_start_s: float = 0.0
    """When the incident begins (the first fault), for time-to-mitigate."""
    source_path: str | None = None
    source_sha256: str | None = None

    @property
    def dt_s(self) -> float:
        return self.model.dt_s
