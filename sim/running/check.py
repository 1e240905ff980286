"""`brownout drills check`: is a drill well posed? Play a ladder of responses on several seeds.

The ladder, on each seed: do nothing; par; par delayed by 15, 30 and 60 s; the
drill's plausible wrong move (`[[wrong_move]]`); and the shortcut of turning
every fallback on at t = 1 s (one per dependency the service calls: skipping
authentication, or serving degraded answers before anything went wrong).

A drill is well posed when
- doing nothing grades F on every seed;
- par grades A on all but one seed in six (5 of 6, 3 of 3);
- the ladder scores in order: par delayed longer never beats par delayed less
  (or par itself) by more than LADDER_NOISE points;
- the wrong move grades C or below on every seed;
- no shortcut grades A on any seed.

Every rung forks from the do-nothing run at its first action (`sim.running.headless.ladder`),
so a seed costs about one whole run plus the parts after each rung's first action.
"""

from __future__ import annotations

import math
import time

import attrs

from sim.drill.drill import Drill
from sim.model.spec import Action, CallStep
from sim.running.headless import ladder

DELAYS_S = (15.0, 30.0, 60.0)
"""Par delayed by these many seconds."""
LADDER_NOISE = 5.0
"""A later par may beat an earlier one by at most this many points (seed noise)."""
SHORTCUT_AT_S = 1.0
WRONG_MOVE_MAX = "C"
"""The best grade a wrong move may get."""


def par_delayed(drill: Drill, delay_s: float) -> tuple[Action, ...]:
    """Par's script with every action `delay_s` later (dropped past the end)."""
    return tuple(attrs.evolve(a, t_s=a.t_s + delay_s) for a in drill.par if a.t_s + delay_s < drill.duration_s)


def shortcuts(drill: Drill) -> tuple[tuple[str, tuple[Action, ...]], ...]:
    """One shortcut per dependency the plans call: its fallback on from SHORTCUT_AT_S."""
    deps = []
    for cls in drill.model.classes:
        for step in cls.plan:
            if isinstance(step, CallStep) and step.dependency not in deps:
                deps.append(step.dependency)
    return tuple(
        (f"{dep} fallback at {SHORTCUT_AT_S:g}s",
         (Action(t_s=SHORTCUT_AT_S, name="fallback.set", args={"dependency": dep, "enabled": True}),))
        for dep in deps
    )


@attrs.frozen
class Rung:
    """One response played on one seed."""

    name: str
    score: float
    grade: str
    spent: tuple[float, ...]
    """Per SLO, the month's budget spent."""


@attrs.frozen
class SeedResult:
    seed: int
    rungs: tuple[Rung, ...]
    first_page_s: float | None
    cpu_s: float = 0.0
    """CPU seconds the ladder took on this seed."""

    def rung(self, name: str) -> Rung:
        return next(r for r in self.rungs if r.name == name)


@attrs.frozen
class DrillCheck:
    """A drill's ladder on every seed, and what makes it ill posed (nothing: well posed)."""

    drill_id: str
    slo_names: tuple[str, ...]
    seeds: tuple[SeedResult, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def ladder_scripts(drill: Drill, delays_s: tuple[float, ...] = DELAYS_S) -> tuple[tuple[str, tuple[Action, ...]], ...]:
    """(name, actions) of every rung after do nothing and par (par delayed by each of `delays_s`)."""
    scripts = [(f"par+{d:g}s", par_delayed(drill, d)) for d in delays_s]
    if drill.wrong_move:
        scripts.append(("wrong move", drill.wrong_move))
    scripts.extend(shortcuts(drill))
    return tuple(scripts)


def check_seed(drill: Drill, seed: int, *, full: bool = True, delays_s: tuple[float, ...] = DELAYS_S) -> SeedResult:
    """Play the ladder on one seed (the drill must be loaded with that seed), with par
    delayed by each of `delays_s`; not `full`, only do nothing and par (a cheaper check
    of the rules about those two)."""
    started = time.process_time()
    scripts = ladder_scripts(drill, delays_s) if full else ()
    none_run, par_run, runs = ladder(drill, seed, tuple(s for _, s in scripts),
                                     policies=tuple(name for name, _ in scripts))
    rungs = []
    for name, run in (("none", none_run), ("par", par_run), *zip((n for n, _ in scripts), runs)):
        verdict = run.report.verdict
        rungs.append(Rung(name, verdict.score, verdict.grade, tuple(line.you for line in verdict.spent)))
    return SeedResult(seed=seed, rungs=tuple(rungs), first_page_s=none_run.report.first_page_s,
                      cpu_s=time.process_time() - started)


def judge_ladder(drill: Drill, results: list[SeedResult]) -> tuple[str, ...]:
    """The well-posedness rules (module docstring) over every seed's ladder."""
    problems = []
    n = len(results)
    for result in results:
        none = result.rung("none")
        if none.grade != "F":
            problems.append(f"seed {result.seed}: do nothing grades {none.grade} ({none.score:.0f}), not F")
        names = {rung.name for rung in result.rungs}
        order = [name for name in ("par", *(f"par+{d:g}s" for d in DELAYS_S)) if name in names]
        for earlier, later in zip(order, order[1:]):
            a, b = result.rung(earlier), result.rung(later)
            if b.score > a.score + LADDER_NOISE:
                problems.append(f"seed {result.seed}: {later} scores {b.score:.0f}, above {earlier} {a.score:.0f}")
        for rung in result.rungs:
            if rung.name == "wrong move" and rung.grade < WRONG_MOVE_MAX:
                problems.append(f"seed {result.seed}: the wrong move grades {rung.grade} ({rung.score:.0f})")
            if "fallback at" in rung.name and rung.grade == "A":
                problems.append(f"seed {result.seed}: the shortcut {rung.name} grades A ({rung.score:.0f})")
    par_a = sum(1 for r in results if r.rung("par").grade == "A")
    allowed_misses = n // 6
    if n - par_a > allowed_misses:
        problems.append(f"par grades A on {par_a} of {n} seeds (needs {n - allowed_misses})")
    return tuple(problems)


def check_drill(path, seeds: tuple[int, ...]) -> DrillCheck:
    """Load the drill on each seed (its seeded ranges are redrawn) and judge its ladder."""
    from sim.drill.loader import load_drill

    results = []
    drill = None
    for seed in seeds:
        drill = load_drill(path, seed)
        results.append(check_seed(drill, seed))
    return DrillCheck(
        drill_id=drill.id,
        slo_names=tuple(slo.name for slo in drill.slos),
        seeds=tuple(results),
        problems=judge_ladder(drill, results),
    )


def format_check(check: DrillCheck) -> str:
    """A drill's ladder as a table: per rung, score and grade on each seed, and the mean budget spent."""
    names = [r.name for r in max(check.seeds, key=lambda s: len(s.rungs)).rungs]
    seeds = [s.seed for s in check.seeds]
    header = ["rung", *(f"seed {s}" for s in seeds), *(f"{n[:12]} spent" for n in check.slo_names)]
    rows = [header]
    for name in names:
        rungs = [next((r for r in s.rungs if r.name == name), None) for s in check.seeds]
        played = [r for r in rungs if r is not None]
        spent = [sum(r.spent[i] for r in played) / len(played) for i in range(len(check.slo_names))]
        rows.append([name, *("-" if r is None else f"{r.score:3.0f} {r.grade}" for r in rungs),
                     *(_share(x) for x in spent)])
    pages = [s.first_page_s for s in check.seeds]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    cpu_s = sum(s.cpu_s for s in check.seeds)
    lines = [f"{check.drill_id}: {'well posed' if check.ok else 'ILL POSED'}; first page at "
             + ", ".join("-" if p is None else f"{p:.0f}s" for p in pages) + f"; {cpu_s:.0f} CPU s"]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    lines.extend(f"  problem: {p}" for p in check.problems)
    return "\n".join(lines)


def _share(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.2%}" if x < 0.1 else f"{x:.1%}"
