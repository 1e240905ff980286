"""Feature flags: expensive features the operator can turn off, at the product cost the drill declares."""

from __future__ import annotations

from sim.model.spec import FeatureFlag, ModelSpec


class Flags:
    """Which of the drill's features are off (all are on at the start)."""

    def __init__(self, model: ModelSpec):
        self._flags = {f.name: f for f in model.flags}
        self._off: set[str] = set()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._flags)

    def spec(self, name: str) -> FeatureFlag | None:
        return self._flags.get(name)

    def is_off(self, name: str) -> bool:
        """Whether feature `name` is turned off ("" names no feature: never off)."""
        return name in self._off

    def set(self, name: str, enabled: bool) -> None:
        if enabled:
            self._off.discard(name)
        else:
            self._off.add(name)
