"""The training programme in the app: blind incidents ("Surprise me") and each run's progress record.

Kept out of app.py: the app calls `surprise_me` from the picker (or `brownout play
--blind`) and `record_progress` once the debrief has graded a run.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import attrs

from sim.drill.blind import BlindIncident, draw_blind, fresh_seed, pick
from sim.drill.drill import Drill
from sim.model.errors import InputError
from sim.records.progress import ProgressError, RunRecord, load_profile, record_run
from sim.scoring.score import ScoreReport


@attrs.frozen
class RunContext:
    """How the live run is being played: its mode, and the blind presentation if blind."""

    drill: Drill
    """The drill itself (a blind run shows a masked copy until the debrief)."""
    mode: str
    blind: BlindIncident | None = None
    branch: bool = False


def played_seeds(app, drill_id: str) -> set[int]:
    """Seeds the app's player already played `drill_id` on (none when progress cannot be read;
    a bad progress file set aside on the way is reported)."""
    try:
        profile, warning = load_profile(app.player)
    except ProgressError:
        return set()
    if warning:
        app.notify(warning, title="Progress file set aside", severity="warning", timeout=10, markup=False)
    return {run.seed for run in profile.runs if run.drill_id == drill_id}


def surprise_me(app, difficulty: int | None = None, rng: random.Random | None = None) -> None:
    """A random drill of the picker's (of `difficulty` if given) on a fresh seed, briefed blind."""
    from tui.dialogs.message_dialog import MessageDialog
    from tui.screens.briefing import BriefingScreen

    rng = rng or app.rng
    entries = list(app.drill_entries())
    entry = pick(entries, rng, difficulty)
    if entry is None:
        which = f" of difficulty {difficulty}" if difficulty is not None else ""
        app.push_screen(MessageDialog("No drill to surprise you with", f"There is no drill{which} to play."))
        return
    seed = fresh_seed(rng, played_seeds(app, entry.id))
    try:
        drill = entry.load_seeded(seed)
    except InputError as error:
        # Name nothing but the file: the title would give the incident away.
        app.push_screen(MessageDialog("Cannot load the drill drawn", str(error)))
        return
    app.push_screen(BriefingScreen(drill, blind=draw_blind(drill, rng), mode=app.mode))


def record_progress(app, context: RunContext, seed: int, report: ScoreReport, *, ended: str,
                    started_at: dt.datetime, save_path: Path | None) -> None:
    """Add the graded run to the player's progress; a problem is a notification, never an exception."""
    verdict = report.verdict
    record = RunRecord(
        drill_id=context.drill.id, drill_title=context.drill.title, seed=int(seed), mode=context.mode,
        blind=context.blind is not None, branch=context.branch, ended=ended,
        score=None if report.score is None else round(float(report.score), 2),
        # As in saves: only a run played to the end has a grade.
        grade=report.grade if ended == "finished" else None,
        budget_spent=() if verdict is None else tuple((line.slo, float(line.you)) for line in verdict.spent),
        started_at=started_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        save=None if save_path is None else save_path.name,
    )
    try:
        _, warning = record_run(app.player, record)
    except ProgressError as error:
        app.notify(f"Progress not recorded: {error}", severity="error", timeout=10, markup=False)
        return
    if warning:
        app.notify(warning, title="Progress file set aside", severity="warning", timeout=10, markup=False)
