"""[flags.NAME] (features the operator can turn off, and what each lesser answer costs) and
[action_delays] (a drill's own delays for actions, over `sim.model.delays`)."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, suggest
from sim.drill.loader.tables import Table
from sim.drill.loader.values import read_duration, read_fraction, read_str
from sim.model.spec import ACTION_NAMES, FeatureFlag

_FLAG_KEYS = ("cost", "description")


def read_flag(ctx: Context, name: str, path: str, raw: dict) -> FeatureFlag | Invalid:
    """One [flags.NAME] table: cost (bad events one answer without the feature costs, 0-1)."""
    table = Table(ctx, path, raw, _FLAG_KEYS)
    table.check_keys()
    return build(
        ctx, path, FeatureFlag,
        name=name,
        cost=table.get("cost", read_fraction),
        description=table.get("description", read_str, default=""),
    )


DELAY_KEYS = (*ACTION_NAMES, "retry.client")
"""What [action_delays] may set: an action name, or "retry.client" (retry.set on a class)."""


def read_action_delays(ctx: Context, raw) -> tuple[tuple[str, float], ...] | Invalid:
    """[action_delays]: action name = duration, e.g. "deploy.rollback" = "90s"."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        return ctx.report("action_delays", f'expected a table like [action_delays] with "pool.resize" = "30s", got {describe(raw)}')
    out = []
    for key, value in raw.items():
        path = join_path("action_delays", key)
        if key not in DELAY_KEYS:
            ctx.report(path, f"unknown action {describe(key)}{suggest(key, DELAY_KEYS)}")
            continue
        seconds = read_duration(ctx, path, value)
        if seconds is not INVALID:
            out.append((key, seconds))
    return tuple(out)
