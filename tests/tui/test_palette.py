"""The command palette offers every key of every screen by name."""

from __future__ import annotations

import attrs
from app_driver import step
from drill_factory import slow_llm_drill
from textual.command import CommandList

from tui.app import BrownoutApp
from tui.commands import ScreenCommands
from tui.screens.briefing import BriefingScreen
from tui.screens.debrief import DebriefScreen
from tui.screens.picker import PickerScreen
from tui.screens.saves import SavesScreen


def _footer_keys(screen) -> set[str]:
    """Descriptions of the screen's own keys the footer shows (switched-off ones excluded)."""
    return {a.binding.description for a in screen.active_bindings.values()
            if a.node is screen and a.enabled and a.binding.show and a.binding.description}


def _palette_titles(screen) -> set[str]:
    return {title for title, _, _ in ScreenCommands(screen)._commands()}


async def _wait_for(pilot, condition) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met")


async def test_every_footer_key_of_every_screen_is_in_the_palette(tmp_path):
    short = attrs.evolve(slow_llm_drill(duration_s=1.0), id="short", title="Short drill")
    app = BrownoutApp(drills=[short], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        seen = []
        for expected in (PickerScreen, BriefingScreen, None, DebriefScreen, SavesScreen):
            if expected is BriefingScreen:
                await pilot.press("enter")
            elif expected is None:  # the incident screen has its own provider (mitigations)
                await pilot.press("enter")
                await step(pilot, 20)
                await _wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
                continue
            elif expected is SavesScreen:
                await pilot.press("escape", "v")
            await pilot.pause()
            assert isinstance(app.screen, expected), app.screen
            keys = _footer_keys(app.screen)
            titles = _palette_titles(app.screen)
            assert keys and keys <= titles, (expected, keys - titles)
            # Only what the screen declares: not Textual's focus and copy keys.
            assert not titles & {"Focus Next", "Focus Previous", "Copy selected text"}, titles
            seen.append(expected)
        assert len(seen) == 4


async def test_a_palette_command_runs_the_key_s_action(tmp_path):
    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Saves")
        results = app.screen.query_one(CommandList)
        await _wait_for(pilot, lambda: results.option_count and results.highlighted is not None)
        assert "Saves" in str(results.get_option_at_index(results.highlighted).prompt)
        await pilot.press("enter")
        await _wait_for(pilot, lambda: isinstance(app.screen, SavesScreen))
