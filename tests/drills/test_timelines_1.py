"""Timeline claims of shipped drills 1-6, asserted from the engine's metric history.

Each drill models an incident report; these tests check that the simulated
incident unfolds the way the report says, on the drill's default seed and two
other seeds (the seeds redraw fault times, factors and rates from the drill's
ranges). Runs stop as soon as the claim can be judged, to keep the file fast.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from sim.drill.drill import Drill
from sim.model.delays import action_delay_s
from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.model.spec import DbStep

pytestmark = pytest.mark.long_run

DRILLS_DIR = Path(__file__).resolve().parents[2] / "drills"
SEEDS = (None, 1, 2)
"""None is the drill's own [drill].seed."""


@functools.lru_cache(maxsize=None)
def _run(name: str, seed: int | None, until_s: float, with_par: bool) -> tuple[Drill, Simulation]:
    """The drill loaded with `seed`, simulated to until_s, with or without its par actions."""
    drill = load_drill(DRILLS_DIR / f"{name}.toml", seed)
    sim = Simulation.from_drill(drill)
    if with_par:
        for action in sorted(drill.par, key=lambda a: a.t_s):
            if action.t_s >= until_s:
                break
            sim.run_until(action.t_s)
            sim.apply(action)
    sim.run_until(until_s)
    return drill, sim


def _rolling_sum(values: np.ndarray, window_s: float, dt_s: float) -> np.ndarray:
    """Sum over the trailing window at every tick (fewer ticks at the start)."""
    ticks = max(1, int(round(window_s / dt_s)))
    cumulative = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    ends = np.arange(1, len(values) + 1)
    return cumulative[ends] - cumulative[np.maximum(ends - ticks, 0)]


def _rate(sim: Simulation, name: str, window_s: float = 1.0) -> np.ndarray:
    """Per-second rate of a per-tick count over the trailing window, at every tick."""
    return _rolling_sum(sim.history.series(name), window_s, sim.dt_s) / window_s


def _error_rate(sim: Simulation, window_s: float = 1.0) -> np.ndarray:
    """Failed attempts / arriving attempts over the trailing window (the gauges' error_rate)."""
    failed = _rolling_sum(sim.history.series("failed"), window_s, sim.dt_s)
    arrivals = _rolling_sum(sim.history.series("arrivals"), window_s, sim.dt_s)
    return np.where(arrivals > 0, failed / np.maximum(arrivals, 1), 0.0)


def _times(sim: Simulation) -> np.ndarray:
    return sim.history.series("t_s")


def _at(sim: Simulation, t_s: float) -> int:
    """Index of the history row of the tick that ends at (or just after) t_s."""
    times = _times(sim)
    assert times[0] <= t_s + 1e-9 and t_s <= times[-1] + 1e-9, f"{t_s} s is outside the history"
    return int(np.searchsorted(times, t_s - 1e-9))


def _window(sim: Simulation, start_s: float, end_s: float) -> np.ndarray:
    """Boolean mask of ticks ending in (start_s, end_s]."""
    times = _times(sim)
    return (times > start_s + 1e-9) & (times <= end_s + 1e-9)


def _first_time(sim: Simulation, mask: np.ndarray) -> float:
    """End time of the first tick where mask holds (inf when never)."""
    hits = np.nonzero(mask)[0]
    return float(_times(sim)[hits[0]]) if hits.size else math.inf


def _base_rate(drill: Drill, class_index: int = 0) -> float:
    return drill.model.classes[class_index].arrivals.rate_rps


# --------------------------------------------------------------------------- 1. tutorial


# One run per seed serves both claims: until the par action (88 s) it is the
# no-action run.
_TUTORIAL_END_S = 150.0


@pytest.mark.parametrize("seed", SEEDS)
def test_tutorial_rush_fills_the_slots_and_the_queue_grows(seed):
    drill, sim = _run("tutorial", seed, _TUTORIAL_END_S, True)
    rush_s = drill.model.faults[0].at_s
    act_s = min(a.t_s for a in drill.par)
    assert act_s - rush_s >= 18.0, "the par action comes after the symptoms"
    queue = sim.history.series("queue_depth")
    p95 = sim.history.series("p95_ms")
    busy = sim.history.series("busy_slots")
    total = sim.history.series("total_slots")

    quiet = _window(sim, 20.0, rush_s)
    assert queue[quiet].max() < 50, "a quiet morning keeps the queue (nearly) empty"
    assert np.nanmax(p95[quiet]) < 300.0

    rush = _window(sim, rush_s + 3.0, act_s)
    assert (busy[rush] == total[rush]).mean() > 0.95, "every slot is busy during the rush"
    # The backlog keeps growing: arrivals exceed what 16 slots can finish.
    samples = [queue[_at(sim, rush_s + offset)] for offset in (6.0, 12.0, 18.0)]
    assert samples[0] > 50 and samples[0] < samples[1] < samples[2]
    assert p95[_at(sim, rush_s + 18.0)] > 3 * np.nanmax(p95[quiet])


@pytest.mark.parametrize("seed", SEEDS)
def test_tutorial_scaling_workers_drains_the_queue(seed):
    drill, sim = _run("tutorial", seed, _TUTORIAL_END_S, True)
    scale = next(a for a in drill.par if a.name == "workers.scale")
    queue = sim.history.series("queue_depth")
    total = sim.history.series("total_slots")
    assert total[-1] == scale.arg("workers") * drill.model.service.concurrency
    late = _window(sim, _TUTORIAL_END_S - 15.0, _TUTORIAL_END_S)
    assert queue[late].max() < 20, "the backlog is gone once the new workers are warm"
    assert np.nanmax(sim.history.series("p95_ms")[late]) < 1000.0
    assert sim.history.series("failed").sum() == 0, "nobody waited long enough to give up"


# --------------------------------------------------------------------------- 2. slow-database


@pytest.mark.parametrize("seed", SEEDS)
def test_slow_database_turns_into_an_outage_within_45_s(seed):
    probe, _ = _run("slow-database", seed, 1.0, False)
    fault_s = min(f.at_s for f in probe.model.faults)
    drill, sim = _run("slow-database", seed, fault_s + 45.0, False)
    after = _window(sim, fault_s, fault_s + 45.0)
    errors = _error_rate(sim)
    assert errors[_window(sim, 0.0, fault_s)].max() == 0.0, "healthy before the fault"
    outage_s = _first_time(sim, after & (errors > 0.5))
    assert outage_s <= fault_s + 45.0, "no action -> error rate above 50 % within 45 s of the fault"

    # The report's order of events: latency first, the pool exhausted, then retries, then the outage.
    pool_full = (sim.history.series("pool_in_use")[:, 0] == sim.history.series("pool_size")[:, 0]) & (
        sim.history.series("pool_waiters")[:, 0] > 0
    )
    latency_up_s = _first_time(sim, after & (sim.history.series("p95_ms") > 300.0))
    pool_full_s = _first_time(sim, after & pool_full)
    retries_s = _first_time(sim, after & (_rate(sim, "retry_arrivals") > 10.0))
    assert latency_up_s < retries_s < outage_s
    assert pool_full_s < retries_s


def test_slow_database_query_timeout_keeps_cache_hits_served():
    drill, sim = _run("slow-database", None, 160.0, True)
    fresh_rps = _rate(sim, "fresh_arrivals", 10.0)
    goodput_rps = _rate(sim, "completed", 10.0)
    i = _at(sim, 160.0)
    hit_ratio = drill.model.caches[0].hit_ratio
    # Misses fail fast at the timeout; hits (85 %) never touch Postgres and are served.
    assert goodput_rps[i] > 0.9 * hit_ratio * fresh_rps[i]
    assert sim.history.series("queue_depth")[_window(sim, 150.0, 160.0)].max() == 0


# --------------------------------------------------------------------------- 3. retry-storm


@pytest.mark.parametrize("seed", SEEDS)
def test_retry_storm_stays_collapsed_after_the_blip(seed):
    probe, _ = _run("retry-storm", seed, 1.0, False)
    blip = probe.model.faults[0]
    drill, sim = _run("retry-storm", seed, blip.end_s + 60.0, False)
    base_rps = _base_rate(drill)
    offered = _rate(sim, "arrivals", 5.0)
    goodput = _rate(sim, "completed", 5.0)

    before = _at(sim, blip.at_s - 1.0)
    assert goodput[before] > 0.9 * base_rps, "healthy before the blip"
    # 60 s after auth is healthy again, the service is not.
    i = _at(sim, blip.end_s + 60.0)
    assert offered[i] > 2.5 * base_rps, "offered load (fresh + retries) stays amplified"
    assert goodput[i] < 0.2 * base_rps, "goodput stays far below base"
    assert _rate(sim, "retry_arrivals", 5.0)[i] > 1.5 * base_rps


def test_retry_storm_bounded_queue_breaks_the_loop():
    drill, sim = _run("retry-storm", None, 130.0, True)
    base_rps = _base_rate(drill)
    i = _at(sim, 130.0)
    assert _rate(sim, "completed", 10.0)[i] > 0.9 * base_rps
    assert _rate(sim, "retry_arrivals", 10.0)[i] < 0.05 * base_rps


# --------------------------------------------------------------------------- 4. backpressure-burst


def _burst_window(drill: Drill) -> tuple[float, float]:
    burst = next(c.arrivals for c in drill.model.classes if c.arrivals.kind == "burst")
    return burst.start_s, burst.start_s + burst.duration_s


@pytest.mark.parametrize("seed", SEEDS)
def test_backpressure_burst_queue_and_memory_keep_rising(seed):
    probe, _ = _run("backpressure-burst", seed, 1.0, False)
    start_s, end_s = _burst_window(probe)
    drill, sim = _run("backpressure-burst", seed, end_s, False)
    queue = sim.history.series("queue_depth")
    memory = sim.history.series("memory_mb")
    p95 = sim.history.series("p95_ms")
    samples = [_at(sim, t) for t in np.arange(start_s + 15.0, end_s + 1e-9, 15.0)]
    assert all(np.diff(queue[samples]) > 0), f"queue depth keeps rising: {queue[samples]}"
    assert all(np.diff(memory[samples]) > 0), f"memory keeps rising: {memory[samples]}"
    assert memory[samples[-1]] - memory[_at(sim, start_s)] > 200.0
    assert all(np.diff(p95[samples]) > 0) and p95[samples[-1]] > 10_000.0, "latency grows without bound"
    assert sim.history.series("rejected").sum() == 0, "silently: nothing is refused"


@pytest.mark.parametrize("seed", SEEDS)
def test_backpressure_burst_bounded_queue_and_shedding_keep_latency_bounded(seed):
    probe, _ = _run("backpressure-burst", seed, 1.0, False)
    start_s, end_s = _burst_window(probe)
    drill, sim = _run("backpressure-burst", seed, end_s, True)
    limit = next(a for a in drill.par if a.name == "queue.set_limit").arg("limit")
    act_s = min(a.t_s for a in drill.par)
    # From when the first actions have landed: the queue limit is a config push, shedding a
    # load-balancer rule (sim.model.delays); until then the queue grows as doing nothing's.
    landed_s = max(a.t_s + action_delay_s(drill.model.action_delays, a.name) for a in drill.par if a.t_s == act_s)
    settled = _window(sim, landed_s + 5.0, end_s)
    assert sim.history.series("queue_depth")[settled].max() <= limit
    assert np.nanmax(sim.history.series("p95_ms")[_window(sim, landed_s + 15.0, end_s)]) < 1000.0
    memory = sim.history.series("memory_mb")[settled]
    assert memory.max() - memory.min() < 50.0, "memory stays flat"
    assert sim.history.series("live_workers").min() == drill.model.service.workers, "no restart"
    assert sim.history.series("failed_oom").sum() == 0
    # Orders (priority 3) keep flowing while the producers are shed.
    orders = [c.name for c in drill.model.classes].index("orders")
    completed = sim.history.series("class_completed")[settled, orders].sum()
    assert completed / (settled.sum() * sim.dt_s) > 0.95 * _base_rate(drill, orders)


# --------------------------------------------------------------------------- 5. pool-exhaustion


def _query_latency_s(drill: Drill, sim: Simulation, mask: np.ndarray) -> float:
    """Mean connection hold per query by Little's law: connections busy / queries per second.

    Valid where (nearly) every search completes, so completed searches x queries
    per search is the query throughput.
    """
    queries = next(step.queries for step in drill.model.classes[0].plan if isinstance(step, DbStep))
    in_use = sim.history.series("pool_in_use")[mask, 0].mean()
    searches_per_s = sim.history.series("completed")[mask].sum() / (mask.sum() * sim.dt_s)
    return in_use / (queries * searches_per_s)


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_exhaustion_pool_saturates_with_waiters(seed):
    probe, _ = _run("pool-exhaustion", seed, 1.0, False)
    fault_s = probe.model.faults[0].at_s
    drill, sim = _run("pool-exhaustion", seed, fault_s + 60.0, False)
    saturated = _window(sim, fault_s + 10.0, fault_s + 60.0)
    in_use = sim.history.series("pool_in_use")[saturated, 0]
    size = sim.history.series("pool_size")[saturated, 0]
    waiters = sim.history.series("pool_waiters")[saturated, 0]
    assert ((in_use == size) & (waiters > 0)).mean() > 0.95
    assert waiters.mean() > 50, "most of the 100 in-flight searches wait for a connection"
    assert sim.history.series("queue_depth")[_at(sim, fault_s + 60.0)] > 100


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_exhaustion_bigger_pool_costs_db_latency_but_restores_goodput(seed):
    probe, _ = _run("pool-exhaustion", seed, 1.0, False)
    fault_s = probe.model.faults[0].at_s
    drill, par = _run("pool-exhaustion", seed, 200.0, True)
    _, none = _run("pool-exhaustion", seed, fault_s + 60.0, False)
    before = _window(par, 20.0, fault_s)
    after = _window(par, 160.0, 200.0)
    resize = next(a for a in drill.par if a.name == "pool.resize")
    assert par.history.series("pool_size")[after, 0].min() == resize.arg("size")
    # Contention: each query holds its connection longer once more than `knee`
    # queries run at once (measured ~ +13 % at ~27 busy connections).
    assert _query_latency_s(drill, par, after) > 1.05 * _query_latency_s(drill, par, before)
    # ... but goodput is back to the offered load, where doing nothing serves almost nothing.
    offered_rps = _rate(par, "fresh_arrivals", 40.0)[_at(par, 200.0)]
    assert _rate(par, "completed", 40.0)[_at(par, 200.0)] > 0.97 * offered_rps
    none_goodput = _rate(none, "completed", 20.0)[_at(none, fault_s + 60.0)]
    assert none_goodput < 0.5 * offered_rps


# --------------------------------------------------------------------------- 6. cold-cache


@pytest.mark.parametrize("seed", SEEDS)
def test_cold_cache_stampede_fails_40_percent_then_recovers_by_itself(seed):
    probe, _ = _run("cold-cache", seed, 1.0, False)
    flush_s = probe.model.faults[0].at_s
    drill, sim = _run("cold-cache", seed, flush_s + 280.0, False)
    errors = _error_rate(sim)
    assert errors[_window(sim, 0.0, flush_s)].max() == 0.0
    assert errors[_window(sim, flush_s, flush_s + 5.0)].max() > 0.4, "error rate above 40 % within 5 s"
    waiters = sim.history.series("pool_waiters")[_window(sim, flush_s, flush_s + 5.0), 0]
    assert waiters.max() > 300, "hundreds of searches queue on 20 connections"
    # Recovered = error rate below 5 % from then on (watched to flush + 280 s): the cache
    # refills slowly (measured 203-241 s), so a response a minute late still matters.
    after = _window(sim, flush_s, flush_s + 280.0)
    still_bad = np.nonzero(after & (errors >= 0.05))[0]
    recovered_s = float(_times(sim)[still_bad[-1]]) - flush_s
    assert 150.0 <= recovered_s <= 270.0, f"recovered {recovered_s:.1f} s after the flush"
