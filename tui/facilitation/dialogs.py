"""The facilitator's one-line text dialog: a message for the trainee, or a note on the timeline."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from sim.model.facilitation import TEXT_MAX_CHARS
from tui.textual_fixes import DismissOnce


class TextDialog(DismissOnce, ModalScreen[str | None]):
    """Asks for one line of text; dismisses with it, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without sending.")]

    def __init__(self, title: str, explanation: str, placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.explanation = explanation
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.explanation, id="dialog-explanation")
            yield Input(placeholder=self.placeholder, max_length=TEXT_MAX_CHARS, id="dialog-text", compact=True)
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Send", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def _send(self) -> None:
        text = " ".join(self.query_one(Input).value.split())
        if not text:
            self.query_one("#dialog-error", Static).update("✗ Type something first (or Escape to cancel).")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
