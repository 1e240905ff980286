"""The engine's behaviour, pinned: digests of shipped and test drills against a golden file.

A refactor of the engine must leave every run bit-identical: same per-tick rows
(the digest), same events, same totals. Each shipped drill runs on three seeds
(its own, 1 and 2) for "do nothing" and par, up to a few seconds after par's
actions (not to the drill's end, to keep CI cheap); a model built here exercises
every plan step kind, fault kind and action (refusals included); and two whole
`brownout run --json` objects (but `wall_s`) are compared as they are.

When engine behaviour changes on purpose, regenerate the golden file and review
its diff:

    python tests/sim/test_engine_digests.py --regen
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import sys
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    # Import this checkout's sim/ and tui/, not an installed copy.
    sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import attrs  # noqa: E402
import pytest  # noqa: E402

from model_factory import OLDER_ACTIONS_AT_ONCE, act, const, model, web_class  # noqa: E402
from sim.drill.loader import load_drill  # noqa: E402
from sim.engine.simulation import Simulation  # noqa: E402
from sim.model.spec import (  # noqa: E402
    ArrivalProfile,
    BreakerSpec,
    CacheSpec,
    CacheStep,
    CallStep,
    CpuStep,
    DbStep,
    Dependency,
    Distribution,
    Fault,
    FeatureFlag,
    MemorySpec,
    PoolSpec,
    RateLimitSpec,
    StreamStep,
)

GOLDEN = ROOT / "tests" / "data" / "engine_digests.json"
DRILLS = sorted((ROOT / "drills").glob("*.toml"))
SEEDS = (None, 1, 2)
"""None: the drill's own seed."""
PAR_WINDOW_S = 15.0
"""Par actions within this long after the first one are played..."""
TAIL_S = 5.0
"""...and both runs go on this long after the last one played."""
JSON_RUNS = (("llm-degradation", "par"), ("llm-degradation", "none"))
"""Whole `brownout run --json` runs kept verbatim (cheap drills)."""


def _fingerprint(sim: Simulation) -> dict:
    """What must not move: the digest, the event log and the totals."""
    events = hashlib.sha256()
    for e in sim.events:
        events.update(repr((e.t_s, e.kind, e.subject, e.message)).encode())
    result = sim.result()
    return {
        "tick": sim.tick,
        "digest": sim.digest(),
        "events": f"{sim.events_total}:{events.hexdigest()[:16]}",
        "result": repr((result.arrivals, result.admitted, result.completed, result.degraded,
                        sorted(result.failed.items()), sorted(result.rejected.items()), result.p99_ms)),
    }


def _tick_of(t_s: float, dt_s: float) -> int:
    return max(0, int(math.ceil(t_s / dt_s - 1e-9)))


def _drill_case(path: Path, seed: int | None) -> dict:
    """Do-nothing and par on one seed: par forks from do-nothing at its first action."""
    drill = load_drill(path)
    sim = Simulation.from_drill(drill, seed)
    par = sorted(drill.par, key=lambda a: a.t_s)
    first = par[0].t_s
    played = [a for a in par if a.t_s <= first + PAR_WINDOW_S]
    end_tick = _tick_of(min(drill.duration_s, played[-1].t_s + TAIL_S), sim.dt_s)
    while sim.tick < _tick_of(first, sim.dt_s):
        sim.step()
    fork = sim.fork()
    while sim.tick < end_tick:
        sim.step()
    pending = list(played)
    while fork.tick < end_tick:
        while pending and _tick_of(pending[0].t_s, fork.dt_s) <= fork.tick:
            fork.apply(pending.pop(0))
        fork.step()
    return {"none": _fingerprint(sim), "par": _fingerprint(fork)}


def _every_feature_model():
    """One service with every plan step kind, dependency feature, fault kind and limit."""
    lognormal = Distribution(kind="lognormal", median_s=0.01, p99_s=0.08)
    api = Dependency(name="api", kind="service", latency=lognormal, error_rate=0.01, capacity=40,
                     breaker=BreakerSpec(window_s=2.0, min_calls=10, open_s=1.5, half_open_probes=3))
    auth = Dependency(name="auth", kind="service", latency=const(0.004))
    db = Dependency(name="db", kind="database", latency=Distribution(kind="exponential", mean_s=0.004),
                    knee=6, contention=1.5, max_connections=30)
    web = web_class("web", 120, (
        CpuStep(const(0.002)), CacheStep("pages"), CallStep("auth", timeout_s=0.05, retries=1, backoff_s=0.01),
        DbStep("main", queries=3), CallStep("api", timeout_s=0.2, retries=1, fallback=True),
    ), timeout_s=1.0, retries=2, backoff_s=0.1, jitter=0.5)
    search = web_class("search", 60, (
        CpuStep(Distribution(kind="exponential", mean_s=0.005)), DbStep("main"), DbStep("reports", queries=2),
        CallStep("api", timeout_s=0.3, feature="related"),
    ), priority=2, timeout_s=0.8, retries=1)
    export = web_class("export", 8, (
        CpuStep(const(0.003)), StreamStep(12.0, const(0.4), slow_fraction=0.2, slow_factor=5.0),
        CallStep("auth"),
    ), priority=0, timeout_s=3.0,
        arrivals=ArrivalProfile(kind="pulses", rate_rps=4, to_rps=20, start_s=2, period_s=6, width_s=2))
    faults = (
        Fault(at_s=2, target="db", kind="slow", duration_s=4, factor=3.0, add_s=0.002),
        Fault(at_s=3, target="api", kind="errors", duration_s=3, rate=0.6),
        Fault(at_s=4, target="auth", kind="down", duration_s=1.5),
        Fault(at_s=7, target="api", kind="blackhole", duration_s=2),
        Fault(at_s=5, target="db", kind="latency_pulses", duration_s=6, period_s=2, width_s=0.5, add_s=0.02),
        Fault(at_s=9, target="api", kind="packet_loss", duration_s=3, rate=0.2, retransmit_s=0.2,
              deploy="api-gw v9"),
        Fault(at_s=6, target="pages", kind="cache_flush", hit_ratio=0.1),
        Fault(at_s=8, target="web", kind="traffic", duration_s=3, factor=2.5),
        Fault(at_s=1, target="service", kind="memory_leak", duration_s=12, mb_per_s=60),
        Fault(at_s=11, target="service", kind="lose_workers", duration_s=3, count=1),
    )
    spec = model(
        [web, search, export], workers=3, concurrency=6, max_workers=6, warmup_s=1.0, queue_limit=200,
        memory=MemorySpec(limit_mb=900, baseline_mb=200, per_request_mb=4, per_queued_mb=0.5, restart_s=2.0),
        ratelimit=RateLimitSpec(rate_rps=400, burst=60), shed_fraction=0.05,
        dependencies=[api, auth, db], pools=[PoolSpec("main", "db", 6, 0.05), PoolSpec("reports", "db", 3)],
        caches=[CacheSpec("pages", 0.7, 300, duplicate_misses=0.5, stale_ratio=0.3, stale_cost=0.1)], faults=faults,
    )
    # Delays short enough that every action lands inside the run (the older actions at once,
    # as the factory's models take them).
    delays = (*OLDER_ACTIONS_AT_ONCE, ("deploy.rollback", 1.0), ("flag.set", 0.5), ("cache.coalesce", 0.5), ("cache.serve_stale", 0.5),
              ("ratelimit.set", 0.5), ("retry.client", 1.0))
    return attrs.evolve(spec, flags=(FeatureFlag("related", cost=0.2),), action_delays=delays)


EVERY_ACTION = (
    act(0.5, "pool.resize", pool="main", size=8),
    act(0.5, "pool.resize", pool="main", size=80),  # refused: over max_connections
    act(1.0, "bulkhead.set", cls="search", pool="main", size=3),
    act(1.0, "bulkhead.set", cls="export", pool="main", size=2),  # refused: export does not use main
    act(1.5, "timeout.set", dependency="api", timeout_s=0.1),
    act(2.0, "retry.set", dependency="auth", retries=2, backoff_s=0.005),
    act(2.0, "retry.set", cls="web", retries=1, backoff_s=0.2, jitter=0.2),
    act(2.5, "breaker.force_open", dependency="api"),
    act(3.5, "breaker.auto", dependency="api"),
    act(4.0, "shed.set", fraction=0.2, mode="priority"),
    act(4.5, "queue.set_limit", limit=50),
    act(5.0, "ratelimit.set", rate_rps=250, burst=30),
    act(5.5, "workers.scale", workers=5),
    act(6.0, "fallback.set", dependency="api", enabled=False),
    act(6.5, "worker.restart", worker=1),
    act(6.5, "worker.restart", worker=5),  # refused: not running
    act(7.0, "breaker.force_close", dependency="api"),
    act(8.0, "timeout.set", dependency="api", timeout_s="none"),
    act(8.5, "queue.set_limit", limit="unbounded"),
    act(9.0, "shed.set", fraction=0.0),
    act(9.5, "workers.scale", workers=2),
    act(10.0, "ratelimit.set", rate_rps=0),
    act(10.0, "bulkhead.set", cls="search", pool="main", size=0),
    act(10.5, "pool.resize", pool="reports", size=1),
    act(11.0, "breaker.auto", dependency="api"),
    act(11.0, "fallback.set", dependency="api", enabled="yes"),  # refused: not a bool
    act(11.5, "no.such_action"),  # refused: unknown
    act(8.5, "deploy.rollback"),  # refused: the deploy has not gone out
    act(9.5, "deploy.rollback"),
    act(8.0, "flag.set", flag="related", enabled=False),
    act(8.0, "flag.set", flag="nope", enabled=False),  # refused: unknown flag
    act(6.2, "cache.coalesce", cache="pages"),
    act(6.4, "cache.serve_stale", cache="pages"),
    act(10.5, "flag.set", flag="related", enabled=True),
    act(10.0, "cache.serve_stale", cache="pages", enabled=False),
    # A facilitator's moves (sim/engine/injection.py).
    act(12.0, "fault.inject", kind="slow", target="api", factor=3.0, add_s=0.01, duration_s=2.0),
    act(12.0, "fault.inject", kind="errors", target="db", rate=0.1),
    act(12.5, "fault.cancel", fault=9),  # the scripted lose_workers, while active
    act(13.0, "fault.cancel", fault=11),  # the injected errors
    act(13.0, "facilitator.message", text="The VP of sales asks for an ETA"),
    act(13.5, "facilitator.note", text="looked at the database first"),
)
MODEL_SEEDS = (7, 8)
MODEL_UNTIL_S = 15.0


def _model_case(seed: int) -> dict:
    sim = Simulation(_every_feature_model(), seed, latency_thresholds_s=(0.1, 0.5))
    for action in sorted(EVERY_ACTION, key=lambda a: a.t_s):
        sim.run_until(action.t_s)
        sim.apply(action)
    sim.run_until(MODEL_UNTIL_S)
    return _fingerprint(sim)


def _json_case(drill_id: str, policy: str) -> dict:
    """`brownout run DRILL --policy P --json`, but wall_s (it is a wall-clock time)."""
    from tui.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["run", drill_id, "--policy", policy, "--json"]) == 0
    result = json.loads(out.getvalue())
    result.pop("wall_s")
    return result


def compute_all() -> dict:
    golden: dict = {"drills": {}, "model": {}, "run_json": {}}
    for path in DRILLS:
        for seed in SEEDS:
            golden["drills"][f"{path.stem}/{seed}"] = _drill_case(path, seed)
    for seed in MODEL_SEEDS:
        golden["model"][str(seed)] = _model_case(seed)
    for drill_id, policy in JSON_RUNS:
        golden["run_json"][f"{drill_id}/{policy}"] = _json_case(drill_id, policy)
    return golden


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_golden_file_covers_every_shipped_drill(golden):
    assert sorted(golden["drills"]) == sorted(f"{p.stem}/{s}" for p in DRILLS for s in SEEDS)


@pytest.mark.long_run
@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_shipped_drill_digests_unchanged(golden, path):
    for seed in SEEDS:
        assert _drill_case(path, seed) == golden["drills"][f"{path.stem}/{seed}"], f"{path.stem} seed {seed}"


@pytest.mark.parametrize("seed", MODEL_SEEDS)
def test_every_feature_model_digest_unchanged(golden, seed):
    assert _model_case(seed) == golden["model"][str(seed)]


def test_every_feature_model_exercises_every_fault_and_action():
    from sim.engine.actions import HANDLERS
    from sim.model.spec import FAULT_KINDS

    spec = _every_feature_model()
    assert {f.kind for f in spec.faults} == set(FAULT_KINDS)
    assert {a.name for a in EVERY_ACTION} >= set(HANDLERS)
    sim = Simulation(spec, MODEL_SEEDS[0])
    for action in sorted(EVERY_ACTION, key=lambda a: a.t_s):
        sim.run_until(action.t_s)
        sim.apply(action)
    sim.run_until(MODEL_UNTIL_S)
    kinds = {e.kind for e in sim.events}
    assert {"action_applied", "action_refused", "action_pending", "fault_start", "fault_end", "breaker", "oom",
            "worker_down", "worker_up", "deploy"} <= kinds, kinds
    refused = [e for e in sim.events if e.kind == "action_refused"]
    assert len(refused) == 7, [e.message for e in refused]
    # Every delayed action landed inside the run.
    assert sim.pending_actions.waiting() == ()


@pytest.mark.long_run
@pytest.mark.parametrize("case", JSON_RUNS, ids=["/".join(c) for c in JSON_RUNS])
def test_run_json_unchanged(golden, case):
    assert _json_case(*case) == golden["run_json"]["/".join(case)]


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        sys.exit(__doc__)
    GOLDEN.write_text(json.dumps(compute_all(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
