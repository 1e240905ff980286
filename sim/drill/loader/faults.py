"""[[faults]]: what breaks, when, and each fault kind's parameters."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.names import Names
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, is_invalid
from sim.drill.loader.tables import Table
from sim.drill.loader.values import (
    MAX_SIZE_MB,
    read_choice,
    read_duration,
    read_float,
    read_fraction,
    read_int,
    read_reference,
    read_str,
)
from sim.model.spec import Fault

_FAULT_COMMON_KEYS = ("at", "target", "kind", "duration", "deploy")
_DEPENDENCY_FAULTS = ("slow", "errors", "down", "blackhole", "latency_pulses", "packet_loss")
FAULT_PARAMS = {
    "slow": ("factor", "add"),
    "errors": ("rate",),
    "down": (),
    "blackhole": (),
    "latency_pulses": ("period", "width", "add"),
    "packet_loss": ("rate", "retransmit"),
    "cache_flush": ("hit_ratio",),
    "traffic": ("factor",),
    "memory_leak": ("mb_per_s",),
    "lose_workers": ("count",),
}
_ALL_FAULT_PARAMS = tuple(sorted({param for params in FAULT_PARAMS.values() for param in params}))


def _read_fault_target(ctx: Context, path: str, value, kind: str, names: Names):
    if kind in _DEPENDENCY_FAULTS:
        return read_reference(ctx, path, value, names.dependencies(), f'a dependency of this drill (kind "{kind}" targets a dependency)')
    if kind == "cache_flush":
        return read_reference(ctx, path, value, names.caches, 'a cache of this drill (kind "cache_flush" targets a cache)')
    if kind == "traffic":
        return read_reference(ctx, path, value, names.classes, 'a traffic class of this drill (kind "traffic" targets a class)')
    if value != "service":
        return ctx.report(path, f'kind "{kind}" targets the service: write target = "service", got {describe(value)}')
    return value


def read_fault(ctx: Context, path: str, raw: dict, names: Names, duration_s) -> Fault | Invalid:
    """One [[faults]] entry; the parameters it takes depend on its kind."""
    table = Table(ctx, path, raw, _FAULT_COMMON_KEYS)
    kind = table.get("kind", read_choice, tuple(FAULT_PARAMS), "fault kind")
    params = FAULT_PARAMS.get(kind, _ALL_FAULT_PARAMS)
    table.keys = _FAULT_COMMON_KEYS + params
    table.check_keys({
        key: f'"{key}" is not a parameter of faults of kind "{kind}" (it takes {", ".join(params) or "no parameters"})'
        for key in _ALL_FAULT_PARAMS if key not in params
    })
    at_s = table.get("at", read_duration)
    if isinstance(at_s, float) and isinstance(duration_s, float) and at_s >= duration_s:
        at_s = ctx.report(join_path(path, "at"), f"is at or after the end of the drill ({duration_s:g}s), got {at_s:g}s")
    target = table.get("target", _read_fault_target, kind, names) if kind is not INVALID else INVALID
    fields = dict(at_s=at_s, target=target, kind=kind, duration_s=table.get("duration", read_duration, positive=True, default=None),
                  deploy=table.get("deploy", read_str, what="the deploy that caused the fault, e.g. \"v2.31\"", default=""))
    if kind is INVALID:
        return INVALID
    if kind == "slow":
        if "factor" not in raw and "add" not in raw:
            return ctx.report(path, 'a "slow" fault needs factor (latency multiplier) and/or add (extra latency, e.g. "200ms")')
        fields["factor"] = table.get("factor", read_float, low=0.0, low_open=True, high=1e6, default=1.0)
        fields["add_s"] = table.get("add", read_duration, default=0.0)
    elif kind == "errors":
        fields["rate"] = table.get("rate", read_fraction)
    elif kind == "latency_pulses":
        fields["period_s"] = table.get("period", read_duration, positive=True)
        fields["width_s"] = table.get("width", read_duration, positive=True)
        fields["add_s"] = table.get("add", read_duration, positive=True)
        if not is_invalid((fields["period_s"], fields["width_s"])) and fields["width_s"] > fields["period_s"]:
            fields["width_s"] = ctx.report(join_path(path, "width"), f"must not exceed the period ({fields['period_s']:g}s), got {fields['width_s']:g}s")
    elif kind == "packet_loss":
        fields["rate"] = table.get("rate", read_fraction)
        fields["retransmit_s"] = table.get("retransmit", read_duration, positive=True, default=1.0)
    elif kind == "cache_flush":
        fields["hit_ratio"] = table.get("hit_ratio", read_fraction, default=0.0)
    elif kind == "traffic":
        fields["factor"] = table.get("factor", read_float, low=0.0, high=1000.0)
    elif kind == "memory_leak":
        fields["mb_per_s"] = table.get("mb_per_s", read_float, low=0.0, low_open=True, high=MAX_SIZE_MB)
    elif kind == "lose_workers":
        fields["count"] = table.get("count", read_int, low=1, high=10_000)
    return build(ctx, path, Fault, **fields)
