"""The incident event log: alerts, breaker trips, OOM kills, faults, actions, hints."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from tui.frame import LogEntry, format_clock
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style

MAX_LINES = 500


class EventLog(RichLog):
    """A scrolling log fed with the frame's recent entries; only new entries are written.

    The frame carries the last entries and a running total, so a frame that
    replaced another in the message queue loses no lines.
    """

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    EventLog {
        height: 1fr;
    """ + LEVEL_CSS + """
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(max_lines=MAX_LINES, min_width=20, wrap=True, markup=False, highlight=False, auto_scroll=True, id=id, classes=classes)
        self.entries_written = 0

    def show(self, entries: tuple[LogEntry, ...], total: int) -> None:
        """Append the entries that are newer than what this log already holds."""
        new_count = min(total - self.entries_written, len(entries))
        if new_count <= 0:
            return
        for entry in entries[len(entries) - new_count:]:
            self.write(self.format_entry(entry))
        self.entries_written = total

    def replace_all(self, entries: tuple[LogEntry, ...], total: int) -> None:
        """Show exactly these entries (a replay view rebuilt after a seek has a log of its own:
        lines of the view before must not stay, nor lines from a moment not reached)."""
        self.clear()
        for entry in entries:
            self.write(self.format_entry(entry))
        self.entries_written = total

    def format_entry(self, entry: LogEntry) -> Text:
        """`00:12 BREAKER llm opened`: the tag says what it is even without colour."""
        line = Text(no_wrap=False)
        line.append(format_clock(entry.t_s) + " ", style=level_style(self, "dim"))
        line.append(f"{entry.kind:<7} ", style=level_style(self, entry.level))
        line.append(entry.text)
        return line
