"""Error budget left per SLO, with the current burn rate and an alert word."""

from __future__ import annotations

import math

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import SLOReading
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style

BAR_WIDTH = 10
NAME_MAX = 24
MIN_REST_WIDTH = 64
"""Width of everything after the name: target, attainment, bar, budget, burn rate and state."""


class SLOBudget(Widget):
    """One line per SLO: `latency ≥95.0% got 97.1% ██████████ 0.42% of month, burn 3.1x SLOW BURN`.

    The bar is the month's error budget left; the drill is one incident in the SLO's month.
    """

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    SLOBudget {
        height: auto;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    """ + LEVEL_CSS + """
    }
    """

    readings: reactive[tuple[SLOReading, ...]] = reactive((), layout=True)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        dim = level_style(self, "dim")
        # Names as long as the widest (up to NAME_MAX); the numbers keep their columns.
        name_width = min(max((len(slo.name) for slo in self.readings), default=0), NAME_MAX)
        if self.size.width and self.size.width < name_width + MIN_REST_WIDTH:
            name_width = max(self.size.width - MIN_REST_WIDTH, 8)
        for index, slo in enumerate(self.readings):
            if index:
                text.append("\n")
            style = level_style(self, slo.level)
            attained = "  n/a " if math.isnan(slo.attained) else f"{slo.attained:6.2%}"
            text.append(f"{slo.name[:name_width]:<{name_width}} ≥{slo.target:.1%} ")
            text.append(f"got {attained} ", style=dim)
            left = min(max(slo.budget_remaining, 0.0), 1.0)
            filled = round(left * BAR_WIDTH)
            text.append("█" * filled, style=style)
            text.append("░" * (BAR_WIDTH - filled), style=dim)
            spent = 1.0 - slo.budget_remaining
            shown = f"{spent:.2%}" if spent < 0.1 else f"{spent:.1%}"
            text.append(f" {shown} of month, burn {slo.burn_rate:4.1f}x ", style=style)
            text.append(slo.state_word, style=style)
        if not self.readings:
            text.append("No SLOs in this drill.", style=dim)
        return text

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(len(self.readings), 1)
