"""A one-line bar gauge: label, bar, instant value, moving average and a level word."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import LEVEL_WORDS, GaugeReading
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style

LABEL_WIDTH = 8


class GaugeBar(Widget):
    """Shows one `GaugeReading`, e.g. `Slots   ███████░░░ 28/32 ~26 WARN`.

    The bar takes whatever width is left after the numbers, so the same widget
    reads at 80 columns and fills a wide terminal.
    """

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    GaugeBar {
        height: 1;
        width: 1fr;
    """ + LEVEL_CSS + """
    }
    """

    reading: reactive[GaugeReading | None] = reactive(None)

    def __init__(self, reading: GaugeReading | None = None, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.set_reactive(GaugeBar.reading, reading)

    def render(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("")
        style = level_style(self, reading.level)
        dim = level_style(self, "dim")
        numbers = Text()
        numbers.append(f" {reading.value_text}", style=style)
        numbers.append(f" ~{reading.average_text}", style=dim)
        if reading.note:
            numbers.append(f" {reading.note}")
        numbers.append(f" {LEVEL_WORDS[reading.level]}", style=style)
        width = self.size.width
        # The level word must stay readable: when the numbers are long (a pool with
        # hundreds of waiters at 80 columns) the bar gives way, down to nothing.
        bar_width = max(width - LABEL_WIDTH - numbers.cell_len, 0)
        filled = round(reading.fraction * bar_width)
        bar = ["█"] * filled + ["░"] * (bar_width - filled)
        if reading.mark is not None and bar_width:
            mark_at = min(int(reading.mark * bar_width), bar_width - 1)
            bar[mark_at] = "┃"
        line = Text(reading.label[: LABEL_WIDTH - 1].ljust(LABEL_WIDTH))
        line.append("".join(bar[:filled]), style=style)
        line.append("".join(bar[filled:]), style=dim)
        line.append_text(numbers)
        line.truncate(width)
        return line
