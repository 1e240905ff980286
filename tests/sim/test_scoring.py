"""SLO scoring arithmetic, checked against hand-computed numbers on synthetic histories.

The fake simulation below fills a real `sim.model.history.History` with chosen per-tick
counts, so the tracker reads exactly what it reads from the engine.
"""

from __future__ import annotations

import math
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.drill.drill import Drill, SLOSpec
from sim.model.history import History
from sim.model.observe import Event
from sim.scoring.score import (
    COLLATERAL_POINTS,
    IMPACT_POINTS,
    REFUSED_COST,
    RESPONSE_GRACE_S,
    RESPONSE_POINTS,
    RESTART_COST,
    SLOTracker,
    grade_for,
    judge,
    score_run,
)
from sim.model.spec import ArrivalProfile, CpuStep, Distribution, ModelSpec, PoolSpec, ServiceSpec, TrafficClass, Dependency


def make_drill(slos, *, classes=("web",), dt_s=1.0, incident_start_s=15.0, workers=2, concurrency=2, pools=()):
    model = ModelSpec(
        service=ServiceSpec(workers=workers, concurrency=concurrency),
        classes=tuple(
            TrafficClass(name=name, arrivals=ArrivalProfile(rate_rps=10.0), plan=(CpuStep(Distribution.constant(0.01)),))
            for name in classes
        ),
        dependencies=(Dependency(name="db", kind="database", latency=Distribution.constant(0.01)),) if pools else (),
        pools=tuple(PoolSpec(name=name, database="db", size=size) for name, size in pools),
        dt_s=dt_s,
    )
    return Drill(
        id="synthetic", title="Synthetic", difficulty=1, briefing="", duration_s=100.0, seed=1,
        model=model, slos=tuple(slos), incident_start_s=incident_start_s,
    )


class FakeSim:
    """Just enough of `sim.engine.simulation.Simulation` for the tracker: history and events."""

    def __init__(self, drill: Drill, thresholds_s=(), capacity=4096):
        self.latency_thresholds_s = tuple(thresholds_s)
        self.dt_s = drill.model.dt_s
        n_classes = len(drill.model.classes)
        n_pools = max(len(drill.model.pools), 1)
        shapes = {name: () for name in (
            "t_s", "arrivals", "total_slots", "rejected_shed", "rejected_ratelimit", "queue_depth",
            "busy_slots", "p95_ms", "p99_ms",
        )}
        shapes.update({name: (n_classes, 2) for name in ("class_completed", "class_failed", "class_rejected",
                                                          "class_degraded")})
        shapes["class_within"] = (n_classes, 2, max(len(thresholds_s), 1))
        shapes["pool_size"] = (n_pools,)
        self.history = History(capacity, shapes)
        self.baseline_slots = drill.model.service.workers * drill.model.service.concurrency
        self.baseline_pools = [p.size for p in drill.model.pools] or [0]
        self._events: list[Event] = []

    @property
    def events_total(self) -> int:
        return len(self._events)

    def events_since(self, n: int):
        return tuple(self._events[n:])

    def event(self, kind: str, subject: str = "") -> None:
        self._events.append(Event(t_s=self.history.written * self.dt_s, kind=kind, message=kind, subject=subject))

    def tick(self, completed=0, failed=0, rejected=0, within=None, *, retry_completed=0, retry_failed=0,
             total_slots=None, pool_size=None, shed=0, queue_depth=0, busy_slots=0, p95_ms=math.nan, p99_ms=math.nan,
             cls=0, degraded=0):
        """One tick; counts are for class `cls`, fresh attempts unless retry_*."""
        pos = self.history.begin_row()
        buf = self.history.buffer
        buf("t_s")[pos] = self.history.written * self.dt_s
        buf("class_completed")[pos, cls] = (completed, retry_completed)
        buf("class_failed")[pos, cls] = (failed, retry_failed)
        buf("class_rejected")[pos, cls] = (rejected + shed, 0)
        buf("class_within")[pos, cls, 0, 0] = completed if within is None else within
        buf("class_within")[pos, cls, 1, 0] = retry_completed
        buf("class_degraded")[pos, cls] = (degraded, 0)
        buf("arrivals")[pos] = completed + failed + rejected + shed + retry_completed + retry_failed
        buf("total_slots")[pos] = self.baseline_slots if total_slots is None else total_slots
        buf("pool_size")[pos] = self.baseline_pools if pool_size is None else pool_size
        buf("rejected_shed")[pos] = shed
        buf("queue_depth")[pos] = queue_depth
        buf("busy_slots")[pos] = busy_slots
        buf("p95_ms")[pos] = p95_ms
        buf("p99_ms")[pos] = p99_ms


AVAIL_90 = SLOSpec(name="availability", kind="availability", target=0.9)


def run_availability_example():
    """100 one-second ticks of 10 requests; ticks 20-29 fail half of them."""
    drill = make_drill([AVAIL_90])
    sim = FakeSim(drill)
    for k in range(100):
        if 20 <= k < 30:
            sim.tick(completed=5, failed=5)
        else:
            sim.tick(completed=10)
    return drill, sim


MONTH_S = 30 * 86400.0


def test_availability_sli_and_the_months_budget_match_hand_arithmetic():
    drill, sim = run_availability_example()
    report = score_run(drill, sim)
    (sli,) = report.slis
    assert (sli.good, sli.valid, sli.bad) == (950, 1000, 50)
    assert sli.attained == pytest.approx(0.95)
    # 150 valid events in the 15 s before the incident: 10/s, over a 30-day month.
    assert sli.month_valid_events == pytest.approx(10.0 * MONTH_S)
    assert sli.month_budget_events == pytest.approx(0.1 * 10.0 * MONTH_S)
    assert sli.budget_spent == pytest.approx(50 / (0.1 * 10.0 * MONTH_S))
    assert sli.budget_events == pytest.approx(100.0)  # the run's own share: (1 - 0.9) x 1000
    assert sli.met
    assert sli.breached_at_s == (30.0,)
    assert sli.burn_rate_1m_max == pytest.approx(50 / 600 / 0.1)
    assert sli.burn_rate_1m_end == 0.0
    assert sli.burn_rate_5m_max is None  # the run is shorter than five minutes
    assert report.score is None and report.grade is None  # facts only, until judged


def test_an_slo_window_scales_the_budget():
    week = attrs.evolve(AVAIL_90, window_s=7 * 86400.0)
    drill = make_drill([week])
    sim = FakeSim(drill)
    for k in range(100):
        sim.tick(completed=5, failed=5) if 20 <= k < 30 else sim.tick(completed=10)
    (sli,) = score_run(drill, sim).slis
    assert sli.month_budget_events == pytest.approx(0.1 * 10.0 * 7 * 86400.0)


def test_degraded_answers_cost_their_dependencys_price_in_every_slo_covering_the_class():
    from sim.model.spec import CallStep

    drill = make_drill([AVAIL_90])
    web = attrs.evolve(drill.model.classes[0], plan=(CallStep(dependency="llm"),))
    drill = attrs.evolve(drill, model=attrs.evolve(drill.model, classes=(web,)), degraded_costs=(("llm", 0.25),))
    sim = FakeSim(drill)
    for k in range(100):
        sim.tick(completed=10, degraded=4 if k >= 50 else 0)
    report = score_run(drill, sim)
    (sli,) = report.slis
    assert (sli.bad, sli.degraded, sli.degraded_cost) == (0, 200, pytest.approx(50.0))
    assert sli.effective_bad == pytest.approx(50.0)
    assert report.cost.degraded == 200


def _pages_drill():
    return make_drill([AVAIL_90], incident_start_s=15.0)


def test_first_page_is_the_first_fast_or_slow_burn_on_the_apps_samples():
    drill = make_drill([SLOSpec(name="availability", kind="availability", target=0.99)], dt_s=0.25)
    sim = FakeSim(drill)
    for k in range(400):
        sim.tick(completed=0, failed=10) if k >= 200 else sim.tick(completed=10)  # all fail from 50 s
    report = score_run(drill, sim)
    # Burn 100x from 50 s: the 5 s window reaches 14.4x at once, the 60 s window (with 50 s of
    # good traffic in it) once 14.4 % of its requests are bad, at about 50 + 0.144 x 60 s.
    assert report.first_page_s == pytest.approx(50 + 0.144 * 60, abs=0.5)
    assert report.alerts[0].word in ("TICKET", "FAST BURN")
    assert any(a.word == "FAST BURN" for a in report.alerts)


def test_latency_sli_counts_failures_as_bad_and_follows_events_and_classes():
    slos = [
        SLOSpec(name="fast", kind="latency", target=0.8, threshold_s=0.3),
        SLOSpec(name="fast-attempts", kind="latency", target=0.8, threshold_s=0.3, events="attempts"),
        SLOSpec(name="api-only", kind="availability", target=0.5, classes=("api",)),
    ]
    drill = make_drill(slos, classes=("web", "api"))
    sim = FakeSim(drill, thresholds_s=(0.3,))
    for _ in range(20):
        # web: 8 fresh successes of which 6 within 300 ms, 2 failures; 4 retries succeed within.
        sim.tick(completed=8, failed=2, within=6, retry_completed=4, cls=0)
    report = score_run(drill, sim)
    fast, attempts, api = report.slis
    assert (fast.good, fast.valid) == (120, 200)  # 6/10 per tick
    assert (attempts.good, attempts.valid) == (200, 280)  # (6+4)/(10+4)
    assert (api.good, api.valid, api.attained) == (0, 0, 1.0)  # no api traffic: nothing to judge
    assert dict(fast.by_class) == {"web": pytest.approx(0.6), "api": None}
    assert dict(api.by_class) == {"api": None}


def test_cost_counts_capacity_pools_needless_shedding_restarts_and_refusals():
    drill = make_drill([AVAIL_90], pools=(("main", 10),), workers=2, concurrency=2)
    sim = FakeSim(drill)
    for k in range(100):
        if k >= 50:
            # Doubled slots and +5 connections for the second half; 2 shed per tick while idle.
            sim.tick(completed=8, total_slots=8, pool_size=[15], shed=2, queue_depth=0, busy_slots=3)
        else:
            sim.tick(completed=10, busy_slots=4, queue_depth=5, shed=1)  # shedding while saturated: needed
    sim.event("action_applied", "worker.restart")
    sim.event("action_refused", "pool.resize")
    sim.event("action_applied", "pool.resize")
    report = score_run(drill, sim)
    cost = report.cost
    assert cost.extra_slot_s == pytest.approx(4 * 50)
    assert cost.capacity_fraction == pytest.approx(200 / (4 * 100))
    assert cost.extra_connection_s == pytest.approx(5 * 50)
    assert cost.pool_fraction == pytest.approx(250 / (10 * 100))
    assert cost.needless_shed == 100
    assert cost.needless_shed_fraction == pytest.approx(100 / (50 * 11 + 50 * 10))
    assert (cost.restarts, cost.refused_actions) == (1, 1)
    expected = 10 * 0.5 + 5 * 0.25 + 20 * (100 / 1050) + RESTART_COST + REFUSED_COST
    assert cost.points == pytest.approx(expected)


def test_live_status_reports_budget_burn_and_the_window_in_progress():
    drill = make_drill([AVAIL_90])
    sim = FakeSim(drill)
    tracker = SLOTracker.for_sim(drill, sim)
    for _ in range(25):
        sim.tick(completed=10)
    for _ in range(5):
        sim.tick(completed=6, failed=4)
    tracker.update(sim)
    (status,) = tracker.status()
    assert (status.good, status.valid) == (280, 300)
    # 150 valid events in the 15 s before the incident: 10/s over the month.
    assert status.budget_spent == pytest.approx(20 / (0.1 * 10.0 * MONTH_S))
    # The minute reaches 30 s back before the run: filled with good traffic at 10/s.
    assert status.burn_rate_1m == pytest.approx(20 / 600 / 0.1)
    assert status.window_sli is None  # the window 30-40 s has not started
    assert status.breaches == 1  # window 20-30 s: 80 good of 100


def test_updating_every_tick_gives_the_same_report_as_once_at_the_end():
    drill, sim = run_availability_example()
    whole = score_run(drill, sim)
    drill2 = make_drill([AVAIL_90])
    sim2 = FakeSim(drill2)
    tracker = SLOTracker.for_sim(drill2, sim2)
    for k in range(100):
        sim2.tick(completed=5, failed=5) if 20 <= k < 30 else sim2.tick(completed=10)
        if k % 7 == 0:
            tracker.update(sim2)
    assert score_run(drill2, sim2, tracker) == whole


def test_tracker_refuses_to_skip_ticks_it_can_no_longer_read():
    drill = make_drill([AVAIL_90])
    sim = FakeSim(drill, capacity=16)
    tracker = SLOTracker.for_sim(drill, sim)
    for _ in range(20):
        sim.tick(completed=1)
    with pytest.raises(ValueError, match="call it more often"):
        tracker.update(sim)


def test_latency_slo_needs_its_threshold_in_the_simulation():
    drill = make_drill([SLOSpec(name="fast", kind="latency", target=0.9, threshold_s=0.25)])
    with pytest.raises(ValueError, match="latency threshold"):
        SLOTracker.for_sim(drill, FakeSim(drill, thresholds_s=(0.3,)))


def test_grades_follow_the_documented_floors():
    assert [grade_for(s) for s in (100, 90, 89.9, 80, 70, 60, 59.9, 0)] == ["A", "A", "B", "B", "C", "D", "F", "F"]


# -- judging against do nothing and par -----------------------------------------

TWO_SLOS = [
    SLOSpec(name="availability", kind="availability", target=0.95),
    SLOSpec(name="latency", kind="latency", target=0.9, threshold_s=0.3),
]


AVAIL_99 = SLOSpec(name="availability", kind="availability", target=0.99)


def synthetic_report(fail_from=None, fail_to=None, *, failed=10, events=(), slos=(AVAIL_99,), n=100):
    """100 one-second ticks of 10 requests; `failed` of them fail in ticks [fail_from, fail_to)."""
    drill = make_drill(list(slos))
    sim = FakeSim(drill)
    for k in range(n):
        for t, kind, subject in events:
            if t == k:
                sim.event(kind, subject)
        if fail_from is not None and fail_from <= k < fail_to:
            sim.tick(completed=10 - failed, failed=failed)
        else:
            sim.tick(completed=10)
    return score_run(drill, sim)


def test_judge_matches_hand_arithmetic():
    # Do nothing fails every request from 20 s to the end; par acts at 30 s (fixed at 40 s); you
    # act at 50 s (fixed at 60 s). The first page comes on do nothing's run: the minute (filled
    # before the run with good traffic) burns 14.4x once 8.64 s of it failed.
    none = synthetic_report(20, 100)
    par = synthetic_report(20, 40, events=((30, "action_applied", "workers.scale"),))
    you = synthetic_report(20, 60, events=((50, "action_applied", "workers.scale"),
                                           (50, "action_refused", "pool.resize")))
    verdict = judge(you, none, par).verdict
    # Bad events: none 800, par 200, you 400; impact = (800 - 400) / (800 - 200).
    points = {line.item: line.points for line in verdict.breakdown}
    assert points["impact avoided"] == pytest.approx(IMPACT_POINTS * 400 / 600)
    assert verdict.avoided == pytest.approx(400 / 600)
    # Response: the action that helped is the last one before the run pulled ahead; you 20 s after par.
    assert (verdict.acted_at_s, verdict.par_acted_at_s) == (pytest.approx(50.0), pytest.approx(30.0))
    page = none.first_page_s
    assert page == pytest.approx(29.0)  # the first whole second after 20 + 8.64
    assert verdict.response_s == pytest.approx(50.0 - page)
    assert points["response"] == pytest.approx(RESPONSE_POINTS * (1 - 20.0 / RESPONSE_GRACE_S))
    assert points["collateral"] == pytest.approx(COLLATERAL_POINTS - REFUSED_COST)
    assert verdict.score == pytest.approx(sum(points.values()))
    budget = none.slis[0].month_budget_events
    assert [(line.you, line.none, line.par) for line in verdict.spent] == [
        (pytest.approx(400 / budget), pytest.approx(800 / budget), pytest.approx(200 / budget))]


def test_par_scores_full_marks_and_doing_nothing_fails():
    none = synthetic_report(20, 100)
    par = synthetic_report(20, 40, events=((30, "action_applied", "workers.scale"),))
    assert judge(par, none, par).score == pytest.approx(100.0)
    nothing = judge(none, none, par)
    assert nothing.grade == "F"
    assert nothing.score == pytest.approx(COLLATERAL_POINTS)


def test_a_later_par_never_scores_higher():
    none = synthetic_report(20, 100)
    par = synthetic_report(20, 40, events=((30, "action_applied", "workers.scale"),))
    scores = [judge(synthetic_report(20, 40 + d, events=((30 + d, "action_applied", "workers.scale"),)), none, par).score
              for d in (0, 5, 15, 30, 45)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(100.0) and scores[-1] < 60.0


tick_counts = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5), st.integers(0, 20)), min_size=30, max_size=120)


def score_of(ticks, extra_bad=()):
    """Judge a synthetic run (per tick: completed, failed, within <= completed) against fixed
    do-nothing and par runs of the same length; extra_bad turns that many successes of a tick
    into failures."""
    drill = make_drill(TWO_SLOS, dt_s=1.0, incident_start_s=5.0)

    def run(rows):
        sim = FakeSim(drill, thresholds_s=(0.3,))
        for completed, failed, within in rows:
            sim.tick(completed=completed, failed=failed, within=min(within, completed))
        return score_run(drill, sim)

    extra = dict(extra_bad)
    rows = []
    for k, (completed, failed, within) in enumerate(ticks):
        moved = min(extra.get(k, 0), completed)
        rows.append((completed - moved, failed + moved, within))
    n = len(ticks)
    none = run([(10, 0, 10)] * 5 + [(4, 6, 2)] * (n - 5))
    par = run([(10, 0, 10)] * 5 + [(4, 6, 2)] * 3 + [(10, 0, 9)] * (n - 8))
    return judge(run(rows), none, par)


@settings(max_examples=150, deadline=None)
@given(ticks=tick_counts, data=st.data())
def test_more_bad_events_at_the_same_cost_never_score_higher(ticks, data):
    candidates = [k for k, (completed, _, _) in enumerate(ticks) if completed > 0]
    if not candidates:
        ticks = [(5, 0, 5)] + ticks
        candidates = [0]
    k = data.draw(st.sampled_from(candidates))
    moved = data.draw(st.integers(1, ticks[k][0]))
    worse, better = score_of(ticks, {k: moved}), score_of(ticks)
    assert worse.cost == better.cost
    assert worse.score <= better.score


@settings(max_examples=30, deadline=None)
@given(ticks=tick_counts)
def test_score_is_deterministic_and_within_0_100(ticks):
    first, second = score_of(ticks), score_of(ticks)
    assert first == second
    assert 0.0 <= first.score <= 100.0
    assert first.score == pytest.approx(sum(line.points for line in first.breakdown))


def test_report_to_dict_is_plain_json():
    import json

    none = synthetic_report(20, 100)
    par = synthetic_report(20, 40, events=((30, "action_applied", "workers.scale"),))
    data = judge(par, none, par).to_dict()
    text = json.loads(json.dumps(data, allow_nan=False))
    assert text["score"] == pytest.approx(100.0)
    assert text["verdict"]["budget_spent"][0]["slo"] == "availability"
    assert text["first_page_s"] is not None


# -- on the real engine ---------------------------------------------------------

MINI = Path(__file__).resolve().parents[2] / "tests" / "cli" / "data" / "mini.toml"


@pytest.fixture(scope="module")
def mini_runs():
    from sim.drill.loader import load_drill
    from sim.running.headless import compare

    drill = load_drill(MINI)
    return drill, compare(drill)


def test_incremental_tracker_equals_scoring_the_whole_history_at_the_end(mini_runs):
    from sim.engine.simulation import Simulation

    drill, (none_run, _) = mini_runs
    sim = Simulation.from_drill(drill)
    sim.run_until(drill.duration_s)
    assert sim.digest() == none_run.sim.digest()
    assert score_run(drill, sim) == attrs.evolve(none_run.report, verdict=None)


def test_availability_over_all_attempts_matches_the_engines_totals(mini_runs):
    drill, (none_run, par_run) = mini_runs
    every_attempt = attrs.evolve(
        drill, slos=(SLOSpec(name="all", kind="availability", target=0.99, events="attempts"),)
    )
    for run in (none_run, par_run):
        result = run.sim.result()
        (sli,) = score_run(every_attempt, run.sim).slis
        assert sli.good == result.completed
        assert sli.valid == result.completed + result.failed_total + result.rejected_total
        assert sli.valid == result.arrivals - result.in_flight


def test_compare_runs_do_nothing_and_par_on_the_same_seed(mini_runs):
    drill, (none_run, par_run) = mini_runs
    assert (none_run.policy, par_run.policy) == ("none", "par")
    assert none_run.seed == par_run.seed == drill.seed
    assert none_run.sim.action_log == ()
    assert [(a.t_s, a.name) for a in par_run.sim.action_log] == [(a.t_s, a.name) for a in drill.par]
    assert par_run.report.slis[0].bad < none_run.report.slis[0].bad
    assert par_run.report.score > none_run.report.score
    # The latency SLI counts successes within 500 ms: never more than the successes.
    for run in (none_run, par_run):
        assert run.report.slis[1].good <= run.report.slis[0].good


def test_compare_forks_par_from_do_nothing_without_changing_either_run(mini_runs):
    """compare() shares the stretch before par's first action; both runs must equal runs made alone."""
    from sim.running.headless import run_drill

    drill, (none_run, par_run) = mini_runs
    alone = (run_drill(drill, policy="none", graded=False),
             run_drill(drill, actions=drill.par, policy="par", graded=False))
    for forked, single in zip((none_run, par_run), alone):
        assert forked.sim.digest() == single.sim.digest()
        assert attrs.evolve(forked.report, verdict=None) == single.report
        assert forked.sim.action_log == single.sim.action_log
        assert [e.message for e in forked.events] == [e.message for e in single.events]
    # The fork is a real copy: the do-nothing run saw none of par's actions.
    assert none_run.sim.history.written == par_run.sim.history.written
    assert not any(e.kind == "action_applied" for e in none_run.events)


def test_an_early_ended_run_is_compared_over_the_same_span(mini_runs):
    from sim.engine.simulation import Simulation

    drill, (none_run, par_run) = mini_runs
    sim = Simulation.from_drill(drill)
    for action in drill.par:
        sim.apply(action) if action.t_s <= 0 else None
    tracker = SLOTracker.for_sim(drill, sim)
    while sim.t_s < 50.0 - 1e-9:
        due = [a for a in drill.par if abs(a.t_s - sim.t_s) < sim.dt_s / 2]
        for action in due:
            sim.apply(action)
        sim.step()
        tracker.update(sim)
    you = tracker.report()
    assert you.duration_s == pytest.approx(50.0)
    none_cut, par_cut = none_run.report_until(you.duration_s), par_run.report_until(you.duration_s)
    assert none_cut.duration_s == par_cut.duration_s == pytest.approx(50.0)
    verdict = judge(you, none_cut, par_cut).verdict
    assert verdict.span_s == pytest.approx(50.0)
    # Played as par up to 50 s, the run matches par over the span, whatever par did after it.
    assert verdict.score == pytest.approx(100.0)
    assert [line.par for line in verdict.spent] == [pytest.approx(sli.budget_spent) for sli in par_cut.slis]
    assert par_cut.slis[0].valid < par_run.report.slis[0].valid


def test_a_later_par_never_beats_an_earlier_one_on_the_engine(mini_runs):
    from sim.running.check import DELAYS_S, LADDER_NOISE, par_delayed
    from sim.running.headless import ladder

    drill, _ = mini_runs
    _, par_run, delayed = ladder(drill, drill.seed, tuple(par_delayed(drill, d) for d in DELAYS_S))
    scores = [par_run.report.score, *(run.report.score for run in delayed)]
    assert all(later <= earlier + LADDER_NOISE for earlier, later in zip(scores, scores[1:])), scores


def test_live_status_equals_sums_over_the_ticks_consumed():
    # status() keeps running sums so it costs the same at any point of a run; it must say
    # exactly what summing the per-tick rows says, however the run was fed to the tracker.
    latency = SLOSpec(name="latency", kind="latency", target=0.95, threshold_s=0.5)
    drill = make_drill([AVAIL_90, latency])
    sim = FakeSim(drill, thresholds_s=(0.5,), capacity=8192)
    tracker = SLOTracker.for_sim(drill, sim)
    rng = np.random.default_rng(4)
    rows = []  # (good availability, good latency, valid) per tick
    for chunk in (1, 7, 25, 3, 150, 41, 1, 9, 333, 60):
        for _ in range(chunk):
            completed, failed = int(rng.integers(0, 12)), int(rng.integers(0, 4)) * int(rng.random() < 0.3)
            within = int(rng.integers(0, completed + 1))
            sim.tick(completed=completed, failed=failed, within=within)
            rows.append((completed, within, completed + failed))
        tracker.update(sim)
        table = np.array(rows)
        for i, status in enumerate(tracker.status()):
            good, valid, target = table[:, i], table[:, 2], drill.slos[i].target
            assert (status.good, status.valid) == (good.sum(), valid.sum())
            rate = table[:15, 2].sum() / 15.0 if len(table) >= 15 else table[:, 2].sum() / len(table)
            for burn, n in ((status.burn(60.0), 60), (status.burn(300.0), 300), (status.burn(5.0), 5)):
                v, g = valid[-n:].sum(), good[-n:].sum()
                padded = v + max(n - len(table), 0) * rate
                assert burn == pytest.approx((v - g) / padded / (1.0 - target) if padded else 0.0, rel=1e-12)
            done = len(table) // 10
            wg, wv = good[: done * 10].reshape(done, 10).sum(axis=1), valid[: done * 10].reshape(done, 10).sum(axis=1)
            assert status.breaches == int(np.sum((wv > 0) & (wg < target * wv - 1e-9)))
            now_g, now_v = good[done * 10:].sum(), valid[done * 10:].sum()
            assert status.window_sli == (now_g / now_v if now_v else None)
    assert all(status.breaches > 0 for status in tracker.status())


@pytest.mark.parametrize("incident_start_s", [0.0, 15.0, 400.0])
def test_live_status_equals_the_array_code_bit_for_bit(incident_start_s):
    # status() is the array code of the replay's alerts redone in Python scalars for speed: the same
    # operations in the same order, so every float must be equal, not merely close.
    latency = SLOSpec(name="latency", kind="latency", target=0.95, threshold_s=0.5)
    drill = make_drill([AVAIL_90, latency], incident_start_s=incident_start_s, dt_s=0.05)
    sim = FakeSim(drill, thresholds_s=(0.5,), capacity=16384)
    tracker = SLOTracker.for_sim(drill, sim)
    assert tracker.status() == tracker.status_vectorized()
    rng = np.random.default_rng(7)
    for chunk in (1, 4, 5, 5, 250, 5, 1199, 5, 3, 5000, 5, 7, 1500):
        for _ in range(chunk):
            completed, failed = int(rng.integers(0, 12)), int(rng.integers(0, 4)) * int(rng.random() < 0.3)
            sim.tick(completed=completed, failed=failed, within=int(rng.integers(0, completed + 1)))
        tracker.update(sim)
        assert tracker.status() == tracker.status_vectorized()


def test_live_status_equals_the_array_code_on_a_played_drill(mini_runs):
    from sim.engine.simulation import Simulation

    drill, _ = mini_runs
    sim = Simulation.from_drill(drill)
    tracker = SLOTracker.for_sim(drill, sim)
    pending = list(drill.par)
    while sim.t_s < drill.duration_s - 1e-9:
        while pending and pending[0].t_s <= sim.t_s + 1e-9:
            sim.apply(pending.pop(0))
        for _ in range(5):
            sim.step()
        tracker.update(sim)
        assert tracker.status() == tracker.status_vectorized()
