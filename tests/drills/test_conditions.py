"""The condition language: parsing, evaluation against gauges, and the `for` tracker."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.drill.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    ConditionError,
    ConditionTracker,
    Not,
    metric_value,
    parse_condition,
)
from sim.model.observe import BreakerGauge, Gauges, PoolGauge, WorkerGauge


def make_gauges(**overrides) -> Gauges:
    """A plausible snapshot: 2 workers, one pool "main", one breaker on "llm"."""
    values = dict(
        t_s=10.0, tick=200, busy_slots=6, total_slots=8, live_workers=2, target_workers=2,
        queue_depth=0, queue_limit=None, in_flight=6,
        pools=(PoolGauge(name="main", database="postgres", in_use=18, size=20, target_size=20, waiters=3),),
        workers=(WorkerGauge(index=0, up=True, busy=3, memory_mb=300.0), WorkerGauge(index=1, up=True, busy=3, memory_mb=420.0)),
        memory_limit_mb=512.0, memory_pressure_mb=409.6,
        breakers=(BreakerGauge(dependency="llm", state="closed", forced=None, failure_rate=0.0, calls_in_window=40),),
        caches=(), dependencies=(),
        arrival_rps=100.0, fresh_rps=90.0, retry_rps=10.0, goodput_rps=92.0, error_rps=5.0, reject_rps=3.0,
        p50_ms=40.0, p95_ms=250.0, p99_ms=900.0,
        shed_fraction=0.0, shed_mode="random", ratelimit_rps=None,
    )
    values.update(overrides)
    return Gauges(**values)


# ---------------------------------------------------------------- parsing


def test_simple_comparison_parses_to_its_parts():
    condition = parse_condition("p95_ms > 300")
    assert condition.expr == Comparison("p95_ms", ">", 300.0)
    assert condition.for_s == 0.0
    assert condition.text == "p95_ms > 300"


def test_for_clause_gives_the_hold_duration_in_seconds():
    condition = parse_condition("error_rate >= 0.05 for 10s")
    assert condition.expr == Comparison("error_rate", ">=", 0.05)
    assert condition.for_s == 10.0
    assert parse_condition("queue_depth > 1 for 2m").for_s == 120.0


def test_and_binds_tighter_than_or():
    condition = parse_condition("queue_depth > 100 or p99_ms > 1000 and error_rate > 0.1")
    assert condition.expr == AnyOf((
        Comparison("queue_depth", ">", 100.0),
        AllOf((Comparison("p99_ms", ">", 1000.0), Comparison("error_rate", ">", 0.1))),
    ))


def test_parentheses_and_not_group_as_written():
    condition = parse_condition("not (queue_depth > 100 or p99_ms > 1000)")
    assert condition.expr == Not(AnyOf((Comparison("queue_depth", ">", 100.0), Comparison("p99_ms", ">", 1000.0))))


def test_percent_numbers_are_fractions():
    assert parse_condition("error_rate > 5%").expr == Comparison("error_rate", ">", 0.05)


def test_pool_and_breaker_metrics_report_the_names_they_use():
    condition = parse_condition("pool_main_waiters > 5 or breaker_llm-api_open == 1 or pool_read_only_in_use >= 3")
    assert condition.pool_names() == ("main", "read_only")
    assert condition.breaker_names() == ("llm-api",)


@pytest.mark.parametrize(
    "text, words, column",
    [
        ("p95 > 300", ['unknown metric "p95"', 'did you mean "p95_ms"'], 1),
        ("p95_ms >", ["unexpected end"], 9),
        ("p95_ms 300", ["expected a comparison"], 8),
        ("p95_ms > fast", ["expected a number"], 10),
        ("p95_ms > 300 for soon", ['duration like "10s"', '"soon"'], 14),
        ("p95_ms > 300 then", ['unexpected "then"'], 14),
        ("(p95_ms > 300", ['missing ")"'], None),
        ("p95_ms > 300 and $", ['unexpected "$"'], 18),
        ("", ["empty condition"], None),
        ("and > 3", ["expected a metric name"], 1),
    ],
)
def test_parse_errors_say_what_is_wrong_and_where(text, words, column):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    for word in words:
        assert word in caught.value.message
    if column is not None:
        assert caught.value.column == column


def test_unknown_metric_without_close_match_lists_the_known_ones():
    with pytest.raises(ConditionError) as caught:
        parse_condition("banana > 1")
    assert "queue_depth" in caught.value.message and "pool_<name>_waiters" in caught.value.message


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ConditionError, match="nested"):
        parse_condition("not " * 200 + "p95_ms > 1")
    with pytest.raises(ConditionError, match="nested"):
        parse_condition("(" * 200 + "p95_ms > 1" + ")" * 200)


def test_non_string_is_a_condition_error():
    with pytest.raises(ConditionError):
        parse_condition(42)


# ---------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    "text, expected",
    [
        ("p95_ms > 200", True),
        ("p95_ms > 300", False),
        ("p95_ms >= 250 and p99_ms <= 900", True),
        ("p95_ms == 250", True),
        ("p95_ms != 250", False),
        ("queue_depth > 100 or p99_ms > 800", True),
        ("not p50_ms < 100", False),
        ("error_rate >= 0.05", True),
        ("error_rate > 0.05", False),
        ("reject_rate == 0.03", True),
        ("slot_utilization == 0.75", True),
        ("memory_mb > 400", True),
        ("memory_fraction > 0.8", True),
        ("pool_main_in_use >= 18 and pool_main_waiters == 3 and pool_main_size == 20", True),
        ("breaker_llm_open == 1", False),
    ],
)
def test_conditions_evaluate_against_gauges(text, expected):
    assert parse_condition(text).holds(make_gauges()) is expected


def test_open_breaker_reads_as_one():
    gauges = make_gauges(breakers=(BreakerGauge("llm", "open", None, 0.9, 40),))
    assert parse_condition("breaker_llm_open == 1").holds(gauges)


def test_rates_are_zero_without_arrivals():
    gauges = make_gauges(arrival_rps=0.0, error_rps=0.0, reject_rps=0.0)
    assert metric_value(gauges, "error_rate") == 0.0
    assert metric_value(gauges, "reject_rate") == 0.0


def test_missing_values_never_satisfy_a_comparison():
    gauges = make_gauges(p95_ms=math.nan)
    assert not parse_condition("p95_ms > 0").holds(gauges)
    assert not parse_condition("p95_ms <= 0").holds(gauges)
    # An unknown pool and an absent rate limit read as NaN rather than crashing.
    assert not parse_condition("pool_replica_waiters >= 0").holds(gauges)
    assert not parse_condition("ratelimit_rps >= 0").holds(gauges)
    assert parse_condition("ratelimit_rps >= 0").holds(make_gauges(ratelimit_rps=50.0))


# ---------------------------------------------------------------- tracking over time


def feed(tracker: ConditionTracker, samples):
    return [tracker.update(make_gauges(t_s=t_s, p95_ms=p95_ms)) for t_s, p95_ms in samples]


def test_tracker_fires_only_after_the_condition_held_for_its_duration():
    tracker = ConditionTracker(parse_condition("p95_ms > 300 for 1s"))
    samples = [(t / 4, 500.0) for t in range(0, 6)]  # 0, 0.25, ... 1.25 s
    assert feed(tracker, samples) == [False, False, False, False, True, True]


def test_a_gap_restarts_the_clock():
    tracker = ConditionTracker(parse_condition("p95_ms > 300 for 1s"))
    samples = [(0.0, 500.0), (0.5, 500.0), (0.75, 100.0), (1.0, 500.0), (1.5, 500.0), (2.0, 500.0)]
    assert feed(tracker, samples) == [False, False, False, False, False, True]


def test_without_for_the_tracker_follows_the_condition():
    tracker = ConditionTracker(parse_condition("p95_ms > 300"))
    assert feed(tracker, [(0.0, 500.0), (0.05, 100.0), (0.1, 400.0)]) == [True, False, True]


def test_time_going_backwards_restarts_the_clock():
    tracker = ConditionTracker(parse_condition("p95_ms > 300 for 1s"))
    assert feed(tracker, [(5.0, 500.0), (6.0, 500.0)]) == [False, True]
    # A replay seeks back to 2 s: the condition has not held for 1 s since then.
    assert feed(tracker, [(2.0, 500.0), (2.5, 500.0), (3.0, 500.0)]) == [False, False, True]


def test_tick_times_with_float_error_still_count_the_full_duration():
    tracker = ConditionTracker(parse_condition("p95_ms > 300 for 10s"))
    t_s, results = 0.0, []
    for _ in range(201):  # 0 .. 10 s in 50 ms ticks, summed as an engine would
        results.append(tracker.update(make_gauges(t_s=t_s, p95_ms=500.0)))
        t_s += 0.05
    assert results[199] is False and results[200] is True


def test_reset_forgets_history():
    tracker = ConditionTracker(parse_condition("p95_ms > 300 for 1s"))
    feed(tracker, [(0.0, 500.0), (0.9, 500.0)])
    tracker.reset()
    assert feed(tracker, [(1.0, 500.0)]) == [False]


# ---------------------------------------------------------------- properties

_metric = st.sampled_from(["p95_ms", "queue_depth", "error_rate", "pool_main_waiters", "breaker_llm_open", "memory_mb"])
_comparison = st.builds(
    Comparison, _metric, st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: float(f"{x:g}")),
)
_expr = st.recursive(
    _comparison,
    lambda inner: st.one_of(
        st.builds(AllOf, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(AnyOf, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Not, inner),
    ),
    max_leaves=8,
)


def _flatten(expr):
    """Nested same-kind groups print without parentheses and reparse flat; compare flat."""
    if isinstance(expr, (AllOf, AnyOf)):
        parts = []
        for part in map(_flatten, expr.parts):
            parts.extend(part.parts if type(part) is type(expr) else (part,))
        return type(expr)(tuple(parts))
    if isinstance(expr, Not):
        return Not(_flatten(expr.part))
    return expr


@settings(max_examples=200, deadline=None)
@given(_expr)
def test_printed_conditions_parse_back_to_the_same_meaning(expr):
    reparsed = parse_condition(str(expr)).expr
    assert _flatten(reparsed) == _flatten(expr)
    gauges = make_gauges()
    assert reparsed.holds(gauges) == expr.holds(gauges)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("p95_ms><=!() andornotfor10s.%-x")) | st.characters(), max_size=60))
def test_any_text_parses_or_raises_condition_error(text):
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    assert isinstance(condition.holds(make_gauges()), bool)


def test_conditions_are_frozen_values():
    condition = parse_condition("p95_ms > 300 for 5s")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        condition.for_s = 1.0
    assert condition == parse_condition("p95_ms > 300 for 5s")
