"""[[hints]]: text shown at a time or when a condition on the gauges holds."""

from __future__ import annotations

from sim.drill.conditions import ConditionError, parse_condition
from sim.drill.drill import Hint
from sim.drill.loader.names import Names
from sim.drill.loader.problems import INVALID, Context, Invalid, build, describe, suggest
from sim.drill.loader.tables import Table
from sim.drill.loader.values import read_str, read_time

_HINT_KEYS = ("at", "when", "text")


def _read_condition(ctx: Context, path: str, value, names: Names):
    if value is INVALID:
        return INVALID
    if not isinstance(value, str):
        return ctx.report(path, f'expected a condition like "p95_ms > 300 for 5s", got {describe(value)}')
    try:
        condition = parse_condition(value)
    except ConditionError as error:
        return ctx.report(path, str(error))
    for pool in condition.pool_names():
        if pool not in names.pools:
            ctx.report(path, f'"pool_{pool}_..." names no pool of this drill{suggest(pool, names.pools)}')
    for dependency in condition.breaker_names():
        if dependency not in names.dependency_kinds:
            ctx.report(path, f'"breaker_{dependency}_open" names no dependency of this drill{suggest(dependency, names.dependencies())}')
    return value


def read_hint(ctx: Context, path: str, raw: dict, names: Names, incident_start_s, duration_s) -> Hint | Invalid:
    """One [[hints]] entry: text, and either a time or a condition."""
    table = Table(ctx, path, raw, _HINT_KEYS)
    table.check_keys()
    if ("at" in raw) == ("when" in raw):
        return ctx.report(path, 'a hint needs exactly one of "at" (a time) or "when" (a condition such as "p95_ms > 300 for 5s")')
    return build(
        ctx, path, Hint,
        text=table.get("text", read_str),
        at_s=table.get("at", read_time, incident_start_s, duration_s, default=None),
        when=table.get("when", _read_condition, names, default=None),
    )
