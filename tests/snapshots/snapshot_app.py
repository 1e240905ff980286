"""Apps at deterministic moments for snapshot tests (posting's snapshot-app pattern).

Every app is built with the sim paused and no timer; `run_before` callbacks
drive it through the screens and step the simulation to a fixed tick.
"""

from __future__ import annotations

import attrs
from drill_factory import slow_llm_drill
from textual.pilot import Pilot

from sim.model.errors import InputError, Problem
from tui.app import BrownoutApp
from tui.dialogs.message_dialog import MessageDialog

INCIDENT_TICK = 400
"""20 s into the test drill: the LLM has been slow for 10 s, alerts and a hint have fired."""


def picker_drills():
    """Two Python-built drills (shipped drills are still being tuned; snapshots must not follow them)."""
    first = slow_llm_drill()
    second = attrs.evolve(first, id="test-slow-llm-hard", title="Test: the LLM slows down, harder", difficulty=4,
                          duration_s=300.0)
    return [first, second]


def build_app(saves_dir) -> BrownoutApp:
    """The app on the test drills, paused, timer off."""
    return BrownoutApp(drills=picker_drills(), saves_dir=saves_dir, start_paused=True, tick_interval=None, player="snap")


async def to_briefing(pilot: Pilot) -> None:
    await pilot.press("enter")
    await pilot.pause()


async def to_incident(pilot: Pilot) -> None:
    """Briefing -> incident, stepped to INCIDENT_TICK, still paused."""
    await to_briefing(pilot)
    await pilot.press("enter")
    await pilot.pause()
    pilot.app.advance_sim(INCIDENT_TICK)
    await pilot.pause()


async def to_action_dialog(pilot: Pilot) -> None:
    await to_incident(pilot)
    await pilot.press("p")
    await pilot.pause()


async def to_confirm(pilot: Pilot) -> None:
    await to_incident(pilot)
    await pilot.press("q")
    await pilot.pause()


async def to_help(pilot: Pilot) -> None:
    await to_incident(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def to_message(pilot: Pilot) -> None:
    """The dialog that reports an invalid drill file."""
    error = InputError(
        [
            Problem("my-drill.toml", "faults[2].at", 'expected a duration like "90s", got "soon"', 31),
            Problem("my-drill.toml", "pools.main.size", "expected a whole number >= 1, got 0", 12),
        ]
    )
    pilot.app.push_screen(MessageDialog("Cannot load drill my-drill", str(error)))
    await pilot.pause()


async def to_debrief(pilot: Pilot) -> None:
    """Play the test drill to its end with one action, wait for the do-nothing and par runs."""
    await to_incident(pilot)
    await pilot.press("t")
    await pilot.pause()
    pilot.app.screen.query_one("#field-timeout_s").value = "0.5"
    pilot.app.screen.submit()
    await pilot.pause()
    pilot.app.advance_sim(pilot.app.live.ticks_total)
    await pilot.pause()
    screen = pilot.app.screen
    for _ in range(600):
        if getattr(screen, "comparison", None) is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause()
