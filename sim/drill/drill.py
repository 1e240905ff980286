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
    window_s: float = attrs.field(default=30 * 86400.0, validator=v.gt(0))
    """The period the target holds over (30 days unless the drill says otherwise): the drill is
    one incident inside it, and its error budget is the month's (see `sim.scoring.score`)."""


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
    """When the incident begins (the first fault): the traffic before it stands in for the month's."""
    debrief: str = ""
    """The lesson shown after a run: what a seasoned on-call engineer does in this incident, and why."""
    degraded_costs: tuple[tuple[str, float], ...] = ()
    """(dependency, bad events one degraded answer costs) for dependencies whose fallback the drill
    prices; the others cost `sim.scoring.score.DEFAULT_DEGRADED_COST`."""
    wrong_move: tuple[Action, ...] = ()
    """A plausible wrong response (`brownout drills check` plays it; it must not grade above C)."""
    wrong_move_text: str = ""
    """What the wrong move is, in a few words."""
    service_name: str = ""
    """What the service is in a few neutral words ("checkout API"): a blind incident's name uses it."""
    service_description: str = ""
    """The service and its normal afternoon, without the cause: the briefing of a blind incident
    (`briefing` stays the normal mode's, and may name what to watch)."""
    source_path: str | None = None
    source_sha256: str | None = None

    @property
    def dt_s(self) -> float:
        return self.model.dt_s
