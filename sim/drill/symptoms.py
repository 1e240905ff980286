"""Turns scripted faults into what an operator would actually notice.

The engine announces a fault the tick it starts; a trainee in a real incident
only sees its symptoms. `SymptomWatch` holds each fault back until the gauges
show evidence of it and then words it as a symptom, without naming the injected
cause; every number in the words is read from the same gauges, so a line is true
when it shows. Once a reported fault is over and the gauges show it, its end is
announced too ("postgres: latency back to normal").
"""

from __future__ import annotations

import attrs

from sim.model.observe import Gauges
from sim.model.spec import Fault

GIVE_UP_S = 15.0
"""A memory leak too slow to pass the evidence mark by then is reported anyway, with the memory it shows."""
SLOWER_THAN_NORMAL = 1.5
"""A dependency's p95 this many times its normal p95 is visibly slow (and back to normal below it)."""
FAILING_RATIO = 0.05
"""A dependency failing this share of its calls is visibly failing (and recovered below half of it)."""
DEPENDENCY_KINDS = frozenset({"slow", "latency_pulses", "packet_loss", "blackhole"})
FAILURE_KINDS = frozenset({"errors", "down"})


@attrs.frozen
class Baseline:
    """What normal looked like when the fault started."""

    p95_ms: float
    error_ratio: float
    arrival_rps: float
    memory_mb: float
    dependency_active: int


@attrs.frozen
class Symptom:
    """A visible symptom to log."""

    t_s: float
    text: str
    level: str
    fault_index: int = -1
    """Which of the model's faults it shows (-1: a fault given without its index)."""
    tag: str = "SYMPTOM"
    """How the log tags it: SYMPTOM when a fault shows, RECOVERED when its end does."""


def error_ratio(gauges: Gauges) -> float:
    """Failed attempts per arrival over the last second."""
    return gauges.error_rps / gauges.arrival_rps if gauges.arrival_rps > 0 else 0.0


def _dependency_active(gauges: Gauges, name: str) -> int:
    return next((d.active for d in gauges.dependencies if d.name == name), 0)


def _dependency(gauges: Gauges, name: str):
    return next((d for d in gauges.dependencies if d.name == name), None)


def _format_ms(value_ms: float) -> str:
    """The app's one latency style: 85ms under a second, 1.2s from there."""
    return f"{value_ms / 1000:.1f}s" if value_ms >= 1000 else f"{value_ms:.0f}ms"


def _slowdown(gauges: Gauges, name: str) -> float:
    """The dependency's p95 over its normal p95 (0 with no reading)."""
    dep = _dependency(gauges, name)
    if dep is None or not dep.p95_ms == dep.p95_ms or not dep.normal_p95_ms > 0:
        return 0.0
    return dep.p95_ms / dep.normal_p95_ms


def _breaker_failure_rate(gauges: Gauges, name: str) -> float:
    return next((b.failure_rate for b in gauges.breakers if b.dependency == name), 0.0)


def _p95(gauges: Gauges) -> float:
    return 0.0 if gauges.p95_ms != gauges.p95_ms else gauges.p95_ms  # NaN before any success


@attrs.define
class _Watched:
    fault: Fault
    since_s: float
    baseline: Baseline
    index: int = -1


@attrs.define
class SymptomWatch:
    """Follows started faults until each shows a symptom."""

    watching: list[_Watched] = attrs.Factory(list)
    started: set[int] = attrs.Factory(set)
    """Indexes of the faults already being watched (or reported)."""
    ending: list[_Watched] = attrs.Factory(list)
    """Reported faults whose end is not announced yet."""

    def sample(self, faults: tuple[Fault, ...], gauges: Gauges) -> list[Symptom]:
        """One gauge sample: watch the faults that began by now, report what became visible, and
        the end of reported faults once it shows."""
        for index, fault in enumerate(faults):
            if index not in self.started and fault.at_s <= gauges.t_s + 1e-9:
                self.started.add(index)
                self.fault_started(fault, gauges, index)
        return self.check(gauges) + self.check_ends(gauges)

    def check_ends(self, gauges: Gauges) -> list[Symptom]:
        """Announcements of reported faults that are over and whose gauges are back to normal."""
        found = []
        for watched in list(self.ending):
            fault = watched.fault
            if gauges.t_s < fault.end_s - 1e-9:
                continue
            text = self._recovered(fault, watched.baseline, gauges)
            if text is not None:
                found.append(Symptom(gauges.t_s, text, "ok", watched.index, tag="RECOVERED"))
                self.ending.remove(watched)
        return found

    @staticmethod
    def _recovered(fault: Fault, base: Baseline, gauges: Gauges) -> str | None:
        """Words for a fault's end once the gauges show it (None: not visible yet)."""
        kind, target = fault.kind, fault.target
        if kind in DEPENDENCY_KINDS:
            slowdown = _slowdown(gauges, target)
            if slowdown and slowdown < SLOWER_THAN_NORMAL:
                return f"{target}: latency back to normal (p95 {_format_ms(_dependency(gauges, target).p95_ms)})"
            return None
        if kind in FAILURE_KINDS:
            dep = _dependency(gauges, target)
            if dep is not None and dep.calls_per_s > 0 and dep.error_ratio < FAILING_RATIO / 2:
                return f"{target}: calls succeeding again ({dep.error_ratio:.0%} failing)"
            return None
        if kind == "traffic":
            if gauges.arrival_rps <= 1.1 * base.arrival_rps + 1.0:
                return f"traffic back to normal ({gauges.arrival_rps:.0f} req/s)"
            return None
        if kind == "cache_flush":
            cache = next((c for c in gauges.caches if c.name == target), None)
            if cache is not None and not cache.warming:
                return f"cache {target}: warm again (hit ratio {cache.hit_ratio:.0%})"
            return None
        if kind == "lose_workers":
            if gauges.live_workers >= gauges.target_workers:
                return f"workers back: {gauges.live_workers} of {gauges.target_workers} up"
            return None
        return None

    def fault_started(self, fault: Fault, gauges: Gauges, index: int = -1) -> None:
        """Remember a fault and what normal looked like at its start."""
        baseline = Baseline(
            p95_ms=_p95(gauges),
            error_ratio=error_ratio(gauges),
            arrival_rps=gauges.arrival_rps,
            memory_mb=gauges.memory_mb,
            dependency_active=_dependency_active(gauges, fault.target),
        )
        self.watching.append(_Watched(fault, gauges.t_s, baseline, index))

    def check(self, gauges: Gauges) -> list[Symptom]:
        """Symptoms that became visible by this snapshot (each fault reported once)."""
        found = []
        for watched in list(self.watching):
            text = self._evidence(watched.fault, watched.baseline, gauges)
            if text is None and watched.fault.kind == "memory_leak" and gauges.t_s - watched.since_s >= GIVE_UP_S:
                text = self._describe(watched.fault, gauges)
            if text is not None:
                found.append(Symptom(gauges.t_s, text, "warn", watched.index))
                self.watching.remove(watched)
                if watched.fault.end_s < float("inf"):
                    self.ending.append(watched)
        return found

    def _evidence(self, fault: Fault, base: Baseline, gauges: Gauges) -> str | None:
        kind, target = fault.kind, fault.target
        if kind in DEPENDENCY_KINDS or kind in FAILURE_KINDS:
            # The dependency's own gauge: what its dashboard shows, not the service's totals.
            return self._describe(fault, gauges) if self._dependency_trouble(target, gauges) else None
        if kind == "traffic":
            return self._describe(fault, gauges) if gauges.arrival_rps > 1.2 * base.arrival_rps + 1.0 else None
        if kind == "memory_leak":
            grown = gauges.memory_mb > base.memory_mb + 0.05 * gauges.memory_limit_mb
            return self._describe(fault, gauges) if grown else None
        if kind == "cache_flush":
            # Shows once the cache gauge does (the sample at the fault's start still reads the warm cache).
            cache = next((c for c in gauges.caches if c.name == target), None)
            return self._describe(fault, gauges) if cache is not None and cache.warming else None
        if kind == "lose_workers":
            return self._describe(fault, gauges) if gauges.live_workers < gauges.target_workers else None
        return self._describe(fault, gauges)

    @staticmethod
    def _dependency_trouble(target: str, gauges: Gauges) -> bool:
        dep = _dependency(gauges, target)
        if dep is None:
            return False
        failing = dep.calls_per_s > 0 and dep.error_ratio >= FAILING_RATIO
        return failing or _slowdown(gauges, target) >= SLOWER_THAN_NORMAL or _breaker_failure_rate(gauges, target) > 0.2

    @staticmethod
    def _describe(fault: Fault, gauges: Gauges) -> str:
        """Words for what is visible, not for the injected cause: each number read from the gauges."""
        kind, target = fault.kind, fault.target
        dep = _dependency(gauges, target)
        if dep is not None and (kind in DEPENDENCY_KINDS or kind in FAILURE_KINDS):
            failing = dep.calls_per_s > 0 and dep.error_ratio >= FAILING_RATIO
            breaker = _breaker_failure_rate(gauges, target)
            parts = []
            if failing:
                parts.append(f"{dep.error_ratio:.0%} of calls failing")
            elif breaker > 0.2:
                parts.append(f"its breaker sees {breaker:.0%} failing")
            if _slowdown(gauges, target) >= SLOWER_THAN_NORMAL:
                parts.append(f"p95 {_format_ms(dep.p95_ms)}, normally {_format_ms(dep.normal_p95_ms)}")
            if dep.active:
                parts.append(f"{dep.active} in flight")
            what = "calls failing" if failing or breaker > 0.2 else "calls slower than usual"
            return f"{target}: {what} ({'; '.join(parts)})"
        if kind == "traffic":
            return f"traffic rising ({gauges.arrival_rps:.0f} req/s)"
        if kind == "memory_leak":
            return f"worker memory climbing ({gauges.memory_mb:.0f} of {gauges.memory_limit_mb:.0f} MB)"
        if kind == "cache_flush":
            ratio = next((c.hit_ratio for c in gauges.caches if c.name == target), 0.0)
            return f"cache {target}: hit ratio down to {ratio:.0%}"
        if kind == "lose_workers":
            return f"workers lost: {gauges.live_workers} of {gauges.target_workers} up"
        return f"{target}: something changed ({kind})"
