"""Caches in front of the plans: hit ratios that a flush drops and misses rewarm."""

from __future__ import annotations

import numpy as np

from sim.model.observe import CacheGauge
from sim.model.spec import CacheSpec


class Caches:
    """Each cache's current hit ratio and this tick's misses."""

    def __init__(self, caches: tuple[CacheSpec, ...]):
        self._caches = caches
        self._cache_index = {c.name: i for i, c in enumerate(caches)}
        self._cache_hit = np.array([c.hit_ratio for c in caches], dtype=float)
        self._cache_misses = np.zeros(len(caches))
        # Operator switches (cache.coalesce, cache.serve_stale), per cache.
        self._coalesce = [False] * len(caches)
        self._serve_stale = [False] * len(caches)

    def __len__(self) -> int:
        return len(self._caches)

    def index(self, name: str) -> int:
        return self._cache_index[name]

    def find(self, name: str) -> int | None:
        """The index of cache `name` (None: no such cache)."""
        return self._cache_index.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._cache_index)

    def spec(self, c: int) -> CacheSpec:
        return self._caches[c]

    def coalescing(self, c: int) -> bool:
        return self._coalesce[c]

    def serving_stale(self, c: int) -> bool:
        return self._serve_stale[c]

    def set_coalescing(self, c: int, enabled: bool) -> None:
        """Request coalescing: a miss for a key already being fetched waits for that fetch."""
        self._coalesce[c] = enabled

    def set_serve_stale(self, c: int, enabled: bool) -> None:
        """Serve-stale: a miss with an expired copy at hand is answered with it (degraded)."""
        self._serve_stale[c] = enabled

    def hit_ratio(self, c: int) -> float:
        """Cache c's hit ratio now (a numpy float: draws compare against it)."""
        return self._cache_hit[c]

    def add_misses(self, misses: np.ndarray) -> None:
        """Misses per cache, counted when the segments that drew them start."""
        self._cache_misses += misses

    def flush(self, name: str, hit_ratio: float) -> None:
        """A cache_flush fault: the hit ratio drops to what is left."""
        self._cache_hit[self._cache_index[name]] = hit_ratio

    def rewarm(self) -> None:
        """Cache rewarming: each miss moves the hit ratio 1/warm_requests of the way back."""
        for i, c in enumerate(self._caches):
            m = self._cache_misses[i]
            if m:
                self._cache_hit[i] += (c.hit_ratio - self._cache_hit[i]) * (1 - (1 - 1 / c.warm_requests) ** m)
                self._cache_misses[i] = 0

    def gauges(self) -> tuple[CacheGauge, ...]:
        return tuple(CacheGauge(c.name, float(self._cache_hit[i]), c.hit_ratio) for i, c in enumerate(self._caches))
