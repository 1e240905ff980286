"""Simulator speed: `python -m sim.tools.bench` (also `brownout bench`).

Prints simulated requests per wall second and how many times faster than real
time the engine runs: first the reference load of the speed target (15 minutes
at 500 requests/s through a cpu step, a cache, a 2-query DB step and an LLM call,
with client retries and a 60 s database slowdown), then every shipped drill.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import attrs

from sim.engine.simulation import Simulation
from sim.model.spec import (
    ArrivalProfile, BreakerSpec, CacheSpec, CacheStep, CallStep, CpuStep, DbStep, Dependency, Distribution,
    Fault, MemorySpec, ModelSpec, PoolSpec, RetryPolicy, ServiceSpec, TrafficClass,
)


TARGET_TIMES_REALTIME = 500.0
"""The simulator's speed target for the reference load (issue 2)."""


@attrs.frozen
class BenchRow:
    """One measured run."""

    drill_id: str
    sim_s: float
    requests: int
    """Attempts simulated (fresh arrivals and retries)."""
    wall_s: float
    requests_per_wall_s: float
    times_realtime: float


def reference_model(rate_rps: float = 500.0, dt_s: float = 0.05) -> ModelSpec:
    """The speed target's load: DB step, call step and client retries, with a fault."""
    return ModelSpec(
        service=ServiceSpec(workers=8, concurrency=16, queue_limit=2000,
                            memory=MemorySpec(limit_mb=1000, baseline_mb=200, per_request_mb=2)),
        classes=(TrafficClass(
            "search", ArrivalProfile(rate_rps=rate_rps),
            (CpuStep(Distribution.exponential(0.005)), CacheStep("results"), DbStep("main", 2),
             CallStep("llm", timeout_s=1.0, retries=1)),
            timeout_s=3.0, retry=RetryPolicy(retries=3, backoff_s=0.2, jitter=0.5)),),
        dependencies=(
            Dependency("postgres", "database", Distribution.lognormal(0.005, 0.03), knee=20, max_connections=100),
            Dependency("llm", "service", Distribution.lognormal(0.05, 0.3), breaker=BreakerSpec()),
        ),
        pools=(PoolSpec("main", "postgres", 20, 1.0),),
        caches=(CacheSpec("results", 0.5, 2000),),
        faults=(Fault(at_s=120, target="postgres", kind="slow", duration_s=60, factor=20),),
        dt_s=dt_s,
    )


def measure(name: str, sim: Simulation, until_s: float) -> BenchRow:
    """Run `sim` to until_s and time it (wall clock)."""
    started = time.perf_counter()
    sim.run_until(until_s)
    wall = time.perf_counter() - started
    requests = sim.result().arrivals
    return BenchRow(name, sim.t_s, requests, wall, requests / wall if wall else 0.0, sim.t_s / wall if wall else 0.0)


def bench_drills(paths: list[Path]) -> list[BenchRow]:
    """Time each drill from start to end on its default seed, doing nothing."""
    from sim.drill.loader import load_drill

    rows = []
    for path in paths:
        drill = load_drill(path)
        rows.append(measure(drill.id, Simulation.from_drill(drill), drill.duration_s))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="reference run length (default 15)")
    parser.add_argument("--dt", type=float, nargs="*", default=[0.05, 0.1, 0.25], help="time steps to try (s)")
    parser.add_argument("--no-drills", action="store_true", help="only the reference load")
    args = parser.parse_args(argv)
    rows = [measure(f"reference 500 rps dt={dt * 1000:g}ms", Simulation(reference_model(dt_s=dt), 1), 60 * args.minutes)
            for dt in args.dt]
    if not args.no_drills:
        from sim.drill.loader import SHIPPED_DRILLS_DIR

        rows += bench_drills(sorted(SHIPPED_DRILLS_DIR.glob("*.toml")))
    print(f"{'run':<32} {'sim s':>7} {'requests':>10} {'wall s':>7} {'req/wall s':>11} {'x real-time':>11}")
    for r in rows:
        print(f"{r.drill_id:<32} {r.sim_s:>7.0f} {r.requests:>10,} {r.wall_s:>7.2f} "
              f"{r.requests_per_wall_s:>11,.0f} {r.times_realtime:>11.1f}")
    default_dt = ModelSpec.__attrs_attrs__.dt_s.default
    for dt, row in zip(args.dt, rows):
        if dt == default_dt:
            verdict = "met" if row.times_realtime >= TARGET_TIMES_REALTIME else "NOT met"
            print(f"speed target: the reference load at the default dt ({default_dt * 1000:g} ms) runs "
                  f">= {TARGET_TIMES_REALTIME:g}x real time: {row.times_realtime:.1f}x over "
                  f"{args.minutes:g} simulated minutes, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
