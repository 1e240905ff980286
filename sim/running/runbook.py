"""Runbooks: rules evaluated on the live gauges every tick, for automated remediation.

    [[rules]]
    name = "shed when the queue explodes"   # optional, for the report
    when = "queue_depth > 200 for 10s"       # the condition language of sim.drill.conditions
    do = "shed.set"                          # an action name (sim.model.spec.ACTION_NAMES)
    fraction = 0.3                           # the action's arguments, as in an actions file
    once = true                              # optional (default true): fire at most once
    cooldown = "30s"                         # optional, with once = false: the least time between firings

A rule fires on the tick its condition has held for its `for` duration. With
`once = false` it fires again each time the condition holds anew (it must stop
holding in between), no sooner than `cooldown` after its previous firing.
Actions it fires are applied at the next tick boundary, like an operator's.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from sim.running.actions_file import (
    ProblemSink,
    check_references,
    describe_value,
    read_action_args,
    read_action_name,
    read_table_array,
    suggest_name,
)
from sim.drill.conditions import Condition, ConditionError, ConditionTracker, parse_condition
from sim.drill.drill import Drill
from sim.model.errors import InputError
from sim.model.observe import Gauges
from sim.model.spec import Action
from sim.model.units import UnitError, parse_duration_s

_RULE_KEYS = ("name", "when", "do", "once", "cooldown")


@attrs.frozen
class RunbookRule:
    """When `condition` holds, apply action `action_name` with `args`."""

    name: str
    condition: Condition
    action_name: str
    args: tuple[tuple[str, object], ...]
    once: bool = True
    cooldown_s: float = 0.0

    def action_at(self, t_s: float) -> Action:
        """The rule's action, stamped with the time it fired."""
        return Action(t_s=t_s, name=self.action_name, args=self.args)


@attrs.frozen
class Runbook:
    """The rules of one runbook file, in file order."""

    rules: tuple[RunbookRule, ...]
    source_path: str | None = None


@attrs.frozen
class Firing:
    """A rule fired at t_s (its action is applied at the next tick boundary)."""

    t_s: float
    rule: str
    action: Action

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        # Tick times are sums of dt; rounding hides float noise like 29.200000000000003.
        return {"t_s": round(self.t_s, 9), "rule": self.rule, "action": self.action.name, "args": dict(self.action.args)}


def _read_rule(sink: ProblemSink, path: str, index: int, entry: dict) -> RunbookRule | None:
    ok = True
    name = entry.get("name", f"rule {index + 1}")
    if not isinstance(name, str):
        sink.report(f"{path}.name", f"expected a string, got {describe_value(name)}")
        ok = False
    condition = None
    if "when" not in entry:
        sink.report(f"{path}.when", 'required key "when" is missing (a condition like "p95_ms > 300 for 10s")')
        ok = False
    else:
        try:
            condition = parse_condition(entry["when"])
        except ConditionError as error:
            sink.report(f"{path}.when", str(error))
            ok = False
    action_name = None
    if "do" not in entry:
        sink.report(f"{path}.do", 'required key "do" is missing (an action like "breaker.force_open")')
        ok = False
    else:
        action_name = read_action_name(sink, f"{path}.do", entry["do"])
        ok = ok and action_name is not None
    once = entry.get("once", True)
    if not isinstance(once, bool):
        sink.report(f"{path}.once", f"expected true or false, got {describe_value(once)}")
        ok = False
    cooldown_s = 0.0
    if "cooldown" in entry:
        try:
            cooldown_s = parse_duration_s(entry["cooldown"])
        except UnitError as error:
            sink.report(f"{path}.cooldown", f"{error}, got {describe_value(entry['cooldown'])}")
            ok = False
    args = read_action_args(sink, path, action_name, entry, skip=_RULE_KEYS) if action_name else None
    if not ok or args is None:
        return None
    return RunbookRule(name=name, condition=condition, action_name=action_name, args=tuple(sorted(args.items())),
                       once=once, cooldown_s=cooldown_s)


def _check_against_drill(drill: Drill, sink: ProblemSink, path: str, rule: RunbookRule) -> None:
    pools = [p.name for p in drill.model.pools]
    breakers = [d.name for d in drill.model.dependencies if d.breaker is not None]
    for pool in rule.condition.pool_names():
        if pool not in pools:
            sink.report(f"{path}.when", f'drill "{drill.id}" has no pool "{pool}"{suggest_name(pool, pools) if pools else ""}')
    for dependency in rule.condition.breaker_names():
        if dependency not in breakers:
            hint = suggest_name(dependency, breakers) if breakers else "; it has no circuit breakers"
            sink.report(f"{path}.when", f'drill "{drill.id}" has no breaker on "{dependency}"{hint}')
    check_references(drill, sink, path, rule.action_at(0.0))


def load_runbook(path: str | Path, drill: Drill | None = None) -> Runbook:
    """A runbook from a TOML file; raises InputError listing every problem.

    With a drill, pool, breaker, dependency and class names are checked against it.
    """
    sink, entries = read_table_array(path, "rules", 'when = "p95_ms > 300" do = "shed.set"')
    rules = []
    for index, path_i, entry in entries:
        rule = _read_rule(sink, path_i, index, entry)
        if rule is not None:
            if drill is not None:
                _check_against_drill(drill, sink, path_i, rule)
            rules.append(rule)
    if sink.problems:
        raise InputError(sink.problems)
    return Runbook(rules=tuple(rules), source_path=str(path))


@attrs.define
class RunbookRunner:
    """Evaluates a runbook's rules on each tick's gauges and says which actions to apply."""

    runbook: Runbook
    trackers: list[ConditionTracker] = attrs.field(init=False)
    armed: list[bool] = attrs.field(init=False)
    last_fired_s: list[float | None] = attrs.field(init=False)
    firings: list[Firing] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        self.trackers = [ConditionTracker(rule.condition) for rule in self.runbook.rules]
        self.armed = [True] * len(self.runbook.rules)
        self.last_fired_s = [None] * len(self.runbook.rules)

    def check(self, gauges: Gauges) -> list[Action]:
        """The actions of the rules that fire on this snapshot (usually none)."""
        fired = []
        for i, rule in enumerate(self.runbook.rules):
            holds = self.trackers[i].update(gauges)
            if not holds:
                # A repeatable rule re-arms once its condition stops holding.
                if not rule.once and self.last_fired_s[i] is not None:
                    self.armed[i] = True
                continue
            if not self.armed[i]:
                continue
            last = self.last_fired_s[i]
            if last is not None and gauges.t_s - last < rule.cooldown_s - 1e-9:
                continue
            action = rule.action_at(gauges.t_s)
            self.firings.append(Firing(t_s=gauges.t_s, rule=rule.name, action=action))
            self.last_fired_s[i] = gauges.t_s
            self.armed[i] = False
            fired.append(action)
        return fired
