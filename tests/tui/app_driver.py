"""Helpers to drive the app in pilot tests: start a drill, step it, fill dialogs."""

from __future__ import annotations

from textual.pilot import Pilot

from sim.drill.drill import Drill
from tui.app import BrownoutApp
from tui.dialogs.action_dialog import ActionDialog
from tui.screens.incident import IncidentScreen


def make_app(drill: Drill, saves_dir, **kwargs) -> BrownoutApp:
    """An app on one drill, paused, without a timer (the test steps the sim)."""
    options = dict(start_paused=True, tick_interval=None)
    options.update(kwargs)
    return BrownoutApp(drills=[drill], saves_dir=saves_dir, **options)


async def start_drill(pilot: Pilot) -> None:
    """Picker -> briefing -> incident."""
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, IncidentScreen)


async def fill_dialog(pilot: Pilot, values: dict[str, str]) -> None:
    """Type values into the open action dialog's inputs (choices keep their preset) and apply."""
    dialog = pilot.app.screen
    assert isinstance(dialog, ActionDialog), f"expected a dialog, got {dialog!r}"
    for key, text in values.items():
        # Input and Select both take the value as text (Select options are keyed by their label).
        dialog.query_one(f"#field-{key}").value = text
    await pilot.pause()
    dialog.submit()
    await pilot.pause()


async def step(pilot: Pilot, ticks: int) -> None:
    """Advance the live run by whole ticks and let the screen update."""
    pilot.app.advance_sim(ticks)
    await pilot.pause()
