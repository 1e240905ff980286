"""Seed sweeps: one drill, one response (policy, actions file, runbook), many seeded variants.

`brownout run DRILL --seeds 1-200 -j N` is how a runbook is judged across
variants. Each seed is exactly `brownout run DRILL --seed S` (the drill is loaded
with that seed, so its seeded ranges are redrawn), played in one of N spawned
worker processes; do nothing and par come from the same ladder, so nothing is
simulated twice. `sweep()` yields `SeedOutcome`s as they finish; stopping it
(Ctrl+C in the caller) terminates the workers and keeps what had finished.
`summarize()` turns the outcomes into the distribution the CLI prints.
It lives with the tools because a seed both runs (sim.running) and may be saved
(sim.records).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics

import attrs

from sim.model.errors import InputError

MAX_SEEDS = 100_000
"""More seeds than this in one command is a typo, not a sweep."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """"1-200", "7", "1,5,9" or "1-10,20-30" -> the seeds, in order, without repeats; ValueError if bad."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        if not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise ValueError(f'expected seeds like "1-200" or "1,5,9", got {text!r}')
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"seed range {part!r} runs backwards")
        if last - first + 1 + len(seeds) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds in one sweep")
        seeds.extend(range(first, last + 1))
    return tuple(dict.fromkeys(seeds))


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@attrs.frozen
class SweepSpec:
    """What every seed plays: file paths (each worker loads them against its own seed's drill)."""

    drill_path: str
    policy: str = "none"
    """"none", "par" or "actions" (with `actions_path`); "+runbook" is added when there is a runbook."""
    actions_path: str | None = None
    runbook_path: str | None = None
    save_dir: str | None = None
    """Write a replayable save of each seed's run into this folder."""
    player: str = "headless"


@attrs.frozen
class Reference:
    """Do nothing's or par's score on one seed."""

    score: float
    grade: str
    budget_spent: tuple[float, ...]


@attrs.frozen
class SeedOutcome:
    """One seed's run: the `brownout run --json` object, and do nothing and par beside it."""

    seed: int
    run: dict
    none: Reference
    par: Reference
    save_path: str | None = None

    def to_dict(self) -> dict:
        """The JSON line of this seed: the run's object plus `references` (and `save`)."""
        return {
            **self.run,
            "references": {
                name: {"score": ref.score, "grade": ref.grade, "budget_spent": list(ref.budget_spent)}
                for name, ref in (("none", self.none), ("par", self.par))
            },
            "save": self.save_path,
        }


def run_seed(spec: SweepSpec, seed: int) -> SeedOutcome:
    """Play one seed exactly as `brownout run` does (in this process)."""
    from sim.drill.loader import load_drill
    from sim.running.actions_file import load_actions
    from sim.running.headless import run_with_references
    from sim.running.runbook import load_runbook

    drill = load_drill(spec.drill_path, seed)
    if spec.actions_path is not None:
        actions = load_actions(spec.actions_path, drill)
    elif spec.policy.startswith("par"):
        actions = drill.par
    else:
        actions = ()
    runbook = load_runbook(spec.runbook_path, drill) if spec.runbook_path else None
    mine, none_run, par_run = run_with_references(drill, seed, actions, runbook, policy=spec.policy)
    save_path = None
    if spec.save_dir is not None:
        save_path = str(save_headless(mine, spec.save_dir, spec.player))
    return SeedOutcome(seed=seed, run=mine.to_dict(), none=_reference(none_run), par=_reference(par_run),
                       save_path=save_path)


def save_headless(run, saves_dir, player: str):
    """Write a headless run as a replayable save (sim.records.saves layout, atomic); returns its path."""
    import datetime as dt

    from sim.records.saves import save_run

    ended_at = dt.datetime.now(dt.timezone.utc)
    started_at = ended_at - dt.timedelta(seconds=run.wall_s)
    return save_run(run.drill, run.sim, player=player, started_at=started_at, ended_at=ended_at,
                    ended="finished", report=run.report, saves_dir=saves_dir)


def _reference(run) -> Reference:
    report = run.report
    return Reference(score=report.score, grade=report.grade,
                     budget_spent=tuple(line.you for line in report.verdict.spent) if report.verdict else ())


def _ignore_interrupt() -> None:
    # Ctrl+C reaches every process of the terminal's group: the parent alone decides to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _play(task: tuple[SweepSpec, int]) -> tuple[int, SeedOutcome | None, str | None]:
    spec, seed = task
    try:
        return seed, run_seed(spec, seed), None
    except InputError as error:
        return seed, None, error.first_line()
    except Exception as error:  # one broken seed must not lose the others
        return seed, None, f"{type(error).__name__}: {error}"


def sweep(spec: SweepSpec, seeds: tuple[int, ...], jobs: int):
    """Yield (seed, SeedOutcome or None, error line or None) as seeds finish, over `jobs` processes.

    With one job the seeds run here, one after another (no process to start). Closing
    the generator (the caller stopped: Ctrl+C) terminates the workers at once.
    """
    if jobs <= 1 or len(seeds) <= 1:
        for seed in seeds:
            yield _play((spec, seed))
        return
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(min(jobs, len(seeds)), initializer=_ignore_interrupt)
    try:
        yield from pool.imap_unordered(_play, [(spec, seed) for seed in seeds], chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


@attrs.frozen
class Distribution:
    """Scores and grades of one response over the seeds."""

    label: str
    scores: tuple[float, ...]
    grades: dict
    spent_mean: tuple[float, ...]
    spent_max: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.scores)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


GRADES = ("A", "B", "C", "D", "F")


def summarize(outcomes: list[SeedOutcome]) -> tuple[Distribution, ...]:
    """The run's, do nothing's and par's distributions over the seeds played."""
    rows = []
    policy = outcomes[0].run["policy"] if outcomes else "run"
    for label, pick in ((f"run ({policy})", _run_reference), ("do nothing", lambda o: o.none), ("par", lambda o: o.par)):
        refs = [pick(o) for o in outcomes]
        width = max((len(r.budget_spent) for r in refs), default=0)
        spent = [[r.budget_spent[i] for r in refs if len(r.budget_spent) > i] for i in range(width)]
        rows.append(Distribution(
            label=label,
            scores=tuple(r.score for r in refs),
            grades={g: sum(1 for r in refs if r.grade == g) for g in GRADES},
            spent_mean=tuple(statistics.fmean(s) if s else 0.0 for s in spent),
            spent_max=tuple(max(s) if s else 0.0 for s in spent),
        ))
    return tuple(rows)


def _run_reference(outcome: SeedOutcome) -> Reference:
    run = outcome.run
    spent = tuple(line["you"] for line in run["budget_spent"]) if run["budget_spent"] else ()
    return Reference(score=run["score"], grade=run["grade"], budget_spent=spent)
