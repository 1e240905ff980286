"""Narrow guards for two Textual 8.2 bugs that fast typing in the command palette hits.

Both are Textual's, not Brownout's (textual is pinned to 8.2.x; the tests in
tests/tui/test_palette_fast_keys.py check that each bug is still there, so the
guard can go when a Textual release fixes it):

- `OptionList._move_page` reads `_index_to_line[highlighted]`, which is only
  filled once the list has been laid out (`_update_lines` returns early while the
  list has no size). A PageUp/PageDown that reaches the palette's command list
  (or a Select's overlay) before its first layout raises KeyError and the app
  dies. `OptionList.scroll_to_highlight` already catches that same KeyError;
  `_move_page` does not. The guard makes such a key do nothing, as it would on
  an empty list.
- `App.action_command_palette` opens `CommandPalette(id="--command-palette")`
  when the current screen is not a palette; a palette just dismissed (Escape) is
  no longer the current screen but is still registered until it is removed, so
  Ctrl+P right after Escape raises DuplicateIds. `open_command_palette` below
  gives the new palette no fixed id.
- `CommandPalette` handles every Enter (Input.Submitted) it was sent, even after
  it dismissed itself: Enter twice in a row (or Escape then Enter) dismisses it a
  second time, which pops the screen under it (ScreenStackError) or sets its
  result twice (InvalidStateError), and runs the chosen command twice.
  `GuardedCommandPalette` ignores selections and dismissals once it is closing.
- The palette's background search (`_gather_commands`, a worker) queries its
  CommandList; typing then Enter fast can dismiss the palette before the search
  runs, the query raises NoMatches, and a failed worker exits the app. The
  guarded palette lets that search end quietly once the palette is closing.
"""

from __future__ import annotations

import functools

from textual import on, work
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.widgets import Button, Input, OptionList


def _guard_move_page() -> None:
    original = OptionList._move_page
    if getattr(original, "_brownout_guard", False):
        return

    @functools.wraps(original)
    def _move_page(self: OptionList, direction: int) -> None:
        if self._options and (self.highlighted or 0) not in self._index_to_line:
            return  # not laid out yet: there is no page to move by
        original(self, direction)

    _move_page._brownout_guard = True
    OptionList._move_page = _move_page


class GuardedCommandPalette(CommandPalette):
    """Textual's command palette, deaf to keys that arrive after it dismissed itself."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._dismissed = False

    def dismiss(self, result=None) -> AwaitComplete:
        if self._dismissed:
            return AwaitComplete()  # already closing: a second pop would take the screen below
        self._dismissed = True
        return super().dismiss(result)

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        try:
            await CommandPalette._gather_commands.__wrapped__(self, search_value)
        except NoMatches:
            if not (self._dismissed or not self.is_attached):
                raise  # not the closing race: a real fault

    @on(Input.Submitted)
    @on(Button.Pressed)
    @on(OptionList.OptionSelected)
    def _ignore_once_closing(self, event) -> None:
        # Handlers run subclass first; prevent_default stops CommandPalette's own
        # (_select_or_command, _select_command) from acting on a closing palette.
        if self._dismissed:
            event.stop()
            event.prevent_default()


class DismissOnce:
    """Mixin for a modal screen: a second dismiss (Escape pressed twice before the screen is
    gone, or Apply then Escape) does nothing. Textual would pop the screen below it or set
    the result twice (InvalidStateError), as with the palette above."""

    _dismissed_once = False

    def dismiss(self, result=None) -> AwaitComplete:
        if self._dismissed_once:
            return AwaitComplete()
        self._dismissed_once = True
        return super().dismiss(result)


def open_command_palette(app: App) -> None:
    """What `App.action_command_palette` does, without the fixed id a closing palette still holds."""
    if app.use_command_palette and not CommandPalette.is_open(app):
        app.push_screen(GuardedCommandPalette())


_guard_move_page()
