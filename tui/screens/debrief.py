"""The debrief: score, grade and breakdown; SLIs over time beside "do nothing" and par; the hints."""

from __future__ import annotations

import math
import threading

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sim.drill.drill import Drill
from sim.scoring.score import EVAL_WINDOW_S, ScoreReport
from sim.model.spec import Action
from tui.commands import ScreenCommands
from tui.frame import format_clock
from tui.widgets.sli_strips import SLIStrips, StripRow, StripSet


def _ttm(report: ScoreReport) -> str:
    """Time to mitigate in a few words: 0 means no window breached after the incident began."""
    if report.time_to_mitigate_s is None:
        return "no"
    if report.time_to_mitigate_s == 0.0:
        return "never breached"
    return f"in {report.time_to_mitigate_s:.0f}s"


def comparison_text(you: ScoreReport, none: ScoreReport, par: ScoreReport) -> str:
    """What the score alone does not say: the damage each response avoided, and whether any could keep the SLOs.

    Some incidents breach an SLO whatever the operator does (a 10 s outage can spend
    a drill's whole budget before anyone reacts); then par is graded low too, and the
    honest yardstick is the bad events avoided against doing nothing.
    """
    delta = you.score - par.score
    if math.isnan(delta):
        return ""
    verdict = "beat par" if delta > 0.5 else ("matched par" if abs(delta) <= 0.5 else f"{-delta:.0f} points below par")
    lines = [f"You {verdict}; doing nothing scores {none.score:.0f}."]
    avoided = []
    for mine, nothing, reference in zip(you.slis, none.slis, par.slis):
        if nothing.bad > 0:
            avoided.append(f"{mine.name} you {1 - mine.bad / nothing.bad:.0%}, par {1 - reference.bad / nothing.bad:.0%}")
    if avoided:
        lines.append("Bad events avoided against doing nothing: " + "; ".join(avoided) + ".")
    missed = [sli.name for sli in par.slis if not sli.met]
    if missed:
        lines.append(f"Par misses {' and '.join(missed)} too: the reference response does not keep "
                     f"{'it' if len(missed) == 1 else 'them'} either, so measure your run against par, not the letter.")
    return "\n".join(lines)


def window_markers(actions: tuple[Action, ...], window_s: float) -> tuple[int, ...]:
    """Evaluation-window indexes that contain an action."""
    return tuple(sorted({int(a.t_s // window_s) for a in actions}))


def strip_sets(reports: list[tuple[str, ScoreReport]], actions: tuple[Action, ...]) -> tuple[StripSet, ...]:
    """One StripSet per SLO, a row per run; the first run (the player's) gets the action marks."""
    if not reports:
        return ()
    first = reports[0][1]
    sets = []
    for index, sli in enumerate(first.slis):
        rows = []
        for position, (label, report) in enumerate(reports):
            values = tuple(window.sli[index] for window in report.windows)
            markers = window_markers(actions, EVAL_WINDOW_S) if position == 0 else ()
            rows.append(StripRow(label, values, report.slis[index].attained, markers))
        sets.append(StripSet(sli.name, sli.target, EVAL_WINDOW_S, tuple(rows)))
    return tuple(sets)


def hint_lines(drill: Drill, fired: dict[int, float]) -> str:
    """Every hint of the drill, with when it showed in this run (if it did)."""
    if not drill.hints:
        return "This drill has no hints."
    lines = []
    for index, hint in enumerate(drill.hints):
        trigger = f"at {format_clock(hint.at_s)}" if hint.at_s is not None else f"when {hint.when}"
        shown = f" — shown at {format_clock(fired[index])}" if index in fired else " — not shown in your run"
        lines.append(f"• {hint.text} ({trigger}{shown})")
    return "\n".join(lines)


class DebriefScreen(Screen):
    """How the run went. The do-nothing and par runs are simulated in a thread after mounting."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("escape,enter", "app.back_to_picker", "Drills", id="debrief.drills", tooltip="Back to the drill list."),
        Binding("q", "app.quit", "Quit", id="debrief.quit", tooltip="Leave Brownout."),
        Binding("question_mark,f1", "app.help", "Help", id="debrief.help", tooltip="Every key of the app."),
    ]

    def __init__(self, drill: Drill, seed: int, report: ScoreReport, actions: tuple[Action, ...], *,
                 ended: str, hints_fired: dict[int, float], save_note: str = "") -> None:
        super().__init__()
        self.drill = drill
        self.seed = seed
        self.report = report
        self.actions = actions
        self.ended = ended
        self.hints_fired = hints_fired
        self.save_note = save_note
        self.comparison: tuple[ScoreReport, ScoreReport] | None = None

    def compose(self) -> ComposeResult:
        report = self.report
        with VerticalScroll(id="debrief"):
            yield Static(f"Debrief — {self.drill.title}", id="debrief-title", markup=False)
            with Vertical(id="debrief-top"):
                yield Static(self._headline(), id="score-big")
                yield Static(self._summary(), id="score-summary", markup=False)
                yield DataTable(id="compare-table", cursor_type="none", show_cursor=False)
            yield Static("Breakdown", classes="section-title")
            yield Static("\n".join(str(line) for line in report.breakdown), id="breakdown", markup=False)
            yield Static("Simulating do nothing and par on the same seed…", id="compare-status")
            yield Vertical(id="strips")
            yield Static("Hints this drill had", classes="section-title")
            yield Static(hint_lines(self.drill, self.hints_fired), id="hints", markup=False)
        yield Footer()

    @property
    def played_to_the_end(self) -> bool:
        return self.ended == "finished"

    def _headline(self) -> str:
        report = self.report
        if self.played_to_the_end:
            return f"{report.score:.0f}/100  grade {report.grade}"
        # Stopping before the incident has played out must not earn a grade: the SLIs
        # only cover the minutes played, so a quit before the fault would read 100/A.
        return (f"Not graded: ended at {format_clock(report.duration_s)} of {format_clock(self.drill.duration_s)} "
                f"(partial score {report.score:.0f})")

    def _summary(self) -> str:
        report = self.report
        ended = "played to the end" if self.played_to_the_end else f"ended early at {format_clock(report.duration_s)}"
        detected = "-" if report.time_to_detect_s is None else f"{report.time_to_detect_s:.0f}s"
        # Ended early, "mitigated" is not judged (the run may have stopped before the fault).
        mitigated = f"mitigated {_ttm(report)}" if self.played_to_the_end else "mitigation not judged"
        lines = [f"Run {ended} · seed {self.seed} · {len(self.actions)} action(s) · detected {detected} · {mitigated}"]
        if self.save_note:
            lines.append(self.save_note)
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.query_one("#debrief-top").border_title = "Score"
        table = self.query_one("#compare-table", DataTable)
        table.add_columns("Run", "Score", *(Text(sli.name[:12]) for sli in self.report.slis), "Mitigated")
        self.query_one("#breakdown").border_title = "Breakdown"
        if self.played_to_the_end:
            self._add_row(table, "You", self.report)
        else:
            self._add_row(table, "You (part)", self.report, partial=True)
        self._show_strips([("You", self.report)])
        self.compare_runs()

    def _add_row(self, table: DataTable, label: str, report: ScoreReport, *, partial: bool = False) -> None:
        cells = [f"{sli.attained:.2%}" + ("" if sli.met else " ✗") for sli in report.slis]
        if partial:
            # Only the time played was scored: no grade, and "mitigated" means nothing yet.
            table.add_row(label, f"({report.score:.0f})", *cells, "-")
        else:
            table.add_row(label, f"{report.score:.0f} {report.grade}", *cells, _ttm(report))

    def _show_strips(self, reports: list[tuple[str, ScoreReport]]) -> None:
        container = self.query_one("#strips", Vertical)
        container.remove_children()
        container.mount_all([SLIStrips(strips) for strips in strip_sets(reports, self.actions)])

    def compare_runs(self) -> None:
        """Simulate do nothing and par off the UI thread.

        A daemon thread rather than a Textual worker: each is a whole headless run
        that cannot be interrupted, and quitting must not wait for it.
        """
        threading.Thread(target=self._compare_in_thread, name="debrief-compare", daemon=True).start()

    def _compare_in_thread(self) -> None:
        from sim.running.headless import compare

        try:
            none_run, par_run = compare(self.drill, self.seed)
        except Exception as error:  # a failed reference run must not take the debrief down
            self._deliver(self.show_comparison_failed, error)
            return
        self._deliver(self.show_comparison, none_run.report, par_run.report)

    def _deliver(self, callback, *args) -> None:
        """Hand a result to the UI thread, unless the screen or the app is already gone."""
        if self.is_attached and self.app.is_running:
            try:
                self.app.call_from_thread(callback, *args)
            except RuntimeError:
                pass  # the app stopped between the check and the call

    def show_comparison_failed(self, error: Exception) -> None:
        """Say why there is no comparison."""
        self.query_one("#compare-status", Static).update(f"Could not simulate do nothing / par: {error}")

    def show_comparison(self, none_report: ScoreReport, par_report: ScoreReport) -> None:
        """Fill the table and strips once the headless runs are done."""
        if not self.is_attached:
            return
        self.comparison = (none_report, par_report)
        table = self.query_one("#compare-table", DataTable)
        self._add_row(table, "Do nothing", none_report)
        self._add_row(table, "Par", par_report)
        self._show_strips([("You", self.report), ("Do nothing", none_report), ("Par", par_report)])
        if not self.played_to_the_end:
            self.query_one("#compare-status", Static).update(
                f"Ended early, so not compared: over the whole drill par scores {par_report.score:.0f} "
                f"and doing nothing {none_report.score:.0f}."
            )
            return
        self.query_one("#compare-status", Static).update(Text(comparison_text(self.report, none_report, par_report)))
