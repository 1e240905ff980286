"""The names a drill defines (dependencies, pools, caches, classes), collected
before the sections are read so that references between sections can be checked."""

from __future__ import annotations

import attrs

from sim.drill.loader.problems import Context


@attrs.frozen
class Names:
    """The names a drill defines, for checking references between sections."""

    dependency_kinds: dict[str, str | None]
    """Dependency name -> "database" / "service" (None when its kind is invalid)."""
    pools: tuple[str, ...]
    caches: tuple[str, ...]
    classes: tuple[str, ...]
    dependencies_malformed: bool = False
    flags: tuple[str, ...] = ()
    """The feature flags ([flags.NAME])."""

    def dependencies(self, kind: str | None = None) -> tuple[str, ...]:
        if self.dependencies_malformed:
            return _ANY_NAME
        return tuple(name for name, dep_kind in self.dependency_kinds.items() if kind is None or dep_kind == kind)


class _AnyName(tuple):
    """The names of a malformed section: every reference to it is accepted, so one
    mistake there is reported once, not again at every use."""

    def __contains__(self, item) -> bool:
        return True


_ANY_NAME = _AnyName()


def collect_names(ctx: Context, document: dict) -> Names:
    """The names each section defines, from the raw document; a class defined twice is reported here."""
    def table_names(section: str) -> tuple[str, ...]:
        raw = document.get(section)
        if raw is None:
            return ()
        return tuple(name for name in raw if isinstance(name, str)) if isinstance(raw, dict) else _ANY_NAME

    dependencies = document.get("dependencies")
    kinds: dict[str, str | None] = {}
    if isinstance(dependencies, dict):
        for name, body in dependencies.items():
            kind = body.get("kind") if isinstance(body, dict) else None
            kinds[name] = kind if kind in ("database", "service") else None
    classes = document.get("classes")
    class_names = []
    if isinstance(classes, list):
        for index, entry in enumerate(classes):
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                if name in class_names:
                    ctx.report(f"classes[{index}].name", f'class "{name}" is defined twice')
                class_names.append(name)
    return Names(
        dependency_kinds=kinds, pools=table_names("pools"), caches=table_names("caches"),
        classes=tuple(class_names) if classes is None or isinstance(classes, list) else _ANY_NAME,
        dependencies_malformed=dependencies is not None and not isinstance(dependencies, dict),
        flags=table_names("flags"),
    )
