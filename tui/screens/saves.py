"""The saves list: every saved run with drill, player, date, how it ended and its score.

Enter opens the selected save in the replay viewer; v re-simulates it headless
and says whether the replay is exact. Unreadable files are listed with the
loader's one-line reason instead of being hidden.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from sim.records.saves import SaveSummary, default_saves_dir, list_saves, printable
from tui.commands import ScreenCommands
from tui.frame import format_clock
from tui.widgets.row_table import RowTable

COLUMNS = ("Drill", "Player", "Date (UTC)", "Ended", "Time", "Score")


def summary_row(summary: SaveSummary) -> tuple[str, ...]:
    """The table cells of one save (every state spelled out in words)."""
    if not summary.ok:
        return ("?", "?", "?", "unreadable", "-", "-")
    ended = summary.ended or "-"
    if summary.forked_from is not None:
        ended = f"{ended} (branch)"
    score = summary.score_text
    date = summary.started_at.strftime("%Y-%m-%d %H:%M") if summary.started_at else "-"
    sim_time = "-" if summary.end_t_s is None else format_clock(summary.end_t_s)
    return (summary.drill_id or "-", summary.player or "-", date, ended, sim_time, score)


class SavesScreen(Screen):
    """Pick a saved run to replay (styles: styles/saves.tcss)."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        # Priority, so the table's own enter (select) does not hide it from the footer.
        Binding("enter", "open_selected", "Replay", id="saves.replay", priority=True,
                tooltip="Open the selected save in the replay viewer."),
        Binding("v", "verify_selected", "Verify", id="saves.verify",
                tooltip="Re-simulate the selected save headless and check it replays exactly."),
        Binding("r", "reload", "Reload", id="saves.reload", tooltip="Read the saves folder again."),
        Binding("escape,q", "back", "Back", id="saves.back", tooltip="Back to the previous screen."),
    ]

    def __init__(self, saves_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.saves_dir = Path(saves_dir) if saves_dir is not None else default_saves_dir()
        self.summaries: list[SaveSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="saves-box"):
            yield Label("Saved runs", id="saves-title")
            yield Label(str(self.saves_dir), id="saves-folder", markup=False)
            yield RowTable(id="saves-table")
            yield Static("", id="saves-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if not self.query(DataTable):
            return  # closed again before it was mounted (keys typed fast): nothing to fill
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.action_reload()

    def action_reload(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.summaries = list_saves(self.saves_dir)
        for index, summary in enumerate(self.summaries):
            # Text cells: DataTable reads a str cell as markup, and a player name is the player's.
            table.add_row(*(Text(printable(cell)) for cell in summary_row(summary)), key=str(index))
        if not self.summaries:
            self.query_one("#saves-detail", Static).update(
                "No saves yet: every finished or abandoned drill is saved here."
            )
        table.focus()
        self._describe(0)

    @property
    def selected(self) -> SaveSummary | None:
        table = self.query_one(DataTable)
        if not self.summaries or table.cursor_row is None:
            return None
        return self.summaries[min(table.cursor_row, len(self.summaries) - 1)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        if not self.summaries:
            return
        summary = self.summaries[min(max(row, 0), len(self.summaries) - 1)]
        if summary.ok:
            text = f"{summary.path.name}: enter to replay, v to verify."
            if summary.forked_from is not None:
                text += (f"\nA branch (played with hindsight, never a best) from {summary.forked_from.save} at "
                         f"{format_clock(summary.forked_from.t_s)}.")
            if summary.ended not in (None, "finished") and summary.score is not None:
                text += f"\nEnded early ({summary.ended}): the score in brackets covers only the time played, no grade."
        else:
            text = f"{summary.path.name} cannot be replayed: {summary.error}"
        self.query_one("#saves-detail", Static).update(text)

    def action_open_selected(self) -> None:
        summary = self.selected
        if summary is None:
            return
        if not summary.ok:
            self.notify(summary.error or "unreadable save", title="Cannot replay", severity="error", timeout=8,
                        markup=False)
            return
        from tui.screens.replay import open_replay

        open_replay(self.app, summary.path)

    def action_verify_selected(self) -> None:
        summary = self.selected
        if summary is None:
            return
        self.notify(f"Re-simulating {summary.path.name}...", timeout=3, markup=False)
        self.run_worker(lambda: self._verify(summary.path), thread=True, group="verify", name="verify-save")

    def _verify(self, path: Path) -> None:
        from sim.records.replay import verify_save

        result = verify_save(path)
        self.app.call_from_thread(
            self.notify, result.message, title="Exact replay" if result.ok else "Not exact",
            severity="information" if result.ok else "error", timeout=10, markup=False,
        )

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
