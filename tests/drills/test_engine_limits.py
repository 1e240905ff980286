"""A drill the loader accepts must run: steps, ticks, slots and breaker windows are
bounded by what the engine can hold (sim.model.limits), and the message says the limit."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from sim.drill.loader import load_drill, validate_drill_file
from sim.engine.simulation import Simulation
from sim.model.errors import InputError
from sim.model.limits import MAX_BREAKER_WINDOW_S, MAX_RUN_TICKS, MAX_SLOTS, MIN_DT_S
from sim.running.headless import run_drill

DATA = Path(__file__).resolve().parent.parent / "data" / "drills"


def only_problem(name: str):
    with pytest.raises(InputError) as caught:
        load_drill(DATA / name)
    problems = caught.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.mark.parametrize(
    "fixture, path, line, words",
    [
        ("dt_below_engine_step.toml", "drill.dt", 9, ['must be >= 1ms', "smallest step the engine runs", 'got "0.1ms"']),
        ("dt_too_many_ticks.toml", "drill.dt", 9, ["24h drill in 1ms steps is 86400000 ticks", "(2000000)", "at least 43.2ms"]),
        ("too_many_slots.toml", "service.concurrency", 13, ["at most 100000 slots", "10000 x 10000 = 100000000", "defaults to"]),
        ("max_workers_too_many_slots.toml", "service.max_workers", 14, ["at most 100000 slots", "10000 x 100 = 1000000"]),
        ("breaker_window_too_long.toml", "dependencies.postgres.breaker.window", 26, ["must be <= 10m", 'got "1h"']),
    ],
)
def test_what_the_engine_cannot_run_is_refused_with_the_limit(fixture, path, line, words):
    problem = only_problem(fixture)
    assert (problem.path, problem.line) == (path, line)
    for word in words:
        assert word in problem.message


def test_every_value_a_range_can_draw_is_held_to_the_step_limit(tmp_path):
    text = (DATA / "minimal.toml").read_text().replace('duration = "5m"', 'duration = "5m"\ndt = "0.5ms..2ms"')
    (tmp_path / "drill.toml").write_text(text)
    [problem] = validate_drill_file(tmp_path / "drill.toml")
    assert problem.path == "drill.dt" and "must be >= 1ms" in problem.message and "low end" in problem.message


@pytest.mark.parametrize("duration, valid", [("2000s", True), ("2001s", False)])
def test_the_tick_limit_is_exact(tmp_path, duration, valid):
    assert MAX_RUN_TICKS * MIN_DT_S == 2000.0
    text = (DATA / "minimal.toml").read_text().replace('duration = "5m"', f'duration = "{duration}"\ndt = "1ms"')
    (tmp_path / "drill.toml").write_text(text)
    assert (validate_drill_file(tmp_path / "drill.toml") == []) is valid


def test_every_drill_the_default_step_allows_stays_valid(tmp_path):
    # The longest drill (24h) at the default 50 ms step.
    assert 24 * 3600 / 0.05 <= MAX_RUN_TICKS
    text = (DATA / "minimal.toml").read_text().replace('duration = "5m"', 'duration = "24h"')
    (tmp_path / "drill.toml").write_text(text)
    assert validate_drill_file(tmp_path / "drill.toml") == []


def test_a_drill_at_every_limit_runs_headless_in_sane_memory():
    drill = load_drill(DATA / "at_engine_limits.toml")
    model = drill.model
    assert model.dt_s == MIN_DT_S
    assert model.service.max_workers * model.service.concurrency == MAX_SLOTS
    assert model.dependencies[0].breaker.window_s == MAX_BREAKER_WINDOW_S
    tracemalloc.start()
    try:
        Simulation.from_drill(drill)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100e6
    # 6000 ticks: the scorer reads the history every 5 s (5000 ticks), as it would in any run.
    run = run_drill(drill, drill.seed, drill.par, policy="par")
    assert run.sim.tick == 6000
    assert run.report is not None
