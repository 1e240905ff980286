"""Each operator action, shown by its effect on a running simulation, and each
reason an action is refused (the refusal is an event; the run goes on unchanged).

Every effect is a comparison: the same model and seed with and without the action.
"""

from __future__ import annotations

import math

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
    web_class,
    window,
    with_faults,
)
from sim.engine.pools import POOL_RESIZE_DELAY_S
from sim.engine.simulation import Simulation
from sim.model.spec import BreakerSpec, CpuStep, Fault, MemorySpec

SEED = 5


def applied(sim: Simulation, name: str):
    return [e for e in events_of(sim, "action_applied") if e.subject == name]


# ---------------------------------------------------------------- pool.resize


def _busy_db():
    """search 40 rps x 20 ms + ingest 40 rps x 2 x 20 ms: 2.4 connections wanted of 2.

    64 slots, so waiting for a connection (up to 0.5 s) does not also starve the slots.
    """
    return db_model(search_rps=40, ingest_rps=40, pool_size=2, max_connections=20, workers=8, concurrency=8,
                    acquire_timeout_s=0.5)


def test_pool_resize_takes_effect_after_its_delay():
    assert POOL_RESIZE_DELAY_S == 2.0
    base = run(_busy_db(), 6, seed=SEED)
    sim = run(_busy_db(), 1, seed=SEED, actions=[act(1, "pool.resize", pool="main", size=8)])
    sim.run_until(1.05)
    main = sim.gauges().pools[0]
    assert (main.name, main.size, main.target_size) == ("main", 2, 8)
    assert "resizing 2 -> 8" in applied(sim, "pool.resize")[0].message
    sim.run_until(6)

    size = sim.history.series("pool_size")[:, 0]
    t = sim.history.series("t_s")
    assert set(size[t <= 3.0 + 1e-9]) == {2}
    assert set(size[t > 3.0 + 1e-9]) == {8}
    assert [e.t_s for e in applied(sim, "main")] == [3.0]
    assert "now 8 connections" in applied(sim, "main")[0].message
    # Until the new size lands nothing changes; afterwards the waiters are gone.
    np.testing.assert_array_equal(window(sim, "pool_waiters", 0, 3), window(base, "pool_waiters", 0, 3))
    assert window(base, "pool_waiters", 4, 6)[:, 0].mean() > 2
    assert window(sim, "pool_waiters", 4, 6)[:, 0].mean() < 0.3
    assert mean_latency_ms(sim, 4, 6) < 0.5 * mean_latency_ms(base, 4, 6)


def test_pool_resize_down_shrinks_the_pool():
    sim = run(_busy_db(), 4, seed=SEED, actions=[act(0.5, "pool.resize", pool="reports", size=1)])
    size = sim.history.series("pool_size")[:, 1]
    assert size[0] == 2 and size[-1] == 1
    assert window(sim, "pool_in_use", 2.6, 4)[:, 1].max() <= 1


# ---------------------------------------------------------------- breaker


def _breaker_api(**kw):
    breaker = BreakerSpec(window_s=1.0, failure_threshold=0.5, min_calls=10, open_s=1.0, half_open_probes=3)
    return api_model(50, latency=const(0.1), breaker=breaker, workers=4, **kw)


def test_breaker_force_open_fails_calls_fast():
    base = run(_breaker_api(), 3, seed=SEED)
    sim = run(_breaker_api(), 3, seed=SEED, actions=[act(1, "breaker.force_open", dependency="api")])

    assert base.result().failed_total == 0
    assert window(sim, "failed_breaker", 1, 3).sum() == pytest.approx(window(sim, "admitted", 1, 3).sum(), abs=1)
    assert window(sim, "dep_active", 1.2, 3).max() == 0
    assert window(base, "dep_active", 1.2, 3).mean() > 3
    assert set(window(sim, "breaker_state", 1, 3)[:, 0]) == {1}
    gauge = sim.gauges().breakers[0]
    assert (gauge.state, gauge.forced) == ("open", "open")


def test_breaker_force_close_lets_calls_through_a_tripped_breaker():
    errors = Fault(at_s=0.5, target="api", kind="errors", rate=1.0)
    auto = run(with_faults(_breaker_api(), errors), 4, seed=SEED)
    sim = run(with_faults(_breaker_api(), errors), 4, seed=SEED,
              actions=[act(2, "breaker.force_close", dependency="api")])

    # Left alone the breaker trips and keeps refusing (probes fail, it opens again).
    assert any("tripped OPEN" in e.message for e in events_of(auto, "breaker"))
    assert window(auto, "failed_breaker", 2.5, 4).sum() > 0
    # Forced closed, every call goes to the dependency again (and fails there).
    assert window(sim, "failed_breaker", 2.2, 4).sum() == 0
    assert window(sim, "failed_dependency", 2.2, 4).sum() > 50
    assert set(window(sim, "breaker_state", 2, 4)[:, 0]) == {0}
    assert sim.gauges().breakers[0].forced == "closed"


def test_breaker_auto_returns_control_to_the_breaker():
    sim = run(_breaker_api(), 3, seed=SEED, actions=[act(0.5, "breaker.force_open", dependency="api"),
                                                     act(1.5, "breaker.auto", dependency="api")])
    assert window(sim, "failed_breaker", 0.5, 1.5).sum() > 20
    assert window(sim, "failed_breaker", 1.55, 3).sum() == 0
    assert window(sim, "completed", 1.8, 3).sum() > 40
    assert sim.gauges().breakers[0].forced is None
    assert "back to automatic" in applied(sim, "breaker.auto")[0].message


# ---------------------------------------------------------------- shed.set


def test_shed_random_rejects_that_fraction_of_arrivals():
    sim = run(cpu_model(100), 4, seed=SEED, actions=[act(1, "shed.set", fraction=0.5)])
    assert window(sim, "rejected_shed", 0, 1).sum() == 0
    shed = window(sim, "rejected_shed", 1, 4).sum() / window(sim, "arrivals", 1, 4).sum()
    assert shed == pytest.approx(0.5, abs=0.07)
    g = sim.gauges()
    assert (g.shed_fraction, g.shed_mode) == (0.5, "random")
    assert sim.result().rejected["shed"] == window(sim, "rejected_shed", 0, 4).sum()


def test_shed_priority_drops_the_lowest_priority_class_first():
    spec = db_model(search_rps=40, ingest_rps=20, pool_size=8)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "shed.set", fraction=0.3, mode="priority")])
    random = run(spec, 4, seed=SEED, actions=[act(1, "shed.set", fraction=0.3, mode="random")])

    def shed_share(s):
        rejected = window(s, "class_rejected", 1, 4).sum(axis=(0, 2))
        arrived = window(s, "class_arrivals", 1, 4).sum(axis=(0, 2))
        return rejected / arrived, rejected.sum() / arrived.sum()

    (search, ingest), overall = shed_share(sim)
    # search has priority 2, ingest 1: ingest (a third of the traffic) goes first.
    # (The shedder decides per 50 ms tick, so a tick short of ingest sheds some search.)
    assert ingest > 0.5 and ingest > 3 * search
    assert overall == pytest.approx(0.3, abs=0.05)
    (r_search, r_ingest), r_overall = shed_share(random)
    assert r_search == pytest.approx(0.3, abs=0.1) and r_ingest == pytest.approx(0.3, abs=0.15)
    assert sim.gauges().shed_mode == "priority"


# ---------------------------------------------------------------- queue.set_limit


def _overloaded():
    """100 rps of 50 ms on 4 slots: 5 slots' worth of work, the queue grows without bound."""
    return cpu_model(100, cpu_s=0.05, workers=1, concurrency=4)


def test_queue_limit_caps_the_queue_and_rejects_the_rest():
    base = run(_overloaded(), 4, seed=SEED)
    sim = run(_overloaded(), 4, seed=SEED, actions=[act(1, "queue.set_limit", limit=5)])
    assert base.gauges().queue_depth > 30 and base.result().rejected_total == 0
    assert window(sim, "queue_depth", 1.5, 4).max() <= 5
    assert sim.result().rejected["queue_full"] > 20
    assert sim.gauges().queue_limit == 5
    assert mean_latency_ms(sim, 2, 4) < 0.5 * mean_latency_ms(base, 2, 4)


def test_queue_limit_unbounded_lifts_the_limit():
    spec = cpu_model(100, cpu_s=0.05, workers=1, concurrency=4, queue_limit=3)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "queue.set_limit", limit="unbounded")])
    assert window(sim, "rejected_queue_full", 0, 1).sum() > 0
    assert window(sim, "rejected_queue_full", 1.05, 4).sum() == 0
    assert sim.gauges().queue_limit is None and sim.gauges().queue_depth > 10


# ---------------------------------------------------------------- timeout.set


def test_timeout_set_cuts_slow_calls_short():
    spec = api_model(40, latency=const(0.5), workers=8)
    base = run(spec, 3, seed=SEED)
    sim = run(spec, 3, seed=SEED, actions=[act(1, "timeout.set", dependency="api", timeout_s=0.1)])
    assert base.result().failed_total == 0
    assert window(sim, "failed_dependency", 1.2, 3).sum() > 50
    assert window(sim, "completed", 1.6, 3).sum() == 0
    # Slots are held 0.105 s instead of 0.505 s.
    assert window(sim, "busy_slots", 2, 3).mean() < 0.35 * window(base, "busy_slots", 2, 3).mean()
    assert sim.gauges().dependencies[0].timeout_s == 0.1
    assert "100 ms" in applied(sim, "timeout.set")[0].message


def test_timeout_set_none_removes_the_override():
    spec = api_model(40, latency=const(0.3), workers=8)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "timeout.set", dependency="api", timeout_s=0.1),
                                           act(2, "timeout.set", dependency="api", timeout_s="none")])
    assert window(sim, "failed_dependency", 0, 1).sum() == 0
    assert window(sim, "failed_dependency", 1.2, 2).sum() > 20
    assert window(sim, "failed_dependency", 2.2, 4).sum() == 0
    assert window(sim, "completed", 2.5, 4).sum() > 40
    assert sim.gauges().dependencies[0].timeout_s is None
    assert "removed" in applied(sim, "timeout.set")[-1].message


def test_timeout_set_none_where_there_was_none_says_so():
    # The dialog's 0 means "no timeout": applied to a dependency that has none, the log must
    # not read as if something was done.
    sim = run(api_model(40, latency=const(0.3), workers=8), 2, seed=SEED,
              actions=[act(1, "timeout.set", dependency="api", timeout_s="none")])
    (event,) = applied(sim, "timeout.set")
    assert event.message == "api still has no timeout (it had none to remove)"
    assert sim.gauges().dependencies[0].timeout_s is None


# ---------------------------------------------------------------- retry.set


def test_retry_set_on_a_dependency_retries_failed_calls():
    spec = api_model(50, latency=const(0.02), error_rate=0.4, workers=4)
    sim = run(spec, 5, seed=SEED, actions=[act(1, "retry.set", dependency="api", retries=3)])
    before = window(sim, "failed_dependency", 0, 1).sum() / window(sim, "admitted", 0, 1).sum()
    after = window(sim, "failed_dependency", 1.1, 5).sum() / window(sim, "admitted", 1.1, 5).sum()
    assert before == pytest.approx(0.4, abs=0.15)
    assert after < 0.08  # 0.4 ** 4 ~ 0.026
    # Retried calls take longer: 1 / 0.6 attempts on average.
    assert mean_latency_ms(sim, 1.5, 5) > 1.2 * mean_latency_ms(sim, 0, 1)


def test_retry_set_on_a_class_changes_client_retries():
    spec = instant(api_model(50, latency=const(0.02), error_rate=0.5, workers=4))
    sim = run(spec, 4, seed=SEED, actions=[act(1, "retry.set", cls="web", retries=2, backoff_s=0.1)])
    assert window(sim, "retry_arrivals", 0, 1).sum() == 0
    # Each failure comes back after 0.1 s, up to twice: ~50 % + 25 % more attempts.
    retries = window(sim, "retry_arrivals", 1.5, 4).sum() / window(sim, "fresh_arrivals", 1.5, 4).sum()
    assert retries == pytest.approx(0.75, abs=0.15)
    assert "retry 2x" in applied(sim, "retry.set")[0].message


def test_retry_set_on_a_class_with_jitter_spreads_the_retries():
    spec = instant(api_model(100, latency=const(0.02), error_rate=0.8, workers=4))
    sync = run(spec, 3, seed=SEED, actions=[act(1, "retry.set", cls="web", retries=1, backoff_s=0.5)])
    spread = run(spec, 3, seed=SEED, actions=[act(1, "retry.set", cls="web", retries=1, backoff_s=0.5, jitter=1.0)])
    # Without jitter a retry comes back exactly 0.5 s after its failure, so the
    # first retries land at 1.5 s; with full jitter some come back almost at once.
    assert window(sync, "retry_arrivals", 1, 1.5).sum() == 0
    assert window(spread, "retry_arrivals", 1, 1.5).sum() > 3
    assert window(sync, "retry_arrivals", 1.5, 2).sum() > 20


def test_retry_set_zero_stops_client_retries():
    spec = instant(api_model(50, latency=const(0.02), error_rate=0.5, workers=4, client_retries=3))
    sim = run(spec, 4, seed=SEED, actions=[act(1, "retry.set", cls="web", retries=0)])
    assert window(sim, "retry_arrivals", 0, 1).sum() > 10
    assert window(sim, "retry_arrivals", 1.5, 4).sum() == 0


# ---------------------------------------------------------------- ratelimit.set


def test_ratelimit_caps_admissions():
    sim = run(instant(cpu_model(100)), 5, seed=SEED, actions=[act(1, "ratelimit.set", rate_rps=30, burst=5),
                                                      act(4, "ratelimit.set", rate_rps=0)])
    assert window(sim, "rejected_ratelimit", 0, 1).sum() == 0
    assert rate(sim, "admitted", 1.5, 4) == pytest.approx(30, rel=0.1)
    assert window(sim, "rejected_ratelimit", 1.5, 4).sum() == (
        window(sim, "arrivals", 1.5, 4).sum() - window(sim, "admitted", 1.5, 4).sum())
    assert rate(sim, "rejected_ratelimit", 1.5, 4) > 50
    assert window(sim, "rejected_ratelimit", 4.05, 5).sum() == 0
    assert sim.gauges().ratelimit_rps is None
    assert "rate limit off" in applied(sim, "ratelimit.set")[-1].message


# ---------------------------------------------------------------- workers.scale


def test_workers_scale_up_serves_after_warmup():
    spec = _overloaded()  # warmup_s is 1 s in these models
    base = run(spec, 5, seed=SEED)
    sim = run(spec, 1.05, seed=SEED, actions=[act(1, "workers.scale", workers=3)])
    g = sim.gauges()
    assert (g.live_workers, g.target_workers) == (1, 3)
    assert sum(w.warming for w in g.workers) == 2
    sim.run_until(5)
    live = sim.history.series("live_workers")
    t = sim.history.series("t_s")
    assert set(live[t <= 2.0 + 1e-9]) == {1} and set(live[t > 2.0 + 1e-9]) == {3}
    assert len(events_of(sim, "worker_up")) == 2
    assert sim.gauges().queue_depth < 5 < base.gauges().queue_depth


def test_workers_scale_down_drains_then_stops():
    spec = cpu_model(20, cpu_s=0.2, workers=3, concurrency=2)
    sim = run(spec, 3, seed=SEED, actions=[act(1, "workers.scale", workers=1)])
    assert window(sim, "live_workers", 0, 1).min() == 3
    assert window(sim, "live_workers", 1.5, 3).max() == 1
    # Draining: nothing dropped, nothing failed.
    assert sim.result().failed_total == 0
    assert "draining" in applied(sim, "workers.scale")[0].message


# ---------------------------------------------------------------- bulkhead.set


def test_bulkhead_gives_a_class_its_own_pool():
    spec = _busy_db()
    base = run(spec, 6, seed=SEED, latency_thresholds_s=(0.1,))
    sim = run(spec, 6, seed=SEED, latency_thresholds_s=(0.1,),
              actions=[act(1, "bulkhead.set", cls="search", pool="main", size=2)])

    names = [p.name for p in sim.gauges().pools]
    assert "main/search" in names
    bulk = names.index("main/search")
    in_use = sim.history.series("pool_in_use")
    t = sim.history.series("t_s")
    assert in_use[t <= 3.0 + 1e-9, bulk].max() == 0
    assert in_use[t > 3.2, bulk].sum() > 0

    def search_within(s):
        done = window(s, "class_completed", 4, 6)[:, 0].sum()
        return window(s, "class_within", 4, 6)[:, 0, :, 0].sum() / done

    assert search_within(base) < 0.2
    assert search_within(sim) > 0.95
    assert base.result().failed["pool_timeout"] > sim.result().failed["pool_timeout"]


def test_bulkhead_size_zero_removes_it():
    spec = _busy_db()
    sim = run(spec, 6, seed=SEED, actions=[act(0.5, "bulkhead.set", cls="search", pool="main", size=2),
                                           act(3, "bulkhead.set", cls="search", pool="main", size=0)])
    names = [p.name for p in sim.gauges().pools]
    assert "main/search" not in names
    assert "removed" in applied(sim, "bulkhead.set")[-1].message


# ---------------------------------------------------------------- fallback.set


def test_fallback_serves_degraded_instead_of_failing():
    spec = with_faults(api_model(50, latency=const(0.02), workers=4),
                       Fault(at_s=0.5, target="api", kind="down"))
    sim = run(spec, 4, seed=SEED, actions=[act(1.5, "fallback.set", dependency="api", enabled=True),
                                           act(3, "fallback.set", dependency="api", enabled=False)])
    assert window(sim, "completed", 0.6, 1.5).sum() == 0
    assert window(sim, "failed_dependency", 1.55, 3).sum() == 0
    assert window(sim, "degraded", 1.55, 3).sum() == window(sim, "completed", 1.55, 3).sum() > 50
    assert window(sim, "failed_dependency", 3.05, 4).sum() > 30
    assert sim.result().degraded > 50


def test_fallback_still_calls_the_dependency_and_degrades_only_failed_calls():
    # 30 % of calls fail: with the fallback on the service keeps calling the provider,
    # a good call gives a full answer and only a failed one a degraded answer.
    spec = with_faults(api_model(50, latency=const(0.02), workers=4),
                       Fault(at_s=0.0, target="api", kind="errors", rate=0.3))
    sim = run(spec, 4, seed=SEED, actions=[act(0.5, "fallback.set", dependency="api", enabled=True)])
    assert window(sim, "dep_active", 1, 4)[:, 0].sum() > 0
    completed = window(sim, "completed", 1, 4).sum()
    degraded = window(sim, "degraded", 1, 4).sum()
    assert window(sim, "failed_dependency", 1, 4).sum() == 0
    assert 0.2 < degraded / completed < 0.4


def test_fallback_answers_calls_that_time_out():
    spec = api_model(50, latency=const(0.5), call_timeout_s=0.1, workers=8, concurrency=16)
    sim = run(spec, 3, seed=SEED, actions=[act(0.5, "fallback.set", dependency="api", enabled=True)])
    assert window(sim, "failed_dependency", 0.2, 0.5).sum() > 0
    assert window(sim, "failed_dependency", 0.7, 3).sum() == 0
    assert window(sim, "degraded", 0.7, 3).sum() == window(sim, "completed", 0.7, 3).sum() > 50


# ---------------------------------------------------------------- worker.restart


def test_worker_restart_drops_its_requests_and_it_comes_back():
    spec = cpu_model(60, cpu_s=0.1, workers=2, concurrency=4)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "worker.restart", worker=0)])
    down = events_of(sim, "worker_down")
    assert [(e.t_s, e.subject) for e in down] == [(1.0, "0")]
    assert "restarted by operator" in down[0].message
    assert sim.result().failed["worker_lost"] > 0
    # restart_s defaults to 10 s in MemorySpec: still down at the end.
    assert window(sim, "live_workers", 1.05, 4).max() == 1


def test_worker_restart_comes_back_after_restart_s():
    spec = model([web_class("web", 60, (CpuStep(const(0.1)),))], workers=2, memory=MemorySpec(restart_s=1.0))
    sim = run(spec, 3, seed=SEED, actions=[act(1, "worker.restart", worker=1)])
    assert window(sim, "live_workers", 1.05, 2).max() == 1
    assert window(sim, "live_workers", 2.05, 3).min() == 2
    assert [(e.t_s, e.subject) for e in events_of(sim, "worker_up")] == [(2.0, "1")]


# ---------------------------------------------------------------- refusals


REFUSALS = [
    (act(1, "pool.drain", pool="main"), ["unknown action", "pool.drain"]),
    (act(1, "pool.resize", pool="nope", size=4), ["unknown pool", "nope", "main", "reports"]),
    (act(1, "pool.resize", pool="main"), ["needs size"]),
    (act(1, "pool.resize", pool="main", size=0), ["size must be at least 1", "got 0"]),
    (act(1, "pool.resize", pool="main", size=2.5), ["size must be a whole number"]),
    (act(1, "pool.resize", pool="main", size="many"), ["size must be a number", "many"]),
    (act(1, "pool.resize", pool="main", size=math.inf), ["size must be finite"]),
    (act(1, "pool.resize", pool="main", size=19), ["db allows 20 connections", "would need 21"]),
    (act(1, "breaker.force_open", dependency="cache"), ["unknown dependency", "cache", "known: db"]),
    (act(1, "breaker.force_close"), ["needs dependency"]),
    (act(1, "breaker.auto", dependency="redis"), ["unknown dependency", "redis"]),
    (act(1, "shed.set", fraction=1.5), ["fraction must be at most 1"]),
    (act(1, "shed.set", fraction=-0.1), ["fraction must be at least 0"]),
    (act(1, "shed.set", fraction=0.2, mode="oldest"), ["mode must be 'random' or 'priority'", "oldest"]),
    (act(1, "shed.set"), ["needs fraction"]),
    (act(1, "queue.set_limit", limit=-5), ["limit must be at least 0"]),
    (act(1, "queue.set_limit", limit="lots"), ["limit must be a number"]),
    (act(1, "timeout.set", dependency="db", timeout_s=0), ["timeout_s must be at least 0.001"]),
    (act(1, "timeout.set", dependency="db", timeout_s=7200), ["timeout_s must be at most 3600"]),
    (act(1, "timeout.set", dependency="llm", timeout_s=1), ["unknown dependency", "llm"]),
    (act(1, "retry.set", cls="batch", retries=1), ["unknown class", "batch", "search, ingest"]),
    (act(1, "retry.set", dependency="db", retries=11), ["retries must be at most 10"]),
    (act(1, "retry.set", dependency="db"), ["needs retries"]),
    (act(1, "retry.set", cls="search", retries=1, backoff_s=-1), ["backoff_s must be at least 0"]),
    (act(1, "ratelimit.set", rate_rps=-1), ["rate_rps must be at least 0"]),
    (act(1, "ratelimit.set", rate_rps=10, burst=0.5), ["burst must be at least 1"]),
    (act(1, "workers.scale", workers=0), ["workers must be at least 1"]),
    (act(1, "workers.scale", workers=9), ["workers must be at most 8"]),
    (act(1, "bulkhead.set", cls="ingest", pool="reports", size=2), ["class ingest does not use pool reports"]),
    (act(1, "bulkhead.set", cls="search", pool="nope", size=2), ["unknown pool", "nope"]),
    (act(1, "bulkhead.set", cls="search", pool="main/search", size=2), ["unknown pool", "main/search"]),
    (act(1, "bulkhead.set", cls="batch", pool="main", size=2), ["unknown class", "batch"]),
    (act(1, "bulkhead.set", cls="search", pool="main", size=-1), ["size must be at least 0"]),
    (act(1, "bulkhead.set", cls="search", pool="main", size=17), ["db allows 20 connections", "would need 21"]),
    (act(1, "fallback.set", dependency="db", enabled="yes"), ["enabled must be true or false", "yes"]),
    (act(1, "fallback.set", dependency="llm"), ["unknown dependency", "llm"]),
    (act(1, "worker.restart", worker=5), ["worker 5 is not running"]),
    (act(1, "worker.restart", worker=8), ["worker must be at most 7"]),
    (act(1, "worker.restart", worker=-1), ["worker must be at least 0"]),
]


def _refusal_model():
    return db_model(search_rps=20, ingest_rps=10, pool_size=2, max_connections=20)


@pytest.fixture(scope="module")
def untouched():
    """The refusal model run with no action at all."""
    return run(_refusal_model(), 2, seed=SEED)


@pytest.mark.parametrize("action, words", REFUSALS, ids=lambda x: x.name if hasattr(x, "name") else None)
def test_refused_action_is_logged_and_changes_nothing(action, words, untouched):
    base = untouched
    sim = run(_refusal_model(), 2, seed=SEED, actions=[action])

    refused = events_of(sim, "action_refused")
    assert len(refused) == 1
    event = refused[0]
    assert (event.t_s, event.subject) == (1.0, action.name)
    assert event.message.startswith(f"{action.name} refused: ")
    for word in words:
        assert word in event.message
    assert not events_of(sim, "action_applied")
    # Logged like any action, and the run went on exactly as if it had not been tried.
    assert [a.name for a in sim.action_log] == [action.name]
    assert sim.tick == base.tick == 40
    assert sim.digest() == base.digest()
    assert sim.result() == base.result()


def test_refused_pool_resize_leaves_the_pool_alone():
    sim = run(_busy_db(), 4, seed=SEED, actions=[act(1, "pool.resize", pool="main", size=50)])
    main = sim.gauges().pools[0]
    assert (main.size, main.target_size) == (2, 2)
    assert set(sim.history.series("pool_size")[:, 0]) == {2}


def test_worker_restart_of_a_worker_already_restarting_is_refused():
    spec = cpu_model(20, workers=2)
    sim = run(spec, 2, seed=SEED, actions=[act(0.5, "worker.restart", worker=1), act(1, "worker.restart", worker=1)])
    assert len(applied(sim, "worker.restart")) == 1
    [refused] = events_of(sim, "action_refused")
    assert "worker 1 is not running" in refused.message and refused.t_s == 1.0
    assert sim.gauges().live_workers == 1


def test_a_refusal_between_good_actions_does_not_stop_them():
    sim = run(cpu_model(100), 3, seed=SEED, actions=[
        act(1, "shed.set", fraction=2.0),
        act(1, "shed.set", fraction=0.25),
        act(1.5, "nonsense"),
        act(2, "queue.set_limit", limit=10),
    ])
    assert [e.subject for e in events_of(sim, "action_refused")] == ["shed.set", "nonsense"]
    assert [e.subject for e in events_of(sim, "action_applied")] == ["shed.set", "queue.set_limit"]
    g = sim.gauges()
    assert (g.shed_fraction, g.queue_limit) == (0.25, 10)
    assert len(sim.action_log) == 4
