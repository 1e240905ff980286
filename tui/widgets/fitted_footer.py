"""A footer that shows whole key entries, first come first served, as many as the width holds.

Textual's footer cuts its last entry mid-word ("… ? Help q En") and silently drops
whatever follows. Screens here list their essential keys first (pause, help, palette,
end or quit), so those always show; the rest show while they fit, and every key is
still in help and the command palette.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from itertools import groupby

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

PALETTE_AFTER = "app.help"
"""The footer shows the command palette key right after this action's key."""
KEY_GAP = 1
"""Cells between two entries of the compact footer."""


class FittedFooter(Footer):
    """`Footer(compact=True)` that drops whole trailing entries instead of cutting one."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        by_action = defaultdict(list)
        active = self.screen.active_bindings
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
                if binding.action == PALETTE_AFTER and self.app.COMMAND_PALETTE_BINDING in active:
                    # The app's palette key (a hidden priority binding) shows right after help.
                    _, palette, palette_enabled, _ = active[self.app.COMMAND_PALETTE_BINDING]
                    palette = dataclasses.replace(palette, description="Palette", group=None)
                    by_action[palette.action].append((palette, palette_enabled, "Every action and key by name."))
        width = self.size.width or self.app.size.width
        used = 0
        shown = 0
        for group, entries in groupby(by_action.values(), lambda entries: entries[0][0].group):
            entries = list(entries)
            if group is not None and len(entries) > 1:
                keys = [self.app.get_key_display(e[0][0]) for e in entries]
                size = sum(len(k) for k in keys) + 1 + len(group.description) + KEY_GAP
                if used + size > width:
                    break
                used += size
                shown += 2
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for (binding, enabled, tooltip), key in zip((e[0] for e in entries), keys):
                        yield FooterKey(binding.key, key, "", binding.action, disabled=not enabled,
                                        tooltip=tooltip or binding.description, classes="-grouped",
                                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
                continue
            stop = False
            for binding, enabled, tooltip in (e[0] for e in entries):
                key = self.app.get_key_display(binding)
                size = len(key) + 1 + len(binding.description) + KEY_GAP
                if used + size > width:
                    stop = True
                    break
                used += size
                shown += 1
                yield FooterKey(binding.key, key, binding.description, binding.action, disabled=not enabled,
                                tooltip=tooltip).data_bind(compact=Footer.compact)
            if stop:
                break
        self.styles.grid_size_columns = max(shown, 1)
