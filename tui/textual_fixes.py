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
"""

from __future__ import annotations

import functools

from textual.app import App
from textual.command import CommandPalette
from textual.widgets import OptionList


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


def open_command_palette(app: App) -> None:
    """What `App.action_command_palette` does, without the fixed id a closing palette still holds."""
    if app.use_command_palette and not CommandPalette.is_open(app):
        app.push_screen(CommandPalette())


_guard_move_page()
