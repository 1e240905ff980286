"""[[classes]]: traffic classes, their arrivals, client retries and request plan steps."""

from __future__ import annotations

from sim.drill.loader.distributions import read_distribution
from sim.drill.loader.lines import join_path
from sim.drill.loader.names import Names
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, is_invalid, suggest
from sim.drill.loader.tables import Table, open_table
from sim.drill.loader.values import (
    MAX_RATE,
    read_bool,
    read_choice,
    read_duration,
    read_float,
    read_fraction,
    read_int,
    read_name,
    read_reference,
    read_size,
)
from sim.model.spec import ArrivalProfile, CacheStep, CallStep, CpuStep, DbStep, RetryPolicy, StreamStep, TrafficClass

_CLASS_KEYS = ("name", "priority", "timeout", "arrivals", "retry", "plan")
_RETRY_KEYS = ("retries", "backoff", "multiplier", "jitter")
_ARRIVAL_KEYS = {
    "constant": ("kind", "rate"),
    "ramp": ("kind", "rate", "to", "start", "end"),
    "step": ("kind", "rate", "to", "at"),
    "burst": ("kind", "rate", "to", "at", "duration"),
    "pulses": ("kind", "rate", "to", "start", "period", "width"),
}
_STEP_KEYS = {
    "cpu": ("cpu",),
    "cache": ("cache",),
    "db": ("db", "queries"),
    "call": ("call", "timeout", "retries", "backoff", "fallback", "feature"),
    "stream": ("stream", "duration", "slow_fraction", "slow_factor"),
}


def _read_arrivals(ctx: Context, path: str, raw) -> ArrivalProfile | Invalid:
    table = open_table(ctx, path, raw, ())
    if table is None:
        return INVALID
    kind = table.get("kind", read_choice, tuple(_ARRIVAL_KEYS), "arrivals kind", default="constant")
    if kind is INVALID:
        return INVALID
    table.keys = _ARRIVAL_KEYS[kind]
    other_kinds = {
        key: f'"{key}" is not used by arrivals of kind "{kind}" (it takes {", ".join(_ARRIVAL_KEYS[kind][1:])})'
        for keys in _ARRIVAL_KEYS.values() for key in keys if key not in table.keys
    }
    table.check_keys(other_kinds)
    rate = dict(low=0.0, high=MAX_RATE)
    fields = dict(kind=kind, rate_rps=table.get("rate", read_float, **rate))
    if kind != "constant":
        fields["to_rps"] = table.get("to", read_float, **rate)
    if kind == "ramp":
        fields["start_s"] = table.get("start", read_duration)
        fields["end_s"] = table.get("end", read_duration)
        if not is_invalid((fields["start_s"], fields["end_s"])) and fields["end_s"] <= fields["start_s"]:
            fields["end_s"] = ctx.report(join_path(path, "end"), f"must be after start ({fields['start_s']:g}s), got {fields['end_s']:g}s")
    elif kind == "step":
        fields["start_s"] = table.get("at", read_duration)
    elif kind == "burst":
        fields["start_s"] = table.get("at", read_duration)
        fields["duration_s"] = table.get("duration", read_duration, positive=True)
    elif kind == "pulses":
        fields["start_s"] = table.get("start", read_duration, default=0.0)
        fields["period_s"] = table.get("period", read_duration, positive=True)
        fields["width_s"] = table.get("width", read_duration, positive=True)
        if not is_invalid((fields["period_s"], fields["width_s"])) and fields["width_s"] > fields["period_s"]:
            fields["width_s"] = ctx.report(join_path(path, "width"), f"must not exceed the period ({fields['period_s']:g}s), got {fields['width_s']:g}s")
    return build(ctx, path, ArrivalProfile, **fields)


def _read_retry(ctx: Context, path: str, raw) -> RetryPolicy | Invalid:
    table = open_table(ctx, path, raw, _RETRY_KEYS, required=False)
    if table is None:
        return INVALID if raw is not None else RetryPolicy()
    table.check_keys()
    defaults = RetryPolicy()
    return build(
        ctx, path, RetryPolicy,
        retries=table.get("retries", read_int, low=0, high=100, default=defaults.retries),
        backoff_s=table.get("backoff", read_duration, default=defaults.backoff_s),
        multiplier=table.get("multiplier", read_float, low=1.0, high=100.0, default=defaults.multiplier),
        jitter=table.get("jitter", read_fraction, default=defaults.jitter),
    )


def _read_step(ctx: Context, path: str, raw, names: Names):
    if raw is INVALID:
        return INVALID
    if not isinstance(raw, dict):
        return ctx.report(path, f'expected a step table such as {{ cpu = "5ms" }}, got {describe(raw)}')
    present = [kind for kind in _STEP_KEYS if kind in raw]
    if len(present) > 1:
        return ctx.report(path, f"one step per entry, but this one has {' and '.join(present)}")
    if not present:
        unknown = next(iter(raw), "")
        hint = suggest(unknown, _STEP_KEYS) if unknown else ""
        if hint.startswith("; did"):
            return ctx.report(join_path(path, unknown), f'unknown step "{unknown}"{hint}')
        return ctx.report(path, f"expected a step: one of {', '.join(_STEP_KEYS)}")
    kind = present[0]
    table = Table(ctx, path, raw, _STEP_KEYS[kind])
    table.check_keys({
        key: f'"{key}" is not an option of a {kind} step (it takes {", ".join(_STEP_KEYS[kind][1:]) or "no options"})'
        for keys in _STEP_KEYS.values() for key in keys if key not in table.keys
    })
    if kind == "cpu":
        return build(ctx, path, CpuStep, duration=table.get("cpu", read_distribution))
    if kind == "cache":
        return build(ctx, path, CacheStep, cache=table.get("cache", read_reference, names.caches, "a cache of this drill ([caches.NAME])"))
    if kind == "db":
        return build(
            ctx, path, DbStep,
            pool=table.get("db", read_reference, names.pools, "a pool of this drill ([pools.NAME])"),
            queries=table.get("queries", read_int, low=1, high=1000, default=1),
        )
    if kind == "call":
        dependency = table.get("call", read_reference, names.dependencies(), "a dependency of this drill")
        if isinstance(dependency, str) and names.dependency_kinds.get(dependency) == "database":
            dependency = ctx.report(
                join_path(path, "call"), f'"{dependency}" is a database; query it with a db step through a pool, or make it kind "service"'
            )
        return build(
            ctx, path, CallStep,
            dependency=dependency,
            timeout_s=table.get("timeout", read_duration, positive=True, default=None),
            retries=table.get("retries", read_int, low=0, high=100, default=0),
            backoff_s=table.get("backoff", read_duration, default=0.0),
            fallback=table.get("fallback", read_bool, default=False),
            feature=table.get("feature", read_reference, names.flags, "a feature flag of this drill ([flags.NAME])",
                              default=""),
        )
    return build(
        ctx, path, StreamStep,
        size_mb=table.get("stream", read_size),
        duration=table.get("duration", read_distribution),
        slow_fraction=table.get("slow_fraction", read_fraction, default=0.0),
        slow_factor=table.get("slow_factor", read_float, low=1.0, high=1e6, default=1.0),
    )


def read_class(ctx: Context, path: str, raw: dict, names: Names) -> TrafficClass | Invalid:
    """One [[classes]] entry: name, arrivals, plan, priority, timeout, client retries."""
    table = Table(ctx, path, raw, _CLASS_KEYS)
    table.check_keys()
    plan_raw = raw.get("plan")
    plan_path = join_path(path, "plan")
    if plan_raw is None:
        plan = ctx.report(plan_path, 'required key "plan" is missing (a list of steps such as [ { cpu = "5ms" } ])')
    elif not isinstance(plan_raw, list) or not plan_raw:
        plan = ctx.report(plan_path, f"expected a non-empty array of steps, got {describe(plan_raw)}")
    else:
        plan = tuple(_read_step(ctx, f"{plan_path}[{index}]", step, names) for index, step in enumerate(plan_raw))
    return build(
        ctx, path, TrafficClass,
        name=table.get("name", read_name),
        arrivals=_read_arrivals(ctx, join_path(path, "arrivals"), raw.get("arrivals")),
        plan=plan,
        priority=table.get("priority", read_int, low=-1000, high=1000, default=1),
        timeout_s=table.get("timeout", read_duration, positive=True, default=None),
        retry=_read_retry(ctx, join_path(path, "retry"), raw.get("retry")),
    )
