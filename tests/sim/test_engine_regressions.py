"""Regression tests for engine bugs found by the behaviour suite (each failed before its fix)."""
import numpy as np
import pytest

from model_factory import act, api_model, const, db_model, rate, run, stream_model, window


def test_timeout_set_none_removes_the_plans_call_timeout_too():
    # The plan's call times out at 100 ms; the dependency answers in 300 ms.
    spec = api_model(40, latency=const(0.3), call_timeout_s=0.1, workers=8)
    sim = run(spec, 3, seed=5, actions=[act(1, "timeout.set", dependency="api", timeout_s="none")])
    assert "timeout on api removed" in [e.message for e in sim.events if e.kind == "action_applied"][0]
    assert sim.gauges().dependencies[0].timeout_s is None          # the gauge says: no timeout
    assert window(sim, "failed_dependency", 1.2, 3).sum() == 0


def test_gauge_shows_the_plans_call_timeout():
    spec = api_model(40, latency=const(0.3), call_timeout_s=0.1, workers=8)
    sim = run(spec, 1, seed=5)
    assert sim.result().failed["dependency"] > 0
    assert sim.gauges().dependencies[0].timeout_s == 0.1


def test_refused_retry_set_changes_nothing():
    spec = api_model(50, latency=const(0.02), error_rate=0.4, workers=4)
    base = run(spec, 3, seed=5)
    sim = run(spec, 3, seed=5, actions=[act(1, "retry.set", dependency="api", retries=3, backoff_s=-1)])
    assert [e.kind for e in sim.events] == ["action_refused"]
    assert sim.result().failed == base.result().failed


def test_dep_active_counts_calls_in_progress():
    # 200 rps of 5 ms calls: Little's law says ~1 call in progress.
    sim = run(api_model(200, latency=const(0.005), workers=4), 3, seed=3)
    assert window(sim, "dep_active", 1, 3).mean() == pytest.approx(1.0, abs=0.5)
    assert sim.gauges().dependencies[0].active <= 5


def test_priority_shedding_spares_higher_priority_while_lower_priority_traffic_suffices():
    # ingest (priority 1) is a third of the traffic; shedding 20 % should take only ingest.
    spec = db_model(search_rps=40, ingest_rps=20, pool_size=8)
    sim = run(spec, 4, seed=5, actions=[act(1, "shed.set", fraction=0.2, mode="priority")])
    rejected = window(sim, "class_rejected", 1, 4).sum(axis=(0, 2))
    arrived = window(sim, "class_arrivals", 1, 4).sum(axis=(0, 2))
    assert rejected[0] / arrived[0] < 0.02


def test_requests_spread_over_workers():
    # 20 rps x 0.5 s = ~10 streams of 10 MB in flight over 2 workers of 40 slots.
    spec = stream_model(20, size_mb=10, stream_s=0.5, limit_mb=10_000, workers=2, concurrency=40)
    sim = run(spec, 5, seed=3)
    busy = [w.busy for w in sim.gauges().workers]
    assert min(busy) > 0
    # and so adding workers does not lower the fullest worker's memory:
    one = run(stream_model(20, size_mb=10, stream_s=0.5, limit_mb=10_000, workers=1, concurrency=40), 5, seed=3)
    assert window(sim, "memory_mb", 1, 5).mean() < 0.8 * window(one, "memory_mb", 1, 5).mean()


def test_bad_jitter_is_refused_not_a_crash():
    spec = db_model(search_rps=20, ingest_rps=10)
    for jitter in (2, "abc"):
        sim = run(spec, 2, seed=5, actions=[act(1, "retry.set", cls="search", retries=1, jitter=jitter)])
        assert "jitter" in [e.message for e in sim.events if e.kind == "action_refused"][0]


def test_booleans_are_not_numbers():
    spec = db_model(search_rps=20, ingest_rps=10)
    sim = run(spec, 2, seed=5, actions=[act(1, "shed.set", fraction=True)])
    assert [e.kind for e in sim.events] == ["action_refused"]


def test_latency_pulses_start_with_the_fault():
    from model_factory import with_faults
    from sim.model.spec import Fault
    pulses = Fault(at_s=0.5, target="api", kind="latency_pulses", period_s=1.0, width_s=0.2, add_s=0.3)
    sim = run(with_faults(api_model(100, latency=const(0.02), workers=16), pulses), 0.75, seed=3)
    # Calls started in [0.5, 0.7) are inside the first pulse: they come back after 0.3 s.
    assert window(sim, "completed", 0.55, 0.70).sum() == 0


def test_pool_resize_refuses_bulkhead_pools():
    spec = db_model(search_rps=20, ingest_rps=10)
    sim = run(spec, 2, seed=5, actions=[act(1, "pool.resize", pool="main/search", size=3)])
    assert [e.kind for e in sim.events] == ["action_refused"]


def test_down_workers_hold_no_memory_even_with_a_queue():
    """Queued-request memory lives on live workers only (it once reached 15 GB on a 1 GB limit)."""
    from sim.engine.simulation import Simulation
    from sim.model.spec import (ArrivalProfile, CpuStep, Distribution, Fault, MemorySpec, ModelSpec, ServiceSpec,
                          TrafficClass)

    model = ModelSpec(
        service=ServiceSpec(workers=2, concurrency=2, memory=MemorySpec(limit_mb=1000, baseline_mb=100, per_queued_mb=0.1)),
        classes=(TrafficClass("a", ArrivalProfile(rate_rps=200), (CpuStep(Distribution.exponential(0.05)),)),),
        faults=(Fault(at_s=1, target="service", kind="lose_workers", count=2, duration_s=3),),
    )
    sim = Simulation(model, 1)
    sim.run_until(3.0)
    assert sim.gauges().live_workers == 0 and sim.gauges().queue_depth > 100
    assert sim.history.series("memory_mb")[-1] == 0.0
    sim.run_until(5.0)
    assert 100 <= sim.history.series("memory_mb")[-1] <= 1000


def test_a_clients_retry_gap_is_its_least_backoff():
    """The slot queue decides up to a giving-up client's earliest retry, not its deadline
    (deciding only to the deadline cost the retry-storm drill 24 rounds a tick)."""
    from sim.engine.retries import ClientRetries
    from sim.model.spec import RetryPolicy

    retries = ClientRetries([RetryPolicy(retries=3, backoff_s=0.1, multiplier=2.0, jitter=0.5),
                             RetryPolicy(retries=0)], np.random.default_rng(1))
    gaps = retries.retry_gaps(np.array([0, 0, 0, 0, 1]), np.array([0, 1, 2, 3, 0]))
    np.testing.assert_allclose(gaps, [0.05, 0.1, 0.2, np.inf, np.inf])
    # Every retry actually scheduled comes no sooner than its gap.
    t = np.zeros(3000)
    c = np.zeros(3000, dtype=np.int64)
    a = np.repeat(np.arange(3), 1000)
    retries.schedule(t, c, a)
    arrive, _, attempt = retries.take_due(np.inf, 0.0)
    assert (arrive >= retries.retry_gaps(np.zeros(3000, dtype=np.int64), attempt - 1) - 1e-12).all()
    assert arrive.min() < 0.051                       # the bound is tight: jitter reaches it
