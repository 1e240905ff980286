"""The [service] table: workers, concurrency, queue, shedding, memory and rate limit."""

from __future__ import annotations

from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, is_invalid
from sim.drill.loader.tables import open_table
from sim.drill.loader.values import MAX_RATE, read_choice, read_duration, read_float, read_fraction, read_int, read_size
from sim.model.limits import MAX_SLOTS
from sim.model.spec import MemorySpec, RateLimitSpec, ServiceSpec

_SERVICE_KEYS = ("workers", "concurrency", "max_workers", "warmup", "queue_limit", "shed", "shed_mode", "memory", "ratelimit")
_MEMORY_KEYS = ("limit", "baseline", "per_request", "per_queued", "pressure", "gc_slowdown", "restart")
_RATELIMIT_KEYS = ("rate", "burst")
SHED_MODES = ("random", "priority")
"""How shedding picks its victims: at random, or lowest priority class first."""


def read_queue_limit(ctx, path, value):
    """A queue length: a whole number, or "unbounded" (None)."""
    if value is INVALID:
        return INVALID
    if value == "unbounded":
        return None
    if isinstance(value, str):
        return ctx.report(path, f'expected a whole number or "unbounded", got {describe(value)}')
    return read_int(ctx, path, value, low=0, high=10**9)


def _read_memory(ctx: Context, raw) -> MemorySpec | Invalid:
    table = open_table(ctx, "service.memory", raw, _MEMORY_KEYS, required=False)
    if table is None:
        return INVALID if raw is not None else MemorySpec()
    table.check_keys()
    defaults = MemorySpec()
    memory = dict(
        limit_mb=table.get("limit", read_size, positive=True, default=defaults.limit_mb),
        baseline_mb=table.get("baseline", read_size, default=defaults.baseline_mb),
        per_request_mb=table.get("per_request", read_size, default=defaults.per_request_mb),
        per_queued_mb=table.get("per_queued", read_size, default=defaults.per_queued_mb),
        pressure_fraction=table.get("pressure", read_fraction, default=defaults.pressure_fraction),
        gc_slowdown=table.get("gc_slowdown", read_float, low=1.0, high=1000.0, default=defaults.gc_slowdown),
        restart_s=table.get("restart", read_duration, default=defaults.restart_s),
    )
    if not is_invalid((memory["limit_mb"], memory["baseline_mb"])) and memory["baseline_mb"] >= memory["limit_mb"]:
        ctx.report("service.memory.baseline", f"must be below the limit ({memory['limit_mb']:g}MB), got {memory['baseline_mb']:g}MB")
        return INVALID
    return build(ctx, "service.memory", MemorySpec, **memory)


def _read_ratelimit(ctx: Context, raw) -> RateLimitSpec | None | Invalid:
    table = open_table(ctx, "service.ratelimit", raw, _RATELIMIT_KEYS, required=False)
    if table is None:
        return INVALID if raw is not None else None
    table.check_keys()
    rate_rps = table.get("rate", read_float, low=0.0, low_open=True, high=MAX_RATE)
    burst = table.get("burst", read_float, low=1.0, high=MAX_RATE)
    return build(ctx, "service.ratelimit", RateLimitSpec, rate_rps=rate_rps, burst=burst)


def read_service(ctx: Context, raw) -> ServiceSpec | Invalid:
    """The [service] table (required), with its [service.memory] and [service.ratelimit]."""
    table = open_table(ctx, "service", raw, _SERVICE_KEYS)
    if table is None:
        return INVALID
    table.check_keys()
    workers = table.get("workers", read_int, low=1, high=10_000)
    max_workers = table.get("max_workers", read_int, low=1, high=10_000, default=None)
    max_workers_given = max_workers is not None
    if max_workers is None:
        max_workers = max(64, workers) if isinstance(workers, int) else INVALID
    elif not is_invalid((workers, max_workers)) and max_workers < workers:
        max_workers = ctx.report("service.max_workers", f"must be at least workers ({workers}), got {max_workers}")
    concurrency = table.get("concurrency", read_int, low=1, high=10_000)
    if not is_invalid((workers, max_workers, concurrency)) and max_workers * concurrency > MAX_SLOTS:
        # The engine allocates every slot a run could use when it starts (see sim.model.limits).
        path = "service.max_workers" if max_workers_given and workers * concurrency <= MAX_SLOTS else "service.concurrency"
        default = "" if max_workers_given else " (max_workers defaults to max(64, workers))"
        concurrency = ctx.report(
            path,
            f"max_workers x concurrency must be at most {MAX_SLOTS} slots (the engine allocates them all up front), "
            f"got {max_workers} x {concurrency} = {max_workers * concurrency}{default}",
        )
    return build(
        ctx, "service", ServiceSpec,
        workers=workers,
        concurrency=concurrency,
        max_workers=max_workers,
        warmup_s=table.get("warmup", read_duration, default=30.0),
        queue_limit=table.get("queue_limit", read_queue_limit, default=None),
        shed_fraction=table.get("shed", read_fraction, default=0.0),
        shed_mode=table.get("shed_mode", read_choice, SHED_MODES, default="random"),
        memory=_read_memory(ctx, raw.get("memory")) if isinstance(raw, dict) else INVALID,
        ratelimit=_read_ratelimit(ctx, raw.get("ratelimit")) if isinstance(raw, dict) else INVALID,
    )
