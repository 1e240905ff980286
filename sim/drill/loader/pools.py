"""[pools.NAME]: connection pools onto a database dependency."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.names import Names
from sim.drill.loader.problems import Context, Invalid, build
from sim.drill.loader.tables import Table
from sim.drill.loader.values import read_duration, read_int, read_reference
from sim.model.spec import PoolSpec

_POOL_KEYS = ("database", "size", "acquire_timeout")


def read_pool(ctx: Context, name: str, path: str, raw: dict, names: Names) -> PoolSpec | Invalid:
    """One [pools.NAME] table; its database must be a dependency of kind "database"."""
    table = Table(ctx, path, raw, _POOL_KEYS)
    table.check_keys()
    database = table.get("database", read_reference, names.dependencies(), "a dependency of this drill")
    if isinstance(database, str) and names.dependency_kinds.get(database) == "service":
        database = ctx.report(join_path(path, "database"), f'"{database}" is a dependency of kind "service"; a pool needs kind "database"')
    return build(
        ctx, path, PoolSpec,
        name=name,
        database=database,
        size=table.get("size", read_int, low=1, high=10**6),
        acquire_timeout_s=table.get("acquire_timeout", read_duration, default=None),
    )
