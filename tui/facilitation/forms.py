"""The facilitator's forms, as values: which fault to inject (kind, then target and parameters),
which fault to cancel. `tui.dialogs.action_dialog.ActionDialog` renders them."""

from __future__ import annotations

import math

from sim.model.facilitation import PARAM_LIMITS
from tui.dialogs.forms import ActionForm, FormField
from tui.facilitation import protocol as p
from tui.frame import format_clock

PARAM_DEFAULTS = {
    "factor": 5.0, "add_s": 0.0, "rate": 0.5, "period_s": 10.0, "width_s": 2.0, "retransmit_s": 1.0,
    "hit_ratio": 0.0, "mb_per_s": 5.0, "count": 1,
}
PARAM_LABELS = {
    "factor": "Factor", "add_s": "Add (s)", "rate": "Rate", "period_s": "Period (s)", "width_s": "Width (s)",
    "retransmit_s": "Retransmit (s)", "hit_ratio": "Hit ratio after", "mb_per_s": "Leak MB/s", "count": "Workers lost",
}
DEFAULT_DURATION_S = 60.0


class FactsError(ValueError):
    """The host's facts are not what this version expects."""


def kind_form(facts: dict) -> ActionForm:
    """Step one of an injection: the fault kind (only kinds with a target in this drill)."""
    kinds = tuple(str(k) for k in facts.get("kinds", {}))
    if not kinds:
        raise FactsError("the host has not sent the drill's fault targets yet")
    return ActionForm("fault.inject", "Inject a fault: kind",
                      "Any kind the engine knows that has a target in this drill.",
                      (FormField("kind", "Kind", "choice", kinds[0], choices=kinds),))


def fault_form(facts: dict, kind: str) -> ActionForm:
    """Step two: the target, the kind's parameters and how long it lasts."""
    targets = tuple(str(t) for t in facts.get("kinds", {}).get(kind, ()))
    params = tuple(str(k) for k in facts.get("params", {}).get(kind, ()))
    if not targets:
        raise FactsError(f"no target for {kind} in this drill")
    fields = [FormField("target", "Target", "choice", targets[0], choices=targets)]
    for name in params:
        if name not in PARAM_LIMITS:
            raise FactsError(f"unknown parameter {name!r}")
        lo, hi = PARAM_LIMITS[name]
        fields.append(FormField(name, PARAM_LABELS.get(name, name), "int" if name == "count" else "float",
                                f"{PARAM_DEFAULTS.get(name, lo):g}", minimum=lo, maximum=hi))
    fields.append(FormField("duration_s", "Lasts (s)", "float", f"{DEFAULT_DURATION_S:g}", minimum=0,
                            maximum=PARAM_LIMITS["duration_s"][1], note="0: until the end"))
    return ActionForm("fault.inject", f"Inject a fault: {kind}",
                      "It starts at the next tick; the trainee sees only its symptoms.", tuple(fields))


def inject_message(kind: str, values: dict) -> p.Inject:
    """The protocol message for a filled-in fault form."""
    duration = values.get("duration_s") or None
    params = tuple(sorted((k, v) for k, v in values.items() if k not in ("target", "duration_s")))
    return p.Inject(kind=kind, target=str(values["target"]), duration_s=duration, params=params)


def open_faults(facts: dict, t_s: float) -> list[dict]:
    """The faults still to come or active at t_s (the ones a cancel can end)."""
    faults = []
    for fault in facts.get("faults", ()):
        end = fault.get("end_s")
        if end is None or (isinstance(end, (int, float)) and end > t_s + 1e-9):
            faults.append(fault)
    return faults


def cancel_form(facts: dict, t_s: float) -> ActionForm:
    """Which fault to cancel: those active or still to come."""
    choices = tuple(fault_label(f) for f in open_faults(facts, t_s))
    if not choices:
        raise FactsError("no fault is active or still to come")
    return ActionForm("fault.cancel", "Cancel a fault", "An active fault ends now; one still to come never starts.",
                      (FormField("fault", "Fault", "choice", choices[0], choices=choices),))


def fault_label(fault: dict) -> str:
    """`0: slow on llm 00:10→end`."""
    end = fault.get("end_s")
    until = "end" if end is None or (isinstance(end, float) and math.isinf(end)) else format_clock(float(end))
    return f"{int(fault['index'])}: {fault['kind']} on {fault['target']} {format_clock(float(fault['at_s']))}→{until}"


def facts_text(facts: dict, t_s: float) -> str:
    """The hidden facts: the faults (state, injected or scripted), par's actions, the facilitator's moves."""
    try:
        lines = ["Faults (the trainee sees only symptoms):"]
        for fault in facts.get("faults", ()):
            end = fault.get("end_s")
            at = float(fault["at_s"])
            if at > t_s + 1e-9:
                state = "to come"
            elif end is not None and float(end) <= t_s + 1e-9:
                state = "over"
            else:
                state = "ACTIVE"
            origin = "injected" if fault.get("injected") else "scripted"
            params = " ".join(f"{k}={v:g}" for k, v in fault.get("params", {}).items() if isinstance(v, (int, float)))
            lines.append(f" {fault_label(fault)} {state} ({origin}) {params}".rstrip())
        lines.append("Par:")
        for action in facts.get("par", ()):
            args = " ".join(f"{k}={v}" for k, v in action.get("args", {}).items())
            lines.append(f" {format_clock(float(action['t_s']))} {action['name']} {args}".rstrip())
        if not facts.get("par"):
            lines.append(" (none)")
        moves = facts.get("moves", ())
        if moves:
            lines.append("Your moves:")
            lines += [f" {format_clock(float(m['t_s']))} {m['text']}" for m in moves[-8:]]
        return "\n".join(lines)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise FactsError(f"unreadable facts: {error}") from None
