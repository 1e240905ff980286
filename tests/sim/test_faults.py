"""Each fault kind, shown by its effect: the same model and seed run with and
without the fault, and the difference is asserted on history, gauges, totals
and events (not on the fault's own bookkeeping).
"""

from __future__ import annotations

import numpy as np
import pytest

from model_factory import (
    api_model,
    cache_model,
    const,
    db_model,
    events_of,
    mean_latency_ms,
    model,
    run,
    web_class,
    window,
    with_faults,
)
from sim.model.spec import CpuStep, Fault, MemorySpec

SEED = 11


def _api(**kw):
    """50 rps of 5 ms cpu + a 20 ms call to "api" on 16 slots: about 25 ms per request, no queueing."""
    kw.setdefault("workers", 4)
    return api_model(50, latency=const(0.02), **kw)


# ---------------------------------------------------------------- slow


def test_slow_factor_multiplies_dependency_latency_while_active():
    base = run(_api(), 5, seed=SEED)
    slow = run(with_faults(_api(), Fault(at_s=1, target="api", kind="slow", factor=5, duration_s=2)), 5, seed=SEED)

    assert mean_latency_ms(base, 1.5, 3) == pytest.approx(25, abs=1)
    # 5 ms cpu + 5 x 20 ms call, plus a little queueing on 16 slots.
    assert mean_latency_ms(slow, 1.5, 3) == pytest.approx(105, rel=0.1)
    # Before and after the fault the two runs agree.
    assert mean_latency_ms(slow, 0, 1) == pytest.approx(mean_latency_ms(base, 0, 1))
    assert mean_latency_ms(slow, 3.5, 5) == pytest.approx(25, abs=2)
    assert [e.message for e in events_of(slow, "fault_start")] == ["fault slow on api starts"]
    assert [e.t_s for e in events_of(slow, "fault_end")] == [3.0]


def test_slow_add_s_adds_fixed_latency():
    slow = run(with_faults(_api(), Fault(at_s=1, target="api", kind="slow", add_s=0.2, duration_s=2)), 4, seed=SEED)
    assert mean_latency_ms(slow, 1.5, 3) == pytest.approx(225, rel=0.05)
    assert mean_latency_ms(slow, 3.5, 4) == pytest.approx(25, abs=2)
    # Slower calls hold more slots: Little's law, 50 rps x 0.225 s ~ 11 busy.
    assert window(slow, "busy_slots", 1.5, 3).mean() > 4 * window(slow, "busy_slots", 0.2, 1).mean()


# ---------------------------------------------------------------- errors, down, blackhole


def test_errors_fault_fails_about_that_fraction_of_calls():
    spec = with_faults(_api(), Fault(at_s=1, target="api", kind="errors", rate=0.5, duration_s=2))
    sim = run(spec, 4, seed=SEED)
    base = run(_api(), 4, seed=SEED)

    assert base.result().failed_total == 0
    during = window(sim, "failed_dependency", 1, 3).sum() / window(sim, "admitted", 1, 3).sum()
    assert 0.35 < during < 0.65
    assert window(sim, "failed_dependency", 0, 1).sum() == 0
    assert window(sim, "failed_dependency", 3.1, 4).sum() == 0
    assert sim.result().failed["dependency"] == sim.result().failed_total


def test_down_dependency_refuses_every_call_fast():
    spec = with_faults(_api(), Fault(at_s=1, target="api", kind="down", duration_s=2))
    sim = run(spec, 4, seed=SEED)

    failed = window(sim, "failed_dependency", 1.1, 3).sum()
    assert failed == pytest.approx(window(sim, "admitted", 1.1, 3).sum(), abs=2)
    assert window(sim, "completed", 1.1, 3).sum() <= 2
    # A refusal costs a round trip, not the dependency's latency: slots empty out.
    assert window(sim, "busy_slots", 1.1, 3).mean() < 0.6 * window(sim, "busy_slots", 0, 1).mean()
    assert window(sim, "completed", 3.1, 4).sum() > 30


def test_blackhole_hangs_until_the_call_timeout():
    spec = with_faults(_api(call_timeout_s=0.3), Fault(at_s=1, target="api", kind="blackhole", duration_s=2))
    sim = run(spec, 4, seed=SEED)

    assert window(sim, "completed", 1.4, 3).sum() == 0
    assert window(sim, "failed_dependency", 1.4, 3).sum() > 60
    # Each caller holds its slot for the whole 0.3 s timeout: 50 rps x 0.305 s ~ 15 busy.
    assert window(sim, "busy_slots", 1.5, 3).mean() == pytest.approx(15, rel=0.2)


def test_blackhole_without_timeout_holds_calls_until_it_ends():
    spec = with_faults(_api(workers=16, concurrency=8), Fault(at_s=1, target="api", kind="blackhole", duration_s=2))
    sim = run(spec, 4, seed=SEED)

    # Nothing fails: the calls just hang, then all answer once the hole closes at 3 s.
    assert sim.result().failed_total == 0
    assert window(sim, "completed", 1.1, 3).sum() == 0
    assert window(sim, "completed", 3, 3.2).sum() > 80
    assert window(sim, "busy_slots", 2.9, 3).max() > 70  # ~50 rps x 2 s hanging


def test_faults_on_a_database_hit_its_queries():
    spec = db_model(search_rps=30, ingest_rps=20, pool_size=8, workers=4)
    slow = run(with_faults(spec, Fault(at_s=1, target="db", kind="slow", factor=4, duration_s=1)), 3, seed=SEED)
    down = run(with_faults(spec, Fault(at_s=1, target="db", kind="down", duration_s=1)), 3, seed=SEED)
    base = run(spec, 3, seed=SEED)

    assert base.result().failed_total == 0
    # Every request runs 1-2 queries of 20 ms: four times slower while the fault lasts.
    assert mean_latency_ms(slow, 1.2, 2) > 3 * mean_latency_ms(base, 1.2, 2)
    assert mean_latency_ms(slow, 2.5, 3) == pytest.approx(mean_latency_ms(base, 2.5, 3), rel=0.2)
    # A down database refuses every query: no request completes, all fail as "dependency".
    assert window(down, "completed", 1.1, 2).sum() == 0
    assert window(down, "failed_dependency", 1.1, 2).sum() == pytest.approx(window(down, "admitted", 1.1, 2).sum(), abs=3)
    assert window(down, "completed", 2.2, 3).sum() > 20


# ---------------------------------------------------------------- latency pulses, packet loss


def test_latency_pulses_slow_only_the_calls_inside_a_pulse():
    pulses = Fault(at_s=0, target="api", kind="latency_pulses", period_s=1.0, width_s=0.2, add_s=0.3)
    # 100 rps on 64 slots: no queueing, so only the pulse decides who is slow.
    spec = api_model(100, latency=const(0.02), workers=16)
    sim = run(with_faults(spec, pulses), 6, seed=SEED, latency_thresholds_s=(0.1,))
    base = run(spec, 6, seed=SEED, latency_thresholds_s=(0.1,))

    def slow_share(s):
        done = s.history.series("class_completed")[:, 0, 0].sum()
        fast = s.history.series("class_within")[:, 0, 0, 0].sum()
        return 1 - fast / done

    assert slow_share(base) == 0
    assert slow_share(sim) == pytest.approx(0.2, abs=0.05)
    # Periodic: calls started in the first 0.2 s of each second come back 0.3 s late,
    # those started later in the second are as fast as ever.
    phase = np.round(sim.history.series("t_s") % 1.0, 6)
    done = sim.history.series("completed")
    lat = sim.history.series("latency_sum_ms") / np.maximum(done, 1)
    pulse_replies = (phase > 0.3) & (phase <= 0.55) & (done > 0)
    calm_replies = ((phase > 0.6) | (phase == 0)) & (done > 0)
    assert lat[pulse_replies].mean() > 4 * 25
    assert lat[calm_replies].max() == pytest.approx(25)


def test_packet_loss_adds_retransmit_delay_to_that_share_of_calls():
    loss = Fault(at_s=0, target="api", kind="packet_loss", rate=0.3, retransmit_s=0.2)
    sim = run(with_faults(api_model(100, latency=const(0.02), workers=16), loss), 5, seed=SEED,
              latency_thresholds_s=(0.1,))

    done = sim.history.series("class_completed")[:, 0, 0].sum()
    fast = sim.history.series("class_within")[:, 0, 0, 0].sum()
    assert 1 - fast / done == pytest.approx(0.3, abs=0.05)
    assert sim.result().failed_total == 0
    assert sim.result().latency_mean_ms == pytest.approx(25 + 0.3 * 200, rel=0.15)


# ---------------------------------------------------------------- cache flush


def test_cache_flush_stampedes_the_database_then_rewarms():
    flush = Fault(at_s=2, target="pages", kind="cache_flush", hit_ratio=0.0)
    spec = cache_model(150, hit_ratio=0.9, warm_requests=150, pool_size=2)
    base = run(spec, 6, seed=SEED)
    sim = run(with_faults(spec, flush), 6, seed=SEED)

    assert base.gauges().caches[0].hit_ratio == pytest.approx(0.9)
    pool_in_use = lambda s, a, b: window(s, "pool_in_use", a, b)[:, 0].mean()
    waiters = lambda s, a, b: window(s, "pool_waiters", a, b)[:, 0].max()
    # Cold cache: every request goes to the db (150 rps x 20 ms) through 2 connections.
    assert pool_in_use(sim, 2, 2.5) > 2 * pool_in_use(base, 2, 2.5)
    # Every slot but the two holding a connection waits for one; the slot queue grows.
    assert waiters(sim, 2, 2.5) == 6 and waiters(base, 0, 6) <= 3
    assert window(sim, "queue_depth", 2, 3).max() >= 5 and window(base, "queue_depth", 0, 6).max() <= 3
    assert mean_latency_ms(sim, 2, 2.5) > 2 * mean_latency_ms(base, 2, 2.5)
    # Misses fill it again: the hit ratio climbs back toward 0.9.
    hit = sim.gauges().caches[0].hit_ratio
    assert 0.6 < hit <= 0.9


def test_cache_flush_sets_hit_ratio_at_its_start():
    flush = Fault(at_s=1, target="pages", kind="cache_flush", hit_ratio=0.2)
    spec = cache_model(20, hit_ratio=0.9, warm_requests=1e6)
    sim = run(with_faults(spec, flush), 1.05, seed=SEED)
    assert sim.gauges().caches[0].hit_ratio == pytest.approx(0.2, abs=1e-3)


# ---------------------------------------------------------------- traffic


def test_traffic_fault_multiplies_one_class_arrivals():
    spec = db_model(search_rps=40, ingest_rps=20, pool_size=8)
    surge = Fault(at_s=2, target="search", kind="traffic", factor=3, duration_s=2)
    sim = run(with_faults(spec, surge), 6, seed=SEED)

    def fresh(ci, *spans):
        n = sum(window(sim, "class_arrivals", a, b)[:, ci, 0].sum() for a, b in spans)
        return n / sum(b - a for a, b in spans)

    assert fresh(0, (2, 4)) == pytest.approx(120, rel=0.2)
    assert fresh(0, (0, 2), (4, 6)) == pytest.approx(40, rel=0.25)
    # The other class is untouched.
    assert fresh(1, (2, 4)) == pytest.approx(fresh(1, (0, 2), (4, 6)), rel=0.5)
    assert fresh(1, (0, 6)) == pytest.approx(20, rel=0.3)


# ---------------------------------------------------------------- memory leak


def test_memory_leak_grows_memory_until_an_oom_kill():
    memory = MemorySpec(limit_mb=400, baseline_mb=100, restart_s=1.0)
    spec = model([web_class("web", 20)], workers=1, memory=memory)
    leak = Fault(at_s=1, target="service", kind="memory_leak", mb_per_s=100)
    sim = run(with_faults(spec, leak), 5, seed=SEED)
    base = run(spec, 5, seed=SEED)

    assert window(base, "memory_mb", 0, 5).max() == pytest.approx(100)
    mem = window(sim, "memory_mb", 0, 4)
    # 100 MB/s from t=1: 200 MB at 2 s, the 400 MB limit at 4 s.
    assert window(sim, "memory_mb", 1.95, 2.0)[0] == pytest.approx(200, abs=6)
    assert np.all(np.diff(window(sim, "memory_mb", 1, 3.9)) > 0)
    ooms = events_of(sim, "oom")
    assert len(ooms) == 1 and ooms[0].t_s == pytest.approx(4.0, abs=0.06)
    assert "OOM" in ooms[0].message
    assert window(sim, "live_workers", 4.05, 4.9).max() == 0
    assert mem.max() < 400 + 6


def test_memory_leak_stops_growing_when_the_fault_ends():
    memory = MemorySpec(limit_mb=1000, baseline_mb=100)
    spec = model([web_class("web", 20)], workers=1, memory=memory)
    leak = Fault(at_s=1, target="service", kind="memory_leak", mb_per_s=100, duration_s=1)
    sim = run(with_faults(spec, leak), 3, seed=SEED)
    after = window(sim, "memory_mb", 2.1, 3)
    # What leaked stays leaked (until a restart), but no more is added.
    assert after.min() == pytest.approx(200, abs=6)
    assert after.max() - after.min() < 1


# ---------------------------------------------------------------- lose workers


def test_lose_workers_drops_their_requests_and_they_return_at_the_end():
    spec = model([web_class("web", 80, (CpuStep(const(0.1)),))], workers=3, concurrency=4)
    lose = Fault(at_s=1, target="service", kind="lose_workers", count=2, duration_s=1.5)
    sim = run(with_faults(spec, lose), 4, seed=SEED)
    base = run(spec, 4, seed=SEED)

    assert window(sim, "live_workers", 0, 1).min() == 3
    assert window(sim, "live_workers", 1.05, 2.5).max() == 1
    assert window(sim, "live_workers", 2.55, 4).min() == 3
    assert sim.result().failed["worker_lost"] > 0
    assert base.result().failed_total == 0
    downs = events_of(sim, "worker_down")
    assert sorted(e.subject for e in downs) == ["1", "2"]
    assert all("lost" in e.message for e in downs)
    ups = events_of(sim, "worker_up")
    assert sorted(e.subject for e in ups) == ["1", "2"] and all(e.t_s == 2.5 for e in ups)
    # 80 rps x 100 ms = 8 busy slots of 12; with 4 left a queue builds.
    assert window(sim, "queue_depth", 1.5, 2.5).max() > window(base, "queue_depth", 1.5, 2.5).max()


def test_lose_workers_without_duration_is_permanent():
    spec = model([web_class("web", 20)], workers=3)
    sim = run(with_faults(spec, Fault(at_s=1, target="service", kind="lose_workers", count=1)), 3, seed=SEED)
    assert sim.gauges().live_workers == 2
    assert not events_of(sim, "worker_up")
