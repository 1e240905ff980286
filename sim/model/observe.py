"""What the engine publishes: gauge snapshots, events and the run summary.

All frozen values, safe to hand to another thread or a Textual message.
"""

from __future__ import annotations

import math

import attrs

BREAKER_CLOSED = "closed"
BREAKER_OPEN = "open"
BREAKER_HALF_OPEN = "half_open"

FAIL_REASONS = ("timeout", "dependency", "breaker", "oom", "pool_timeout", "worker_lost")
"""Why an admitted request failed: client deadline passed, dependency error or
refusal (after the service's own retries), breaker open without fallback,
OOM kill of its worker, connection-pool acquire timeout, its worker was lost
(fault) or restarted by the operator."""

WARMING_GAP = 0.02
"""A cache this far below its warm hit ratio is still warming (rewarming approaches it forever)."""

REJECT_REASONS = ("ratelimit", "shed", "queue_full")
"""Why an arrival was refused at the door (never admitted)."""


@attrs.frozen
class PoolGauge:
    name: str
    database: str
    in_use: int
    size: int
    """Connections the pool may hold now."""
    target_size: int
    """Size after a pending resize (== size when none is pending)."""
    waiters: int


@attrs.frozen
class WorkerGauge:
    index: int
    up: bool
    busy: int
    """Slots busy on this worker (including work whose client already gave up)."""
    memory_mb: float
    warming: bool = False


@attrs.frozen
class BreakerGauge:
    dependency: str
    state: str
    """closed | open | half_open: the state calls actually see."""
    forced: str | None
    """None when automatic, else "open" or "closed" (operator override)."""
    failure_rate: float
    calls_in_window: int


@attrs.frozen
class CacheGauge:
    name: str
    hit_ratio: float
    normal_hit_ratio: float = math.nan
    """The hit ratio of a warm cache (the drill's own)."""

    @property
    def warming(self) -> bool:
        """Refilling after a flush: clearly below its warm hit ratio."""
        return self.hit_ratio < self.normal_hit_ratio - WARMING_GAP


@attrs.frozen
class DependencyGauge:
    name: str
    kind: str
    active: int
    """Calls or queries in progress."""
    timeout_s: float | None
    fallback: bool
    calls_per_s: float = 0.0
    """Calls (queries, for a database) started per second over the last few seconds."""
    error_ratio: float = 0.0
    """Share of those calls that failed: errors, timeouts, refusals."""
    p95_ms: float = math.nan
    """p95 of the calls that ended over the last few seconds (NaN: none ended)."""
    normal_p95_ms: float = math.nan
    """The p95 of a call with no fault and no contention (the drill's latency distribution)."""


@attrs.frozen
class Gauges:
    """A snapshot of the running service at the end of a tick."""

    t_s: float
    tick: int
    busy_slots: int
    total_slots: int
    live_workers: int
    target_workers: int
    queue_depth: int
    queue_limit: int | None
    in_flight: int
    pools: tuple[PoolGauge, ...]
    workers: tuple[WorkerGauge, ...]
    memory_limit_mb: float
    memory_pressure_mb: float
    breakers: tuple[BreakerGauge, ...]
    caches: tuple[CacheGauge, ...]
    dependencies: tuple[DependencyGauge, ...]
    arrival_rps: float
    """All attempts (fresh + retries) over the last second."""
    fresh_rps: float
    retry_rps: float
    goodput_rps: float
    error_rps: float
    reject_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    """Rolling percentiles of successful requests over the latency window (NaN if none)."""
    shed_fraction: float
    shed_mode: str
    ratelimit_rps: float | None

    @property
    def memory_mb(self) -> float:
        """The fullest worker's memory: the one closest to an OOM kill."""
        up = [w.memory_mb for w in self.workers if w.up]
        return max(up) if up else 0.0


@attrs.frozen
class Event:
    """Something the operator should see in the event log."""

    t_s: float
    kind: str
    """fault_start | fault_end | breaker | oom | worker_down | worker_up |
    action_applied | action_refused | action_pending | deploy"""
    message: str
    subject: str = ""
    """What it is about: a dependency, pool, worker index or action name."""


@attrs.frozen
class RunResult:
    """Totals of a run so far. Latencies are of successful attempts, arrival to reply."""

    duration_s: float
    arrivals: int
    fresh_arrivals: int
    retry_arrivals: int
    admitted: int
    completed: int
    degraded: int
    """Completed with a fallback instead of the real dependency answer."""
    failed: dict[str, int]
    rejected: dict[str, int]
    in_flight: int
    latency_mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def retries(self) -> int:
        return self.retry_arrivals
