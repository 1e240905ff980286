"""Drills built in Python for the app tests: small, fast and independent of drills/*.toml.

`slow_llm_drill()` is one service with a DB pool and an LLM dependency behind a
breaker; the LLM slows down at `incident_start_s`, so the gauges, the breaker
light, the alerts and the debrief all have something to show within seconds.
"""

from __future__ import annotations

import attrs

from sim.drill.drill import Drill, Hint, SLOSpec
from sim.model.spec import (
    Action,
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
    ModelSpec,
    PoolSpec,
    RetryPolicy,
    ServiceSpec,
    TrafficClass,
)


def slow_llm_model(*, rate_rps: float = 40.0, slow_at_s: float = 10.0) -> ModelSpec:
    """One class (`ask`): cpu, one DB query on pool `main`, an LLM call with a breaker."""
    ask = TrafficClass(
        name="ask",
        arrivals=ArrivalProfile(kind="constant", rate_rps=rate_rps),
        plan=(
            CpuStep(Distribution.exponential(0.005)),
            DbStep(pool="main", queries=1),
            CallStep(dependency="llm", timeout_s=None, retries=0),
        ),
        timeout_s=2.0,
        retry=RetryPolicy(retries=2, backoff_s=0.2, multiplier=2.0, jitter=0.5),
    )
    return ModelSpec(
        service=ServiceSpec(
            workers=4,
            concurrency=8,
            max_workers=16,
            warmup_s=5.0,
            queue_limit=None,
            memory=MemorySpec(limit_mb=512.0, baseline_mb=120.0, per_request_mb=4.0, per_queued_mb=0.5),
        ),
        classes=(ask,),
        dependencies=(
            Dependency(name="db", kind="database", latency=Distribution.lognormal(0.004, 0.02), knee=20, max_connections=40),
            Dependency(
                name="llm",
                kind="service",
                latency=Distribution.lognormal(0.12, 0.4),
                breaker=BreakerSpec(window_s=5.0, failure_threshold=0.5, min_calls=10, open_s=10.0, half_open_probes=3),
            ),
        ),
        pools=(PoolSpec(name="main", database="db", size=10, acquire_timeout_s=1.0),),
        faults=(Fault(at_s=slow_at_s, target="llm", kind="slow", factor=12.0, duration_s=None),),
    )


def slow_llm_drill(*, duration_s: float = 40.0, seed: int = 7, source_path: str | None = None) -> Drill:
    """A 40-second drill on `slow_llm_model` with two SLOs, a par script and two hints."""
    return Drill(
        id="test-slow-llm",
        title="Test: the LLM slows down",
        difficulty=1,
        briefing="The LLM provider gets slow ten seconds in.\nKeep answers flowing.",
        duration_s=duration_s,
        seed=seed,
        model=slow_llm_model(),
        slos=(
            SLOSpec(name="availability", kind="availability", target=0.99),
            SLOSpec(name="latency", kind="latency", target=0.95, threshold_s=0.5),
        ),
        par=(
            Action(t_s=14.0, name="timeout.set", args={"dependency": "llm", "timeout_s": 0.4}),
            Action(t_s=14.0, name="fallback.set", args={"dependency": "llm", "enabled": True}),
        ),
        hints=(
            Hint(text="Watch the LLM latency.", at_s=5.0),
            Hint(text="p95 is climbing: bound the LLM call with a timeout.", when="p95_ms > 500"),
        ),
        incident_start_s=10.0,
        source_path=source_path,
    )


def ops_drill(*, duration_s: float = 120.0, seed: int = 7) -> Drill:
    """`slow_llm_drill` where the LLM slowdown comes from a deploy, the LLM call serves a
    feature behind a flag, and a cache with stale copies and hot keys sits before the query."""
    base = slow_llm_model(slow_at_s=0.5)
    ask = base.classes[0]
    plan = (ask.plan[0], CacheStep("answers"), ask.plan[1], attrs.evolve(ask.plan[2], feature="summaries"))
    model = attrs.evolve(
        base,
        classes=(attrs.evolve(ask, plan=plan),),
        caches=(CacheSpec("answers", hit_ratio=0.5, duplicate_misses=0.6, stale_ratio=0.5, stale_cost=0.05),),
        faults=(attrs.evolve(base.faults[0], deploy="llm-proxy v7"),),
        flags=(FeatureFlag("summaries", cost=0.2, description="the answer summary"),),
    )
    return attrs.evolve(slow_llm_drill(duration_s=duration_s, seed=seed), id="test-ops", model=model,
                        incident_start_s=0.5, par=())
