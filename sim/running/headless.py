"""Headless runs: a whole drill simulated without the UI, scored, ready for JSON.

`run_drill(drill, seed, actions, runbook)` steps the engine to the end of the
drill, applying timed actions at their tick and, with a runbook, evaluating its
rules on the gauges every tick. `compare(drill, seed)` gives "do nothing" and
the drill's `par` solution on the same seed, for the debrief. `HeadlessRun.to_dict()`
is the object `brownout run --json` prints; RUN_JSON_SCHEMA documents it.
"""

from __future__ import annotations

import copy
import math
import time

import attrs

from sim import ENGINE_VERSION
from sim.drill.drill import Drill
from sim.engine.simulation import Simulation
from sim.model.observe import FAIL_REASONS, REJECT_REASONS
from sim.running.runbook import Firing, Runbook, RunbookRunner
from sim.scoring.score import ScoreReport, SLOTracker, judge
from sim.model.spec import Action

UPDATE_EVERY_S = 5.0
"""Headless runs hand new ticks to the scorer this often (simulated seconds): well
inside the history ring and the engine's bounded event log."""

REPORTED_EVENT_KINDS = ("action_applied", "action_pending", "action_refused", "breaker", "oom", "worker_down", "worker_up",
                        "fault_start", "fault_end", "deploy")
"""Engine events listed in the JSON output."""


@attrs.frozen
class HeadlessRun:
    """One finished headless run: the simulation as it ended, and its score."""

    drill: Drill
    seed: int
    policy: str
    """How actions were chosen: "none", "par", "actions" (a timed file), plus "+runbook"."""
    sim: Simulation
    report: ScoreReport
    events: tuple = ()
    """Every engine event of the run, oldest first."""
    firings: tuple[Firing, ...] = ()
    """Runbook rules that fired."""
    wall_s: float = 0.0
    tracker: SLOTracker | None = attrs.field(default=None, eq=False, repr=False)
    """The run's tracker, to cut its report at an earlier moment (`report_until`)."""

    def report_until(self, t_s: float) -> ScoreReport:
        """The run's facts over [0, t_s] (ungraded), to compare it with a run that ended then."""
        if t_s >= self.report.duration_s - 1e-9:
            return attrs.evolve(self.report, verdict=None)
        if self.tracker is None:
            raise ValueError("this run kept no tracker")
        return self.tracker.report(until_s=t_s)

    def graded(self, none: HeadlessRun, par: HeadlessRun, *, branch: bool = False) -> HeadlessRun:
        """This run with its report judged against do nothing and par over its own span."""
        span = self.report.duration_s
        report = judge(self.report, none.report_until(span), par.report_until(span), branch=branch)
        return attrs.evolve(self, report=report)

    def to_dict(self) -> dict:
        """The `brownout run --json` object (schema: RUN_JSON_SCHEMA, README "Headless runs")."""
        result = self.sim.result()
        failed = {"total": result.failed_total, **{r: int(result.failed.get(r, 0)) for r in FAIL_REASONS}}
        rejected = {"total": result.rejected_total, **{r: int(result.rejected.get(r, 0)) for r in REJECT_REASONS}}
        report = self.report.to_dict()
        verdict = report["verdict"]
        return {
            "drill": self.drill.id,
            "title": self.drill.title,
            "seed": self.seed,
            "policy": self.policy,
            "engine_version": ENGINE_VERSION,
            "duration_s": result.duration_s,
            "incident_start_s": self.drill.incident_start_s,
            "requests": {
                "arrivals": result.arrivals,
                "fresh": result.fresh_arrivals,
                "retries": result.retries,
                "admitted": result.admitted,
                "completed": result.completed,
                "degraded": result.degraded,
                "in_flight": result.in_flight,
                "failed": failed,
                "rejected": rejected,
            },
            "latency_ms": {
                "mean": _finite_or_none(result.latency_mean_ms),
                "p50": _finite_or_none(result.p50_ms),
                "p95": _finite_or_none(result.p95_ms),
                "p99": _finite_or_none(result.p99_ms),
            },
            "slo": report["slo"],
            "budget_spent": verdict["budget_spent"] if verdict else None,
            "first_page_s": report["first_page_s"],
            "alerts": report["alerts"],
            "response_s": verdict["response_s"] if verdict else None,
            "par_response_s": verdict["par_response_s"] if verdict else None,
            "branch": bool(verdict and verdict["branch"]),
            "score": report["score"],
            "grade": report["grade"],
            "breakdown": report["breakdown"],
            "verdict": verdict,
            "cost": report["cost"],
            "windows": report["windows"],
            "events": [
                {"t_s": e.t_s, "kind": e.kind, "subject": e.subject, "message": e.message}
                for e in self.events
                if e.kind in REPORTED_EVENT_KINDS
            ],
            "runbook": [firing.to_dict() for firing in self.firings],
            "digest": self.sim.digest(),
            "wall_s": self.wall_s,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


class _Stepper:
    """The headless loop of one run: steps the engine, applies due actions, feeds the scorer."""

    def __init__(self, drill: Drill, seed: int, actions: tuple[Action, ...], runbook: Runbook | None):
        self.sim = Simulation.from_drill(drill, seed)
        self.tracker = SLOTracker.for_sim(drill, self.sim)
        self.end_tick = int(math.ceil(drill.duration_s / self.sim.dt_s - 1e-9))
        self.update_ticks = max(1, int(round(UPDATE_EVERY_S / self.sim.dt_s)))
        self.pending = sorted(actions, key=lambda a: a.t_s)
        self.next_action = 0
        self.runner = RunbookRunner(runbook) if runbook is not None and runbook.rules else None
        self.on_ticks = None
        """Called with the ticks just stepped (a background job's progress); forks share it."""

    def run_to(self, tick: int) -> None:
        """Advance to `tick` (at most the end), exactly as one uninterrupted run would."""
        sim, runner = self.sim, self.runner
        tick = min(tick, self.end_tick)
        while sim.tick < tick:
            before = sim.tick
            # Apply every action due at this boundary, then run to the next stop.
            while self.next_action < len(self.pending) and _tick_of(self.pending[self.next_action].t_s, sim.dt_s) <= sim.tick:
                sim.apply(self.pending[self.next_action])
                self.next_action += 1
            stop = min(tick, (sim.tick // self.update_ticks + 1) * self.update_ticks)
            if self.next_action < len(self.pending):
                stop = min(stop, max(sim.tick + 1, _tick_of(self.pending[self.next_action].t_s, sim.dt_s)))
            if runner is None:
                while sim.tick < stop:
                    sim.step()
            else:
                while sim.tick < stop:
                    sim.step()
                    for action in runner.check(sim.gauges()):
                        sim.apply(action)
            if sim.tick % self.update_ticks == 0 or sim.tick >= self.end_tick:
                self.tracker.update(sim)
            if self.on_ticks is not None:
                self.on_ticks(sim.tick - before)

    def fork(self, actions: tuple[Action, ...]) -> _Stepper:
        """A copy of this run so far that goes on with `actions` (none of them due yet)."""
        other = copy.copy(self)
        other.sim = self.sim.fork()
        other.tracker = copy.deepcopy(self.tracker)
        other.pending = sorted(actions, key=lambda a: a.t_s)
        other.next_action = 0
        return other

    def finish(self, drill: Drill, seed: int, policy: str, started: float) -> HeadlessRun:
        self.run_to(self.end_tick)
        self.tracker.update(self.sim)
        return HeadlessRun(
            drill=drill,
            seed=seed,
            policy=policy,
            sim=self.sim,
            report=self.tracker.report(),
            events=tuple(self.tracker.events),
            firings=tuple(self.runner.firings) if self.runner is not None else (),
            wall_s=time.perf_counter() - started,
            tracker=self.tracker,
        )


def run_drill(
    drill: Drill,
    seed: int | None = None,
    actions: tuple[Action, ...] = (),
    runbook: Runbook | None = None,
    *,
    policy: str | None = None,
    graded: bool = True,
) -> HeadlessRun:
    """Simulate the whole drill headless and score it.

    Each action is applied at the first tick boundary at or after its `t_s`;
    runbook rules are checked on every tick's gauges and their actions applied
    at the next boundary. Graded (the default), do nothing and par are played on
    the same seed too (sharing the stretch before anyone acts) and the run is
    judged against them; `graded=False` plays the run alone, without a score.
    """
    if not graded:
        started = time.perf_counter()
        seed = drill.seed if seed is None else int(seed)
        return _Stepper(drill, seed, actions, runbook).finish(drill, seed, _policy(policy, actions, runbook), started)
    mine, _, _ = run_with_references(drill, seed, actions, runbook, policy=policy)
    return mine


def run_with_references(
    drill: Drill,
    seed: int | None = None,
    actions: tuple[Action, ...] = (),
    runbook: Runbook | None = None,
    *,
    policy: str | None = None,
) -> tuple[HeadlessRun, HeadlessRun, HeadlessRun]:
    """The run, do nothing and par on one seed, each graded against the last two (each simulated once)."""
    started = time.perf_counter()
    seed = drill.seed if seed is None else int(seed)
    policy = _policy(policy, actions, runbook)
    if runbook is not None and runbook.rules:
        # A runbook may act at any tick: the run shares nothing with do nothing.
        mine = _Stepper(drill, seed, actions, runbook).finish(drill, seed, policy, started)
        none_run, par_run = compare(drill, seed)
        return mine.graded(none_run, par_run), none_run, par_run
    none_run, par_run, (mine,) = ladder(drill, seed, (actions,), policies=(policy,))
    return mine, none_run, par_run


def _policy(policy: str | None, actions: tuple[Action, ...], runbook: Runbook | None) -> str:
    if policy is not None:
        return policy
    policy = "actions" if actions else "none"
    if runbook is not None and runbook.rules:
        policy += "+runbook"
    return policy


def compare(drill: Drill, seed: int | None = None, injected: tuple[Action, ...] = ()) -> tuple[HeadlessRun, HeadlessRun]:
    """"Do nothing" and the drill's par solution on the same seed, each graded against both.

    Both runs are identical until par's first action, so par forks from "do
    nothing" there instead of simulating that stretch twice. `injected`: a facilitated
    run's fault injections and cancellations, played in both at the same ticks.
    """
    none_run, par_run, _ = ladder(drill, seed, (), injected=injected)
    return none_run, par_run


def ladder(drill: Drill, seed: int | None, scripts: tuple[tuple[Action, ...], ...], *,
           policies: tuple[str, ...] | None = None,
           injected: tuple[Action, ...] = (), progress=None) -> tuple[HeadlessRun, HeadlessRun, tuple[HeadlessRun, ...]]:
    """Do nothing, par, and one run per action script, all on one seed, each graded against the first two.

    Every run is do nothing until its first action: the do-nothing run is simulated
    once and each other run forks from it at its first action (in time order), so a
    ladder of par delayed by 15, 30 and 60 s costs far less than four whole runs.
    """
    started = time.perf_counter()
    seed = drill.seed if seed is None else int(seed)
    nothing = _Stepper(drill, seed, injected, None)
    dt_s = nothing.sim.dt_s
    # A fork replaces the pending actions: every script carries the facilitator's faults too, and
    # forks no later than the first of them, so nothing is applied twice or missed.
    wanted = [("par", drill.par + tuple(injected))] + [
        ((policies[i] if policies else f"script {i}"), tuple(script) + tuple(injected)) for i, script in enumerate(scripts)
    ]
    order = sorted(range(len(wanted)), key=lambda k: min((_tick_of(a.t_s, dt_s) for a in wanted[k][1]), default=10**12))
    # The same script twice (`brownout run --policy par` is par again) is simulated once.
    same_as = [next(j for j in range(k + 1) if wanted[j][1] == script) for k, (_, script) in enumerate(wanted)]
    if progress is not None:
        nothing.on_ticks = _progress_counter(progress, nothing.end_tick + sum(
            max(nothing.end_tick - min(_tick_of(a.t_s, dt_s) for a in script), 0)
            for k, (_, script) in enumerate(wanted) if script and same_as[k] == k))
    forks: dict[int, _Stepper] = {}
    for k in order:
        script = wanted[k][1]
        if not script or same_as[k] != k:
            continue
        nothing.run_to(min(_tick_of(a.t_s, dt_s) for a in script))
        forks[k] = nothing.fork(script)
    shared_s = time.perf_counter() - started
    none_run = nothing.finish(drill, seed, "none", started)
    finished = []
    for k, (policy, script) in enumerate(wanted):
        if k in forks:
            finished.append(forks[k].finish(drill, seed, policy, time.perf_counter() - shared_s))
        elif script:
            finished.append(attrs.evolve(finished[same_as[k]], policy=policy))
        else:
            finished.append(attrs.evolve(none_run, policy=policy))
    par_run = finished[0]
    graded = [run.graded(none_run, par_run) for run in finished]
    return none_run.graded(none_run, par_run), graded[0], tuple(graded[1:])


def _progress_counter(progress, total_ticks: int):
    """A tick counter that reports the share done to `progress`, at most once per hundredth."""
    done = [0, -1.0]

    def count(ticks: int) -> None:
        done[0] += ticks
        share = min(done[0] / max(total_ticks, 1), 1.0)
        if share - done[1] >= 0.01 or share >= 1.0:
            done[1] = share
            progress(share)

    return count


def _tick_of(t_s: float, dt_s: float) -> int:
    """The tick boundary an action at t_s takes hold on (the first at or after t_s)."""
    return max(0, int(math.ceil(t_s / dt_s - 1e-9)))


_NUMBER = {"type": "number"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}


def _object(properties: dict, *, extra: bool = False) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": extra}


_SPENT = _object({"slo": {"type": "string"}, "you": _NUMBER, "none": _NUMBER, "par": _NUMBER})
_LINE = _object({"item": {"type": "string"}, "points": _NUMBER, "max": _NUMBER, "detail": {"type": "string"}})

RUN_JSON_SCHEMA: dict = _object(
    {
        "drill": {"type": "string"},
        "title": {"type": "string"},
        "seed": {"type": "integer"},
        "policy": {"type": "string"},
        "engine_version": {"type": "string"},
        "duration_s": _NUMBER,
        "incident_start_s": _NUMBER,
        "requests": _object(
            {
                "arrivals": _COUNT,
                "fresh": _COUNT,
                "retries": _COUNT,
                "admitted": _COUNT,
                "completed": _COUNT,
                "degraded": _COUNT,
                "in_flight": _COUNT,
                "failed": _object({"total": _COUNT, **{r: _COUNT for r in FAIL_REASONS}}),
                "rejected": _object({"total": _COUNT, **{r: _COUNT for r in REJECT_REASONS}}),
            }
        ),
        "latency_ms": _object({"mean": _NUMBER_OR_NULL, "p50": _NUMBER_OR_NULL, "p95": _NUMBER_OR_NULL,
                               "p99": _NUMBER_OR_NULL}),
        "slo": {
            "type": "array",
            "items": _object(
                {
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["availability", "latency"]},
                    "target": _NUMBER,
                    "threshold_ms": _NUMBER_OR_NULL,
                    "events": {"type": "string", "enum": ["fresh", "attempts"]},
                    "good": _COUNT,
                    "valid": _COUNT,
                    "bad": _COUNT,
                    "attained": _NUMBER,
                    "degraded": _COUNT,
                    "degraded_cost": _NUMBER,
                    "window_s": _NUMBER,
                    "month_budget_events": _NUMBER,
                    "budget_spent": _NUMBER,
                    "run_budget_events": _NUMBER,
                    "met": {"type": "boolean"},
                    "breached_at": {"type": "array", "items": _NUMBER},
                    "burn_rate_1m_max": _NUMBER_OR_NULL,
                    "burn_rate_5m_max": _NUMBER_OR_NULL,
                    "burn_rate_1m_end": _NUMBER_OR_NULL,
                    "burn_rate_5m_end": _NUMBER_OR_NULL,
                    "by_class": {"type": "object", "additionalProperties": _NUMBER_OR_NULL},
                }
            ),
        },
        "budget_spent": {"type": ["array", "null"], "items": _SPENT},
        "first_page_s": _NUMBER_OR_NULL,
        "alerts": {
            "type": "array",
            "items": _object({"t_s": _NUMBER, "slo": {"type": "string"}, "word": {"type": "string"},
                              "page": {"type": "boolean"}}),
        },
        "response_s": _NUMBER_OR_NULL,
        "par_response_s": _NUMBER_OR_NULL,
        "branch": {"type": "boolean"},
        "score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "grade": {"type": ["string", "null"], "enum": ["A", "B", "C", "D", "F", None]},
        "breakdown": {"type": "array", "items": _LINE},
        "verdict": {
            "type": ["object", "null"],
            "properties": {
                "score": _NUMBER, "grade": {"type": "string"}, "breakdown": {"type": "array", "items": _LINE},
                "budget_spent": {"type": "array", "items": _SPENT}, "avoided": _NUMBER_OR_NULL,
                "first_page_s": _NUMBER_OR_NULL, "helped_at_s": _NUMBER_OR_NULL, "par_helped_at_s": _NUMBER_OR_NULL,
                "acted_at_s": _NUMBER_OR_NULL, "par_acted_at_s": _NUMBER_OR_NULL, "response_s": _NUMBER_OR_NULL,
                "par_response_s": _NUMBER_OR_NULL, "span_s": _NUMBER, "branch": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "cost": _object(
            {
                "extra_slot_s": _NUMBER,
                "capacity_fraction": _NUMBER,
                "extra_connection_s": _NUMBER,
                "pool_fraction": _NUMBER,
                "needless_shed": _COUNT,
                "needless_shed_fraction": _NUMBER,
                "restarts": _COUNT,
                "refused_actions": _COUNT,
                "degraded": _COUNT,
                "points": _NUMBER,
            }
        ),
        "windows": {
            "type": "array",
            "items": _object(
                {
                    "start": _NUMBER,
                    "end": _NUMBER,
                    "sli": {"type": "array", "items": _NUMBER_OR_NULL},
                    "p95_ms": _NUMBER_OR_NULL,
                    "p99_ms": _NUMBER_OR_NULL,
                    "ok": {"type": "boolean"},
                }
            ),
        },
        "events": {
            "type": "array",
            "items": _object(
                {"t_s": _NUMBER, "kind": {"type": "string", "enum": list(REPORTED_EVENT_KINDS)},
                 "subject": {"type": "string"}, "message": {"type": "string"}}
            ),
        },
        "runbook": {
            "type": "array",
            "items": _object({"t_s": _NUMBER, "rule": {"type": "string"}, "action": {"type": "string"},
                              "args": {"type": "object"}}),
        },
        "digest": {"type": "string"},
        "wall_s": _NUMBER,
    }
)
"""JSON Schema (draft 2020-12 subset) of `brownout run --json` output."""
