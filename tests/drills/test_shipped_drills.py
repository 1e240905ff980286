"""Generic checks over every shipped drill in drills/ (parametrized by file).

Every drill must load and validate cleanly on its own seed and on other seeds
(which redraw its seeded ranges), be a well-formed lesson (SLOs of both kinds,
a par solution that comes after the first symptoms, 2-4 hints), and be a real
incident: doing nothing breaches at least one SLO, while par meets every SLO
or clearly beats doing nothing on each SLI, on the default seed and 2 others
(whole-drill runs are most of the suite's time; the drills' own timeline tests
use the same three seeds).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from sim.drill.loader import SHIPPED_DRILLS_DIR, load_drill, validate_drill_file
from sim.running.headless import HeadlessRun, compare
from sim.model.spec import ACTION_NAMES

DRILL_PATHS = sorted(Path(SHIPPED_DRILLS_DIR).glob("*.toml"))
OTHER_SEEDS = (1, 2, 3, 4, 5)
SEEDS = (None, *OTHER_SEEDS)
"""None is the drill's own [drill].seed."""
PLAYED_SEEDS = (None, 1, 2)
"""Seeds on which every drill is played whole, doing nothing and par."""

CLEARLY_BEATS = 0.75
"""Par "clearly beats" doing nothing on an SLI it misses when its share of bad
events is at most this fraction of doing nothing's (at least 25 % fewer)."""
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


@functools.lru_cache(maxsize=None)
def _compare(path: Path, seed: int | None) -> tuple[HeadlessRun, HeadlessRun]:
    return compare(load_drill(path, seed), seed)


def _describe(run: HeadlessRun) -> str:
    return ", ".join(f"{sli.name} {sli.attained:.4f}/{sli.target}" for sli in run.report.slis)


@pytest.mark.long_run
@pytest.mark.parametrize("seed", PLAYED_SEEDS)
@pytest.mark.parametrize("path", DRILL_PATHS, ids=_ids)
def test_doing_nothing_breaches_and_par_meets_or_clearly_beats_it(path, seed):
    none_run, par_run = _compare(path, seed)
    assert not none_run.report.all_met, f"doing nothing must breach an SLO: {_describe(none_run)}"
    for none_sli, par_sli in zip(none_run.report.slis, par_run.report.slis):
        assert none_sli.name == par_sli.name
        if par_sli.met:
            continue
        none_bad = 1.0 - none_sli.attained
        par_bad = 1.0 - par_sli.attained
        assert par_bad <= CLEARLY_BEATS * none_bad, (
            f"{par_sli.name}: par {par_sli.attained:.4f} misses {par_sli.target} and does not clearly beat "
            f"doing nothing ({none_sli.attained:.4f}); par: {_describe(par_run)}"
        )
