"""Request, goodput, error and rejection rates: instant value and moving average."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import LEVEL_WORDS, RatesReading
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style


class RatesPanel(Widget):
    """Two lines: `Req 41/s ~40 retry 3 Good 38 ~39` and `Err 2% ~1% WARN  Rej 0% ~0% OK`."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    RatesPanel {
        height: 2;
        width: 1fr;
    """ + LEVEL_CSS + """
    }
    """

    reading: reactive[RatesReading | None] = reactive(None)

    def render(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("")
        dim = level_style(self, "dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"Req {reading.arrival_rps:.0f}/s")
        text.append(f" ~{reading.arrival_avg_rps:.0f}", style=dim)
        text.append(f" retry {reading.retry_rps:.0f}")
        text.append(f" Good {reading.goodput_rps:.0f}")
        text.append(f" ~{reading.goodput_avg_rps:.0f}\n", style=dim)
        for label, ratio, average, level in (
            ("Err", reading.error_ratio, reading.error_avg_ratio, reading.error_level),
            ("Rej", reading.reject_ratio, reading.reject_avg_ratio, reading.reject_level),
        ):
            style = level_style(self, level)
            text.append(f"{label} {ratio:.0%}", style=style)
            text.append(f" ~{average:.0%}", style=dim)
            text.append(f" {LEVEL_WORDS[level]}  ", style=style)
        return text
