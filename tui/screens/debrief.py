"""The debrief: score, grade and breakdown; SLIs over time beside "do nothing" and par; the hints."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from sim.drill.drill import Drill
from sim.scoring.score import EVAL_WINDOW_S, ScoreReport, Verdict, judge
from sim.model.spec import Action
from sim.model.facilitation import injected_faults, is_facilitator_action
from tui.commands import ScreenCommands
from tui.frame import format_clock
from tui.widgets.sli_strips import SLIStrips, StripRow, StripSet


def _share(x: float) -> str:
    """A share of a month's budget: more digits when small."""
    return f"{x:.2%}" if abs(x) < 0.1 else f"{x:.1%}"


def _clock(t_s: float | None) -> str:
    return "-" if t_s is None else format_clock(t_s)


def timeline_text(verdict: Verdict, actions: tuple[Action, ...], par: tuple[Action, ...]) -> str:
    """First page, the action that helped (yours and par's), then both action lists with their times."""
    head = [f"first page {_clock(verdict.first_page_s)}" if verdict.first_page_s is not None else "nobody was paged"]
    head.append("you acted " + (_clock(verdict.acted_at_s) if verdict.acted_at_s is not None else "— nothing you did helped"))
    head.append(f"par {_clock(verdict.par_acted_at_s)}")
    lines = [" · ".join(head)]
    yours = tuple(a for a in actions if not is_facilitator_action(a.name))
    for label, script in (("You", yours), ("Par", par)):
        shown = ", ".join(f"{format_clock(a.t_s)} {a.name}" for a in script[:6])
        more = f" +{len(script) - 6}" if len(script) > 6 else ""
        lines.append(f"{label}: {shown or 'no actions'}{more}")
    injected = injected_faults(actions)
    if injected:
        # A facilitated run: what was injected is marked, and do nothing and par had it too.
        shown = ", ".join(f"{format_clock(a.t_s)} {_injection_text(a)}" for a in injected[:4])
        more = f" +{len(injected) - 4}" if len(injected) > 4 else ""
        lines.append(f"Injected by the facilitator (also in do nothing and par): {shown}{more}")
    return "\n".join(lines)


def _injection_text(action: Action) -> str:
    if action.name == "fault.cancel":
        return f"cancelled fault {action.arg('fault')}"
    return f"{action.arg('kind')} on {action.arg('target')}"


def comparison_text(you: ScoreReport, none: ScoreReport, par: ScoreReport) -> str:
    """The headline in words: the month's budget this incident spent, per SLO, beside do nothing and par."""
    verdict = you.verdict
    if verdict is None:
        return ""
    lines = []
    for line in verdict.spent:
        lines.append(f"This incident spent {_share(line.you)} of the month's {line.slo} budget "
                     f"(do nothing {_share(line.none)}, par {_share(line.par)}).")
    if verdict.avoided is not None:
        if verdict.avoided > 1.0 + 1e-9:
            lines.append("You did better than par.")
        else:
            lines.append(f"You avoided {max(verdict.avoided, 0.0):.0%} of the damage par avoids.")
    if you.degraded:
        lines.append(f"{you.degraded} degraded answers were counted at their cost in the budgets.")
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
    """How the run went, graded against do nothing and par over the same span; `on_graded` (the
    app's) then records the grade in the save.

    Do nothing and par come from `references`, the job the app started at the drill's start
    (sim.running.references): ready, they are used at once; still running, a progress bar follows
    them; missing or failed, they are simulated here in a thread, as a last resort.
    """

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("escape,enter", "app.back_to_picker", "Drills", id="debrief.drills", tooltip="Back to the drill list."),
        Binding("e", "export_postmortem", "Postmortem", id="debrief.postmortem",
                tooltip="Write a postmortem draft of this run (Markdown, SVG charts, HTML) beside its save."),
        Binding("q", "app.quit", "Quit", id="debrief.quit", tooltip="Leave Brownout."),
        Binding("question_mark,f1", "app.help", "Help", id="debrief.help", tooltip="Every key of the app."),
    ]

    def __init__(self, drill: Drill, seed: int, report: ScoreReport, actions: tuple[Action, ...], *,
                 ended: str, hints_fired: dict[int, float], save_note: str = "", branch: bool = False,
                 on_graded=None, save_path: Path | None = None, mode: str = "guided", blind=None,
                 references=None) -> None:
        super().__init__()
        self.mode = mode
        self.blind = blind
        """The run's BlindIncident when it was played blind: the debrief reveals the drill behind it."""
        self.references = references
        self.poll_timer = None
        self.local_share: float | None = None
        """Progress of do nothing and par simulated here (the fallback), read by the poll timer."""
        self.drill = drill
        self.seed = seed
        self.report = report
        self.actions = actions
        self.ended = ended
        self.hints_fired = hints_fired
        self.save_note = save_note
        self.branch = branch
        self.on_graded = on_graded
        self.comparison: tuple[ScoreReport, ScoreReport] | None = None
        self.save_path = save_path
        """The run's save, which the postmortem export replays (None: the run could not be saved)."""
        self.reference_runs = None
        """Do nothing and par as simulated for grading (HeadlessRuns), reused by the export."""
        self.exporting = False
        self.exported = None
        """The files the last export wrote (tui.report.export.ReportFiles)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="debrief"):
            yield Static(self._title(), id="debrief-title", markup=False)
            with Vertical(id="debrief-top"):
                yield Static("Grading against do nothing and par on the same seed…", id="score-big")
                yield Static(self._summary(), id="score-summary", markup=False)
                yield DataTable(id="compare-table", cursor_type="none", show_cursor=False)
                yield Static("", id="compare-status", markup=False)
                yield ProgressBar(total=1.0, show_eta=False, id="compare-progress")
            yield Static("Timeline", classes="section-title")
            yield Static("", id="timeline", markup=False)
            yield Static("Breakdown", classes="section-title")
            yield Static("", id="breakdown", markup=False)
            yield Static("What a seasoned on-call engineer does", classes="section-title")
            yield Static(self.drill.debrief.strip() or "This drill has no lesson text.", id="lesson", markup=False)
            yield Vertical(id="strips")
            yield Static("Hints this drill had", classes="section-title")
            yield Static(hint_lines(self.drill, self.hints_fired), id="hints", markup=False)
        yield Footer()

    def _title(self) -> str:
        if self.blind is None:
            return f"Debrief — {self.drill.title}"
        return f"Debrief — {self.blind.name} was: {self.drill.title} ({self.drill.id})"

    @property
    def played_to_the_end(self) -> bool:
        return self.ended == "finished"

    def _headline(self) -> str:
        report = self.report
        branch = "  (branch from a replay: played with hindsight, never counted as a best)" if self.branch else ""
        if self.played_to_the_end:
            return f"{report.score:.0f}/100  grade {report.grade}{branch}"
        # Stopping before the incident has played out must not earn a grade: the run is compared
        # with do nothing and par over the same minutes, but that says little about the incident.
        return (f"Not graded: ended at {format_clock(report.duration_s)} of {format_clock(self.drill.duration_s)} "
                f"(over the same span as do nothing and par: {report.score:.0f}){branch}")

    def _summary(self) -> str:
        report = self.report
        ended = "played to the end" if self.played_to_the_end else f"ended early at {format_clock(report.duration_s)}"
        lines = [f"Run {ended} · seed {self.seed} · {self.mode}{' · blind' if self.blind else ''} · "
                 f"{len(self.actions)} action(s) · "
                 f"first page {_clock(report.first_page_s) if report.first_page_s is not None else '-'}"]
        if self.save_note:
            lines.append(self.save_note)
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.query_one("#debrief-top").border_title = "Month's error budget spent"
        table = self.query_one("#compare-table", DataTable)
        table.add_columns("Run", "Score", *(Text(sli.name[:14]) for sli in self.report.slis))
        self._show_strips([("You", self.report)])
        self.compare_runs()

    def _add_row(self, table: DataTable, label: str, report: ScoreReport, spent: tuple[float, ...]) -> None:
        if report.verdict is None:
            score = "-"
        elif self.played_to_the_end:
            score = f"{report.score:.0f} {report.grade}"
        else:
            score = f"({report.score:.0f})"
        table.add_row(label, score, *(_share(x) for x in spent))

    def _show_strips(self, reports: list[tuple[str, ScoreReport]]) -> None:
        container = self.query_one("#strips", Vertical)
        container.remove_children()
        container.mount_all([SLIStrips(strips) for strips in strip_sets(reports, self.actions)])

    def compare_runs(self) -> None:
        """Grade from the background job's results, wait for them, or simulate them here."""
        job = self.references
        if job is not None and job.poll() is not None:
            self._grade_in_thread(job.result)
            return
        self.poll_timer = self.set_interval(0.1, self._poll_references)
        if job is not None and job.running:
            self._show_progress(job.progress)
        else:
            self._grade_in_thread(None)

    def _poll_references(self) -> None:
        """While grading waits: follow the background job, or the fallback simulating here."""
        if self.comparison is not None:
            self.poll_timer.stop()
            return
        job = self.references
        if self.local_share is not None:
            self._show_progress(self.local_share)
        elif job.poll() is not None:
            self.poll_timer.stop()
            self._grade_in_thread(job.result)
        elif job.running:
            self._show_progress(job.progress)
        else:  # the process failed or was killed: simulate here instead
            self._grade_in_thread(None)

    def _show_progress(self, share: float) -> None:
        bar = self.query_one("#compare-progress", ProgressBar)
        bar.display = True
        bar.update(progress=share)

    def _grade_in_thread(self, references) -> None:
        """Grade off the UI thread (simulating do nothing and par first when `references` is None).

        A daemon thread rather than a Textual worker: a simulation cannot be interrupted,
        and quitting must not wait for it.
        """
        if references is None:
            self.local_share = 0.0  # before the thread starts: the poll timer now follows it
        threading.Thread(target=self._compare_in_thread, args=(references,), name="debrief-compare",
                         daemon=True).start()

    def _compare_in_thread(self, references) -> None:
        from sim.running.references import compute_references

        try:
            injected = injected_faults(self.actions)
            if references is None or injected:
                # A facilitator's injected faults are part of do nothing and par too: the
                # background job (started before them) cannot know them.
                # A plain attribute the poll timer reads: a blocking call into the UI per step would slow this.
                references = compute_references(self.drill, self.seed, injected,
                                                progress=lambda share: setattr(self, "local_share", share))
            none_run, par_run = references.none, references.par
            self.reference_runs = (none_run, par_run)
            span = self.report.duration_s
            none_report, par_report = none_run.report_until(span), par_run.report_until(span)
            graded = judge(self.report, none_report, par_report, branch=self.branch)
            none_report = judge(none_report, none_report, par_report)
            par_report = judge(par_report, none_report, par_report)
        except Exception as error:  # a failed reference run must not take the debrief down
            self._deliver(self.show_comparison_failed, error)
            return
        self._deliver(self.show_comparison, graded, none_report, par_report)

    def _deliver(self, callback, *args) -> None:
        """Hand a result to the UI thread, unless the screen or the app is already gone."""
        if self.is_attached and self.app.is_running:
            try:
                self.app.call_from_thread(callback, *args)
            except RuntimeError:
                pass  # the app stopped between the check and the call

    def show_comparison_failed(self, error: Exception) -> None:
        """Say why there is no grade."""
        if self.poll_timer is not None:
            self.poll_timer.stop()
        self.query_one("#compare-progress", ProgressBar).display = False
        self.query_one("#score-big", Static).update("Not graded")
        self.query_one("#compare-status", Static).update(f"Could not simulate do nothing / par: {error}")

    def show_comparison(self, graded: ScoreReport, none_report: ScoreReport, par_report: ScoreReport) -> None:
        """Grade, budget table, timeline and strips, once the headless runs are done."""
        if not self.is_attached:
            return
        self.report = graded
        self.comparison = (none_report, par_report)
        self.query_one("#compare-progress", ProgressBar).display = False
        verdict = graded.verdict
        self.query_one("#score-big", Static).update(self._headline())
        table = self.query_one("#compare-table", DataTable)
        for label, report, column in (("You", graded, "you"), ("Do nothing", none_report, "none"),
                                      ("Par", par_report, "par")):
            self._add_row(table, label, report, tuple(getattr(line, column) for line in verdict.spent))
        self.query_one("#compare-status", Static).update(comparison_text(graded, none_report, par_report))
        self.query_one("#timeline", Static).update(timeline_text(verdict, self.actions, self.drill.par))
        self.query_one("#breakdown", Static).update("\n".join(str(line) for line in verdict.breakdown))
        self._show_strips([("You", graded), ("Do nothing", none_report), ("Par", par_report)])
        if self.on_graded is not None:
            self.on_graded(graded)

    # -- the postmortem --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "export_postmortem" and self.save_path is None:
            return None  # shown greyed out: there is no save to replay
        return True

    def action_export_postmortem(self) -> None:
        """Write the postmortem of this run beside its save, off the UI thread (it replays the run)."""
        if self.save_path is None or self.exporting:
            return
        self.exporting = True
        self.notify("Writing the postmortem: replaying the run…", timeout=3)
        threading.Thread(target=self._export_in_thread, name="debrief-postmortem", daemon=True).start()

    def _export_in_thread(self) -> None:
        from sim.model.errors import InputError
        from tui.report.charts import ReportUnavailable
        from tui.report.export import export_beside_save

        runs = self.reference_runs
        # The runs the debrief graded against (with a facilitated run's injected faults replayed),
        # when they carry their simulations: the background job's hold only their reports, and
        # the charts need the histories, so the report then plays do nothing and par itself.
        if runs is not None and all(hasattr(run, "sim") for run in runs):
            references = (lambda drill, seed, injected=(): runs)
        else:
            references = None
        try:
            files = export_beside_save(self.save_path, references=references)
        except InputError as error:
            self._deliver(self.show_export_failed, error.first_line())
        except ReportUnavailable as error:
            self._deliver(self.show_export_failed, str(error))
        except Exception as error:  # a failed export must not take the debrief down
            self._deliver(self.show_export_failed, f"{type(error).__name__}: {error}")
        else:
            self._deliver(self.show_exported, files)

    def show_exported(self, files) -> None:
        """Say where the postmortem went."""
        self.exporting = False
        self.exported = files
        also = f" and {files.html.name}" if files.html is not None else ""
        self.notify(f"Postmortem written: {files.markdown}{also} (charts beside it)", title="Postmortem", timeout=10)

    def show_export_failed(self, message: str) -> None:
        """Say why there is no postmortem, in one line."""
        self.exporting = False
        self.notify(f"No postmortem: {message}", title="Postmortem", severity="error", timeout=10)
