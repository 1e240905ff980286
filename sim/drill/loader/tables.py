"""Reading TOML tables: a table's fields by name (unknown keys reported with a
did-you-mean), arrays of tables ([[faults]]) and named tables ([pools.NAME])."""

from __future__ import annotations

import difflib

from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import INVALID, Context, describe, suggest
from sim.drill.loader.values import NAME_PATTERN

_REQUIRED = object()


class Table:
    """One TOML table being read: fields are taken by name; leftovers are unknown keys."""

    def __init__(self, ctx: Context, path: str, raw: dict, keys):
        self.ctx = ctx
        self.path = path
        self.raw = raw
        self.keys = tuple(keys)

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, reader, *args, default=_REQUIRED, **kwargs):
        """The value of `key` read with `reader`, the default, or INVALID (reported)."""
        key_path = join_path(self.path, key)
        if key not in self.raw:
            if default is _REQUIRED:
                unknown = [other for other in self.raw if other not in self.keys]
                if difflib.get_close_matches(key, unknown, n=1, cutoff=0.6):
                    return INVALID  # reported as the misspelt key, with "did you mean"
                return self.ctx.report(key_path, f'required key "{key}" is missing')
            return default
        if self.raw[key] is INVALID:
            return INVALID
        return reader(self.ctx, key_path, self.raw[key], *args, **kwargs)

    def check_keys(self, wrong_place: dict[str, str] | None = None) -> None:
        """Report keys this table does not know, with a did-you-mean."""
        for key in self.raw:
            if key in self.keys:
                continue
            key_path = join_path(self.path, key)
            if wrong_place and key in wrong_place:
                self.ctx.report(key_path, wrong_place[key])
            else:
                self.ctx.report(key_path, f'unknown key "{key}"{suggest(key, self.keys)}')


def open_table(ctx: Context, path: str, raw, keys, *, required: bool = True) -> Table | None:
    """A Table over raw if it is a table; reports and returns None otherwise."""
    if raw is INVALID:
        return None
    if raw is None:
        if required and "." in path:
            ctx.report(path, f'required key "{path.rsplit(".", 1)[1]}" is missing')
        elif required:
            ctx.report(path, f"required table [{path}] is missing")
        return None
    if not isinstance(raw, dict):
        ctx.report(path, f"expected a table, got {describe(raw)}")
        return None
    return Table(ctx, path, raw, keys)


def array_of_tables(ctx: Context, path: str, raw) -> list[tuple[str, dict | None]]:
    """(path, table) for each entry of an array of tables. Other entries are reported
    and come back with table None, so the model is never built without them."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.report(path, f"expected an array of tables ([[{path}]]), got {describe(raw)}")
        return [(path, None)]
    entries = []
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            if item is not INVALID:
                ctx.report(item_path, f"expected a table, got {describe(item)}")
            item = None
        entries.append((item_path, item))
    return entries


def named_tables(ctx: Context, section: str, raw) -> list[tuple[str, str, dict | None]]:
    """(name, path, table) for each [section.NAME] table. A bad name or shape is
    reported and comes back with table None, so the model is never built without it."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        ctx.report(section, f"expected tables like [{section}.NAME], got {describe(raw)}")
        return [(section, section, None)]
    entries = []
    for name, body in raw.items():
        path = join_path(section, name)
        if not NAME_PATTERN.fullmatch(name):
            ctx.report(path, f"the name {describe(name)} must be letters, digits, '-' and '_'")
            body = None
        elif not isinstance(body, dict):
            ctx.report(path, f"expected a table [{path}], got {describe(body)}")
            body = None
        entries.append((name, path, body))
    return entries


def read_each(entries, reader, *extra) -> tuple:
    """reader(*entry, *extra) for each entry; INVALID for entries whose table is None."""
    return tuple(INVALID if entry[-1] is None else reader(*entry, *extra) for entry in entries)
