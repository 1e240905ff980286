"""A postmortem's facts from a save: the run replayed exactly, graded beside do nothing and par.

`build_postmortem(path)` re-simulates the saved run (the replay machinery of
`sim.records.replay`, checked against the save's digest), watches it on the
app's gauge-sample cadence so the symptoms, hints and pages are the ones the
player saw, plays do nothing and par on the same seed, and gathers what a
blameless postmortem needs: the impact as error budget spent, the key times
(fault, first page, the action that helped, recovery), a timeline of every
event and action, and per-tick series for the charts, thinned to at most
`CHART_POINTS` points a run. Values only: `tui.report` renders them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import attrs
import numpy as np

from sim.drill.drill import Drill
from sim.drill.modes import hint_times_under, mode_named
from sim.model.errors import InputError
from sim.model.facilitation import FAULT_CANCEL, MESSAGE, NOTE, injected_faults, is_facilitator_action
from sim.model.spec import Action, Fault
from sim.records.replay import Replay, ShownWatch, load_drill_for
from sim.records.saves import Save, load_save
from sim.scoring.score import EVAL_WINDOW_S, ScoreReport, judge

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation
    from sim.running.headless import HeadlessRun

CHART_POINTS = 720
"""Most points a run's series keeps: a 9-minute drill at 50 ms ticks has 10,800, more than a chart shows."""

RUN_LABELS = ("You", "Do nothing", "Par")

TIMELINE_ORDER = ("fault_start", "fault_end", "symptom", "ticket", "page", "resolved", "hint", "facilitator", "fork",
                  "action", "refused", "helped", "impact", "recovered", "end")
"""Timeline entry kinds, in the order entries at the same moment are listed."""

References = Callable[..., "tuple[HeadlessRun, HeadlessRun]"]
"""(drill, seed) -> the do-nothing and par runs on that seed (`sim.running.headless.compare`); for a
facilitated run it is called as (drill, seed, injected) with the save's injected faults, which do
nothing and par replay too."""


def _ticks(t_s: float, dt_s: float) -> int:
    """The first tick boundary at or after t_s (where the engine starts or ends a fault)."""
    return max(0, int(math.ceil(t_s / dt_s - 1e-9)))


@attrs.frozen
class FaultWindow:
    """One of the drill's faults as it played in this run (the cause the player was not told)."""

    kind: str
    target: str
    detail: str
    """What the fault did, in words ("latency x9.3")."""
    start_s: float
    end_s: float | None
    """None: still going when the run ended."""
    injected: bool = False
    """Injected by a facilitator during the run (not one of the drill's faults)."""


@attrs.frozen
class TakenAction:
    """One action of the save, numbered as the charts mark it (A1, A2, ...)."""

    number: int
    t_s: float
    name: str
    args: tuple[tuple[str, object], ...]
    refused: bool
    outcome: str
    """The engine's words: what changed, or why it was refused."""

    @property
    def label(self) -> str:
        return f"A{self.number}"

    @property
    def text(self) -> str:
        """`pool.resize pool=main size=16`."""
        return action_text(self.name, self.args)


@attrs.frozen
class TimelineEntry:
    """One line of the timeline."""

    t_s: float
    kind: str
    """One of TIMELINE_ORDER."""
    text: str
    action: int | None = None
    """The action's number for action and refused entries."""


@attrs.frozen
class KeyTimes:
    """The moments a postmortem's summary is built on (sim seconds; None: it did not happen)."""

    fault_start_s: float | None
    first_symptom_s: float | None
    first_page_s: float | None
    """This run's first page (the player's actions may have spared it one)."""
    page_s: float | None
    """The page the response is measured from, as the score does: doing nothing's first page (the
    one this run got, or would have got without acting)."""
    first_action_s: float | None
    acted_s: float | None
    """The action that helped: the last one before the run pulled ahead of doing nothing."""
    helped_s: float | None
    """When that action had paid off."""
    impact_start_s: float | None
    """Start of the first evaluation window that missed an SLO, or the fault's start when that
    window began before the fault (None: no window missed one)."""
    recovered_s: float | None
    """End of the last window that missed an SLO, when every window after it met them all."""
    end_s: float
    """When the run ended."""

    @property
    def time_to_detect_s(self) -> float | None:
        """Fault start -> first page."""
        return _between(self.fault_start_s, self.first_page_s)

    @property
    def time_to_mitigate_s(self) -> float | None:
        """The page (the fault's start when doing nothing pages nobody) -> the action that helped."""
        return _between(self.page_s if self.page_s is not None else self.fault_start_s, self.acted_s)

    @property
    def time_to_recover_s(self) -> float | None:
        """Fault start -> recovery."""
        return _between(self.fault_start_s, self.recovered_s)

    @property
    def impact_s(self) -> float | None:
        """How long SLOs were being missed: first bad window -> recovery (or the run's end)."""
        if self.impact_start_s is None:
            return None
        return (self.recovered_s if self.recovered_s is not None else self.end_s) - self.impact_start_s

    @property
    def recovered(self) -> bool:
        """Every SLO was met again before the run ended (or was never missed)."""
        return self.impact_start_s is None or self.recovered_s is not None


def _between(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


@attrs.frozen
class RunSeries:
    """One run's per-tick series for the charts, thinned to at most CHART_POINTS points."""

    label: str
    t_s: np.ndarray = attrs.field(eq=False)
    """End time of each point (the last tick it covers)."""
    p50_ms: np.ndarray = attrs.field(eq=False)
    p95_ms: np.ndarray = attrs.field(eq=False)
    p99_ms: np.ndarray = attrs.field(eq=False)
    """The engine's rolling percentiles of successful requests (NaN: none yet)."""
    queue_depth: np.ndarray = attrs.field(eq=False)
    busy_slots: np.ndarray = attrs.field(eq=False)
    total_slots: np.ndarray = attrs.field(eq=False)
    pool_in_use: np.ndarray = attrs.field(eq=False)
    """[point, pool]"""
    pool_size: np.ndarray = attrs.field(eq=False)
    pool_waiters: np.ndarray = attrs.field(eq=False)
    window_end_s: np.ndarray = attrs.field(eq=False)
    window_sli: np.ndarray = attrs.field(eq=False)
    """[window, SLO] SLI of each evaluation window (NaN: nothing valid in it)."""
    budget_t_s: np.ndarray = attrs.field(eq=False)
    budget_spent: np.ndarray = attrs.field(eq=False)
    """[point, SLO] share of the month's error budget spent so far."""


@attrs.frozen
class RunOutcome:
    """One of the three runs compared: its graded report and the actions it took."""

    label: str
    report: ScoreReport
    actions: tuple[Action, ...]
    series: RunSeries


@attrs.frozen
class Postmortem:
    """Everything the postmortem draft says about one saved run."""

    save_file: str
    save: Save
    drill: Drill
    you: RunOutcome
    none: RunOutcome
    par: RunOutcome
    faults: tuple[FaultWindow, ...]
    actions: tuple[TakenAction, ...]
    timeline: tuple[TimelineEntry, ...]
    times: KeyTimes
    par_times: KeyTimes
    none_times: KeyTimes
    pool_names: tuple[str, ...]
    hints_shown: tuple[tuple[float, str], ...]
    """(when, text) of each hint the player was shown, in order."""

    @property
    def runs(self) -> tuple[RunOutcome, RunOutcome, RunOutcome]:
        return (self.you, self.none, self.par)

    @property
    def finished(self) -> bool:
        """Played to the drill's end (only such a run gets a grade)."""
        return self.save.ended == "finished"

    @property
    def branch(self) -> bool:
        return self.save.forked_from is not None


# --------------------------------------------------------------------------- words


def action_text(name: str, args) -> str:
    """An action and its arguments as typed: `pool.resize pool=main size=16` (None is `off`)."""
    parts = [name]
    for key, value in args:
        if value is None:
            value = "off"
        elif isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def fault_detail(fault: Fault) -> str:
    """What a fault does, in a few words."""
    kind = fault.kind
    if kind == "slow":
        parts = []
        if fault.factor != 1.0:
            parts.append(f"latency x{fault.factor:.3g}")
        if fault.add_s:
            parts.append(f"+{fault.add_s * 1000:.0f} ms a call")
        return ", ".join(parts) or "slower calls"
    if kind == "errors":
        return f"{fault.rate:.0%} of calls fail"
    if kind == "down":
        return "every call fails"
    if kind == "blackhole":
        return "calls hang until they time out"
    if kind == "latency_pulses":
        return f"+{fault.add_s * 1000:.0f} ms for {fault.width_s:g}s every {fault.period_s:g}s"
    if kind == "packet_loss":
        return f"{fault.rate:.0%} packet loss, {fault.retransmit_s:g}s to retransmit"
    if kind == "cache_flush":
        return f"cache flushed to a {fault.hit_ratio:.0%} hit ratio"
    if kind == "traffic":
        return f"traffic x{fault.factor:.3g}"
    if kind == "memory_leak":
        return f"memory leaking {fault.mb_per_s:g} MB/s"
    if kind == "lose_workers":
        return f"{fault.count} worker{'s' if fault.count != 1 else ''} lost"
    return kind


def fault_windows(drill: Drill, end_s: float, timeline: tuple[Fault, ...] | None = None) -> tuple[FaultWindow, ...]:
    """The run's faults that started before it ended, at the tick times the engine used.

    `timeline`: the run's faults as the engine ended them (`Faults.timeline`: the drill's, as a
    facilitator may have cancelled them, then the injected ones); default the drill's own.
    """
    dt_s = drill.dt_s
    own = len(drill.model.faults)
    faults = drill.model.faults if timeline is None else timeline
    windows = []
    for index, fault in sorted(enumerate(faults), key=lambda item: (item[1].at_s, item[0])):
        start_s = _ticks(fault.at_s, dt_s) * dt_s
        if start_s > end_s + 1e-9:
            continue
        if math.isfinite(fault.end_s) and _ticks(fault.end_s, dt_s) <= _ticks(fault.at_s, dt_s):
            continue  # cancelled by a facilitator before it started: it never ran
        end = None
        if math.isfinite(fault.end_s):
            fault_end_s = _ticks(fault.end_s, dt_s) * dt_s
            end = fault_end_s if fault_end_s <= end_s + 1e-9 else None
        windows.append(FaultWindow(fault.kind, fault.target, fault_detail(fault), start_s, end, injected=index >= own))
    return tuple(windows)


def taken_actions(actions: tuple[Action, ...], events) -> tuple[TakenAction, ...]:
    """Number the save's actions and pair each with the engine's word on it (applied or refused).

    The engine logs exactly one action_applied or action_refused event for each action, at its
    tick time and with the action's name as subject, in the order it applied them.
    """
    verdicts: dict[tuple[int, str], list] = {}
    for event in events:
        if event.kind in ("action_applied", "action_refused"):
            verdicts.setdefault((round(event.t_s * 1e6), event.subject), []).append(event)
    taken = []
    for number, action in enumerate(actions, start=1):
        queue = verdicts.get((round(action.t_s * 1e6), action.name), [])
        event = queue.pop(0) if queue else None
        refused = event is not None and event.kind == "action_refused"
        outcome = event.message if event is not None else ""
        taken.append(TakenAction(number, action.t_s, action.name, action.args, refused, outcome))
    return tuple(taken)


# --------------------------------------------------------------------------- times


def key_times(report: ScoreReport, faults: tuple[FaultWindow, ...], *, first_symptom_s: float | None,
              actions: tuple[float, ...], acted_s: float | None, helped_s: float | None,
              page_s: float | None) -> KeyTimes:
    """The summary's moments for one run; `page_s` is doing nothing's first page."""
    windows = report.windows
    bad = [i for i, window in enumerate(windows) if not window.ok]
    impact_start = windows[bad[0]].start_s if bad else None
    if bad and faults and windows[bad[0]].start_s < faults[0].start_s < windows[bad[0]].end_s:
        # The window began before the fault: its misses began with the fault, not the window.
        impact_start = faults[0].start_s
    # Recovered once the last window that missed an SLO is followed by at least one that met them all.
    recovered = windows[bad[-1]].end_s if bad and bad[-1] < len(windows) - 1 else None
    return KeyTimes(
        fault_start_s=faults[0].start_s if faults else None,
        first_symptom_s=first_symptom_s,
        first_page_s=report.first_page_s,
        page_s=page_s,
        first_action_s=min(actions) if actions else None,
        acted_s=acted_s,
        helped_s=helped_s,
        impact_start_s=impact_start,
        recovered_s=recovered,
        end_s=report.duration_s,
    )


# --------------------------------------------------------------------------- series


def _thin(values: np.ndarray, bucket: int, how: str) -> np.ndarray:
    """Every `bucket` rows as one: their mean, or the last of them (for rolling values and times)."""
    n = len(values)
    if bucket <= 1 or n == 0:
        return np.asarray(values, dtype=np.float64)
    ends = np.minimum(np.arange(bucket, n + bucket, bucket), n)
    if how == "last":
        return np.asarray(values, dtype=np.float64)[ends - 1]
    starts = np.concatenate(([0], ends[:-1]))
    sums = np.add.reduceat(np.asarray(values, dtype=np.float64), starts, axis=0)
    widths = (ends - starts).reshape(-1, *([1] * (np.ndim(values) - 1)))
    return sums / widths


def run_series(label: str, sim: Simulation, report: ScoreReport, budgets: np.ndarray) -> RunSeries:
    """A run's charts' series over [0, report.duration_s] from its simulation's history.

    The history must still hold those ticks (a replay keeps the whole run; a headless run keeps
    32768 ticks, more than any shipped drill): held ticks before the span's end are used.
    """
    history = sim.history
    t_s = history.series("t_s")
    keep = t_s <= report.duration_s + 1e-9
    n = int(keep.sum())
    bucket = max(1, -(-n // CHART_POINTS))

    def series(name: str, how: str) -> np.ndarray:
        return _thin(history.series(name)[keep], bucket, how)

    n_slo = len(report.slis)
    windows = report.windows
    window_sli = np.array([[np.nan if v is None else v for v in w.sli] for w in windows],
                          dtype=np.float64).reshape(len(windows), n_slo)
    with np.errstate(divide="ignore", invalid="ignore"):
        spent = np.where(budgets > 0, report.curve_bad / np.where(budgets > 0, budgets, 1.0), 0.0)
    curve_bucket = max(1, -(-len(report.curve_t_s) // CHART_POINTS))
    return RunSeries(
        label=label,
        t_s=series("t_s", "last"),
        p50_ms=series("p50_ms", "last"),
        p95_ms=series("p95_ms", "last"),
        p99_ms=series("p99_ms", "last"),
        queue_depth=series("queue_depth", "mean"),
        busy_slots=series("busy_slots", "mean"),
        total_slots=series("total_slots", "mean"),
        pool_in_use=series("pool_in_use", "mean") if "pool_in_use" in history.names else np.zeros((0, 0)),
        pool_size=series("pool_size", "mean") if "pool_size" in history.names else np.zeros((0, 0)),
        pool_waiters=series("pool_waiters", "mean") if "pool_waiters" in history.names else np.zeros((0, 0)),
        window_end_s=np.array([w.end_s for w in windows], dtype=np.float64),
        window_sli=window_sli,
        budget_t_s=_thin(report.curve_t_s, curve_bucket, "last"),
        budget_spent=_thin(spent.reshape(len(report.curve_t_s), n_slo), curve_bucket, "last"),
    )


# --------------------------------------------------------------------------- timeline


def build_timeline(*, faults: tuple[FaultWindow, ...], symptoms, alerts, hints: tuple[tuple[float, str], ...],
                   actions: tuple[TakenAction, ...], times: KeyTimes, save: Save, finished: bool,
                   drill_duration_s: float, fault_timeline: tuple[Fault, ...] = ()) -> tuple[TimelineEntry, ...]:
    """Every moment of the run a postmortem's timeline lists, in time order (`fault_timeline`: the
    run's `Faults.timeline`, which a facilitator's fault.cancel indexes)."""
    entries = []
    for fault in faults:
        by = " (injected by the facilitator)" if fault.injected else ""
        entries.append(TimelineEntry(fault.start_s, "fault_start",
                                     f"Fault starts{by}: {fault.kind} on {fault.target} ({fault.detail})"))
        if fault.end_s is not None:
            entries.append(TimelineEntry(fault.end_s, "fault_end", f"Fault ends: {fault.kind} on {fault.target}"))
    for action in save.actions:
        # The facilitator's words, which the trainee saw (message) or did not (note); injections and
        # cancels show as the faults they started and ended.
        if action.name == MESSAGE:
            entries.append(TimelineEntry(action.t_s, "facilitator", f"Facilitator's message: {action.arg('text')}"))
        elif action.name == NOTE:
            entries.append(TimelineEntry(action.t_s, "facilitator", f"Facilitator's note: {action.arg('text')}"))
        elif action.name == FAULT_CANCEL:
            index = action.arg("fault")
            what = "a fault"
            if isinstance(index, int) and 0 <= index < len(fault_timeline):
                what = f"{fault_timeline[index].kind} on {fault_timeline[index].target}"
            entries.append(TimelineEntry(action.t_s, "facilitator", f"The facilitator cancels {what}"))
    for symptom in symptoms:
        entries.append(TimelineEntry(symptom.t_s, "symptom", f"Symptom seen: {symptom.text}"))
    first_page = True
    for alert in alerts:
        if alert.kind == "CLEAR":
            entries.append(TimelineEntry(alert.t_s, "resolved", f"Alert resolved: SLO {alert.slo}"))
            continue
        if alert.is_page:
            what = "First page" if first_page else "Page"
            first_page = False
            entries.append(TimelineEntry(alert.t_s, "page", f"{what}: {alert.text.removeprefix('PAGE ')}"))
        else:
            entries.append(TimelineEntry(alert.t_s, "ticket", f"Ticket: {alert.text.removeprefix('TICKET ')}"))
    for t_s, text in hints:
        entries.append(TimelineEntry(t_s, "hint", f"Hint shown: {text}"))
    if save.forked_from is not None:
        fork = save.forked_from
        entries.append(TimelineEntry(fork.t_s, "fork", f"Branched from a replay of {fork.save}: "
                                     "the actions before this were the original run's"))
    for action in actions:
        if action.refused:
            entries.append(TimelineEntry(action.t_s, "refused", f"{action.label} {action.text}: refused "
                                         f"({action.outcome})", action.number))
        else:
            said = f" ({action.outcome})" if action.outcome else ""
            entries.append(TimelineEntry(action.t_s, "action", f"{action.label} {action.text}{said}", action.number))
    if times.helped_s is not None and times.acted_s is not None:
        number = next((a.label for a in actions if not a.refused and abs(a.t_s - times.acted_s) < 1e-9), "the action")
        entries.append(TimelineEntry(times.helped_s, "helped", f"Mitigation paying off: {number} has saved a tenth "
                                     "of what par saves over doing nothing"))
    if times.impact_start_s is not None:
        entries.append(TimelineEntry(times.impact_start_s, "impact", "Impact begins: SLOs missed (the first "
                                     f"{EVAL_WINDOW_S:g} s evaluation window below target)"))
    if times.recovered_s is not None:
        entries.append(TimelineEntry(times.recovered_s, "recovered", "Recovered: every SLO met in every window "
                                     "from here to the end of the run"))
    if finished:
        end = "Drill ends" + ("" if times.recovered else ": the service has not recovered")
    else:
        end = (f"Run {save.ended} before the drill's end ({drill_duration_s:g} s)"
               + ("" if times.recovered else ", the service not yet recovered"))
    entries.append(TimelineEntry(times.end_s, "end", end))
    rank = {kind: i for i, kind in enumerate(TIMELINE_ORDER)}
    return tuple(sorted(entries, key=lambda e: (round(e.t_s, 6), rank[e.kind], e.action or 0)))


# --------------------------------------------------------------------------- building


def _replay_watched(save: Save, drill: Drill, save_path: Path) -> tuple[Simulation, ShownWatch]:
    """Re-simulate the saved run, watched on the app's sample cadence; the simulation keeps its
    whole history."""
    replay = Replay.start(save, drill, save_path=save_path, checkpoint_every_s=math.inf)
    shown = ShownWatch.for_run(drill, replay.sim)
    shown.observe(replay.sim)
    while replay.step():
        shown.observe(replay.sim)
    shown.tracker.update(replay.sim)
    return replay.sim, shown


def _default_references(drill: Drill, seed: int, injected: tuple[Action, ...] = ()):
    from sim.running.headless import compare

    return compare(drill, seed, injected)


def _pool_names(sim: Simulation) -> tuple[str, ...]:
    pools = sim.pools
    return tuple(pools.pool(i).name for i in range(len(pools)))


def build_postmortem(path: str | os.PathLike[str], *, references: References | None = None) -> Postmortem:
    """Replay a save and gather its postmortem.

    Raises InputError (one line, naming the save) for a bad save, a missing or changed drill, or
    a replay that does not reproduce the save's digest: a report of another run would mislead.
    `references(drill, seed)` gives do nothing and par (default `sim.running.headless.compare`);
    the debrief passes the runs it already simulated. A facilitated run's do nothing and par
    replay its injected faults, as the debrief's do: `references(drill, seed, injected)`.
    """
    file = str(path)
    save = load_save(path)
    drill = load_drill_for(save, file)
    sim, shown = _replay_watched(save, drill, Path(path))
    if sim.digest() != save.digest:
        raise InputError.single(
            file, f"the replay does not reproduce the recorded run (metric digest {sim.digest()[:12]}..., saved "
            f"{save.digest[:12]}...; recorded with engine {save.engine_version}): a report would describe "
            "another run", path="save.digest",
        )
    report = shown.tracker.report()
    injected = injected_faults(save.actions)
    references = references or _default_references
    none_run, par_run = references(drill, save.seed, injected) if injected else references(drill, save.seed)
    span = report.duration_s
    none_report, par_report = none_run.report_until(span), par_run.report_until(span)
    graded = judge(report, none_report, par_report, branch=save.forked_from is not None)
    none_graded = judge(none_report, none_report, par_report)
    par_graded = judge(par_report, none_report, par_report)
    budgets = np.array([sli.month_budget_events for sli in none_report.slis], dtype=np.float64)

    verdict = graded.verdict
    faults = fault_windows(drill, span, sim.faults.timeline)
    # The trainee's actions only: the facilitator's show as faults and words in the timeline.
    trainee_actions = tuple(a for a in save.actions if not is_facilitator_action(a.name))
    actions = taken_actions(trainee_actions, shown.tracker.events)
    # What the player was shown depended on the mode: hints late or never, no symptoms on call.
    mode = mode_named(save.mode)
    symptoms = tuple(shown.symptoms_seen) if mode.symptoms else ()
    hint_times = hint_times_under(mode, shown.hints.fired, save.end_t_s)
    hints = tuple((t_s, drill.hints[index].text) for index, t_s in hint_times.items())
    first_symptom = symptoms[0].t_s if symptoms else None
    times = key_times(graded, faults, first_symptom_s=first_symptom,
                      actions=tuple(a.t_s for a in actions if not a.refused),
                      acted_s=verdict.acted_at_s, helped_s=verdict.helped_at_s, page_s=verdict.first_page_s)
    par_actions = tuple(a for a in drill.par if a.t_s <= span + 1e-9)
    par_times = key_times(par_graded, faults, first_symptom_s=None, actions=tuple(a.t_s for a in par_actions),
                          acted_s=verdict.par_acted_at_s, helped_s=verdict.par_helped_at_s,
                          page_s=verdict.first_page_s)
    none_times = key_times(none_graded, faults, first_symptom_s=None, actions=(), acted_s=None, helped_s=None,
                          page_s=verdict.first_page_s)
    timeline = build_timeline(faults=faults, symptoms=symptoms, alerts=graded.alerts, hints=hints, actions=actions,
                              times=times, save=save, finished=save.ended == "finished",
                              drill_duration_s=drill.duration_s, fault_timeline=sim.faults.timeline)
    return Postmortem(
        save_file=file,
        save=save,
        drill=drill,
        you=RunOutcome(RUN_LABELS[0], graded, trainee_actions, run_series(RUN_LABELS[0], sim, graded, budgets)),
        none=RunOutcome(RUN_LABELS[1], none_graded, (),
                        run_series(RUN_LABELS[1], none_run.sim, none_graded, budgets)),
        par=RunOutcome(RUN_LABELS[2], par_graded, par_actions,
                       run_series(RUN_LABELS[2], par_run.sim, par_graded, budgets)),
        faults=faults,
        actions=actions,
        timeline=timeline,
        times=times,
        par_times=par_times,
        none_times=none_times,
        pool_names=_pool_names(sim),
        hints_shown=hints,
    )
