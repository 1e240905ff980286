"""A circuit-breaker light: a coloured dot plus the state word, forced state and failure rate."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import BreakerReading
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style


class BreakerLight(Widget):
    """`● llm      OPEN (forced)  fail 62% of 40` — readable with or without colour."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    BreakerLight {
        height: 1;
        width: 1fr;
    """ + LEVEL_CSS + """
    }
    """

    reading: reactive[BreakerReading | None] = reactive(None)

    def __init__(self, reading: BreakerReading | None = None, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.set_reactive(BreakerLight.reading, reading)

    def render(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("")
        style = level_style(self, reading.level)
        line = Text()
        line.append("● ", style=style)
        line.append(reading.dependency[:7].ljust(8))
        state = reading.state_word
        if reading.forced:
            state += " (forced)"
        line.append(state.ljust(19), style=style)
        line.append(f"fail {reading.failure_rate:.0%} of {reading.calls_in_window}", style=level_style(self, "dim"))
        line.truncate(self.size.width)
        return line
