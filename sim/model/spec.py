"""The frozen description of a simulated service: what the engine runs.

Everything here is a value (frozen attrs). The drill loader builds these from
TOML; the engine (`sim.engine.simulation.Simulation`) reads them and never mutates them.
Times are seconds (`_s`), memory is megabytes (`_mb`), rates are per second.
"""

from __future__ import annotations

from typing import Union

import attrs
from attrs import validators as v

_pos = v.gt(0)
_nonneg = v.ge(0)
_fraction = [v.ge(0), v.le(1)]


def _opt_nonneg(inst, attr, value):
    if value is not None and value < 0:
        raise ValueError(f"{attr.name} must be >= 0 or None, got {value!r}")


@attrs.frozen
class Distribution:
    """A latency/duration distribution in seconds.

    kinds: constant (value_s), exponential (mean_s), lognormal (median_s, p99_s),
    pareto (scale_s = minimum, alpha = tail index), mixture (components, weights).
    """

    kind: str = attrs.field(validator=v.in_({"constant", "exponential", "lognormal", "pareto", "mixture"}))
    value_s: float = 0.0
    mean_s: float = 0.0
    median_s: float = 0.0
    p99_s: float = 0.0
    scale_s: float = 0.0
    alpha: float = 2.0
    components: tuple[Distribution, ...] = ()
    weights: tuple[float, ...] = ()

    @classmethod
    def constant(cls, value_s: float) -> Distribution:
        return cls("constant", value_s=value_s)

    @classmethod
    def exponential(cls, mean_s: float) -> Distribution:
        return cls("exponential", mean_s=mean_s)

    @classmethod
    def lognormal(cls, median_s: float, p99_s: float) -> Distribution:
        return cls("lognormal", median_s=median_s, p99_s=p99_s)

    @classmethod
    def pareto(cls, scale_s: float, alpha: float) -> Distribution:
        return cls("pareto", scale_s=scale_s, alpha=alpha)

    @classmethod
    def mixture(cls, components: tuple[Distribution, ...], weights: tuple[float, ...]) -> Distribution:
        return cls("mixture", components=tuple(components), weights=tuple(weights))

    def mean(self) -> float:
        """Expected value in seconds (used for capacity estimates and defaults)."""
        import math

        if self.kind == "constant":
            return self.value_s
        if self.kind == "exponential":
            return self.mean_s
        if self.kind == "lognormal":
            sigma = math.log(self.p99_s / self.median_s) / 2.3263478740408408
            return self.median_s * math.exp(sigma * sigma / 2)
        if self.kind == "pareto":
            return self.scale_s * self.alpha / (self.alpha - 1) if self.alpha > 1 else math.inf
        total = sum(self.weights)
        return sum(w / total * c.mean() for c, w in zip(self.components, self.weights))


@attrs.frozen
class ArrivalProfile:
    """Offered rate of fresh requests over time (Poisson arrivals at that rate).

    kinds: constant (rate_rps); ramp (rate_rps -> to_rps between start_s and end_s);
    step (to_rps from start_s on); burst (to_rps during [start_s, start_s+duration_s));
    pulses (to_rps for width_s every period_s, from start_s on).
    """

    kind: str = attrs.field(default="constant", validator=v.in_({"constant", "ramp", "step", "burst", "pulses"}))
    rate_rps: float = attrs.field(default=0.0, validator=_nonneg)
    to_rps: float = attrs.field(default=0.0, validator=_nonneg)
    start_s: float = attrs.field(default=0.0, validator=_nonneg)
    end_s: float = attrs.field(default=0.0, validator=_nonneg)
    duration_s: float = attrs.field(default=0.0, validator=_nonneg)
    period_s: float = attrs.field(default=0.0, validator=_nonneg)
    width_s: float = attrs.field(default=0.0, validator=_nonneg)


@attrs.frozen
class RetryPolicy:
    """Client retry policy: a failed or rejected attempt is retried after a backoff.

    The k-th retry waits backoff_s * multiplier**(k-1), times a jitter factor drawn
    uniformly from [1 - jitter, 1]; jitter 0 means synchronized retries.
    """

    retries: int = attrs.field(default=0, validator=_nonneg)
    backoff_s: float = attrs.field(default=0.1, validator=_nonneg)
    multiplier: float = attrs.field(default=2.0, validator=v.ge(1))
    jitter: float = attrs.field(default=0.0, validator=_fraction)


@attrs.frozen
class CpuStep:
    """Local work holding only the worker slot; slowed by memory pressure."""

    duration: Distribution


@attrs.frozen
class CacheStep:
    """A cache lookup; a hit finishes the request, a miss runs the following steps."""

    cache: str


@attrs.frozen
class DbStep:
    """`queries` sequential queries, each acquiring a connection from `pool`."""

    pool: str
    queries: int = attrs.field(default=1, validator=v.ge(1))


@attrs.frozen
class CallStep:
    """A call to a downstream service dependency (LLM, auth API, ...).

    timeout_s bounds each attempt (None: wait as long as it takes); retries are
    the service's own retries of a failed attempt; with fallback, a failed or
    breaker-refused call degrades the response instead of failing it.
    """

    dependency: str
    timeout_s: float | None = attrs.field(default=None, validator=_opt_nonneg)
    retries: int = attrs.field(default=0, validator=_nonneg)
    backoff_s: float = attrs.field(default=0.0, validator=_nonneg)
    fallback: bool = False
    feature: str = ""
    """The feature flag this call serves ("" : none). With the flag off the call is skipped
    and the answer is degraded (the drill prices it in `[flags.NAME]`)."""


@attrs.frozen
class StreamStep:
    """Streams a response of size_mb, holding that memory for its duration.

    A slow client (probability slow_fraction) stretches the duration by slow_factor.
    """

    size_mb: float = attrs.field(validator=_nonneg)
    duration: Distribution
    slow_fraction: float = attrs.field(default=0.0, validator=_fraction)
    slow_factor: float = attrs.field(default=1.0, validator=v.ge(1))


Step = Union[CpuStep, CacheStep, DbStep, CallStep, StreamStep]


@attrs.frozen
class TrafficClass:
    """One kind of request: its arrivals, priority, client behaviour and plan."""

    name: str
    arrivals: ArrivalProfile
    plan: tuple[Step, ...]
    priority: int = 1
    timeout_s: float | None = attrs.field(default=None, validator=_opt_nonneg)
    retry: RetryPolicy = RetryPolicy()


@attrs.frozen
class BreakerSpec:
    """Circuit breaker over a time-based sliding window of call outcomes."""

    window_s: float = attrs.field(default=10.0, validator=_pos)
    failure_threshold: float = attrs.field(default=0.5, validator=_fraction)
    min_calls: int = attrs.field(default=20, validator=v.ge(1))
    open_s: float = attrs.field(default=30.0, validator=_pos)
    half_open_probes: int = attrs.field(default=5, validator=v.ge(1))


@attrs.frozen
class Dependency:
    """A database or a downstream service.

    A database slows as active queries exceed `knee` (latency x (active/knee)**contention)
    and refuses connections beyond `max_connections`. A service refuses calls beyond
    `capacity` concurrent calls (0 = unlimited).
    """

    name: str
    kind: str = attrs.field(validator=v.in_({"database", "service"}))
    latency: Distribution
    error_rate: float = attrs.field(default=0.0, validator=_fraction)
    knee: int = attrs.field(default=0, validator=_nonneg)
    contention: float = attrs.field(default=1.0, validator=_nonneg)
    max_connections: int = attrs.field(default=100, validator=v.ge(1))
    capacity: int = attrs.field(default=0, validator=_nonneg)
    breaker: BreakerSpec | None = None
    authenticates: bool = False
    """An authentication service: the service fails closed, so `fallback.set` on it is refused
    (answering without checking who is asking is a security incident, not a mitigation)."""


@attrs.frozen
class PoolSpec:
    """A connection pool on a database; waiters give up after acquire_timeout_s."""

    name: str
    database: str
    size: int = attrs.field(validator=v.ge(1))
    acquire_timeout_s: float | None = attrs.field(default=None, validator=_opt_nonneg)


@attrs.frozen
class CacheSpec:
    """A cache whose hit ratio drops on a flush and rewarms as misses fill it.

    Each miss moves the hit ratio 1/warm_requests of the way back to hit_ratio.
    """

    name: str
    hit_ratio: float = attrs.field(validator=_fraction)
    warm_requests: float = attrs.field(default=1000.0, validator=_pos)
    duplicate_misses: float = attrs.field(default=0.0, validator=_fraction)
    """Share of misses asking for a key another request is already fetching (hot keys after
    a flush): with request coalescing (`cache.coalesce`) they wait for that fetch instead."""
    stale_ratio: float = attrs.field(default=0.0, validator=_fraction)
    """Share of misses for which the cache still holds an expired or previous-version copy:
    with serve-stale (`cache.serve_stale`) they are answered with it, degraded."""
    stale_cost: float = attrs.field(default=0.0, validator=_fraction)
    """Bad events one stale answer costs in the score (0-1)."""


@attrs.frozen
class MemorySpec:
    """Per-worker memory. Above pressure_fraction of the limit cpu work slows (GC);
    at the limit the worker is OOM-killed and restarts after restart_s."""

    limit_mb: float = attrs.field(default=1e9, validator=_pos)
    baseline_mb: float = attrs.field(default=0.0, validator=_nonneg)
    per_request_mb: float = attrs.field(default=0.0, validator=_nonneg)
    per_queued_mb: float = attrs.field(default=0.0, validator=_nonneg)
    pressure_fraction: float = attrs.field(default=0.8, validator=_fraction)
    gc_slowdown: float = attrs.field(default=3.0, validator=v.ge(1))
    restart_s: float = attrs.field(default=10.0, validator=_nonneg)


@attrs.frozen
class RateLimitSpec:
    """Token bucket: rate_rps tokens per second, at most burst stored."""

    rate_rps: float = attrs.field(validator=_pos)
    burst: float = attrs.field(validator=v.ge(1))


@attrs.frozen
class ServiceSpec:
    """The service under load: workers x concurrency slots, ingress queue, memory."""

    workers: int = attrs.field(default=1, validator=v.ge(0))
    concurrency: int = attrs.field(default=1, validator=v.ge(1))
    max_workers: int = attrs.field(default=64, validator=v.ge(1))
    warmup_s: float = attrs.field(default=30.0, validator=_nonneg)
    queue_limit: int | None = attrs.field(default=None, validator=_opt_nonneg)
    memory: MemorySpec = MemorySpec()
    ratelimit: RateLimitSpec | None = None
    shed_fraction: float = attrs.field(default=0.0, validator=_fraction)
    shed_mode: str = attrs.field(default="random", validator=v.in_({"random", "priority"}))


FAULT_KINDS = frozenset(
    {
        "slow", "errors", "down", "blackhole", "latency_pulses", "packet_loss",
        "cache_flush", "traffic", "memory_leak", "lose_workers",
    }
)


@attrs.frozen
class Fault:
    """A scripted fault from at_s for duration_s (None: until the end).

    target is a dependency (slow, errors, down, blackhole, latency_pulses,
    packet_loss), a cache (cache_flush), a class (traffic) or "service"
    (memory_leak, lose_workers). Parameters by kind: slow: factor and/or add_s;
    errors: rate; latency_pulses: period_s, width_s, add_s; packet_loss: rate,
    retransmit_s; cache_flush: hit_ratio (left after the flush); traffic: factor;
    memory_leak: mb_per_s; lose_workers: count.
    """

    at_s: float = attrs.field(validator=_nonneg)
    target: str
    kind: str = attrs.field(validator=v.in_(FAULT_KINDS))
    duration_s: float | None = attrs.field(default=None, validator=_opt_nonneg)
    factor: float = attrs.field(default=1.0, validator=_nonneg)
    add_s: float = attrs.field(default=0.0, validator=_nonneg)
    rate: float = attrs.field(default=0.0, validator=_fraction)
    period_s: float = attrs.field(default=1.0, validator=_pos)
    width_s: float = attrs.field(default=0.0, validator=_nonneg)
    retransmit_s: float = attrs.field(default=1.0, validator=_nonneg)
    hit_ratio: float = attrs.field(default=0.0, validator=_fraction)
    mb_per_s: float = attrs.field(default=0.0, validator=_nonneg)
    count: int = attrs.field(default=0, validator=_nonneg)
    deploy: str = ""
    """The deploy that caused this fault ("": none). `deploy.rollback` ends it once the
    previous version has rolled out."""

    @property
    def end_s(self) -> float:
        return float("inf") if self.duration_s is None else self.at_s + self.duration_s


@attrs.frozen
class FeatureFlag:
    """A feature the operator can turn off (`flag.set`): the call steps marked with it are
    skipped and their answers degraded, each costing `cost` bad events in the score."""

    name: str
    cost: float = attrs.field(default=0.5, validator=_fraction)
    description: str = ""


@attrs.frozen
class ModelSpec:
    """Everything the engine needs to simulate one service and its incident."""

    service: ServiceSpec
    classes: tuple[TrafficClass, ...]
    dependencies: tuple[Dependency, ...] = ()
    pools: tuple[PoolSpec, ...] = ()
    caches: tuple[CacheSpec, ...] = ()
    faults: tuple[Fault, ...] = ()
    dt_s: float = attrs.field(default=0.05, validator=_pos)
    flags: tuple[FeatureFlag, ...] = ()
    action_delays: tuple[tuple[str, float], ...] = ()
    """(action name, seconds) overriding `sim.model.delays.ACTION_DELAYS_S` for this drill."""


def _freeze_args(value) -> tuple[tuple[str, object], ...]:
    items = value.items() if isinstance(value, dict) else value
    return tuple(sorted((str(k), a) for k, a in items))


@attrs.frozen
class Action:
    """An operator action, applied at the first tick boundary at or after t_s.

    names: pool.resize(pool, size), breaker.force_open(dependency),
    breaker.force_close(dependency), breaker.auto(dependency),
    shed.set(fraction, mode="random"|"priority"), queue.set_limit(limit; 0 = unbounded... see engine),
    timeout.set(dependency, timeout_s), retry.set(dependency | class, retries, backoff_s),
    ratelimit.set(rate_rps, burst; rate_rps 0 turns it off), workers.scale(workers),
    bulkhead.set(class, pool, size), fallback.set(dependency, enabled), worker.restart(worker),
    deploy.rollback(), flag.set(flag, enabled), cache.coalesce(cache, enabled),
    cache.serve_stale(cache, enabled). Each takes hold after its delay (`sim.model.delays`).
    """

    t_s: float
    name: str
    args: tuple[tuple[str, object], ...] = attrs.field(default=(), converter=_freeze_args)

    def arg(self, key: str, default=None):
        for k, value in self.args:
            if k == key:
                return value
        return default

    @property
    def kwargs(self) -> dict[str, object]:
        return dict(self.args)


ACTION_NAMES = (
    "pool.resize", "breaker.force_open", "breaker.force_close", "breaker.auto",
    "shed.set", "queue.set_limit", "timeout.set", "retry.set", "ratelimit.set",
    "workers.scale", "bulkhead.set", "fallback.set", "worker.restart",
    "deploy.rollback", "flag.set", "cache.coalesce", "cache.serve_stale",
)
