"""Fast typing in the command palette never crashes the app (two Textual 8.2 bugs, guarded).

`ctrl+p a PageDown Esc`, typed faster than the app draws, crashed it: PageDown
reached the palette's command list before its first layout (KeyError in
OptionList._move_page), and Ctrl+P right after Esc opened a second palette
with the id of the one still closing (DuplicateIds '--command-palette').
"""

from __future__ import annotations

import pytest
from drill_factory import slow_llm_drill
from textual import events
from textual.app import App
from textual.command import CommandPalette
from textual.widgets import OptionList

from tui.app import BrownoutApp
from tui.screens.incident import IncidentScreen
from tui.screens.picker import PickerScreen


def _burst(app: App, keys: list[str]) -> None:
    # As a terminal delivers fast typing: every key is queued before the first is handled
    # (pilot.press waits for each key to be processed, which hides the race).
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


@pytest.mark.parametrize("screen", ["picker", "incident"])
async def test_palette_page_keys_typed_fast_do_not_crash(tmp_path, screen):
    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        if screen == "incident":
            await pilot.press("enter", "enter")
            await pilot.pause()
            assert isinstance(app.screen, IncidentScreen)
        for _ in range(30):
            _burst(app, ["ctrl+p", "a", "pagedown", "escape"])
            await pilot.pause(0)
        _burst(app, ["ctrl+p", "pagedown", "pageup", "escape", "ctrl+p", "escape"])
        await pilot.pause(0.3)
        assert not isinstance(app.screen, CommandPalette)
        assert isinstance(app.screen, PickerScreen if screen == "picker" else IncidentScreen)
    assert app.return_code in (None, 0)


async def test_ctrl_p_right_after_escape_opens_a_new_palette(tmp_path):
    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        app.screen.dismiss()  # what Escape does; the palette is removed a moment later
        app.action_command_palette()  # the next Ctrl+P, before that
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


@pytest.mark.parametrize("keys", [
    ["ctrl+p", "enter", "enter"],                  # Enter twice: the second dismissed the screen below
    ["ctrl+p", "down", "enter", "enter"],          # and ran the command twice
    ["ctrl+p", "q", "u", "i", "enter", "enter"],   # the search worker ran on a closed palette (NoMatches)
    ["ctrl+p", "escape", "enter", "escape"],       # Escape then Enter on a closing palette
    ["enter", "escape", "enter", "escape"],        # the briefing left as soon as it opened
], ids=["enter-enter", "down-enter-enter", "search-enter-enter", "escape-enter", "briefing-in-and-out"])
async def test_keys_after_a_choice_or_escape_do_not_crash(tmp_path, keys):
    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(30):
            if not app.is_running:
                break
            _burst(app, keys)
            await pilot.pause(0)
        await pilot.pause(0.3)
    assert app.return_code in (None, 0)


async def test_enter_twice_in_the_palette_runs_its_command_once(tmp_path):
    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "saves":
            await pilot.press(key)
        await pilot.pause(0.3)
        _burst(app, ["enter", "enter"])
        await pilot.pause(0.3)
        from tui.screens.saves import SavesScreen

        assert [type(s) for s in app.screen_stack][1:] == [PickerScreen, SavesScreen]


def test_textual_still_has_the_page_bug_the_guard_covers():
    """When this fails, Textual fixed OptionList._move_page: drop the guard in tui/textual_fixes.py."""
    import tui.textual_fixes  # noqa: F401  (installs the guard)

    options = OptionList("one", "two")
    with pytest.raises(KeyError):
        OptionList._move_page.__wrapped__(options, 1)
    OptionList._move_page(options, 1)  # guarded: nothing to page before the first layout


def test_screens_taken_down_before_their_widgets_exist_do_not_crash(tmp_path):
    # Found by random keys: a frame reached an incident screen being switched away, and a
    # saves screen was mounted after Escape had already closed it; both queried gone widgets.
    from drill_factory import slow_llm_drill

    from tui.live import LiveRun
    from tui.screens.saves import SavesScreen

    IncidentScreen().show_frame(LiveRun.start(slow_llm_drill(), None, paused=True).frame())
    SavesScreen(tmp_path).on_mount()


async def test_a_dialog_dismissed_twice_closes_once(tmp_path):
    # Escape twice (or Apply then Escape) before the dialog is gone: the second dismiss
    # set the result again (InvalidStateError) or popped the screen below.
    from tui.dialogs.message_dialog import MessageDialog
    from tui.screens.help import HelpScreen

    app = BrownoutApp(drills=[slow_llm_drill()], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        for dialog in (HelpScreen(), MessageDialog("title", "body")):
            answers = []
            app.push_screen(dialog, answers.append)
            await pilot.pause()
            dialog.dismiss(None)
            dialog.dismiss(None)
            await pilot.pause(0.2)
            assert isinstance(app.screen, PickerScreen) and answers == [None]
    assert app.return_code in (None, 0)
