"""Conservation every tick, on randomly generated services, faults and actions.

arrivals = admitted + rejected, and admitted = completed + failed + in flight,
where in flight is counted from the engine's request table, not derived from
the counters.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.simulation import Simulation
from sim.model.spec import (
    Action, ArrivalProfile, BreakerSpec, CacheSpec, CacheStep, CallStep, CpuStep, DbStep, Dependency,
    Distribution, Fault, MemorySpec, ModelSpec, PoolSpec, RetryPolicy, ServiceSpec, StreamStep, TrafficClass,
)

durations = st.one_of(
    st.floats(0.0005, 0.3).map(Distribution.exponential),
    st.floats(0.001, 0.2).map(lambda m: Distribution.lognormal(m, m * 8)),
    st.floats(0.001, 0.05).map(lambda m: Distribution.pareto(m, 1.6)),
    st.floats(0.0, 0.1).map(Distribution.constant),
)
steps = st.one_of(
    durations.map(CpuStep),
    st.just(CacheStep("cache")),
    st.integers(1, 4).map(lambda q: DbStep("pool", q)),
    st.builds(lambda t, r, f: CallStep("api", timeout_s=t, retries=r, fallback=f),
              st.one_of(st.none(), st.floats(0.05, 2.0)), st.integers(0, 2), st.booleans()),
    st.builds(lambda mb, d: StreamStep(mb, d, slow_fraction=0.3, slow_factor=4.0), st.floats(0, 5), durations),
)
classes = st.builds(
    lambda i, rate, plan, timeout, retries, prio: TrafficClass(
        f"c{i}", ArrivalProfile(kind="burst", rate_rps=rate, to_rps=rate * 3, start_s=1.0, duration_s=1.0),
        tuple(plan), priority=prio, timeout_s=timeout, retry=RetryPolicy(retries=retries, backoff_s=0.05)),
    st.integers(0, 99), st.floats(5, 400), st.lists(steps, min_size=1, max_size=5),
    st.one_of(st.none(), st.floats(0.05, 3.0)), st.integers(0, 3), st.integers(0, 3),
)
fault_kinds = st.sampled_from([
    Fault(0.5, "api", "slow", 1.5, factor=20, deploy="api v2"), Fault(0.5, "db", "errors", 1.0, rate=0.5),
    Fault(0.5, "api", "down", 1.0), Fault(0.5, "api", "blackhole", 1.0),
    Fault(0.2, "db", "latency_pulses", 2.0, period_s=0.5, width_s=0.1, add_s=0.2),
    Fault(0.2, "api", "packet_loss", 2.0, rate=0.3, retransmit_s=0.2), Fault(1.0, "cache", "cache_flush"),
    Fault(1.0, "service", "memory_leak", 1.0, mb_per_s=300), Fault(1.0, "service", "lose_workers", 1.0, count=1),
])
actions = st.sampled_from([
    Action(0, "pool.resize", {"pool": "pool", "size": 2}), Action(0, "breaker.force_open", {"dependency": "api"}),
    Action(0, "shed.set", {"fraction": 0.3, "mode": "priority"}), Action(0, "queue.set_limit", {"limit": 3}),
    Action(0, "timeout.set", {"dependency": "api", "timeout_s": 0.05}), Action(0, "ratelimit.set", {"rate_rps": 50}),
    Action(0, "workers.scale", {"workers": 1}), Action(0, "workers.scale", {"workers": 4}),
    Action(0, "fallback.set", {"dependency": "api", "enabled": True}), Action(0, "worker.restart", {"worker": 0}),
    Action(0, "pool.resize", {"pool": "pool", "size": 10_000}), Action(0, "breaker.auto", {"dependency": "api"}),
    Action(0, "cache.coalesce", {"cache": "cache"}), Action(0, "cache.serve_stale", {"cache": "cache"}),
    Action(0, "deploy.rollback"),
])


@st.composite
def scenarios(draw):
    cls = draw(st.lists(classes, min_size=1, max_size=3, unique_by=lambda c: c.name))
    service = ServiceSpec(
        workers=draw(st.integers(1, 3)), concurrency=draw(st.integers(1, 8)), max_workers=4, warmup_s=0.5,
        queue_limit=draw(st.one_of(st.none(), st.integers(0, 50))),
        memory=MemorySpec(limit_mb=400, baseline_mb=100, per_request_mb=draw(st.floats(0, 20)), restart_s=0.5),
    )
    model = ModelSpec(
        service=service,
        classes=tuple(cls),
        dependencies=(
            Dependency("db", "database", Distribution.exponential(0.01), knee=2, max_connections=50),
            Dependency("api", "service", Distribution.lognormal(0.02, 0.2), error_rate=draw(st.floats(0, 0.3)),
                       capacity=draw(st.integers(0, 10)), breaker=BreakerSpec(window_s=1, min_calls=5, open_s=0.5,
                                                                            half_open_probes=2)),
        ),
        pools=(PoolSpec("pool", "db", draw(st.integers(1, 6)), draw(st.one_of(st.none(), st.floats(0.01, 1.0)))),),
        caches=(CacheSpec("cache", draw(st.floats(0, 1)), 50, duplicate_misses=draw(st.floats(0, 1)),
                          stale_ratio=draw(st.floats(0, 1))),),
        faults=tuple(draw(st.lists(fault_kinds, max_size=3))),
        dt_s=draw(st.sampled_from([0.01, 0.05, 0.1])),
        # Actions land within the run: what is conserved is tested, not how long an action takes.
        action_delays=(("ratelimit.set", 0.2), ("cache.coalesce", 0.3), ("cache.serve_stale", 0.1),
                       ("deploy.rollback", 0.5)),
    )
    plan = draw(st.lists(st.tuples(st.floats(0, 3.5), actions), max_size=4))
    return model, draw(st.integers(0, 2**32 - 1)), sorted(plan, key=lambda x: x[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_conservation_holds_every_tick(scenario):
    model, seed, plan = scenario
    sim = Simulation(model, seed)
    for at, action in plan:
        sim.run_until(at)
        sim.apply(action)
    sim.run_until(4.0)
    h = sim.history
    arrivals, admitted, rejected = h.series("arrivals"), h.series("admitted"), h.series("rejected")
    np.testing.assert_array_equal(arrivals, admitted + rejected)
    outcomes = np.cumsum(h.series("completed") + h.series("failed"))
    np.testing.assert_array_equal(np.cumsum(admitted), outcomes + h.series("in_flight"))
    # Reasons add up, and per-class counts agree with the totals.
    from sim.model.observe import FAIL_REASONS, REJECT_REASONS

    np.testing.assert_array_equal(sum(h.series(f"failed_{r}") for r in FAIL_REASONS), h.series("failed"))
    np.testing.assert_array_equal(sum(h.series(f"rejected_{r}") for r in REJECT_REASONS), rejected)
    np.testing.assert_array_equal(h.series("class_arrivals").sum(axis=(1, 2)), arrivals)
    np.testing.assert_array_equal(h.series("class_completed").sum(axis=(1, 2)), h.series("completed"))
    # Resources never go negative or over their size.
    assert (h.series("busy_slots") <= 4 * model.service.concurrency).all()
    assert (h.series("pool_in_use") >= 0).all()
    assert (h.series("queue_depth") >= 0).all()
    result = sim.result()
    assert result.admitted == result.completed + result.failed_total + result.in_flight
