"""Turns scripted faults into what an operator would actually notice.

The engine announces a fault the tick it starts; a trainee in a real incident
only sees its symptoms. `SymptomWatch` holds each fault back until the gauges
show evidence of it (or `GIVE_UP_S` has passed) and then words it as a symptom,
without naming the injected cause.
"""

from __future__ import annotations

import attrs

from sim.model.observe import Gauges
from sim.model.spec import Fault

GIVE_UP_S = 15.0
"""A fault with no visible evidence by then is reported anyway (it may be subtle)."""
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


def error_ratio(gauges: Gauges) -> float:
    """Failed attempts per arrival over the last second."""
    return gauges.error_rps / gauges.arrival_rps if gauges.arrival_rps > 0 else 0.0


def _dependency_active(gauges: Gauges, name: str) -> int:
    return next((d.active for d in gauges.dependencies if d.name == name), 0)


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

    def sample(self, faults: tuple[Fault, ...], gauges: Gauges) -> list[Symptom]:
        """One gauge sample: watch the faults that began by now, report what became visible."""
        for index, fault in enumerate(faults):
            if index not in self.started and fault.at_s <= gauges.t_s + 1e-9:
                self.started.add(index)
                self.fault_started(fault, gauges, index)
        return self.check(gauges)

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
            if text is None and gauges.t_s - watched.since_s >= GIVE_UP_S:
                text = self._describe(watched.fault, gauges)
            if text is not None:
                found.append(Symptom(gauges.t_s, text, "warn", watched.index))
                self.watching.remove(watched)
        return found

    def _evidence(self, fault: Fault, base: Baseline, gauges: Gauges) -> str | None:
        kind, target = fault.kind, fault.target
        if kind in DEPENDENCY_KINDS:
            active = _dependency_active(gauges, target)
            slower = _p95(gauges) > 1.5 * base.p95_ms + 5.0
            piling_up = active > 1.5 * base.dependency_active + 2
            failing = _breaker_failure_rate(gauges, target) > 0.2 or error_ratio(gauges) > base.error_ratio + 0.02
            return self._describe(fault, gauges) if (slower or piling_up or failing) else None
        if kind in FAILURE_KINDS:
            failing = _breaker_failure_rate(gauges, target) > 0.1 or error_ratio(gauges) > base.error_ratio + 0.01
            return self._describe(fault, gauges) if failing else None
        if kind == "traffic":
            return self._describe(fault, gauges) if gauges.arrival_rps > 1.2 * base.arrival_rps + 1.0 else None
        if kind == "memory_leak":
            grown = gauges.memory_mb > base.memory_mb + 0.05 * gauges.memory_limit_mb
            return self._describe(fault, gauges) if grown else None
        # cache_flush and lose_workers show at once on the cache and worker gauges.
        return self._describe(fault, gauges)

    @staticmethod
    def _describe(fault: Fault, gauges: Gauges) -> str:
        """Words for what is visible, not for the injected cause."""
        kind, target = fault.kind, fault.target
        if kind in DEPENDENCY_KINDS:
            return f"{target}: calls slower than usual ({_dependency_active(gauges, target)} in progress)"
        if kind in FAILURE_KINDS:
            return f"{target}: calls failing ({_breaker_failure_rate(gauges, target):.0%} of recent calls)"
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
