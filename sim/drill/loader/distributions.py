"""Latency and duration distributions: "5ms", or a one-key table such as
{ lognormal = { median = "5ms", p99 = "40ms" } }."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import INVALID, Context, Drawn, build, describe, is_invalid
from sim.drill.loader.tables import Table, open_table
from sim.drill.loader.values import read_duration, read_float
from sim.model.spec import Distribution

_DISTRIBUTION_KINDS = ("constant", "exponential", "lognormal", "pareto", "mixture")


def read_distribution(ctx: Context, path: str, value, *, in_mixture: bool = False):
    """A Distribution: "5ms" (constant) or a one-key table (exponential, lognormal, pareto, mixture)."""
    if value is INVALID:
        return INVALID
    if isinstance(value, (str, Drawn)) and not in_mixture:
        seconds = read_duration(ctx, path, value)
        return build(ctx, path, Distribution, kind="constant", value_s=seconds)
    if not isinstance(value, dict) and in_mixture:
        return ctx.report(path, f'expected a component such as {{ weight = 0.9, lognormal = {{ median = "5ms", p99 = "40ms" }} }}, got {describe(value)}')
    if not isinstance(value, dict):
        return ctx.report(
            path,
            f'expected a duration like "5ms" or a distribution such as {{ lognormal = {{ median = "5ms", p99 = "40ms" }} }}, got {describe(value)}',
        )
    kinds = _DISTRIBUTION_KINDS[:-1] if in_mixture else _DISTRIBUTION_KINDS
    allowed = kinds + (("weight",) if in_mixture else ())
    table = Table(ctx, path, value, allowed)
    table.check_keys()
    present = [kind for kind in kinds if kind in value]
    if len(present) != 1:
        listed = ", ".join(kinds)
        if present:
            return ctx.report(path, f"give exactly one distribution kind, got {', '.join(present)}")
        return ctx.report(path, f"missing the distribution kind: one of {listed}")
    kind = present[0]
    kind_path = join_path(path, kind)
    body = value[kind]
    if kind == "constant":
        return build(ctx, path, Distribution, kind="constant", value_s=read_duration(ctx, kind_path, body))
    if kind == "exponential":
        mean_s = read_duration(ctx, kind_path, body, positive=True)
        return build(ctx, path, Distribution, kind="exponential", mean_s=mean_s)
    if kind == "lognormal":
        params = open_table(ctx, kind_path, body, ("median", "p99"))
        if params is None:
            return INVALID
        params.check_keys()
        median_s = params.get("median", read_duration, positive=True)
        p99_s = params.get("p99", read_duration, positive=True)
        if not is_invalid((median_s, p99_s)) and p99_s <= median_s:
            return ctx.report(join_path(kind_path, "p99"), f"must be above the median ({median_s:g}s), got {p99_s:g}s")
        return build(ctx, path, Distribution, kind="lognormal", median_s=median_s, p99_s=p99_s)
    if kind == "pareto":
        params = open_table(ctx, kind_path, body, ("scale", "alpha"))
        if params is None:
            return INVALID
        params.check_keys()
        scale_s = params.get("scale", read_duration, positive=True)
        alpha = params.get("alpha", read_float, low=0.0, high=100.0, low_open=True)
        return build(ctx, path, Distribution, kind="pareto", scale_s=scale_s, alpha=alpha)
    if body is INVALID:
        return INVALID
    if not isinstance(body, list) or not body:
        return ctx.report(kind_path, f"expected a non-empty array of {{ weight = ..., <distribution> }}, got {describe(body)}")
    components, weights = [], []
    for index, item in enumerate(body):
        item_path = f"{kind_path}[{index}]"
        if isinstance(item, dict) and "weight" not in item:
            ctx.report(join_path(item_path, "weight"), 'required key "weight" is missing')
            weights.append(INVALID)
        elif isinstance(item, dict):
            weights.append(read_float(ctx, join_path(item_path, "weight"), item["weight"], low=0.0, low_open=True, high=1e9))
        components.append(read_distribution(ctx, item_path, item, in_mixture=True))
    return build(ctx, path, Distribution, kind="mixture", components=tuple(components), weights=tuple(weights))
