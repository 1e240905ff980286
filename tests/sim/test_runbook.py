"""Runbook rules and timed actions files: parsing, every problem reported, firing semantics."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sim.running.actions_file import load_actions
from sim.drill.conditions import parse_condition
from sim.drill.loader import load_drill
from sim.model.errors import InputError
from sim.running.headless import run_drill
from sim.running.runbook import Runbook, RunbookRule, RunbookRunner, load_runbook

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
MINI = REPO / "tests" / "cli" / "data" / "mini.toml"


def gauges(t_s: float, p95_ms: float) -> SimpleNamespace:
    """The two gauge fields the rules below read."""
    return SimpleNamespace(t_s=t_s, p95_ms=p95_ms)


def rule(when: str, *, once: bool = True, cooldown_s: float = 0.0) -> RunbookRule:
    return RunbookRule(name="r", condition=parse_condition(when), action_name="shed.set",
                       args=(("fraction", 0.2),), once=once, cooldown_s=cooldown_s)


def fire_times(runner: RunbookRunner, p95_by_second: list[float]) -> list[float]:
    times = []
    for second, p95 in enumerate(p95_by_second):
        times += [a.t_s for a in runner.check(gauges(float(second), p95))]
    return times


def test_a_rule_fires_when_its_condition_has_held_for_its_duration():
    runner = RunbookRunner(Runbook(rules=(rule("p95_ms > 300 for 3s"),)))
    # Holds from 2 s; held 3 s at 5 s. A gap at 1 s does not count.
    assert fire_times(runner, [400, 100, 400, 400, 400, 400, 400]) == [5.0]
    assert runner.firings[0].action.name == "shed.set" and runner.firings[0].action.arg("fraction") == 0.2


def test_once_fires_a_single_time_even_when_the_condition_returns():
    runner = RunbookRunner(Runbook(rules=(rule("p95_ms > 300"),)))
    assert fire_times(runner, [400, 400, 100, 400, 100, 400]) == [0.0]


def test_repeatable_rule_fires_on_each_new_episode_after_its_cooldown():
    runner = RunbookRunner(Runbook(rules=(rule("p95_ms > 300", once=False, cooldown_s=3.0),)))
    # Episodes: 0 fires; 2-3 waits out the cooldown and fires at 3; 5 is too soon (3 + 3 = 6)
    # and ends at 6; 7 fires; 9 is too soon again.
    series = [400, 100, 400, 400, 100, 400, 100, 400, 100, 400]
    assert fire_times(runner, series) == [0.0, 3.0, 7.0]


def test_load_runbook_reads_rules_with_units_and_defaults():
    runbook = load_runbook(DATA / "runbooks" / "mini-autoscale.toml", load_drill(MINI))
    first, second = runbook.rules
    assert (first.name, first.action_name, dict(first.args), first.once) == (
        "pool starved", "pool.resize", {"pool": "main", "size": 20}, True)
    assert first.condition.for_s == 2.0 and first.condition.pool_names() == ("main",)
    assert second.action_at(12.5).t_s == 12.5


def test_runbook_problems_are_all_reported_with_lines(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text(
        '[[rules]]\nwhen = "p95_ms > 300 for soon"\ndo = "shed.set"\nfraction = 2\n'
        '\n[[rules]]\nwhen = "breaker_llm_open == 1"\ndo = "timeout.set"\ndependency = "auth"\ntimeout = "fast"\n'
        'cooldown = 5\n'
    )
    with pytest.raises(InputError) as caught:
        load_runbook(path, load_drill(MINI))
    found = {(p.path, p.line) for p in caught.value.problems}
    assert ("rules[0].when", 2) in found
    assert ("rules[0].fraction", 4) in found
    assert ("rules[1].timeout", 10) in found
    assert ("rules[1].cooldown", 11) in found
    messages = " | ".join(p.message for p in caught.value.problems)
    assert "fraction between 0 and 1" in messages and 'expected a duration like "10s"' in messages


def test_breaker_metric_must_name_a_breaker_of_the_drill(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text('[[rules]]\nwhen = "breaker_llm_open == 1"\ndo = "breaker.force_open"\ndependency = "auth"\n')
    with pytest.raises(InputError) as caught:
        load_runbook(path, load_drill(MINI))
    (problem,) = caught.value.problems
    assert problem.path == "rules[0].when" and 'no breaker on "llm"' in problem.message and "auth" in problem.message


def test_actions_file_is_sorted_by_time_and_converts_units(tmp_path):
    path = tmp_path / "acts.toml"
    path.write_text(
        '[[actions]]\nat = "1m"\naction = "timeout.set"\ndependency = "auth"\ntimeout = "250ms"\n'
        '[[actions]]\nat = "10s"\naction = "retry.set"\nclass = "web"\nretries = 0\nbackoff = "1s"\n'
        '[[actions]]\nat = "20s"\naction = "queue.set_limit"\nlimit = "unbounded"\n'
    )
    first, second, third = load_actions(path, load_drill(MINI))
    assert (first.t_s, first.name, first.kwargs) == (10.0, "retry.set", {"class": "web", "retries": 0, "backoff_s": 1.0})
    assert (second.t_s, second.kwargs) == (20.0, {"limit": "unbounded"})
    assert (third.t_s, third.kwargs) == (60.0, {"dependency": "auth", "timeout_s": 0.25})


def test_actions_file_reports_every_problem():
    with pytest.raises(InputError) as caught:
        load_actions(DATA / "actions" / "many-problems.toml")
    found = [(p.path, p.line) for p in caught.value.problems]
    assert found == [("actions[0].at", 2), ("actions[0].fraction", 4), ("actions[1].at", 6), ("actions[1]", 6)]
    assert "not both" in caught.value.problems[-1].message


def test_headless_runbook_run_matches_the_same_actions_given_as_a_timed_file():
    drill = load_drill(MINI)
    runbook = load_runbook(DATA / "runbooks" / "mini-autoscale.toml", drill)
    by_rules = run_drill(drill, runbook=runbook)
    # Replaying what the rules did, as timed actions, reproduces the run exactly.
    by_time = run_drill(drill, actions=tuple(f.action for f in by_rules.firings))
    assert by_rules.sim.action_log == by_time.sim.action_log
    assert by_rules.sim.digest() == by_time.sim.digest()
    assert by_rules.report.score == by_time.report.score
    assert by_rules.policy == "none+runbook" and by_time.policy == "actions"


BAD_DEPLOY = REPO / "drills" / "bad-deploy.toml"


def test_runbook_and_actions_file_take_the_new_actions(tmp_path):
    book = tmp_path / "book.toml"
    book.write_text(
        '[[rules]]\nwhen = "p95_ms > 2000 for 5s"\ndo = "flag.set"\nflag = "recommendations"\nenabled = false\n'
        '[[rules]]\nwhen = "queue_depth > 100"\ndo = "deploy.rollback"\n'
    )
    runbook = load_runbook(book, load_drill(BAD_DEPLOY))
    flag, rollback = (r.action_at(0.0) for r in runbook.rules)
    assert (flag.name, flag.kwargs) == ("flag.set", {"flag": "recommendations", "enabled": False})
    assert (rollback.name, rollback.kwargs) == ("deploy.rollback", {})
    acts = tmp_path / "acts.toml"
    acts.write_text('[[actions]]\nat = "80s"\naction = "cache.coalesce"\ncache = "results"\n'
                    '[[actions]]\nat = "90s"\naction = "cache.serve_stale"\ncache = "results"\nenabled = false\n')
    first, second = load_actions(acts, load_drill(REPO / "drills" / "cold-cache.toml"))
    assert (first.name, first.kwargs) == ("cache.coalesce", {"cache": "results"})
    assert second.kwargs == {"cache": "results", "enabled": False}


def test_new_actions_name_what_the_drill_has(tmp_path):
    book = tmp_path / "book.toml"
    book.write_text('[[rules]]\nwhen = "p95_ms > 2000"\ndo = "flag.set"\nflag = "recomendations"\nenabled = false\n'
                    '[[rules]]\nwhen = "p95_ms > 2000"\ndo = "cache.coalesce"\ncache = "results"\n'
                    '[[rules]]\nwhen = "p95_ms > 2000"\ndo = "flag.set"\nflag = "recommendations"\n')
    with pytest.raises(InputError) as caught:
        load_runbook(book, load_drill(BAD_DEPLOY))
    messages = [(p.path, p.message) for p in caught.value.problems]
    assert ("rules[0].flag", 'drill "bad-deploy" has no flag "recomendations"; did you mean "recommendations"?') in messages
    assert ("rules[1].cache", 'drill "bad-deploy" has no cache "results"; it has no cache at all') in messages
    assert any(path.startswith("rules[2]") and "enabled" in message for path, message in messages)
