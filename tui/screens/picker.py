"""The drill picker: shipped drills and the user's own, with difficulty, length, SLOs and best score."""

from __future__ import annotations

from pathlib import Path

import attrs
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sim.drill.drill import Drill, SLOSpec
from sim.drill.loader import list_drills, load_drill
from tui.commands import ScreenCommands
from tui.frame import format_clock
from tui.widgets.row_table import RowTable

TITLE_WIDTH = 31
"""Titles are cut to fit the table at 80 columns; the full title is on the briefing."""
OTHER_COLUMNS_WIDTH = 80 - TITLE_WIDTH
"""What the other columns, borders and padding take: a wider terminal gives the title the rest."""


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.{0 if abs(fraction * 100 - round(fraction * 100)) < 1e-9 else 1}f}%"


def describe_slo(slo: SLOSpec) -> str:
    """`avail ≥99%` or `≤300ms ≥95%`: an SLO in a few words."""
    if slo.kind == "latency" and slo.threshold_s is not None:
        return f"≤{slo.threshold_s * 1000:.0f}ms ≥{_percent(slo.target)}"
    return f"avail ≥{_percent(slo.target)}"


def short_slo(slo: SLOSpec) -> str:
    """`99%` or `95%≤300ms` / `95%≤2s`: an SLO in a narrow table cell."""
    if slo.kind == "latency" and slo.threshold_s is not None:
        threshold = f"{slo.threshold_s:g}s" if slo.threshold_s >= 1 else f"{slo.threshold_s * 1000:.0f}ms"
        return f"{_percent(slo.target)}≤{threshold}"
    return _percent(slo.target)


def difficulty_stars(difficulty: int) -> str:
    """1..5 as ★★☆☆☆ (the number is in the detail line too)."""
    level = max(0, min(difficulty, 5))
    return "★" * level + "☆" * (5 - level)


@attrs.frozen
class DrillEntry:
    """One row of the picker: a drill file, or a Drill value handed to the app."""

    id: str
    title: str
    difficulty: int
    duration_s: float
    slos: tuple[SLOSpec, ...]
    source: str
    path: Path | None = None
    drill: Drill | None = None

    @classmethod
    def of_drill(cls, drill: Drill) -> DrillEntry:
        return cls(drill.id, drill.title, drill.difficulty, drill.duration_s, drill.slos, "given",
                   Path(drill.source_path) if drill.source_path else None, drill)

    def load(self) -> Drill:
        """The drill itself (reads and validates the file; InputError when it is not valid)."""
        return self.drill if self.drill is not None else load_drill(self.path)

    def load_seeded(self, seed: int) -> Drill:
        """The drill on `seed`: its seeded ranges drawn with it, and the run simulated on it."""
        if self.drill is not None:
            return attrs.evolve(self.drill, seed=seed)
        return load_drill(self.path, seed)


def discover_entries() -> tuple[DrillEntry, ...]:
    """Shipped and user drills as the loader lists them."""
    return tuple(
        DrillEntry(s.id, s.title, s.difficulty, s.duration_s, s.slos, s.source, s.path) for s in list_drills()
    )


class PickerScreen(Screen):
    """Choose a drill; Enter opens its briefing."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("enter", "choose", "Brief me", id="picker.choose", tooltip="Open the selected drill's briefing."),
        Binding("s", "app.surprise_me", "Surprise me", id="picker.surprise",
                tooltip="A blind incident: a random drill on a fresh seed, under a neutral name."),
        Binding("p", "app.show_progress", "Progress", id="picker.progress",
                tooltip="Your progress: best and latest grade per drill, trend, what to play next."),
        Binding("v", "app.show_saves", "Saves", id="picker.saves", tooltip="Saved runs: replay or verify them."),
        Binding("q", "app.quit", "Quit", id="picker.quit", tooltip="Leave Brownout."),
        Binding("question_mark,f1", "app.help", "Help", id="picker.help", tooltip="Every key of the app."),
    ]

    def __init__(self, entries: tuple[DrillEntry, ...], best_scores: dict[str, float], *,
                 selected_id: str | None = None) -> None:
        super().__init__()
        self.entries = entries
        self.best_scores = best_scores
        self.selected_id = selected_id
        """The drill to highlight (the one just played), else the first."""

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("BROWNOUT  ·  choose a drill, Enter for its briefing", id="picker-title")
            yield RowTable(id="drill-table")
            yield Static("", id="drill-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Drill", "Level", "Length", "SLOs", "Best")
        width = max(TITLE_WIDTH, self.app.size.width - OTHER_COLUMNS_WIDTH)
        for index, entry in enumerate(self.entries):
            best = self.best_scores.get(entry.id)
            # Text cells: DataTable reads a str cell as markup, and a drill's text is the author's.
            table.add_row(
                Text(entry.title if len(entry.title) <= width else entry.title[: width - 1] + "…"),
                Text(difficulty_stars(entry.difficulty)),
                Text(format_clock(entry.duration_s)),
                Text(" ".join(short_slo(s) for s in entry.slos) or "-"),
                Text("-" if best is None else f"{best:.0f}"),
                # By position: a user's copy of a shipped drill keeps its id, and a
                # repeated row key would crash the picker (rows are looked up by index).
                key=str(index),
            )
        if not self.entries:
            self.query_one("#drill-detail", Static).update("No drills found. Put .toml drills in the drills folder.")
        table.focus()
        row = next((i for i, entry in enumerate(self.entries) if entry.id == self.selected_id), 0)
        if row:
            table.move_cursor(row=row)
        self._show_detail(row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_choose()

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            return
        entry = self.entries[row]
        where = str(entry.path) if entry.path else "built in"
        slos = ", ".join(describe_slo(s) for s in entry.slos) or "no SLOs"
        self.query_one("#drill-detail", Static).update(
            f"{entry.title}\n{entry.id} · difficulty {entry.difficulty}/5 · SLOs {slos}\n{entry.source}: {where}"
        )

    def selected(self) -> DrillEntry | None:
        """The highlighted entry."""
        row = self.query_one(DataTable).cursor_row
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def action_choose(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.app.open_briefing(entry)
