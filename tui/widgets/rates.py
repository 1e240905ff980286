"""Request, goodput, error and rejection rates: instant value and moving average."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import LEVEL_WORDS, RatesReading
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style


def rate_text(rps: float) -> str:
    """A rate in at most four characters: 41, 950, 2.3k, 12k."""
    if rps < 999.5:
        return f"{rps:.0f}"
    if rps < 9950:
        return f"{rps / 1000:.1f}k"
    return f"{rps / 1000:.0f}k"


class RatesPanel(Widget):
    """Two lines: `Req 41/s ~40 retry 3 Good 38 ~39` and `Err 2% ~1% WARN  Rej 0% ~0% OK`."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    RatesPanel {
        height: 2;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    """ + LEVEL_CSS + """
    }
    """

    reading: reactive[RatesReading | None] = reactive(None)

    def render(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("")
        dim = level_style(self, "dim")
        # Each line is cut, never wrapped: a wrapped first line would push the error
        # rate out of the panel's two rows, in the middle of an overload.
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"Req {rate_text(reading.arrival_rps)}/s")
        text.append(f" ~{rate_text(reading.arrival_avg_rps)}", style=dim)
        text.append(f" retry {rate_text(reading.retry_rps)}")
        text.append(f" Good {rate_text(reading.goodput_rps)}")
        text.append(f" ~{rate_text(reading.goodput_avg_rps)}\n", style=dim)
        for label, ratio, average, level in (
            ("Err", reading.error_ratio, reading.error_avg_ratio, reading.error_level),
            ("Rej", reading.reject_ratio, reading.reject_avg_ratio, reading.reject_level),
        ):
            style = level_style(self, level)
            text.append(f"{label} {ratio:.0%}", style=style)
            text.append(f" ~{average:.0%}", style=dim)
            text.append(f" {LEVEL_WORDS[level]}  ", style=style)
        return text
