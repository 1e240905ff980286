"""The incident header line: sim clock against the drill length, speed and run state."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import Frame, format_clock
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style


class ClockBar(Widget):
    """`▶ 00:12 / 05:00  5x  RUNNING  Title` — paused and finished are spelled out."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    ClockBar {
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    """ + LEVEL_CSS + """
    }
    """

    frame: reactive[Frame | None] = reactive(None)

    def render(self) -> Text:
        frame = self.frame
        if frame is None:
            return Text("")
        if frame.finished:
            state, level, icon = "FINISHED", "warn", "■"
        elif frame.paused:
            state, level, icon = "PAUSED", "warn", "‖"
        else:
            state, level, icon = "RUNNING", "ok", "▶"
        style = level_style(self, level)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{icon} {format_clock(frame.t_s)} / {format_clock(frame.duration_s)} ", style="bold")
        if frame.speed_cap is not None and frame.speed_cap < frame.speed and not (frame.paused or frame.finished):
            # A dialog is open: the clock runs at real time until it closes.
            line.append(f" {frame.speed_cap}x ", style="reverse")
            # Bracketed, so the state word that follows does not read as part of it.
            line.append(f" ({frame.speed}x once the dialog closes) ", style=level_style(self, "warn"))
        else:
            line.append(f" {frame.speed}x ", style="reverse")
            if frame.achieved_speed is not None and frame.achieved_speed < 0.8 * frame.speed:
                # The model is heavier than this speed allows: say what the clock really does.
                line.append(f" ≈{frame.achieved_speed:.0f}x", style=level_style(self, "warn"))
        line.append(f" {state} ", style=style)
        line.append(f" {frame.title}")
        line.truncate(self.size.width)
        return line
