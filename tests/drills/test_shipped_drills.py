"""Generic checks over every shipped drill in drills/ (parametrized by file).

Every drill must load and validate cleanly on its own seed and on other seeds
(which redraw its seeded ranges), be a well-formed lesson (SLOs of both kinds,
a par solution that comes after the first symptoms, 2-4 hints, a wrong move and
a debrief lesson), and be well posed (`sim.running.check`): doing nothing grades
F and par A on seed 1, and its ladder (par delayed 30 s, the wrong move, the
fallback shortcuts) scores in order. Whole-drill runs
are most of the suite's time: every rung forks from the do-nothing run at its
first action.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.drill.loader import SHIPPED_DRILLS_DIR, load_drill, validate_drill_file
from sim.running.check import DrillCheck, check_seed, format_check, judge_ladder
from sim.model.spec import ACTION_NAMES

DRILL_PATHS = sorted(Path(SHIPPED_DRILLS_DIR).glob("*.toml"))
OTHER_SEEDS = (1, 2, 3, 4, 5)
SEEDS = (None, *OTHER_SEEDS)
"""None is the drill's own [drill].seed."""
LADDER_SEED = 1
LADDER_DELAYS_S = (30.0,)
"""The suite plays the well-posedness check's ladder on one seed with one delayed par:
do nothing, par, par 30 s late, the wrong move and the fallback shortcuts. Every rule is
judged (do nothing F, par A, a later par never above an earlier one, the wrong move C or
below, no shortcut A); `brownout drills check --seeds N` plays the whole ladder (par 15, 30
and 60 s late) on N seeds, which the suite cannot afford (a shipped drill's whole ladder
on three seeds is 2-6 CPU minutes)."""
REACTION_S = 5.0
"""The first par action must come at least this long after the incident starts:
a trainee acts on symptoms, not on foreknowledge."""


def _ids(path: Path) -> str:
    return path.stem


def test_drills_are_shipped():
    assert len(DRILL_PATHS) >= 6, f"expected the shipped drills in {SHIPPED_DRILLS_DIR}"


@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_drill_validates_without_problems(path):
    problems = validate_drill_file(path)
    assert problems == [], "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_drill_is_a_well_formed_lesson(path):
    drill = load_drill(path)
    assert drill.id == path.stem, "the file is named after the drill id"
    assert 1 <= drill.difficulty <= 5
    assert drill.briefing.strip()
    assert 5 * 60 <= drill.duration_s <= 10 * 60, "a drill runs 5-10 minutes of sim time"
    assert drill.dt_s in (0.05, 0.1)
    kinds = {slo.kind for slo in drill.slos}
    assert kinds == {"availability", "latency"}, "realistic SLOs: availability and latency"
    assert drill.par, "a reference solution"
    assert all(action.name in ACTION_NAMES for action in drill.par)
    assert 2 <= len(drill.hints) <= 4
    assert 0.0 <= drill.incident_start_s < drill.duration_s


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_drill_loads_on_every_seed_and_par_follows_the_symptoms(path, seed):
    drill = load_drill(path, seed)
    if seed is not None:
        assert drill.seed == seed
    first_action_s = min(action.t_s for action in drill.par)
    assert first_action_s >= drill.incident_start_s + REACTION_S, (
        f"par acts at {first_action_s:g} s, {first_action_s - drill.incident_start_s:.1f} s after the incident "
        f"starts at {drill.incident_start_s:g} s (seed {drill.seed})"
    )
    assert max(action.t_s for action in drill.par) < drill.duration_s


def _check(path: Path) -> DrillCheck:
    """The well-posedness check (`brownout drills check`) on LADDER_SEED, par delayed by LADDER_DELAYS_S."""
    drill = load_drill(path, LADDER_SEED)
    results = [check_seed(drill, LADDER_SEED, delays_s=LADDER_DELAYS_S)]
    return DrillCheck(drill.id, tuple(slo.name for slo in drill.slos), tuple(results), judge_ladder(drill, results))


@pytest.mark.long_run
@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_drill_is_well_posed(path):
    """Do nothing grades F and par A; a later par never beats an earlier one beyond noise,
    the wrong move grades C or below and no fallback shortcut grades A."""
    check = _check(path)
    assert check.ok, format_check(check)


@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_drill_names_a_wrong_move_and_teaches_a_lesson(path):
    drill = load_drill(path)
    assert drill.wrong_move and drill.wrong_move_text.strip(), "a plausible wrong move for `brownout drills check`"
    assert len(drill.debrief.split()) >= 40, "a [debrief] lesson: what a seasoned on-call engineer does, and why"
