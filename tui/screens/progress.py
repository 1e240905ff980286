"""The player's progress: per drill the best and latest grade, the trend, what was never passed and
what to play next (sim.records.progress). Enter briefs the highlighted drill; e exports the table."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sim.records.home import brownout_home
from sim.records.progress import (
    DrillProgress,
    ProgressError,
    ProgressSummary,
    Profile,
    RunRecord,
    load_profile,
    score_text,
    summarize,
    to_csv,
)
from sim.records.saves import write_atomic
from tui.commands import ScreenCommands
from tui.widgets.row_table import RowTable

TITLE_WIDTH = 24
"""Titles are cut to fit the table at 80 columns; the detail line has the whole title."""


def cell_score(run: RunRecord | None) -> str:
    """`88 B on-call*` (* blind); `(42)` for a run that does not count; `-`."""
    if run is None:
        return "-"
    if run.score is None:
        score = "ungraded"
    elif run.counts_as_best:
        score = f"{run.score:.0f} {run.grade}"
    else:
        score = f"({run.score:.0f})"
    return f"{score} {run.mode}" + ("*" if run.blind else "")


def exports_dir():
    """Where the progress screen writes its exports."""
    return brownout_home() / "exports"


class ProgressScreen(Screen):
    """A player's progress table; the detail line explains the highlighted drill."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("enter", "brief", "Brief me", id="progress.brief", tooltip="Open the highlighted drill's briefing."),
        Binding("e", "export", "Export CSV", id="progress.export",
                tooltip="Write this table as CSV to the exports folder of the data folder."),
        Binding("escape", "app.pop_screen", "Back", id="progress.back", tooltip="Back to the drill list."),
        Binding("question_mark,f1", "app.help", "Help", id="progress.help", tooltip="Every key of the app."),
    ]

    def __init__(self, player: str, entries=()) -> None:
        super().__init__()
        self.player = player
        self.entries = tuple(entries)
        self.summary: ProgressSummary | None = None
        self.problem: str | None = None
        self.exported = None
        """The path of the last export (tests read it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="progress"):
            yield Static(f"PROGRESS  ·  {self.player}", id="progress-title", markup=False)
            yield RowTable(id="progress-table")
            yield Static("", id="progress-detail", markup=False)
            yield Static("", id="progress-next", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        known: dict[str, tuple[str, int]] = {}
        for entry in self.entries:
            known.setdefault(entry.id, (entry.title, entry.difficulty))
        try:
            profile, warning = load_profile(self.player)
        except ProgressError as error:
            profile, warning, self.problem = Profile(self.player), None, str(error)
        if warning:
            self.notify(warning, title="Progress file set aside", severity="warning", timeout=10, markup=False)
        self.summary = summarize(profile, known)
        table = self.query_one(DataTable)
        table.add_columns("Drill", "Tries", "Best", "Latest", "Trend")
        for index, row in enumerate(self.summary.rows):
            title = row.title if len(row.title) <= TITLE_WIDTH else row.title[: TITLE_WIDTH - 1] + "…"
            table.add_row(Text(title), Text(str(row.attempts)), Text(cell_score(row.best)),
                          Text(cell_score(row.latest)), Text(row.trend), key=str(index))
        self.query_one("#progress-next", Static).update(self._next_text())
        table.focus()
        self._show_detail(0)

    def _next_text(self) -> str:
        summary = self.summary
        if self.problem:
            return f"Progress unavailable: {self.problem}"
        never = [row.title for row in summary.rows if not row.passed]
        lines = [f"{summary.runs} run(s) recorded · * blind · (score) ended early or a branch: never a best"]
        if never:
            shown = ", ".join(never[:4]) + (f" +{len(never) - 4}" if len(never) > 4 else "")
            lines.append(f"Never passed (C or better): {shown}")
        if summary.suggestion is not None:
            lines.append(f"Next: {summary.suggestion.title} — {summary.suggestion.reason}")
        return "\n".join(lines)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_brief()

    def _row(self, index: int) -> DrillProgress | None:
        rows = self.summary.rows if self.summary else ()
        return rows[index] if 0 <= index < len(rows) else None

    def _show_detail(self, index: int) -> None:
        row = self._row(index)
        if row is None:
            return
        latest = row.latest
        when = f", seed {latest.seed}, {latest.started_at[:10]}" if latest else ""
        self.query_one("#progress-detail", Static).update(
            f"{row.title} ({row.drill_id}): {row.attempts} attempt(s); best {score_text(row.best)}; "
            f"latest {score_text(latest)}{when}"
        )

    def action_brief(self) -> None:
        row = self._row(self.query_one(DataTable).cursor_row)
        entry = next((e for e in self.entries if row is not None and e.id == row.drill_id), None)
        if entry is None:
            self.notify("That drill is no longer installed.", severity="warning")
            return
        self.app.open_briefing(entry)

    def action_export(self) -> None:
        """Write the table as CSV (atomically) and say where."""
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder = exports_dir()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.player)[:40] or "player"
        path = folder / f"progress-{safe}-{stamp}.csv"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, to_csv([self.summary]).encode("utf-8"))
        except OSError as error:
            self.notify(f"Not exported: {error.strerror or error}", severity="error", markup=False)
            return
        self.exported = path
        self.notify(f"Exported to {path}", title="Progress", timeout=8, markup=False)
