"""What a facilitator may do to a live run, as values: action names, fault arguments, limits.

A facilitated drill records the facilitator's moves in the run's action log like
the trainee's mitigations (so a save replays them exactly), under names of their
own: scoring counts only `sim.model.spec.ACTION_NAMES` as the trainee's actions,
and a drill's par may not use these.
"""

from __future__ import annotations

FAULT_INJECT = "fault.inject"
FAULT_CANCEL = "fault.cancel"
MESSAGE = "facilitator.message"
NOTE = "facilitator.note"

FACILITATOR_ACTION_NAMES = (FAULT_INJECT, FAULT_CANCEL, MESSAGE, NOTE)
"""fault.inject(kind, target, duration_s?, <the kind's parameters>), fault.cancel(fault),
facilitator.message(text), facilitator.note(text)."""

FAULT_ARGS = {
    "slow": ("factor", "add_s"),
    "errors": ("rate",),
    "down": (),
    "blackhole": (),
    "latency_pulses": ("period_s", "width_s", "add_s"),
    "packet_loss": ("rate", "retransmit_s"),
    "cache_flush": ("hit_ratio",),
    "traffic": ("factor",),
    "memory_leak": ("mb_per_s",),
    "lose_workers": ("count",),
}
"""Each fault kind's parameters, named as the fields of `sim.model.spec.Fault` (the engine's names)."""

DEPENDENCY_FAULT_KINDS = ("slow", "errors", "down", "blackhole", "latency_pulses", "packet_loss")

PARAM_LIMITS = {
    "factor": (0.0, 1000.0),
    "add_s": (0.0, 3600.0),
    "rate": (0.0, 1.0),
    "period_s": (0.001, 3600.0),
    "width_s": (0.0, 3600.0),
    "retransmit_s": (0.0, 3600.0),
    "hit_ratio": (0.0, 1.0),
    "mb_per_s": (0.0, 1e6),
    "count": (1, 10_000),
    "duration_s": (0.001, 7 * 86400.0),
}
"""The range of each injected fault parameter (inclusive), checked before the fault exists."""

TEXT_MAX_CHARS = 280
"""A facilitator's message or note: a sentence or two, not a document."""


def fault_targets(model, kind: str) -> tuple[str, ...]:
    """The names a fault of `kind` may target in `model` (a ModelSpec)."""
    if kind in DEPENDENCY_FAULT_KINDS:
        return tuple(d.name for d in model.dependencies)
    if kind == "cache_flush":
        return tuple(c.name for c in model.caches)
    if kind == "traffic":
        return tuple(c.name for c in model.classes)
    if kind in FAULT_ARGS:
        return ("service",)
    return ()


def is_facilitator_action(name: str) -> bool:
    """True for the facilitator's moves (not the trainee's)."""
    return name in FACILITATOR_ACTION_NAMES


def injected_faults(actions) -> tuple:
    """The actions of a run that change its faults: do nothing and par of a facilitated run replay them."""
    return tuple(a for a in actions if a.name in (FAULT_INJECT, FAULT_CANCEL))
