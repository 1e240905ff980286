"""The same answer at every time step: dt 10 ms, 50 ms, 250 ms and 1 s.

Each case is a service whose answer is known (from theory, or from the behaviour a
finer step shows) and where a decision taken at the tick's end instead of at each
request's own time would show: a loss system, abandonment with a bounded queue,
M/D/1, a pool with an acquire timeout, and a retry storm. Tolerances come from the
noise of a run this size (binomial or batch means), never from the engine's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from transitions import TransitionLog

from sim.engine.simulation import Simulation
from sim.model.spec import (
    ArrivalProfile,
    CallStep,
    CpuStep,
    DbStep,
    Dependency,
    Distribution,
    ModelSpec,
    PoolSpec,
    RetryPolicy,
    ServiceSpec,
    TrafficClass,
)
from sim.tools import queueing_theory as qt

STEPS = [0.01, 0.05, 0.25, 1.0]
exp, const = Distribution.exponential, Distribution.constant


def one_class(rate_rps: float, plan, *, slots: int, dt_s: float, queue_limit: int | None = None,
              timeout_s: float | None = None, retry: RetryPolicy = RetryPolicy(), deps=(), pools=()) -> ModelSpec:
    return ModelSpec(
        service=ServiceSpec(workers=slots, concurrency=1, max_workers=slots, warmup_s=0.0, queue_limit=queue_limit),
        classes=(TrafficClass("q", ArrivalProfile(rate_rps=rate_rps), tuple(plan), timeout_s=timeout_s, retry=retry),),
        dependencies=tuple(deps), pools=tuple(pools), dt_s=dt_s)


def binomial_tolerance(p: float, n: int) -> float:
    """Four standard errors of a share p measured over n trials (never under 0.5 pp)."""
    return max(0.005, 4 * math.sqrt(p * (1 - p) / n))


@pytest.mark.parametrize("dt_s", STEPS)
def test_a_loss_system_refuses_as_erlang_b_says(dt_s):
    """8 slots, no waiting place, offered 6.4 Erlang: an arrival is refused only if all 8 are busy."""
    sim = Simulation(one_class(128.0, [CpuStep(exp(0.05))], slots=8, queue_limit=0, dt_s=dt_s), 3)
    sim.run_until(150.0)
    r = sim.result()
    want = qt.erlang_b(8, 6.4)
    assert abs(r.rejected_total / r.arrivals - want) <= binomial_tolerance(want, r.arrivals)


@pytest.mark.parametrize("dt_s", STEPS)
def test_a_waiter_that_gives_up_frees_its_place_at_once(dt_s):
    """Clients that will not wait (1 us of patience) in front of a 5-place queue: the
    places are free again at once, so the share never served is Erlang B(10, 10)."""
    spec = one_class(100.0, [CpuStep(exp(0.1))], slots=10, queue_limit=5, timeout_s=1e-6, dt_s=dt_s)
    sim = Simulation(spec, 3)
    log = TransitionLog(sim)
    sim.run_until(100.0)
    arrivals = sim.result().arrivals
    never_started = 1 - log.starts / arrivals
    want = qt.erlang_b(10, 10.0)
    assert abs(never_started - want) <= binomial_tolerance(want, arrivals)


@pytest.mark.parametrize("dt_s", STEPS)
def test_md1_response_and_utilisation(dt_s):
    """M/D/1 at utilisation 0.5: mean response D (1 + rho / (2 (1 - rho))) = 30 ms; the slot
    is busy half the time (a service never starts on a slot still busy)."""
    sim = Simulation(one_class(25.0, [CpuStep(const(0.02))], slots=1, dt_s=dt_s), 3, history_ticks=1 << 16)
    sim.run_until(300.0)
    r = sim.result()
    assert r.latency_mean_ms == pytest.approx(30.0, rel=0.03)
    busy = sim.history.series("busy_slots")
    batches = np.array_split(busy, 20)
    half = 2.09 * np.std([b.mean() for b in batches], ddof=1) / math.sqrt(20)
    assert abs(busy.mean() - 0.5) <= max(0.01, 2 * half)


@pytest.mark.parametrize("dt_s", STEPS)
def test_a_healthy_pool_with_an_acquire_timeout_never_times_out(dt_s):
    """200 rps over 10 connections held 10 ms on average (2 Erlang): a 100 ms acquire
    timeout is never reached, whatever the step."""
    db = Dependency("db", kind="database", latency=exp(0.01))
    plan = [CpuStep(const(0.005)), DbStep("main"), CpuStep(const(0.005))]
    spec = one_class(200.0, plan, slots=64, dt_s=dt_s, deps=[db], pools=[PoolSpec("main", "db", 10, acquire_timeout_s=0.1)])
    sim = Simulation(spec, 3)
    sim.run_until(30.0)
    r = sim.result()
    assert r.failed.get("pool_timeout", 0) == 0
    assert r.completed >= r.arrivals - r.in_flight - 2


def _retry_storm(dt_s: float):
    """100 rps against 16 slots held 405 ms each (~39.5 rps of capacity); clients wait
    1 s and retry 3 times with backoff: retries swamp the service (metastable collapse)."""
    api = Dependency("api", kind="service", latency=const(0.4))
    spec = one_class(100.0, [CpuStep(const(0.005)), CallStep("api")], slots=16, timeout_s=1.0, dt_s=dt_s,
                     deps=[api], retry=RetryPolicy(retries=3, backoff_s=0.1, multiplier=2.0, jitter=0.5))
    sim = Simulation(spec, 3)
    sim.run_until(60.0)
    return sim.result()


@pytest.fixture(scope="module")
def fine_storm():
    return _retry_storm(0.01)


@pytest.mark.parametrize("dt_s", STEPS[1:])
def test_a_retry_storm_is_the_same_storm_at_every_step(dt_s, fine_storm):
    """Retries per fresh request and goodput as at a 10 ms step (each retry arrives at its own time)."""
    r = _retry_storm(dt_s)
    fine = fine_storm.retry_arrivals / fine_storm.fresh_arrivals
    got = r.retry_arrivals / r.fresh_arrivals
    # Each fresh request retries 0-3 times: the ratio's noise over ~6,000 requests is ~0.01.
    assert got == pytest.approx(fine, abs=0.05)
    assert got > 2.5, "the storm collapses the service: almost every request retries to the end"
    assert r.completed / r.fresh_arrivals == pytest.approx(fine_storm.completed / fine_storm.fresh_arrivals, abs=0.01)
