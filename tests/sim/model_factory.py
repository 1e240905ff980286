"""Small ModelSpecs built in Python for the engine's behaviour tests.

Each builder returns a complete `ModelSpec` with a 50 ms step and room for the
test to add faults or change one figure; `run` plays a model for a few seconds
of sim time with a list of actions. Models are kept small (tens to a few
hundred requests per second) so each test runs in well under a second.
"""

from __future__ import annotations

from typing import Iterable

import attrs

from sim.engine.simulation import Simulation
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
    MemorySpec,
    ModelSpec,
    PoolSpec,
    RetryPolicy,
    ServiceSpec,
    StreamStep,
    TrafficClass,
)

DT_S = 0.05
OLDER_ACTIONS_AT_ONCE = tuple((name, 0.0) for name in (
    "pool.resize", "breaker.force_open", "breaker.force_close", "breaker.auto", "shed.set",
    "queue.set_limit", "timeout.set", "retry.set", "workers.scale", "bulkhead.set", "fallback.set",
    "worker.restart"))
"""The factory's models take the older actions at the next tick, as they were before they had
delays: the tests of their physics are not tests of their delays (`test_ops_actions.py` tests
those, and a test that wants the table's delays passes its own `action_delays`)."""
const = Distribution.constant


def web_class(name: str = "web", rate_rps: float = 50.0, plan=None, *, priority: int = 1,
              timeout_s: float | None = None, retries: int = 0, backoff_s: float = 0.05,
              jitter: float = 0.0, arrivals: ArrivalProfile | None = None) -> TrafficClass:
    """A traffic class at a constant Poisson rate (10 ms of cpu unless a plan is given)."""
    return TrafficClass(
        name=name,
        arrivals=arrivals or ArrivalProfile(rate_rps=rate_rps),
        plan=tuple(plan) if plan is not None else (CpuStep(const(0.01)),),
        priority=priority,
        timeout_s=timeout_s,
        retry=RetryPolicy(retries=retries, backoff_s=backoff_s, multiplier=1.0, jitter=jitter),
    )


def model(classes: Iterable[TrafficClass], *, workers: int = 2, concurrency: int = 4, max_workers: int = 8,
          warmup_s: float = 1.0, queue_limit: int | None = None, memory: MemorySpec = MemorySpec(),
          dependencies=(), pools=(), caches=(), faults=(), **service) -> ModelSpec:
    """A service with `workers` x `concurrency` slots in front of the given classes."""
    return ModelSpec(
        service=ServiceSpec(workers=workers, concurrency=concurrency, max_workers=max_workers,
                            warmup_s=warmup_s, queue_limit=queue_limit, memory=memory, **service),
        classes=tuple(classes),
        dependencies=tuple(dependencies),
        pools=tuple(pools),
        caches=tuple(caches),
        faults=tuple(faults),
        dt_s=DT_S,
        action_delays=OLDER_ACTIONS_AT_ONCE,
    )


def cpu_model(rate_rps: float = 50.0, cpu_s: float = 0.01, **kw) -> ModelSpec:
    """One class "web" doing only local work."""
    cls_kw = {k: kw.pop(k) for k in ("timeout_s", "retries", "backoff_s", "jitter") if k in kw}
    return model([web_class("web", rate_rps, (CpuStep(const(cpu_s)),), **cls_kw)], **kw)


def api_model(rate_rps: float = 50.0, *, latency: Distribution = const(0.02), call_timeout_s: float | None = None,
              call_retries: int = 0, fallback: bool = False, breaker: BreakerSpec | None = None,
              error_rate: float = 0.0, capacity: int = 0, client_timeout_s: float | None = None,
              client_retries: int = 0, client_backoff_s: float = 0.05, **kw) -> ModelSpec:
    """Class "web": 5 ms of cpu, then a call to the service dependency "api"."""
    plan = (CpuStep(const(0.005)),
            CallStep("api", timeout_s=call_timeout_s, retries=call_retries, fallback=fallback))
    api = Dependency(name="api", kind="service", latency=latency, error_rate=error_rate,
                     capacity=capacity, breaker=breaker)
    return model(
        [web_class("web", rate_rps, plan, timeout_s=client_timeout_s, retries=client_retries,
                   backoff_s=client_backoff_s)],
        dependencies=[api, *kw.pop("dependencies", ())], **kw,
    )


def db_model(*, search_rps: float = 40.0, ingest_rps: float = 20.0, pool_size: int = 4,
             max_connections: int = 20, query_s: float = 0.02, acquire_timeout_s: float | None = None,
             knee: int = 0, **kw) -> ModelSpec:
    """Classes "search" (priority 2) and "ingest" (priority 1) querying database "db"
    through the shared pool "main"; pool "reports" on the same database is used by
    "search" only."""
    db = Dependency(name="db", kind="database", latency=const(query_s), knee=knee, max_connections=max_connections)
    search = web_class("search", search_rps, (CpuStep(const(0.002)), DbStep("main"), DbStep("reports")), priority=2)
    ingest = web_class("ingest", ingest_rps, (DbStep("main", queries=2),), priority=1)
    pools = (PoolSpec("main", "db", pool_size, acquire_timeout_s), PoolSpec("reports", "db", 2, acquire_timeout_s))
    return model([search, ingest], dependencies=[db], pools=pools, **kw)


def cache_model(rate_rps: float = 100.0, *, hit_ratio: float = 0.9, warm_requests: float = 200.0,
                pool_size: int = 8, **kw) -> ModelSpec:
    """Class "web": a cache lookup on "pages"; a miss queries "db" through pool "main"."""
    db = Dependency(name="db", kind="database", latency=const(0.02))
    plan = (CacheStep("pages"), DbStep("main"))
    return model([web_class("web", rate_rps, plan)], dependencies=[db],
                 pools=[PoolSpec("main", "db", pool_size)],
                 caches=[CacheSpec("pages", hit_ratio, warm_requests)], **kw)


def stream_model(rate_rps: float = 20.0, *, size_mb: float = 10.0, stream_s: float = 0.5,
                 limit_mb: float = 1000.0, restart_s: float = 1.0, client_timeout_s: float | None = None,
                 **kw) -> ModelSpec:
    """Class "web" streams `size_mb` for `stream_s`; workers have 100 MB baseline and `limit_mb`."""
    memory = MemorySpec(limit_mb=limit_mb, baseline_mb=100.0, restart_s=restart_s)
    plan = (CpuStep(const(0.005)), StreamStep(size_mb, const(stream_s)))
    return model([web_class("web", rate_rps, plan, timeout_s=client_timeout_s)], memory=memory, **kw)


def instant(spec: ModelSpec) -> ModelSpec:
    """The same model with every action taking hold at the next tick (tests of an action's
    physics, not of its delay: `test_action_delays.py` tests those)."""
    from sim.model.delays import ACTION_DELAYS_S
    return attrs.evolve(spec, action_delays=tuple((n, 0.0) for n in (*ACTION_DELAYS_S, "retry.client")))


def with_faults(spec: ModelSpec, *faults: Fault) -> ModelSpec:
    """The same model with these faults added to its timeline."""
    return attrs.evolve(spec, faults=spec.faults + tuple(faults))


def run(spec: ModelSpec, until_s: float, *, seed: int = 7, actions: Iterable[Action] = (),
        **sim_kw) -> Simulation:
    """Play `spec` to `until_s`, queuing each action at its own time."""
    sim = Simulation(spec, seed, **sim_kw)
    for action in sorted(actions, key=lambda a: a.t_s):
        sim.run_until(action.t_s)
        sim.apply(action)
    sim.run_until(until_s)
    return sim


def act(t_s: float, name: str, **args) -> Action:
    """An Action with keyword arguments (``class`` is spelled ``cls``)."""
    if "cls" in args:
        args["class"] = args.pop("cls")
    return Action(t_s, name, args)


def window(sim: Simulation, name: str, start_s: float, end_s: float):
    """The values of a history series for the ticks ending in (start_s, end_s]."""
    t = sim.history.series("t_s")
    values = sim.history.series(name)
    return values[(t > start_s + 1e-9) & (t <= end_s + 1e-9)]


def rate(sim: Simulation, name: str, start_s: float, end_s: float) -> float:
    """Per-second rate of a per-tick count series over (start_s, end_s]."""
    return float(window(sim, name, start_s, end_s).sum()) / (end_s - start_s)


def mean_latency_ms(sim: Simulation, start_s: float, end_s: float) -> float:
    """Mean arrival-to-reply latency of the successes completed in (start_s, end_s]."""
    done = window(sim, "completed", start_s, end_s).sum()
    return float(window(sim, "latency_sum_ms", start_s, end_s).sum() / done) if done else float("nan")


def events_of(sim: Simulation, kind: str):
    """The events of one kind still held in the log, oldest first."""
    return [e for e in sim.events if e.kind == kind]
