"""SLI over time as one strip per run: a column per evaluation window, its height the SLO's health."""

from __future__ import annotations

import attrs
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style

LABEL_WIDTH = 11


def window_glyph(sli: float | None, target: float) -> tuple[str, str]:
    """(glyph, level) for one window: full block when within the SLO, lower as the burn rate grows."""
    if sli is None:
        return " ", "dim"
    budget = 1.0 - target
    burn = (1.0 - sli) / budget if budget > 0 else 0.0
    if burn <= 1.0:
        return "█", "ok"
    if burn <= 2.0:
        return "▆", "warn"
    if burn <= 5.0:
        return "▄", "warn"
    if burn <= 10.0:
        return "▂", "crit"
    return "▁", "crit"


@attrs.frozen
class StripRow:
    """One run's SLI per window."""

    label: str
    values: tuple[float | None, ...]
    attained: float
    markers: tuple[int, ...] = ()
    """Window indexes where the operator acted (drawn as ▲ under the strip)."""


@attrs.frozen
class StripSet:
    """One SLO across runs."""

    title: str
    target: float
    window_s: float
    rows: tuple[StripRow, ...]


class SLIStrips(Widget):
    """`You        ███▄▁▁▂██ 98.7%` per run, with ▲ under the windows where you acted."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    SLIStrips {
        height: auto;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: clip;
    """ + LEVEL_CSS + """
    }
    """

    strips: reactive[StripSet | None] = reactive(None, layout=True)

    def __init__(self, strips: StripSet | None = None, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.set_reactive(SLIStrips.strips, strips)

    def _lines(self) -> int:
        strips = self.strips
        if strips is None:
            return 1
        return 1 + sum(2 if row.markers else 1 for row in strips.rows)

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._lines()

    def render(self) -> Text:
        strips = self.strips
        text = Text(no_wrap=True, overflow="crop")
        if strips is None:
            return text
        dim = level_style(self, "dim")
        text.append(f"{strips.title} (target {strips.target:.1%}, one column per {strips.window_s:g}s window)", style="bold")
        width = max(self.size.width - LABEL_WIDTH - 9, 4)
        longest = max((len(row.values) for row in strips.rows), default=1)
        # Short drills have few windows: widen each so the strip fills the space (up to 4 cells).
        cells_per_window = max(1, min(4, width // max(longest, 1)))
        shown = width // cells_per_window
        for row in strips.rows:
            text.append("\n")
            text.append(row.label[: LABEL_WIDTH - 1].ljust(LABEL_WIDTH))
            values = row.values[-shown:]
            skipped = len(row.values) - len(values)
            for value in values:
                glyph, level = window_glyph(value, strips.target)
                text.append(glyph * cells_per_window, style=level_style(self, level))
            text.append(f" {row.attained:7.2%}", style=dim)
            if row.markers:
                cells = [" "] * (len(values) * cells_per_window)
                for index in row.markers:
                    if 0 <= index - skipped < len(values):
                        cells[(index - skipped) * cells_per_window] = "▲"
                text.append("\n" + " " * LABEL_WIDTH)
                text.append("".join(cells), style=level_style(self, "warn"))
        return text
