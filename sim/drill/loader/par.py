"""[[par]]: the reference solution, a list of timed actions, checked against the
drill's names and against what the engine would accept."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.names import Names
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, suggest
from sim.drill.loader.service import SHED_MODES, read_queue_limit
from sim.drill.loader.tables import Table
from sim.drill.loader.values import (
    MAX_DURATION_S,
    MAX_RATE,
    read_bool,
    read_choice,
    read_duration,
    read_float,
    read_fraction,
    read_int,
    read_reference,
    read_str,
    read_time,
)
from sim.model.spec import ACTION_NAMES, Action, DbStep, ModelSpec, ServiceSpec

_ACTION_ALIASES = {"timeout": "timeout_s", "backoff": "backoff_s", "rate": "rate_rps"}
"""Keys a drill may write in the drill-file style ("2s") for the action's `_s`/`_rps` argument."""

ACTION_ARGUMENTS: dict[str, dict[str, bool]] = {
    "pool.resize": {"pool": True, "size": True},
    "breaker.force_open": {"dependency": True},
    "breaker.force_close": {"dependency": True},
    "breaker.auto": {"dependency": True},
    "shed.set": {"fraction": True, "mode": False},
    "queue.set_limit": {"limit": True},
    "timeout.set": {"dependency": True, "timeout_s": True},
    "retry.set": {"dependency": False, "class": False, "retries": True, "backoff_s": False, "jitter": False},
    "ratelimit.set": {"rate_rps": True, "burst": False},
    "workers.scale": {"workers": True},
    "bulkhead.set": {"class": True, "pool": True, "size": True},
    "fallback.set": {"dependency": True, "enabled": False},
    "worker.restart": {"worker": False},
    "deploy.rollback": {"deploy": False},
    "flag.set": {"flag": True, "enabled": True},
    "cache.coalesce": {"cache": True, "enabled": False},
    "cache.serve_stale": {"cache": True, "enabled": False},
}
"""Each action's arguments (canonical names, as `sim.engine.actions` reads them) and whether
they are required. The ranges below mirror what `sim.engine.actions` accepts, so a par
solution is never refused by the engine for a value the loader let through."""


def _read_seconds_arg(ctx, path, value, *, low=0.0, high=MAX_DURATION_S):
    if value is INVALID:
        return INVALID
    # `timeout_s = 2.0` is plain seconds; `timeout = "2s"` or `timeout_s = "2s"` carry a unit.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return read_float(ctx, path, value, low=low, high=high)
    seconds = read_duration(ctx, path, value, high=high)
    if isinstance(seconds, float) and seconds < low:
        return ctx.report(path, f"must be at least {low * 1000:g}ms, got {describe(value)}")
    return seconds


def _read_action_timeout(ctx, path, value):
    # "none" removes the timeout (the engine's spelling).
    if value == "none":
        return value
    return _read_seconds_arg(ctx, path, value, low=0.001, high=3600.0)


def _read_action_limit(ctx, path, value):
    # Kept as "unbounded": the engine reads it, and 0 means a queue of length zero.
    if value == "unbounded":
        return value
    return read_queue_limit(ctx, path, value)


def _read_action_arg(ctx: Context, path: str, action: str, key: str, value, names: Names, service):
    """One action argument, checked against the drill's names."""
    if key == "pool":
        return read_reference(ctx, path, value, names.pools, "a pool of this drill")
    if key == "dependency":
        return read_reference(ctx, path, value, names.dependencies(), "a dependency of this drill")
    if key == "class":
        return read_reference(ctx, path, value, names.classes, "a traffic class of this drill")
    if key == "cache":
        return read_reference(ctx, path, value, names.caches, "a cache of this drill")
    if key == "flag":
        return read_reference(ctx, path, value, names.flags, "a feature flag of this drill ([flags.NAME])")
    if key == "deploy":
        return read_str(ctx, path, value, what="a deploy named by a fault's deploy field")
    if key == "size":
        # bulkhead.set size 0 removes the bulkhead; a pool keeps at least one connection.
        return read_int(ctx, path, value, low=0 if action == "bulkhead.set" else 1, high=10**6)
    if key == "burst":
        return read_float(ctx, path, value, low=1.0, high=MAX_RATE)
    if key in ("fraction", "jitter"):
        return read_fraction(ctx, path, value)
    if key == "mode":
        return read_choice(ctx, path, value, SHED_MODES)
    if key == "limit":
        return _read_action_limit(ctx, path, value)
    if key == "timeout_s":
        return _read_action_timeout(ctx, path, value)
    if key == "backoff_s":
        return _read_seconds_arg(ctx, path, value, high=600.0)
    if key == "retries":
        return read_int(ctx, path, value, low=0, high=10)
    if key == "rate_rps":
        return read_float(ctx, path, value, low=0.0, high=MAX_RATE)
    if key == "enabled":
        return read_bool(ctx, path, value)
    limit = service.max_workers if isinstance(service, ServiceSpec) else 10_000
    if key == "workers":
        return read_int(ctx, path, value, low=1, high=limit)
    return read_int(ctx, path, value, low=0, high=limit - 1)  # worker index


def read_action(ctx: Context, path: str, raw: dict, names: Names, service, incident_start_s, duration_s) -> Action | Invalid:
    """One [[par]] entry: a time, an action name and its arguments."""
    problems_before = len(ctx.problems)
    table = Table(ctx, path, raw, ("at", "action"))
    at_s = table.get("at", read_time, incident_start_s, duration_s)
    name = table.get("action", read_choice, ACTION_NAMES, "action")
    if name is INVALID:
        return INVALID
    expected = ACTION_ARGUMENTS[name]
    args: dict[str, object] = {}
    for key, value in raw.items():
        if key in ("at", "action"):
            continue
        canonical = _ACTION_ALIASES.get(key, key)
        key_path = join_path(path, key)
        if canonical not in expected:
            known = list(expected) + [alias for alias, target in _ACTION_ALIASES.items() if target in expected]
            takes = ", ".join(expected) or "no arguments"
            hint = suggest(key, known)
            ctx.report(key_path, f'"{key}" is not an argument of {name} (it takes {takes}){hint if hint.startswith("; did") else ""}')
            continue
        if canonical in args:
            ctx.report(key_path, f'"{key}" repeats "{canonical}"; give it once')
            continue
        if value is INVALID:
            args[canonical] = INVALID
        elif key in _ACTION_ALIASES and canonical in ("timeout_s", "backoff_s") and not isinstance(value, str):
            args[canonical] = ctx.report(key_path, f'expected a duration like "2s", got {describe(value)} (or write {canonical} = {value} for seconds)')
        else:
            args[canonical] = _read_action_arg(ctx, key_path, name, canonical, value, names, service)
    for key, required in expected.items():
        if required and key not in args:
            alias = next((short for short, long in _ACTION_ALIASES.items() if long == key), None)
            also = f' (or {alias} = "2s")' if alias in ("timeout", "backoff") else ""
            ctx.report(join_path(path, key), f'{name} needs "{key}"{also}')
    if name == "retry.set":
        if ("dependency" in args) == ("class" in args):
            ctx.report(path, 'retry.set needs exactly one of "dependency" (the service\'s own retries) or "class" (client retries)')
        elif "jitter" in args and "dependency" in args:
            ctx.report(join_path(path, "jitter"), "jitter applies to client retries (class), not to a dependency")
    if len(ctx.problems) > problems_before:
        return INVALID
    return build(ctx, path, Action, t_s=at_s, name=name, args=args)


def check_par_capacity(ctx: Context, entries: list[tuple[str, Action]], model: ModelSpec) -> None:
    """Replay the par pool sizes in time order: the engine refuses a pool.resize or
    bulkhead.set that asks a database for more than its max_connections, or a
    bulkhead on a pool the class does not use."""
    pool_database = {pool.name: pool.database for pool in model.pools}
    sizes = {("pool", pool.name): pool.size for pool in model.pools}
    max_connections = {dep.name: dep.max_connections for dep in model.dependencies}
    uses = {cls.name: {step.pool for step in cls.plan if isinstance(step, DbStep)} for cls in model.classes}
    for path, action in sorted(entries, key=lambda entry: entry[1].t_s):
        if action.name == "pool.resize":
            key = ("pool", action.arg("pool"))
        elif action.name == "bulkhead.set":
            cls, pool = action.arg("class"), action.arg("pool")
            if pool not in uses.get(cls, ()):
                ctx.report(join_path(path, "pool"), f'class "{cls}" does not query pool "{pool}", so it cannot get a bulkhead from it')
                continue
            key = ("bulkhead", cls, pool)
        else:
            continue
        database = pool_database.get(key[-1])
        if database not in max_connections:
            continue  # a dangling name, reported where it was read
        asked = sum(size for other, size in sizes.items() if other != key and pool_database.get(other[-1]) == database)
        asked += action.arg("size")
        if asked > max_connections[database]:
            ctx.report(
                join_path(path, "size"),
                f"{database} allows {max_connections[database]} connections; its pools would need {asked} (the engine would refuse this)",
            )
            continue
        sizes[key] = action.arg("size")
