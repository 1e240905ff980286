"""Blind incidents: a drill under a neutral name and briefing, on a fresh seed.

A title like "Pool exhaustion" gives the diagnosis away before the incident
starts. A blind incident shows "Incident 4821: product search API, Tuesday 14:02"
and a briefing about the service and its normal afternoon instead (the drill's
`service_name` and `service_description`, or words drawn from its model when a
user drill has none). The debrief reveals the drill.

Pure functions over a `random.Random` the caller gives: the app and the CLI pass
one seeded from the system, tests a fixed one.
"""

from __future__ import annotations

import random

import attrs

from sim.drill.drill import Drill

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
AFTERNOON_HOURS = (13, 17)
"""A normal working afternoon: the incident "starts" between 13:00 and 17:59."""
MAX_SEED = 2**31 - 1


@attrs.frozen
class BlindIncident:
    """How a blind run is presented until its debrief."""

    number: int
    name: str
    """"Incident 4821: product search API, Tuesday 14:02"."""
    briefing: str
    """The service and its normal afternoon, not the cause."""


def service_name(drill: Drill) -> str:
    """The drill's neutral service name, else "the service"."""
    return drill.service_name.strip() or "the service"


def neutral_briefing(drill: Drill) -> str:
    """The drill's `service_description`, else a description drawn from its model (not its faults)."""
    if drill.service_description.strip():
        return drill.service_description.strip()
    model = drill.model
    service = model.service
    classes = ", ".join(c.name for c in model.classes)
    lines = [
        f"You are on call for {service_name(drill)}: {service.workers} worker(s), each serving up to "
        f"{service.concurrency} requests at once; traffic classes: {classes}."
    ]
    if model.dependencies:
        lines.append("It depends on " + ", ".join(f"{d.name} ({d.kind})" for d in model.dependencies) + ".")
    if model.pools:
        lines.append("Connection pools: " + ", ".join(f"{p.name} ({p.size} connections)" for p in model.pools) + ".")
    lines.append("")
    lines.append("It is a normal afternoon: the service has been healthy all day. You will be paged if an SLO burns.")
    return "\n".join(lines)


def draw_blind(drill: Drill, rng: random.Random) -> BlindIncident:
    """A neutral name (incident number, service, a weekday afternoon) and the neutral briefing."""
    number = rng.randint(1000, 9999)
    day = rng.choice(WEEKDAYS)
    hour = rng.randint(*AFTERNOON_HOURS)
    minute = rng.randint(0, 59)
    name = f"Incident {number}: {service_name(drill)}, {day} {hour:02d}:{minute:02d}"
    return BlindIncident(number=number, name=name, briefing=neutral_briefing(drill))


def fresh_seed(rng: random.Random, played: set[int] | frozenset[int] = frozenset()) -> int:
    """A seed not in `played` (the seeds this drill was already played on): never the same run twice."""
    while True:
        seed = rng.randint(0, MAX_SEED)
        if seed not in played:
            return seed


def masked(drill: Drill, blind: BlindIncident) -> Drill:
    """The drill as the trainee sees it until the debrief: neutral title and briefing.

    The id, file and model are the drill's own, so the run saves and replays as usual.
    """
    return attrs.evolve(drill, title=blind.name, briefing=blind.briefing)


def pick(candidates: list, rng: random.Random, difficulty: int | None = None, *, difficulty_of=lambda c: c.difficulty):
    """One candidate at random (of `difficulty` if given); None when none fits."""
    fitting = [c for c in candidates if difficulty is None or difficulty_of(c) == difficulty]
    return rng.choice(fitting) if fitting else None
