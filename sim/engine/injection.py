"""The facilitator's actions: inject a fault, cancel one, send a message, add a note.

They run through `sim.engine.actions.apply_action` like any operator action, so they
sit in the run's action log at the tick they took hold and a replay applies them at
the same tick. `check_injection` is the validation alone, pure, for a host that
refuses a bad request before it reaches the run.
"""

from __future__ import annotations

import math

import attrs

from sim.model.facilitation import (
    FAULT_ARGS,
    FAULT_CANCEL,
    FAULT_INJECT,
    MESSAGE,
    NOTE,
    PARAM_LIMITS,
    TEXT_MAX_CHARS,
    fault_targets,
)
from sim.model.spec import Fault, ModelSpec


class InjectionRefused(ValueError):
    """A facilitator action that cannot apply; the message says why."""


def _param(args: dict, key: str):
    value = args[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InjectionRefused(f"{key} must be a finite number, got {value!r}")
    lo, hi = PARAM_LIMITS[key]
    if not lo <= value <= hi:
        raise InjectionRefused(f"{key} must be from {lo:g} to {hi:g}, got {value:g}")
    if key == "count":
        if value != int(value):
            raise InjectionRefused(f"count must be a whole number, got {value!r}")
        value = int(value)
    return value


def fault_of(model: ModelSpec, args: dict, t0: float) -> Fault:
    """The fault a fault.inject action with `args` starts at t0 (InjectionRefused when it is not valid)."""
    kind = args.get("kind")
    if kind not in FAULT_ARGS:
        raise InjectionRefused(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_ARGS)})")
    targets = fault_targets(model, kind)
    target = args.get("target")
    if target not in targets:
        raise InjectionRefused(f"a {kind} fault cannot target {target!r} here (known: {', '.join(targets) or 'none'})")
    allowed = FAULT_ARGS[kind]
    unknown = sorted(set(args) - {"kind", "target", "duration_s", *allowed})
    if unknown:
        raise InjectionRefused(f"{kind} takes no {', '.join(unknown)} (it takes {', '.join(allowed) or 'no parameters'})")
    fields = {key: _param(args, key) for key in allowed if args.get(key) is not None}
    if kind == "slow" and "factor" not in fields and "add_s" not in fields:
        raise InjectionRefused("a slow fault needs factor and/or add_s")
    if kind in ("errors", "packet_loss") and "rate" not in fields:
        raise InjectionRefused(f"a {kind} fault needs rate")
    if kind == "latency_pulses" and not {"period_s", "width_s", "add_s"} <= set(fields):
        raise InjectionRefused("a latency_pulses fault needs period_s, width_s and add_s")
    if kind == "latency_pulses" and fields["width_s"] > fields["period_s"]:
        raise InjectionRefused("width_s must not exceed period_s")
    if kind in ("traffic", "memory_leak", "lose_workers") and not set(allowed) <= set(fields):
        raise InjectionRefused(f"a {kind} fault needs {', '.join(allowed)}")
    duration = args.get("duration_s")
    if duration is not None:
        duration = _param(args, "duration_s")
    return Fault(at_s=t0, target=target, kind=kind, duration_s=duration, **fields)


def _text(args: dict) -> str:
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InjectionRefused("needs text")
    if len(text) > TEXT_MAX_CHARS:
        raise InjectionRefused(f"text is {len(text)} characters, at most {TEXT_MAX_CHARS}")
    if any(ord(ch) < 32 for ch in text):
        raise InjectionRefused("text must be one line of printable characters")
    return text.strip()


def _cancellable(timeline: tuple[Fault, ...], args: dict, t0: float) -> int:
    index = args.get("fault")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(timeline):
        raise InjectionRefused(f"fault must be the index of one of the run's {len(timeline)} faults, got {index!r}")
    if timeline[index].end_s <= t0 + 1e-9:
        raise InjectionRefused(f"fault {index} is already over")
    return index


def check_injection(model: ModelSpec, timeline: tuple[Fault, ...], name: str, args: dict, t0: float) -> str | None:
    """Why a facilitator action would be refused at t0 (None: it would apply). Never raises."""
    try:
        if name == FAULT_INJECT:
            fault_of(model, args, t0)
        elif name == FAULT_CANCEL:
            _cancellable(timeline, args, t0)
        elif name in (MESSAGE, NOTE):
            _text(args)
        else:
            return f"unknown facilitator action {name!r}"
    except InjectionRefused as refusal:
        return str(refusal)
    except (TypeError, ValueError) as error:  # a Fault validator: still a refusal, never a crash
        return str(error)
    return None


def _inject(sim, action, t0):
    try:
        fault = fault_of(sim.model, action.kwargs, t0)
    except (TypeError, ValueError) as error:
        raise InjectionRefused(str(error)) from None
    sim.faults.inject(fault)
    if fault.kind == "memory_leak":
        sim.workers.model_memory()
    until = "until the end" if fault.duration_s is None else f"for {fault.duration_s:g}s"
    return f"facilitator injects {fault.kind} on {fault.target} {until}"


def _cancel(sim, action, t0):
    index = _cancellable(sim.faults.timeline, action.kwargs, t0)
    fault = sim.faults.timeline[index]
    sim.faults.cancel(index, t0)
    return f"facilitator cancels fault {index} ({fault.kind} on {fault.target})"


def _message(sim, action, t0):
    return f"facilitator message: {_text(action.kwargs)}"


def _note(sim, action, t0):
    return f"facilitator note: {_text(action.kwargs)}"


FACILITATOR_HANDLERS = {FAULT_INJECT: _inject, FAULT_CANCEL: _cancel, MESSAGE: _message, NOTE: _note}
"""Registered in `sim.engine.actions.HANDLERS`; each returns the line the event log shows."""


def cancelled(fault: Fault, t0: float) -> Fault:
    """The fault ended at t0: one not yet started never starts."""
    return attrs.evolve(fault, duration_s=max(t0 - fault.at_s, 0.0))
