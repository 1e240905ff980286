"""The drill loader: values land in the spec, every mistake is reported well,
seeded ranges are reproducible, and drills can be found by id."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from sim.drill.conditions import parse_condition
from sim.drill.loader import (
    _FAULT_PARAMS,
    ACTION_ARGUMENTS,
    SHIPPED_DRILLS_DIR,
    _build,
    _Context,
    find_drill,
    index_source_lines,
    list_drills,
    load_drill,
    user_drills_dir,
    validate_drill_file,
)
from sim.model.errors import InputError
from sim.model.spec import (
    ACTION_NAMES,
    FAULT_KINDS,
    Action,
    ArrivalProfile,
    CacheStep,
    CallStep,
    CpuStep,
    DbStep,
    Distribution,
    Fault,
    PoolSpec,
    StreamStep,
)
from sim.model.units import UnitError, format_duration, parse_duration_s, parse_range, parse_size_mb

DATA = Path(__file__).resolve().parent.parent / "data" / "drills"


def problems_of(name: str):
    with pytest.raises(InputError) as caught:
        load_drill(DATA / name)
    return caught.value.problems


def only_problem(name: str):
    problems = problems_of(name)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# ---------------------------------------------------------------- a valid drill


def test_minimal_drill_round_trips_to_the_spec():
    drill = load_drill(DATA / "minimal.toml")
    assert (drill.id, drill.title, drill.difficulty, drill.seed) == ("minimal", "Minimal drill", 1, 7)
    assert drill.briefing == "A tiny service.\nWatch the pool."
    assert drill.duration_s == 300.0
    assert drill.dt_s == 0.05
    service = drill.model.service
    assert (service.workers, service.concurrency, service.queue_limit, service.ratelimit) == (2, 4, None, None)
    (web,) = drill.model.classes
    assert web.name == "web" and web.priority == 1 and web.timeout_s is None
    assert web.arrivals == ArrivalProfile(kind="constant", rate_rps=50.0)
    assert web.plan == (CpuStep(Distribution.constant(0.005)), DbStep(pool="main", queries=2))
    (postgres,) = drill.model.dependencies
    assert postgres.kind == "database" and postgres.latency == Distribution.lognormal(0.005, 0.04)
    assert drill.model.pools == (PoolSpec(name="main", database="postgres", size=10),)
    assert drill.model.faults == (Fault(at_s=60.0, target="postgres", kind="slow", duration_s=120.0, factor=10.0),)
    assert drill.incident_start_s == 60.0  # the first fault
    assert [(slo.name, slo.kind, slo.target, slo.events) for slo in drill.slos] == [("availability", "availability", 0.99, "fresh")]
    # "+15s" is after the incident starts.
    assert drill.par == (Action(t_s=75.0, name="pool.resize", args={"pool": "main", "size": 20}),)
    assert drill.par[0].arg("size") == 20 and isinstance(drill.par[0].arg("size"), int)
    assert [(hint.at_s, hint.when, hint.text) for hint in drill.hints] == [(30.0, None, "Look at the pool.")]


def test_source_path_and_digest_identify_the_file():
    path = DATA / "minimal.toml"
    drill = load_drill(path)
    assert drill.source_path == str(path.resolve())
    assert drill.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert validate_drill_file(path) == []


def test_full_drill_reads_every_section():
    drill = load_drill(DATA / "full.toml")
    model = drill.model
    assert model.dt_s == 0.02
    service = model.service
    assert (service.max_workers, service.warmup_s, service.queue_limit, service.shed_mode) == (16, 20.0, None, "priority")
    assert (service.memory.limit_mb, service.memory.baseline_mb, service.memory.per_queued_mb) == (1024.0, 200.0, 0.1)
    assert (service.ratelimit.rate_rps, service.ratelimit.burst) == (500.0, 100.0)
    search, ingest = model.classes
    assert (search.priority, search.timeout_s, search.retry.retries, search.retry.jitter) == (2, 5.0, 3, 0.5)
    cpu, cache, db, call, stream = search.plan
    assert cpu == CpuStep(Distribution.exponential(0.005))
    assert cache == CacheStep("results")
    assert call == CallStep(dependency="llm", timeout_s=3.0, retries=1, backoff_s=0.1, fallback=True)
    assert stream == StreamStep(size_mb=2.0, duration=Distribution.constant(2.0), slow_fraction=0.2, slow_factor=5.0)
    mixture = ingest.plan[0].duration
    assert mixture.kind == "mixture" and mixture.weights == (0.9, 0.1)
    assert mixture.components == (Distribution.lognormal(0.002, 0.01), Distribution.pareto(0.01, 1.5))
    assert ingest.arrivals == ArrivalProfile(kind="pulses", rate_rps=10, to_rps=100, start_s=30, period_s=20, width_s=5)
    llm = model.dependencies[1]
    assert (llm.kind, llm.capacity, llm.breaker.window_s, llm.breaker.half_open_probes) == ("service", 50, 10.0, 5)
    kinds = [fault.kind for fault in model.faults]
    assert kinds == ["latency_pulses", "cache_flush", "memory_leak"]
    assert model.faults[2].mb_per_s == 2.5 and model.faults[2].target == "service"
    assert drill.slos[1].threshold_s == 0.3 and drill.slos[1].events == "attempts"
    assert drill.slos[0].classes == ("search",)
    # par is ordered by time whatever the file order; timeout = "1s" becomes timeout_s.
    assert [action.name for action in drill.par] == ["timeout.set", "breaker.force_open", "retry.set"]
    assert drill.par[0].arg("timeout_s") == 1.0
    assert drill.par[2].kwargs == {"class": "search", "retries": 1, "backoff_s": 0.5}
    assert parse_condition(drill.hints[1].when).pool_names() == ("main",)


# ---------------------------------------------------------------- seeded ranges


def test_same_seed_gives_the_same_drill():
    assert load_drill(DATA / "full.toml", seed=5) == load_drill(DATA / "full.toml", seed=5)


def test_no_seed_means_the_file_seed():
    assert load_drill(DATA / "full.toml") == load_drill(DATA / "full.toml", seed=42)


def ranged_values(drill):
    return (
        drill.incident_start_s,
        drill.model.classes[0].arrivals.rate_rps,
        drill.model.classes[0].plan[2].queries,
        drill.model.pools[0].size,
        drill.model.faults[0].at_s,
    )


def test_ranges_draw_inside_their_bounds_and_keep_integers():
    for seed in range(30):
        drill = load_drill(DATA / "full.toml", seed=seed)
        start_s, rate, queries, pool_size, fault_at_s = ranged_values(drill)
        assert 45.0 <= start_s <= 90.0
        assert 100 <= rate <= 200
        assert isinstance(queries, int) and 3 <= queries <= 6
        assert isinstance(pool_size, int) and 15 <= pool_size <= 25
        assert 60.0 <= fault_at_s <= 120.0
        assert drill.seed == seed
        assert drill.briefing == "Keep 60s..120s as written: the briefing is never altered."


def test_different_seeds_give_different_drills():
    draws = {ranged_values(load_drill(DATA / "full.toml", seed=seed)) for seed in range(10)}
    assert len(draws) == 10


def test_relative_times_follow_the_drawn_incident_start():
    drill = load_drill(DATA / "full.toml", seed=3)
    start = drill.incident_start_s
    assert [action.t_s for action in drill.par[:2]] == [round(start + 10, 6), round(start + 30, 6)]


def test_both_ends_of_a_range_are_checked_whatever_the_seed():
    for seed in (0, 1, 2):
        with pytest.raises(InputError) as caught:
            load_drill(DATA / "bad_range_value.toml", seed=seed)
        rate = next(p for p in caught.value.problems if p.path == "faults[0].rate")
        assert rate.message == 'must be in [0, 1], got 2 (the high end of range "0.1..2")'
        assert rate.line == 35


def test_a_malformed_range_is_reported_once():
    problems = problems_of("bad_range_value.toml")
    size = [p for p in problems if p.path == "pools.main.size"]
    assert len(size) == 1
    assert '"abc" is not a number, duration or size' in size[0].message


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_a_seed_that_is_not_a_whole_number_is_refused(seed):
    with pytest.raises(InputError, match="seed must be a whole number"):
        load_drill(DATA / "minimal.toml", seed=seed)


def test_numpy_integer_seeds_are_accepted():
    assert load_drill(DATA / "full.toml", seed=np.int64(5)) == load_drill(DATA / "full.toml", seed=5)


# ---------------------------------------------------------------- one test per kind of mistake


def test_type_error_names_field_expectation_and_value():
    problem = only_problem("bad_type.toml")
    assert (problem.path, problem.line) == ("drill.difficulty", 5)
    assert problem.message == 'expected an integer, got "hard"'
    assert problem.file.endswith("bad_type.toml")


def test_range_errors_give_the_bounds():
    problems = problems_of("bad_range.toml")
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("drill.difficulty", 5, "must be in [1, 5], got 7"),
        ("faults[0].rate", 35, "must be in [0, 1], got 1.5"),
    ]


def test_unknown_key_suggests_the_right_one():
    problem = only_problem("unknown_key.toml")
    assert (problem.path, problem.line) == ("service.wrokers", 12)
    assert problem.message == 'unknown key "wrokers"; did you mean "workers"?'


def test_bad_duration_quotes_the_value():
    problem = only_problem("bad_duration.toml")
    assert (problem.path, problem.line) == ("faults[0].at", 32)
    assert problem.message == 'expected a duration like "90s", got "soon"'
    assert str(problem).endswith('bad_duration.toml:32: faults[0].at: expected a duration like "90s", got "soon"')


def test_a_bare_number_for_a_duration_asks_for_a_unit():
    problem = only_problem("number_duration.toml")
    assert problem.path == "drill.duration"
    assert 'add a unit, e.g. "300s"' in problem.message


def test_dangling_reference_suggests_the_existing_name():
    problem = only_problem("dangling_reference.toml")
    assert (problem.path, problem.line) == ("classes[0].plan[1].db", 20)
    assert '"mian" is not a pool' in problem.message and 'did you mean "main"' in problem.message


def test_toml_syntax_error_has_its_line():
    problem = only_problem("syntax_error.toml")
    assert problem.line == 13
    assert problem.message.startswith("TOML syntax error")


def test_missing_required_key_points_at_its_table():
    problem = only_problem("missing_key.toml")
    assert (problem.path, problem.line) == ("drill.title", 2)
    assert problem.message == 'required key "title" is missing'


def test_missing_section_is_named():
    problem = only_problem("missing_section.toml")
    assert problem.path == "service" and "required table [service]" in problem.message


def test_a_drill_without_slos_is_refused():
    problem = only_problem("no_slo.toml")
    assert problem.path == "slo" and "at least one [[slo]]" in problem.message


@pytest.mark.parametrize(
    "fixture, path, words",
    [
        ("pool_on_service.toml", "pools.main.database", ['kind "service"', 'needs kind "database"']),
        ("call_database.toml", "classes[0].plan[0].call", ['"postgres" is a database', "db step"]),
        ("fault_target_kind.toml", "faults[0].target", ['not a cache', 'kind "cache_flush" targets a cache']),
        ("fault_wrong_param.toml", "faults[0].factor", ['not a parameter of faults of kind "errors"', "it takes rate"]),
        ("bad_action.toml", "par[0].action", ['unknown action "pool.resise"', 'did you mean "pool.resize"']),
        ("action_unknown_pool.toml", "par[0].pool", ['"replica" is not a pool', "main"]),
        ("slo_unknown_class.toml", "slo[0].classes[0]", ['"checkout" is not a traffic class', "web"]),
        ("latency_slo_no_threshold.toml", "slo[0].threshold", ["latency SLO needs a threshold"]),
        ("bad_distribution.toml", "dependencies.postgres.latency.lognormal.p99", ["above the median"]),
    ],
)
def test_reference_and_consistency_mistakes(fixture, path, words):
    problem = only_problem(fixture)
    assert problem.path == path
    assert problem.line is not None
    for word in words:
        assert word in problem.message


def test_hint_conditions_are_parsed_and_their_names_checked():
    problems = problems_of("hint_bad_condition.toml")
    assert [(p.path, p.line) for p in problems] == [("hints[0].when", 50), ("hints[1].when", 54)]
    assert 'unknown metric "p95"; did you mean "p95_ms"?' in problems[0].message
    assert "names no pool" in problems[1].message


def test_every_problem_is_reported_at_once_in_line_order():
    problems = problems_of("many_problems.toml")
    assert [p.path for p in problems] == [
        "drill.difficulty", "service.wrokers", "classes[0].plan[1].db", "faults[0].at", "par[0].action",
    ]
    lines = [p.line for p in problems]
    assert lines == sorted(lines)
    error = InputError(problems)
    assert error.first_line().endswith("(and 4 more problems)")


def test_missing_file_is_an_input_error():
    problem = only_problem("does_not_exist.toml")
    assert problem.message == "no such drill file"


def test_a_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="directory"):
        load_drill(tmp_path)


def test_non_utf8_file_reports_the_line():
    problem = only_problem("not_utf8.toml")
    assert problem.line == 5 and "not UTF-8" in problem.message


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 1_100_000)
    with pytest.raises(InputError, match="larger than"):
        load_drill(big)


def test_attrs_validator_errors_become_problems():
    ctx = _Context("drill.toml", {"pools.main": 9})
    result = _build(ctx, "pools.main", PoolSpec, name="main", database="postgres", size=0)
    assert result is not None and not isinstance(result, PoolSpec)
    (problem,) = ctx.problems
    assert (problem.path, problem.line) == ("pools.main", 9)
    assert "invalid PoolSpec" in problem.message and "size" in problem.message


# ---------------------------------------------------------------- source lines


def test_line_index_covers_headers_keys_and_inline_elements():
    text = (
        '[drill]\nid = "x"\n\n[[classes]]\nname = "a"\nplan = [\n  { cpu = "5ms" },\n  { db = "main" },\n]\n'
        '[[classes]]\nname = "b" # a comment with [brackets]\n[classes.retry]\nretries = 2\n'
        '[dependencies.pg]\nlatency = { lognormal = { median = "1ms", p99 = "2ms" } }\n'
        'briefing = """\nmulti [not a table]\nline"""\nafter = 1\n'
    )
    lines = index_source_lines(text)
    assert lines["drill.id"] == 2
    assert lines["classes[0]"] == 4
    assert lines["classes[0].plan[1]"] == 8 and lines["classes[0].plan[1].db"] == 8
    assert lines["classes[1].name"] == 11
    assert lines["classes[1].retry.retries"] == 13
    assert lines["dependencies.pg.latency.lognormal.p99"] == 15
    assert lines["dependencies.pg.after"] == 19


# ---------------------------------------------------------------- finding drills


def test_user_drills_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWNOUT_DRILLS", str(tmp_path))
    assert user_drills_dir() == tmp_path
    monkeypatch.delenv("BROWNOUT_DRILLS")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_drills_dir() == tmp_path / ".config" / "brownout" / "drills"


@pytest.fixture
def user_dir(monkeypatch, tmp_path):
    folder = tmp_path / "drills"
    folder.mkdir()
    monkeypatch.setenv("BROWNOUT_DRILLS", str(folder))
    return folder


def test_find_drill_by_path_and_by_user_id(user_dir):
    assert find_drill(str(DATA / "minimal.toml")) == DATA / "minimal.toml"
    copy = user_dir / "my-own.toml"
    copy.write_text((DATA / "minimal.toml").read_text())
    assert find_drill("my-own") == copy
    # A file named differently is found by the id it declares.
    assert find_drill("minimal") == copy


def test_find_drill_by_file_name_in_the_drill_folders(user_dir):
    (user_dir / "mine.toml").write_text((DATA / "minimal.toml").read_text())
    assert find_drill("mine.toml") == user_dir / "mine.toml"


def test_find_drill_unknown_id_suggests(user_dir):
    (user_dir / "minimal.toml").write_text((DATA / "minimal.toml").read_text())
    with pytest.raises(InputError) as caught:
        find_drill("minimall")
    assert 'no drill with id "minimall"; did you mean "minimal"?' in str(caught.value)
    with pytest.raises(InputError, match="no such drill file"):
        find_drill("nowhere/drill.toml")


def test_list_drills_includes_valid_user_drills_only(user_dir):
    (user_dir / "mine.toml").write_text((DATA / "minimal.toml").read_text())
    (user_dir / "broken.toml").write_text((DATA / "bad_type.toml").read_text())
    summaries = list_drills()
    mine = [s for s in summaries if s.source == "user"]
    assert [(s.id, s.title, s.difficulty, s.duration_s, s.path) for s in mine] == [
        ("minimal", "Minimal drill", 1, 300.0, user_dir / "mine.toml")
    ]
    assert mine[0].slos[0].name == "availability"
    shipped = [s for s in summaries if s.source == "shipped"]
    assert all(s.path.parent == SHIPPED_DRILLS_DIR for s in shipped)
    assert summaries.index(mine[0]) == len(summaries) - 1


def test_shipped_ids_resolve_to_the_drills_folder(user_dir):
    shipped = [s for s in list_drills() if s.source == "shipped"]
    for summary in shipped:
        assert find_drill(summary.id).parent == SHIPPED_DRILLS_DIR


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(
    "text, seconds",
    [("250ms", 0.25), ("90s", 90.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0), ("1.5s", 1.5), ("500us", 0.0005)],
)
def test_durations(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "90", "-5s", "5 minutes", "", "s", "1e999s"])
def test_bad_durations(text):
    with pytest.raises(UnitError, match="duration"):
        parse_duration_s(text)


@pytest.mark.parametrize("text, megabytes", [("500MB", 500.0), ("2GB", 2048.0), ("0.1MB", 0.1), ("512KB", 0.5), ("1GiB", 1024.0)])
def test_sizes(text, megabytes):
    assert parse_size_mb(text) == pytest.approx(megabytes)


def test_bad_size():
    with pytest.raises(UnitError, match="size"):
        parse_size_mb("lots")


@pytest.mark.parametrize("seconds, text", [(0.25, "250ms"), (45, "45s"), (120, "2m"), (150, "2m30s"), (3600, "1h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration_s(text) == pytest.approx(seconds)


def test_range_kinds():
    assert parse_range("20..60").kind == "int"
    assert parse_range("0.1..0.3").kind == "float"
    assert (parse_range("60s..2m").kind, parse_range("60s..2m").high) == ("duration", 120.0)
    assert parse_range("400MB..1GB").kind == "size"
    assert parse_range("plain text") is None
    for bad in ("60s..20", "9..1", "1..2..3", "a..b"):
        with pytest.raises(UnitError):
            parse_range(bad)


# ---------------------------------------------------------------- the par solution


def test_par_that_the_engine_would_refuse_is_reported():
    problem = only_problem("par_over_capacity.toml")
    assert (problem.path, problem.line) == ("par[1].size", 55)
    assert "postgres allows 30 connections; its pools would need 35" in problem.message


def test_par_argument_mistakes_are_each_reported():
    problems = problems_of("par_bad_arguments.toml")
    assert [(p.path, p.line) for p in problems] == [("par[0].wait", 48), ("par[1].timeout_s", 54), ("par[2]", 59)]
    assert '"wait" is not an argument of pool.resize (it takes pool, size)' == problems[0].message
    assert 'timeout.set needs "timeout_s" (or timeout = "2s")' == problems[1].message
    assert 'exactly one of "dependency"' in problems[2].message


def test_par_keeps_the_engine_spellings_for_unbounded_and_no_timeout(tmp_path):
    text = (DATA / "minimal.toml").read_text() + (
        '\n[[par]]\nat = "96s"\naction = "queue.set_limit"\nlimit = "unbounded"\n'
        '\n[[par]]\nat = "97s"\naction = "timeout.set"\ndependency = "postgres"\ntimeout_s = "none"\n'
        '\n[[par]]\nat = "98s"\naction = "timeout.set"\ndependency = "postgres"\ntimeout_s = 0.5\n'
    )
    path = tmp_path / "drill.toml"
    path.write_text(text)
    par = load_drill(path).par
    assert [action.kwargs for action in par[1:]] == [
        {"limit": "unbounded"}, {"dependency": "postgres", "timeout_s": "none"}, {"dependency": "postgres", "timeout_s": 0.5},
    ]


def test_every_fault_kind_and_action_has_a_schema():
    # A kind or action added to sim.model.spec must be taught to the loader too.
    assert set(_FAULT_PARAMS) == set(FAULT_KINDS)
    assert set(ACTION_ARGUMENTS) == set(ACTION_NAMES)


def test_a_malformed_section_is_one_problem_not_one_per_reference():
    problem = only_problem("malformed_section.toml")
    assert (problem.path, problem.line) == ("dependencies", 23)
    assert problem.message == "expected tables like [dependencies.NAME], got an array"
