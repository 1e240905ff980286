"""[[slo]]: the objectives a run is scored against."""

from __future__ import annotations

from sim.drill.drill import SLOSpec
from sim.drill.loader.lines import join_path
from sim.drill.loader.names import Names
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe
from sim.drill.loader.tables import Table
from sim.drill.loader.values import read_choice, read_duration, read_float, read_reference, read_str

_SLO_KEYS = ("name", "kind", "target", "threshold", "classes", "events", "window")


def _read_class_list(ctx, path, value, names: Names):
    if value is INVALID:
        return INVALID
    if not isinstance(value, list):
        return ctx.report(path, f"expected an array of class names, got {describe(value)}")
    return tuple(
        read_reference(ctx, f"{path}[{index}]", item, names.classes, "a traffic class of this drill")
        for index, item in enumerate(value)
    )


def read_slo(ctx: Context, path: str, raw: dict, names: Names) -> SLOSpec | Invalid:
    """One [[slo]] entry; a latency SLO needs a threshold, an availability SLO takes none."""
    table = Table(ctx, path, raw, _SLO_KEYS)
    table.check_keys()
    kind = table.get("kind", read_choice, ("availability", "latency"))
    threshold_s = table.get("threshold", read_duration, positive=True, default=None)
    if kind == "latency" and threshold_s is None:
        threshold_s = ctx.report(join_path(path, "threshold"), 'a latency SLO needs a threshold, e.g. threshold = "300ms"')
    elif kind == "availability" and threshold_s is not None:
        threshold_s = ctx.report(join_path(path, "threshold"), 'only latency SLOs take a threshold; remove it or use kind = "latency"')
    return build(
        ctx, path, SLOSpec,
        name=table.get("name", read_str),
        kind=kind,
        target=table.get("target", read_float, low=0.0, high=1.0, low_open=True, high_open=True),
        threshold_s=threshold_s,
        classes=table.get("classes", _read_class_list, names, default=()),
        events=table.get("events", read_choice, ("fresh", "attempts"), default="fresh"),
        window_s=table.get("window", read_duration, positive=True, high=366 * 86400.0, default=30 * 86400.0),
    )
