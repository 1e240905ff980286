"""A dialog that shows a message (e.g. an invalid drill file) until dismissed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static
from tui.textual_fixes import DismissOnce


class MessageDialog(DismissOnce, ModalScreen[None]):
    """A title, a scrollable body and an OK button."""

    BINDINGS = [Binding("escape,enter", "close", "Close", id="dialog.close", tooltip="Close this message.")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-body"):
                yield Static(self.body, markup=False)
            yield Button("OK", variant="primary", id="ok")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
