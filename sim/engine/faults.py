"""Scripted faults: each starts and ends on its tick boundary and sets its effect on the component it hits."""

from __future__ import annotations

import math

from sim.engine.caches import Caches
from sim.engine.clock import Clock
from sim.engine.codes import INF, R_WORKER_LOST
from sim.engine.dependencies import Dependencies
from sim.engine.events import EventLog
from sim.engine.ingress import Ingress
from sim.engine.injection import cancelled
from sim.engine.slots import Slots
from sim.engine.workers import Workers
from sim.model.spec import Fault, ModelSpec


class Faults:
    """The drill's fault timeline: edges log events and act once; effects are recomputed when one changes."""

    def __init__(self, model: ModelSpec, clock: Clock, deps: Dependencies, ingress: Ingress, caches: Caches,
                 slots: Slots, workers: Workers, events: EventLog):
        self._faults = list(model.faults)
        """The drill's faults, then any a facilitator injected (in the order they were)."""
        self._class_index = {c.name: i for i, c in enumerate(model.classes)}
        self._clock = clock
        self._deps = deps
        self._ingress = ingress
        self._caches = caches
        self._slots = slots
        self._workers = workers
        self._events = events
        self._fault_active = [False] * len(model.faults)
        # When each fault's deploy was rolled back (inf: never): a rollback ends the fault early.
        self._rolled_back_at = [float("inf")] * len(model.faults)

    @property
    def timeline(self) -> tuple[Fault, ...]:
        """Every fault of the run so far: the drill's, then the injected ones."""
        return tuple(self._faults)

    def inject(self, fault: Fault) -> None:
        """Add a fault to the timeline (a facilitator's); it starts at its at_s like any other."""
        self._faults.append(fault)
        self._fault_active.append(False)
        self._rolled_back_at.append(float("inf"))

    def cancel(self, index: int, t0: float) -> None:
        """End fault `index` at t0 (one still to come never starts); the next update sees the edge."""
        self._faults[index] = cancelled(self._faults[index], t0)

    def update(self, t0: float) -> None:
        """Faults start and end at t0; their effects hold for the tick."""
        changed = False
        for i, f in enumerate(self._faults):
            active = f.at_s <= t0 + 1e-9 and t0 < min(f.end_s, self._rolled_back_at[i]) - 1e-9
            if active != self._fault_active[i]:
                self._fault_active[i] = active
                changed = True
                self._fault_edge(f, active, t0, min(f.end_s, self._rolled_back_at[i]))
        if changed or t0 == 0:
            self._recompute_fault_effects()
        self._workers.leak(self._clock.dt_s)

    def deploys_out(self, t0: float) -> tuple[str, ...]:
        """The deploys that have gone out by t0 and caused a fault not yet rolled back, latest first."""
        out = [(f.at_s, f.deploy) for i, f in enumerate(self._faults)
               if f.deploy and f.at_s <= t0 + 1e-9 and math.isinf(self._rolled_back_at[i])]
        return tuple(dict.fromkeys(name for _, name in sorted(out, reverse=True)))

    def has_deploys(self) -> bool:
        """Whether any fault of the drill is caused by a deploy."""
        return any(f.deploy for f in self._faults)

    def roll_back(self, deploy: str, t0: float) -> None:
        """The previous version is serving again: every fault `deploy` caused ends at t0."""
        for i, f in enumerate(self._faults):
            if f.deploy == deploy:
                self._rolled_back_at[i] = min(self._rolled_back_at[i], t0)

    def _fault_edge(self, f: Fault, starting: bool, t0: float, end_s: float) -> None:
        word = "starts" if starting else "ends"
        if starting and f.deploy:
            # A deploy is something the on-call sees in the deploy log, unlike the fault it causes.
            self._events.add(t0, "deploy", f"deploy {f.deploy} rolled out", f.deploy)
        self._events.add(t0, "fault_start" if starting else "fault_end", f"fault {f.kind} on {f.target} {word}", f.target)
        if starting and f.kind == "cache_flush":
            self._caches.flush(f.target, f.hit_ratio)
        if f.kind == "lose_workers":
            if starting:
                for w in self._slots.newest_up(f.count):
                    self._workers.kill(w, t0, R_WORKER_LOST, INF if f.duration_s is None else f.end_s, "lost")
            else:
                # end_s: the scripted end, or the rollback that ended it sooner.
                self._slots.bring_back_at(end_s, t0)

    def _recompute_fault_effects(self) -> None:
        self._deps.clear_fault_effects()
        self._ingress.clear_traffic_factors()
        leak_mb_per_s = 0.0
        for active, f in zip(self._fault_active, self._faults):
            if not active:
                continue
            if self._deps.index(f.target) is not None:
                self._deps.add_fault_effect(f)
            elif f.kind == "traffic" and f.target in self._class_index:
                self._ingress.scale_traffic(self._class_index[f.target], f.factor)
            elif f.kind == "memory_leak":
                leak_mb_per_s += f.mb_per_s
        self._workers.set_leak(leak_mb_per_s)
