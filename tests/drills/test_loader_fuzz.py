"""Fuzzing the drill loader: whatever the bytes, the result is a Drill or an InputError."""

from __future__ import annotations

import copy
import datetime
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.drill.drill import Drill
from sim.drill.loader import load_drill
from sim.model.errors import InputError, Problem

DATA = Path(__file__).resolve().parent.parent / "data" / "drills"
VALID_DOCUMENTS = {name: tomllib.loads((DATA / name).read_text()) for name in ("minimal.toml", "full.toml")}

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words the loader knows, so random documents reach deep into the validation code.
KEYS = sorted({
    "drill", "service", "classes", "dependencies", "pools", "caches", "faults", "slo", "par", "hints",
    "id", "title", "difficulty", "briefing", "duration", "dt", "seed", "incident_start",
    "workers", "concurrency", "max_workers", "queue_limit", "memory", "ratelimit", "limit", "rate", "burst",
    "name", "arrivals", "kind", "to", "start", "end", "at", "plan", "cpu", "db", "call", "cache", "stream",
    "lognormal", "median", "p99", "pareto", "mixture", "weight", "exponential", "latency", "breaker",
    "database", "size", "hit_ratio", "target", "factor", "action", "pool", "text", "when", "threshold",
})
TEXTS = [
    "5ms", "90s", "2m", "1h", "500MB", "60s..120s", "20..60", "0.1..0.3", "1..abc", "+20s", "soon", "",
    "database", "service", "constant", "ramp", "slow", "errors", "cache_flush", "pool.resize", "main",
    "postgres", "p95_ms > 300 for 5s", "pool_main_waiters > 1", "unbounded", "latency", "availability",
]

scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-5, max_value=100),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(TEXTS),
    st.text(max_size=20),
    st.datetimes(min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(2100, 1, 1)),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=10))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "drill.toml"


def check_load(path: Path) -> Drill | InputError:
    """Load, and accept only the two allowed outcomes (anything else fails the test)."""
    try:
        drill = load_drill(path)
    except InputError as error:
        assert error.problems, "an InputError must carry at least one problem"
        assert all(isinstance(problem, Problem) and problem.file == str(path) for problem in error.problems)
        assert all(problem.line is None or problem.line >= 1 for problem in error.problems)
        return error
    assert isinstance(drill, Drill)
    return drill


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(scratch, data):
    scratch.write_bytes(data)
    check_load(scratch)


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_random_toml_documents(scratch, document):
    scratch.write_text(tomli_w.dumps(document), encoding="utf-8")
    check_load(scratch)


def _paths(node, prefix=()):
    """Every (path, value) inside a parsed document, tables and arrays included."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,), child
        yield from _paths(child, prefix + (key,))


def _parent(document, path):
    node = document
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_documents(draw):
    """A valid drill with 1-3 edits: a key deleted, renamed, its value swapped for
    another type, or turned into a seeded range."""
    document = copy.deepcopy(VALID_DOCUMENTS[draw(st.sampled_from(sorted(VALID_DOCUMENTS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [path for path, _ in _paths(document)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(document, path), path[-1]
        edit = draw(st.sampled_from(["delete", "retype", "rename", "add", "range"]))
        value = parent[key]
        if edit == "range" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # A seeded range around the value, sometimes reaching out of bounds.
            parent[key] = f"{value}..{value * draw(st.sampled_from([1, 2, 10]))}"
        elif edit == "range" and isinstance(value, str):
            parent[key] = f"{value}..{value}" if draw(st.booleans()) else f"1..{value}"
        elif edit == "delete":
            del parent[key]
        elif edit == "retype":
            parent[key] = draw(values)
        elif edit == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        else:
            parent.append(draw(values))
    return document


@FUZZ
@given(mutated_documents())
def test_mutations_of_valid_drills(scratch, document):
    scratch.write_text(tomli_w.dumps(document), encoding="utf-8")
    check_load(scratch)


@FUZZ
@given(st.sampled_from(sorted(VALID_DOCUMENTS)), st.data())
def test_text_truncated_anywhere(scratch, name, data):
    text = (DATA / name).read_text()
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    scratch.write_text(text[:cut], encoding="utf-8")
    check_load(scratch)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_any_seed_loads_the_valid_drills(seed):
    drill = load_drill(DATA / "full.toml", seed=seed)
    assert drill.seed == seed
    assert all(math.isfinite(fault.at_s) for fault in drill.model.faults)


def test_mutations_find_problems_not_only_valid_drills(scratch):
    # A guard that the mutation fuzzer exercises the error paths at all.
    document = copy.deepcopy(VALID_DOCUMENTS["minimal.toml"])
    del document["service"]["workers"]
    document["classes"][0]["plan"][1]["db"] = 3
    scratch.write_text(tomli_w.dumps(document), encoding="utf-8")
    outcome = check_load(scratch)
    assert isinstance(outcome, InputError)
    assert {p.path for p in outcome.problems} == {"service.workers", "classes[0].plan[1].db"}


def _field_path(path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


simple_keys = st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True) | st.sampled_from(KEYS)
simple_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(simple_keys, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(simple_keys, simple_values, min_size=1, max_size=5))
def test_line_index_finds_every_field_of_any_document(document):
    from sim.drill.loader import index_source_lines

    text = tomli_w.dumps(document)
    lines = index_source_lines(text)
    count = text.count("\n") + 1
    for path, _ in _paths(document):
        line = lines.get(_field_path(path))
        assert line is not None and 1 <= line <= count, (_field_path(path), text)


@pytest.mark.parametrize("depth", [100, 2000])
def test_deep_nesting_is_an_input_error(scratch, depth):
    scratch.write_text("[drill]\nid = " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    assert isinstance(check_load(scratch), InputError)


@pytest.mark.parametrize(
    "body, words",
    [
        ("difficulty = " + "9" * 5000, "TOML value error"),  # tomllib raises a bare ValueError here
        ("difficulty = " + "9" * 4000, "a number of 4000 digits"),
        ('difficulty = "1..' + "9" * 5000 + '"', "at most 40 characters"),
        ('difficulty = "' + "9" * 30 + ".." + "9" * 31 + '"', "too large"),
    ],
)
def test_huge_numbers_are_input_errors(scratch, body, words):
    scratch.write_text("[drill]\n" + body + "\n", encoding="utf-8")
    outcome = check_load(scratch)
    assert isinstance(outcome, InputError)
    assert words in str(outcome)
