"""The small input dialog a mitigation opens: current values, valid ranges, apply / cancel."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from tui.textual_fixes import DismissOnce

from tui.dialogs.forms import ActionForm, FieldError, FormField


class ActionDialog(DismissOnce, ModalScreen[dict | None]):
    """Asks for an action's values; dismisses with the parsed values, or None when cancelled.

    A bad value keeps the dialog open and says which field and what range.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without acting.")]

    def __init__(self, form: ActionForm) -> None:
        super().__init__(classes="dialog")
        self.form = form

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self.form.title, id="dialog-title")
            yield Static(self.form.explanation, id="dialog-explanation")
            for field in self.form.fields:
                yield from self._field(field)
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def _field(self, field: FormField) -> ComposeResult:
        with Horizontal(classes="dialog-field"):
            yield Label(field.label, classes="field-label")
            if field.kind == "choice":
                yield Select(
                    [(choice, choice) for choice in field.choices], value=field.current,
                    allow_blank=False, id=f"field-{field.key}", compact=True,
                )
            else:
                yield Input(value=field.current, id=f"field-{field.key}", compact=True, select_on_focus=True)
            yield Label(f"({field.range_text})", classes="field-range")

    def on_mount(self) -> None:
        # Focus the first number to type; with only choices, Enter should apply, not open a list.
        inputs = self.query(Input)
        (inputs.first() if inputs else self.query_one("#apply", Button)).focus()

    def values(self) -> dict[str, str]:
        """The raw text of every field."""
        texts = {}
        for field in self.form.fields:
            widget = self.query_one(f"#field-{field.key}")
            texts[field.key] = str(widget.value) if isinstance(widget, Select) else widget.value
        return texts

    def submit(self) -> None:
        """Parse and close, or show what is wrong."""
        try:
            parsed = self.form.parse(self.values())
        except FieldError as error:
            self.query_one("#dialog-error", Static).update(f"✗ {error}")
            return
        self.dismiss(parsed)

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def _apply(self) -> None:
        self.submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
