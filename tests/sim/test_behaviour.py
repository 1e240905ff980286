"""Whole-system behaviour that must emerge from the engine's physics: a metastable
retry storm, a kill-switch breaker, OOM kills and restarts, the breaker's own
life cycle, memory pressure, and the bookkeeping laws every run obeys.

Every claim is a comparison on the same seed (with vs without the cause).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from model_factory import (
    act,
    api_model,
    const,
    cpu_model,
    db_model,
    events_of,
    instant,
    mean_latency_ms,
    model,
    rate,
    run,
    stream_model,
    web_class,
    window,
    with_faults,
)
from sim.engine.simulation import Simulation
from sim.model.spec import BreakerSpec, CpuStep, DbStep, Dependency, Fault, MemorySpec, PoolSpec

SEED = 3

# ---------------------------------------------------------------- metastable retry storm


def _storm_model(client_retries: int):
    """100 rps of 5 ms cpu + a 50 ms call on 10 slots (60 % busy); clients give up
    after 0.5 s and retry `client_retries` times, 50 ms apart, without jitter."""
    return api_model(100, latency=const(0.05), client_timeout_s=0.5, client_retries=client_retries,
                     client_backoff_s=0.05, workers=2, concurrency=5)


SLOWDOWN = Fault(at_s=2, target="api", kind="slow", factor=10, duration_s=2)


def test_transient_slowdown_with_client_retries_leaves_a_metastable_overload():
    calm = run(_storm_model(3), 10, seed=SEED)
    storm = run(with_faults(_storm_model(3), SLOWDOWN), 10, seed=SEED)

    fresh = rate(storm, "fresh_arrivals", 6, 10)
    assert fresh == pytest.approx(100, rel=0.15)
    # Without the fault: offered load is the fresh load, and it is served.
    assert rate(calm, "arrivals", 6, 10) == pytest.approx(rate(calm, "fresh_arrivals", 6, 10))
    assert rate(calm, "completed", 6, 10) == pytest.approx(fresh, rel=0.15)
    # The slowdown ended at 4 s, yet two seconds later the service is still drowning:
    # every fresh request comes back 3 more times, the queue stays long, the work done
    # is for clients that already gave up.
    assert rate(storm, "arrivals", 6, 10) > 3 * fresh
    assert rate(storm, "retry_arrivals", 6, 10) > 2.5 * fresh
    assert rate(storm, "completed", 6, 10) < 0.1 * fresh
    assert window(storm, "busy_slots", 6, 10).min() == 10
    assert storm.gauges().arrival_rps > 3 * storm.gauges().fresh_rps
    assert storm.result().failed["timeout"] > 1000


def test_same_slowdown_without_client_retries_recovers():
    spec = with_faults(_storm_model(0), SLOWDOWN)
    sim = run(spec, 7, seed=SEED)
    assert window(sim, "completed", 2.5, 4).sum() < 20  # the fault itself hurts
    assert rate(sim, "arrivals", 5, 7) == pytest.approx(rate(sim, "fresh_arrivals", 5, 7))
    assert rate(sim, "completed", 5, 7) == pytest.approx(rate(sim, "fresh_arrivals", 5, 7), rel=0.1)
    assert window(sim, "queue_depth", 5, 7).max() < 10


def test_turning_client_retries_off_ends_the_storm():
    spec = instant(with_faults(_storm_model(3), SLOWDOWN))
    sim = run(spec, 10, seed=SEED, actions=[act(6, "retry.set", cls="web", retries=0)])
    assert rate(sim, "completed", 5, 6) < 10
    assert rate(sim, "retry_arrivals", 8, 10) == 0
    assert rate(sim, "completed", 8, 10) == pytest.approx(rate(sim, "fresh_arrivals", 8, 10), rel=0.1)


# ---------------------------------------------------------------- breaker as a kill switch


def _slow_api(**kw):
    return api_model(50, latency=const(0.2), workers=4, concurrency=4, **kw)


def test_forced_open_breaker_fails_fast_and_dependency_load_drops():
    base = run(_slow_api(), 4, seed=SEED)
    sim = run(_slow_api(), 4, seed=SEED, actions=[act(2, "breaker.force_open", dependency="api")])

    # Before: ~10 calls in flight to the dependency (50 rps x 0.2 s), requests hold slots for 205 ms.
    assert window(base, "dep_active", 2.5, 4).mean() > 7
    assert window(sim, "dep_active", 0.5, 2).mean() > 7
    # After: no call reaches it; requests fail with reason "breaker" after 5 ms of cpu.
    assert window(sim, "dep_active", 2.25, 4).max() == 0
    assert window(sim, "failed_breaker", 2.25, 4).sum() == pytest.approx(window(sim, "admitted", 2.25, 4).sum(), abs=2)
    assert sim.result().failed["dependency"] == 0
    assert window(sim, "busy_slots", 2.5, 4).mean() < 0.1 * window(base, "busy_slots", 2.5, 4).mean()
    assert sim.gauges().dependencies[0].active == 0


def test_forced_open_breaker_with_fallback_serves_degraded_fast():
    spec = _slow_api(fallback=True)
    sim = run(spec, 4, seed=SEED, actions=[act(2, "breaker.force_open", dependency="api")])
    assert sim.result().failed_total == 0
    assert window(sim, "degraded", 2.25, 4).sum() == window(sim, "completed", 2.25, 4).sum() > 50
    assert mean_latency_ms(sim, 2.5, 4) == pytest.approx(5, abs=1)
    assert mean_latency_ms(sim, 0.5, 2) == pytest.approx(205, abs=15)


# ---------------------------------------------------------------- automatic breaker life cycle


def test_breaker_trips_on_errors_probes_and_closes_after_the_fault():
    breaker = BreakerSpec(window_s=1.0, failure_threshold=0.5, min_calls=10, open_s=1.0, half_open_probes=3)
    spec = with_faults(api_model(50, latency=const(0.02), breaker=breaker, workers=4),
                       Fault(at_s=1, target="api", kind="errors", rate=0.9, duration_s=1.5))
    sim = run(spec, 6, seed=SEED)

    messages = [e.message for e in events_of(sim, "breaker")]
    assert any("tripped OPEN" in m for m in messages)
    assert any("HALF-OPEN" in m for m in messages)
    assert "CLOSED: probes succeeded" in messages[-1]
    states = sim.history.series("breaker_state")[:, 0]
    t = sim.history.series("t_s")
    assert set(states[t <= 1.0]) == {0}
    assert {0, 1, 2} <= set(states.tolist())
    assert states[-1] == 0
    # While open, calls are refused without reaching the dependency.
    assert sim.result().failed["breaker"] > 20
    opened = [e.t_s for e in events_of(sim, "breaker") if "tripped" in e.message][0]
    assert window(sim, "failed_breaker", 0, opened).sum() == 0
    # After it closes the service is healthy again.
    assert window(sim, "failed", 5, 6).sum() == 0


# ---------------------------------------------------------------- OOM kill and restart


def _oom_spec(**kw):
    """10 rps of 20 MB streams held 0.2 s; a worker holding 10 of them hits its 300 MB limit."""
    return stream_model(10, size_mb=20, stream_s=0.2, limit_mb=300, restart_s=1.0, workers=2, concurrency=10,
                        client_timeout_s=0.5, **kw)


def test_oom_kill_drops_in_flight_requests_and_the_worker_restarts():
    surge = Fault(at_s=1, target="web", kind="traffic", factor=8, duration_s=0.5)
    base = run(_oom_spec(), 5, seed=SEED)
    sim = run(with_faults(_oom_spec(), surge), 5, seed=SEED)

    assert not events_of(base, "oom") and base.result().failed["oom"] == 0
    ooms = events_of(sim, "oom")
    assert ooms
    first = ooms[0]
    # Work is spread over both workers, so they can hit the limit in the same tick.
    same_tick = [e for e in ooms if e.t_s == first.t_s]
    dropped = sum(int(re.search(r"(\d+) requests dropped", e.message).group(1)) for e in same_tick)
    assert dropped >= 10
    # Every request in flight on a killed worker fails with reason "oom", in that very tick.
    assert window(sim, "failed_oom", first.t_s - 0.05, first.t_s).sum() == dropped
    # (The message also counts work whose client had already given up: not failed again.)
    assert 0 < sim.result().failed["oom"] <= sum(
        int(re.search(r"(\d+) requests dropped", e.message).group(1)) for e in ooms)
    # The worker is gone for restart_s, then back up and serving.
    worker = first.subject
    back = [e for e in events_of(sim, "worker_up") if e.subject == worker]
    assert back and back[0].t_s == pytest.approx(first.t_s + 1.0)
    assert "back up" in back[0].message
    assert window(sim, "live_workers", first.t_s, first.t_s + 0.95).max() <= 2 - len(same_tick)
    assert sim.gauges().live_workers == 2
    assert not [e for e in ooms if e.t_s > 3.5]
    assert window(sim, "failed", 3.5, 5).sum() == 0 and window(sim, "completed", 3.5, 5).sum() > 5
    assert sim.gauges().memory_mb > 100


def test_memory_pressure_slows_cpu_work():
    memory = MemorySpec(limit_mb=1000, baseline_mb=100, pressure_fraction=0.5, gc_slowdown=3.0)
    spec = model([web_class("web", 20, (CpuStep(const(0.02)),))], workers=1, concurrency=8, memory=memory)
    leak = Fault(at_s=0.5, target="service", kind="memory_leak", mb_per_s=400)
    sim = run(with_faults(spec, leak), 3, seed=SEED)
    base = run(spec, 3, seed=SEED)
    # Below the 500 MB mark nothing changes; at 900 MB (80 % of the way to the
    # limit) cpu work takes 1 + 2 x 0.8 = 2.6 x as long.
    assert mean_latency_ms(sim, 0, 1.4) == pytest.approx(20, abs=0.5)
    assert mean_latency_ms(base, 2.5, 3) == pytest.approx(20, abs=0.5)
    assert mean_latency_ms(sim, 2.6, 2.75) > 2 * 20


# ---------------------------------------------------------------- dependency capacity and db contention


def test_dependency_capacity_refuses_calls_beyond_it():
    base = run(api_model(50, latency=const(0.2), workers=4), 3, seed=SEED)
    capped = run(api_model(50, latency=const(0.2), capacity=4, workers=4), 3, seed=SEED)
    assert base.result().failed_total == 0
    # 10 calls would be in flight; only 4 are allowed, the rest are refused:
    # it answers 4 / 0.2 s = 20 rps of the 50 offered.
    assert rate(base, "completed", 1, 3) == pytest.approx(50, rel=0.2)
    # (Capacity freed inside a tick is reused from the next tick on: a bit under 20.)
    assert 14 < rate(capped, "completed", 1, 3) < 22
    assert rate(capped, "failed_dependency", 1, 3) > 20


def test_database_slows_past_its_knee():
    def spec(knee):
        db = Dependency(name="db", kind="database", latency=const(0.02), knee=knee, contention=1.0)
        return model([web_class("web", 150, (DbStep("main"),))], workers=4, concurrency=8,
                     dependencies=[db], pools=[PoolSpec("main", "db", 8)])

    relaxed = run(spec(0), 3, seed=SEED)
    contended = run(spec(1), 3, seed=SEED)
    assert mean_latency_ms(relaxed, 1, 3) == pytest.approx(20, abs=2)
    # 150 rps x 20 ms = 3 queries active on a knee of 1: each takes ~3 x as long,
    # which keeps more of them active and the pool fills up.
    assert mean_latency_ms(contended, 1, 3) > 3 * mean_latency_ms(relaxed, 1, 3)
    assert window(contended, "pool_in_use", 1, 3).mean() > 2 * window(relaxed, "pool_in_use", 1, 3).mean()


# ---------------------------------------------------------------- bookkeeping laws and determinism


def _busy_run(seed=SEED):
    """A run with most mechanisms in play: faults, retries, limits, actions."""
    breaker = BreakerSpec(window_s=1.0, failure_threshold=0.5, min_calls=10, open_s=0.5, half_open_probes=2)
    spec = api_model(120, latency=const(0.05), breaker=breaker, call_timeout_s=0.3, client_timeout_s=0.4,
                     client_retries=2, workers=2, concurrency=4, queue_limit=20,
                     memory=MemorySpec(limit_mb=500, baseline_mb=100, per_request_mb=40, restart_s=0.5))
    spec = with_faults(
        spec,
        Fault(at_s=0.5, target="api", kind="errors", rate=0.6, duration_s=1),
        Fault(at_s=1.5, target="api", kind="blackhole", duration_s=0.5),
        Fault(at_s=2, target="web", kind="traffic", factor=2, duration_s=1),
        Fault(at_s=2.5, target="service", kind="lose_workers", count=1, duration_s=0.5),
    )
    return run(instant(spec), 4, seed=seed, actions=[act(1, "ratelimit.set", rate_rps=150, burst=10),
                                            act(1.5, "shed.set", fraction=0.1),
                                            act(2.2, "worker.restart", worker=0),
                                            act(3, "workers.scale", workers=3)])


def test_conservation_holds_every_tick():
    sim = _busy_run()
    s = sim.history.series
    np.testing.assert_array_equal(s("arrivals"), s("admitted") + s("rejected"))
    np.testing.assert_array_equal(s("arrivals"), s("fresh_arrivals") + s("retry_arrivals"))
    np.testing.assert_array_equal(s("failed"), sum(s(f"failed_{r}") for r in
                                                   ("timeout", "dependency", "breaker", "oom", "pool_timeout",
                                                    "worker_lost")))
    np.testing.assert_array_equal(s("rejected"), s("rejected_ratelimit") + s("rejected_shed") + s("rejected_queue_full"))
    # in_flight is counted from the request table, not from the counters.
    np.testing.assert_array_equal(np.cumsum(s("admitted") - s("completed") - s("failed")), s("in_flight"))
    r = sim.result()
    assert r.arrivals == r.admitted + r.rejected_total
    assert r.admitted == r.completed + r.failed_total + r.in_flight
    # The run exercised what it claims to.
    assert r.failed["dependency"] > 0 and r.failed["breaker"] > 0
    assert min(r.rejected.values()) > 0 and r.retries > 0
    assert len(events_of(sim, "worker_down")) == 2


def test_same_seed_same_run_and_checkpoint_replays_exactly():
    a, b = _busy_run(), _busy_run()
    assert a.digest() == b.digest() and a.result() == b.result()
    assert _busy_run(seed=SEED + 1).digest() != a.digest()

    spec = a.model
    sim = Simulation(spec, SEED)
    sim.run_until(1.5)
    saved = sim.checkpoint()
    sim.run_until(3)
    first = (sim.digest(), sim.result())
    sim.restore(saved)
    assert sim.t_s == pytest.approx(1.5)
    sim.run_until(3)
    assert (sim.digest(), sim.result()) == first


def test_an_applied_action_changes_the_digest():
    spec = cpu_model(60, workers=2)
    base = run(spec, 2, seed=SEED)
    shed = run(spec, 2, seed=SEED, actions=[act(1, "shed.set", fraction=0.5)])
    resized = run(db_model(), 4, seed=SEED, actions=[act(1, "pool.resize", pool="main", size=5)])
    assert shed.digest() != base.digest()
    assert resized.digest() != run(db_model(), 4, seed=SEED).digest()
