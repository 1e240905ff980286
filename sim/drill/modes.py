"""Difficulty modes: how much help a run of a drill gets.

A mode changes what the trainee is given (hints, pause, speed), never the
incident or the score: every mode is scored by the same formula, so scores stay
comparable and the mode is shown beside them.
"""

from __future__ import annotations

import attrs

STANDARD_HINT_DELAY_S = 60.0
"""In standard mode a hint shows this many sim seconds after it would have in guided mode: time to
think first, help if still stuck."""


@attrs.frozen
class Mode:
    """What one difficulty mode allows."""

    name: str
    """As written in saves, progress and `--mode`."""
    summary: str
    """A few words for the briefing."""
    hints: bool
    """Hints show at all."""
    hint_delay_s: float = 0.0
    """Sim seconds a hint waits after it fires before it shows."""
    symptoms: bool = True
    """The log names visible symptoms ("traffic rising"); on call only the page prompts."""
    pause: bool = True
    """The clock can be paused (and stops while the trainee confirms ending the drill)."""
    max_speed: int | None = None
    """The fastest clock allowed (None: any speed the app offers)."""


GUIDED = Mode("guided", "hints, pause, any speed", hints=True)
STANDARD = Mode("standard", f"hints after {STANDARD_HINT_DELAY_S:.0f}s, pause, any speed", hints=True,
                hint_delay_s=STANDARD_HINT_DELAY_S)
ON_CALL = Mode("on-call", "no hints, no pause, 1x real time: the first page is the only prompt", hints=False,
               symptoms=False, pause=False, max_speed=1)

MODES = (GUIDED, STANDARD, ON_CALL)
MODE_NAMES = tuple(mode.name for mode in MODES)
DEFAULT_MODE = GUIDED


def mode_named(name: str) -> Mode:
    """The mode called `name`; ValueError naming the choices otherwise."""
    for mode in MODES:
        if mode.name == name:
            return mode
    raise ValueError(f"unknown mode {name!r} (expected one of {', '.join(MODE_NAMES)})")


def next_mode(mode: Mode) -> Mode:
    """The mode after `mode`, round the list (the briefing's mode key)."""
    return MODES[(MODES.index(mode) + 1) % len(MODES)]


def hints_due(fired: dict[int, float], shown: dict[int, float], t_s: float, mode: Mode) -> list[int]:
    """Hints (indexes, in firing order) that fired and are due under `mode` by `t_s` but are not in `shown`."""
    if not mode.hints:
        return []
    return [index for index, at_s in fired.items()
            if index not in shown and t_s >= at_s + mode.hint_delay_s - 1e-9]


def hint_times_under(mode: Mode, fired: dict[int, float], end_t_s: float) -> dict[int, float]:
    """When each hint showed in a run played in `mode`, from when each fired (a replay's index pass):
    on call none, in standard `hint_delay_s` later (sample times stay on the 0.25 s grid), and only
    those shown before the run ended."""
    if not mode.hints:
        return {}
    shown = {index: at_s + mode.hint_delay_s for index, at_s in fired.items()}
    return {index: at_s for index, at_s in sorted(shown.items(), key=lambda item: item[1]) if at_s <= end_t_s + 1e-9}
