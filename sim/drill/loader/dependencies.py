"""[dependencies.NAME] (databases and services, with their breakers) and [caches.NAME]."""

from __future__ import annotations

from sim.drill.loader.distributions import read_distribution
from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe
from sim.drill.loader.tables import Table, open_table
from sim.drill.loader.values import read_bool, read_choice, read_duration, read_float, read_fraction, read_int
from sim.model.limits import MAX_BREAKER_WINDOW_S
from sim.model.spec import BreakerSpec, CacheSpec, Dependency
from sim.model.units import format_duration

_DEPENDENCY_KEYS = ("kind", "latency", "error_rate", "knee", "contention", "max_connections", "capacity", "breaker",
                    "authenticates", "degraded_cost")
"""degraded_cost is the scoring's (read by `sim.drill.loader.debrief.read_degraded_costs`)."""
_DATABASE_ONLY = ("knee", "contention", "max_connections")
_SERVICE_ONLY = ("capacity",)
_BREAKER_KEYS = ("window", "failure_threshold", "min_calls", "open", "half_open_probes")
_CACHE_KEYS = ("hit_ratio", "warm_requests", "duplicate_misses", "stale_ratio", "stale_cost")


def _read_breaker(ctx: Context, path: str, raw) -> BreakerSpec | None | Invalid:
    table = open_table(ctx, path, raw, _BREAKER_KEYS, required=False)
    if table is None:
        return INVALID if raw is not None else None
    table.check_keys()
    defaults = BreakerSpec()
    return build(
        ctx, path, BreakerSpec,
        window_s=table.get("window", _read_window, default=defaults.window_s),
        failure_threshold=table.get("failure_threshold", read_fraction, default=defaults.failure_threshold),
        min_calls=table.get("min_calls", read_int, low=1, high=10**6, default=defaults.min_calls),
        open_s=table.get("open", read_duration, positive=True, default=defaults.open_s),
        half_open_probes=table.get("half_open_probes", read_int, low=1, high=10**6, default=defaults.half_open_probes),
    )


def _read_window(ctx: Context, path: str, value):
    window_s = read_duration(ctx, path, value, positive=True)
    if isinstance(window_s, float) and window_s > MAX_BREAKER_WINDOW_S:
        # The engine keeps the window as a ring of window / dt ticks (see sim.model.limits).
        return ctx.report(
            path, f"must be <= {format_duration(MAX_BREAKER_WINDOW_S)} (the engine keeps the window tick by tick), got {describe(value)}"
        )
    return window_s


def read_dependency(ctx: Context, name: str, path: str, raw: dict) -> Dependency | Invalid:
    """One [dependencies.NAME] table; keys of the other kind are reported."""
    table = Table(ctx, path, raw, _DEPENDENCY_KEYS)
    table.check_keys()
    kind = table.get("kind", read_choice, ("database", "service"))
    wrong_for_kind = _SERVICE_ONLY if kind == "database" else _DATABASE_ONLY if kind == "service" else ()
    for key in wrong_for_kind:
        if key in raw:
            ctx.report(join_path(path, key), f'"{key}" applies only to a dependency of kind "{"service" if kind == "database" else "database"}"')
    defaults = dict(knee=0, contention=1.0, max_connections=100, capacity=0)
    return build(
        ctx, path, Dependency,
        name=name,
        kind=kind,
        latency=table.get("latency", read_distribution),
        error_rate=table.get("error_rate", read_fraction, default=0.0),
        knee=table.get("knee", read_int, low=0, high=10**6, default=defaults["knee"]),
        contention=table.get("contention", read_float, low=0.0, high=100.0, default=defaults["contention"]),
        max_connections=table.get("max_connections", read_int, low=1, high=10**6, default=defaults["max_connections"]),
        capacity=table.get("capacity", read_int, low=0, high=10**6, default=defaults["capacity"]),
        breaker=_read_breaker(ctx, join_path(path, "breaker"), raw.get("breaker")),
        authenticates=table.get("authenticates", read_bool, default=False),
    )


def read_cache(ctx: Context, name: str, path: str, raw: dict) -> CacheSpec | Invalid:
    """One [caches.NAME] table."""
    table = Table(ctx, path, raw, _CACHE_KEYS)
    table.check_keys()
    return build(
        ctx, path, CacheSpec,
        name=name,
        hit_ratio=table.get("hit_ratio", read_fraction),
        warm_requests=table.get("warm_requests", read_float, low=0.0, low_open=True, high=1e12, default=1000.0),
        duplicate_misses=table.get("duplicate_misses", read_fraction, default=0.0),
        stale_ratio=table.get("stale_ratio", read_fraction, default=0.0),
        stale_cost=table.get("stale_cost", read_fraction, default=0.0),
    )
