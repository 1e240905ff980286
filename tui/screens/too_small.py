"""Shown instead of the app while the terminal is below the minimum size."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


class TooSmallScreen(ModalScreen[None]):
    """Says how big the terminal is and how big it must be; goes away on a resize that fits."""

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        self.update_size(self.app.size.width, self.app.size.height)

    def update_size(self, width: int, height: int) -> None:
        """Rewrite the message for the current size."""
        paused = " (the drill is paused)" if getattr(self.app, "live", None) is not None else ""
        self.query_one("#too-small", Static).update(
            f"Terminal too small: {width}x{height}.\nBrownout needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
            f"Enlarge the window{paused}."
        )
