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
    ALL_MET_POINTS,
    BUDGET_POINTS,
    COST_POINTS,
    MITIGATION_POINTS,
    REFUSED_COST,
    RESTART_COST,
    SLOTracker,
    grade_for,
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
        shapes.update({name: (n_classes, 2) for name in ("class_completed", "class_failed", "class_rejected")})
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
             cls=0):
        """One tick; counts are for class `cls`, fresh attempts unless retry_*."""
        pos = self.history.begin_row()
        buf = self.history.buffer
        buf("t_s")[pos] = self.history.written * self.dt_s
        buf("class_completed")[pos, cls] = (completed, retry_completed)
        buf("class_failed")[pos, cls] = (failed, retry_failed)
        buf("class_rejected")[pos, cls] = (rejected + shed, 0)
        buf("class_within")[pos, cls, 0, 0] = completed if within is None else within
        buf("class_within")[pos, cls, 1, 0] = retry_completed
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


def test_availability_sli_budget_and_burn_rates_match_hand_arithmetic():
    drill, sim = run_availability_example()
    report = score_run(drill, sim)
    (sli,) = report.slis
    assert (sli.good, sli.valid, sli.bad) == (950, 1000, 50)
    assert sli.attained == pytest.approx(0.95)
    assert sli.budget_events == pytest.approx(100.0)  # (1 - 0.9) x 1000
    assert sli.budget_remaining == pytest.approx(0.5)
    assert sli.met
    # The window of ticks 20-29 ends at t=30 s and its SLI is 0.5 < 0.9.
    assert sli.breached_at_s == (30.0,)
    # All 50 bad events fit in one minute of 600 valid: (50/600)/0.1.
    assert sli.burn_rate_1m_max == pytest.approx(50 / 600 / 0.1)
    assert sli.burn_rate_1m_end == 0.0
    assert sli.burn_rate_5m_max is None  # the run is shorter than five minutes
    assert sli.budget_exhausted_at_s is None


def test_detect_mitigate_and_score_breakdown_match_hand_arithmetic():
    drill, sim = run_availability_example()
    report = score_run(drill, sim)
    assert report.time_to_detect_s == pytest.approx(15.0)  # window end 30 s - incident start 15 s
    assert report.time_to_mitigate_s == pytest.approx(15.0)  # last breach ends at 30 s, then 70 s all good
    budget = BUDGET_POINTS / (1 + 0.5 / 3)
    mitigation = MITIGATION_POINTS * (1 - 15.0 / (100 - 15 - 60))
    points = {line.item: line.points for line in report.breakdown}
    assert points == pytest.approx(
        {"budget availability": budget, "all SLOs met": ALL_MET_POINTS, "time to mitigate": mitigation, "cost": COST_POINTS}
    )
    assert report.score == pytest.approx(budget + ALL_MET_POINTS + mitigation + COST_POINTS)
    assert report.score == pytest.approx(85.2857, abs=1e-3)
    assert report.grade == "B"
    assert sum(line.max_points for line in report.breakdown) == pytest.approx(100.0)


def test_overspent_budget_records_when_it_ran_out_and_costs_the_all_met_points():
    drill = make_drill([AVAIL_90])
    sim = FakeSim(drill)
    for k in range(100):
        sim.tick(completed=5, failed=5) if 40 <= k < 70 else sim.tick(completed=10)
    report = score_run(drill, sim)
    (sli,) = report.slis
    # 150 bad of 1000 valid: budget 100, remaining 1 - 150/100.
    assert sli.budget_remaining == pytest.approx(-0.5)
    assert not sli.met
    # 20 half-failed ticks (40-59) spend exactly the 100-event budget; tick 60 (ending at 61 s) exceeds it.
    assert sli.budget_exhausted_at_s == pytest.approx(61.0)
    assert sli.breached_at_s == (50.0, 60.0, 70.0)
    # Last breach ends at 70 s and only 30 s remain: not mitigated.
    assert report.time_to_mitigate_s is None
    assert report.time_to_detect_s == pytest.approx(35.0)
    points = {line.item: line.points for line in report.breakdown}
    assert points["all SLOs met"] == 0.0
    assert points["time to mitigate"] == 0.0
    assert points["budget availability"] == pytest.approx(BUDGET_POINTS / (1 + 1.5 / 3))


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
    points = {line.item: line.points for line in report.breakdown}
    assert points["cost"] == pytest.approx(COST_POINTS - expected)


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
    assert status.budget_remaining == pytest.approx(1 - 20 / 30)
    assert status.burn_rate_1m == pytest.approx(20 / 300 / 0.1)  # 30 ticks so far: all in the minute
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


# -- properties ---------------------------------------------------------------

TWO_SLOS = [
    SLOSpec(name="availability", kind="availability", target=0.95),
    SLOSpec(name="latency", kind="latency", target=0.9, threshold_s=0.3),
]

tick_counts = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5), st.integers(0, 20)), min_size=30, max_size=120)


def score_of(ticks, extra_bad=()):
    """Score a synthetic run: per tick (completed, failed, within<=completed); extra_bad
    turns that many successes of a tick into failures."""
    drill = make_drill(TWO_SLOS, dt_s=1.0, incident_start_s=5.0)
    sim = FakeSim(drill, thresholds_s=(0.3,))
    extra = dict(extra_bad)
    for k, (completed, failed, within) in enumerate(ticks):
        moved = min(extra.get(k, 0), completed)
        completed_now = completed - moved
        sim.tick(completed=completed_now, failed=failed + moved, within=min(within, completed_now))
    return score_run(drill, sim)


@settings(max_examples=150, deadline=None)
@given(ticks=tick_counts, data=st.data())
def test_strictly_more_bad_events_scores_lower(ticks, data):
    candidates = [k for k, (completed, _, _) in enumerate(ticks) if completed > 0]
    if not candidates:
        ticks = [(5, 0, 5)] + ticks
        candidates = [0]
    k = data.draw(st.sampled_from(candidates))
    moved = data.draw(st.integers(1, ticks[k][0]))
    assert score_of(ticks, {k: moved}).score < score_of(ticks).score


@settings(max_examples=150, deadline=None)
@given(good_run=tick_counts, bad_run=tick_counts)
def test_meeting_every_slo_beats_breaching_one_at_equal_cost(good_run, bad_run):
    meeting = score_of(good_run)
    breaching = score_of(bad_run)
    if meeting.all_met and not breaching.all_met:
        assert meeting.cost == breaching.cost
        assert meeting.score > breaching.score
    if breaching.all_met and not meeting.all_met:
        assert breaching.score > meeting.score


def test_meeting_beats_breaching_even_with_every_other_advantage():
    # Meeting: the availability budget exactly spent in one late bad window, mitigated
    # only at the last moment (no mitigation points). Breaching: one early burst that
    # barely overspends availability, then perfect.
    meeting = [(20, 0, 20)] * 30 + [(10, 10, 10)] * 10 + [(20, 0, 20)] * 60
    breaching = [(0, 110, 0)] + [(20, 0, 20)] * 99
    met, breached = score_of(meeting), score_of(breaching)
    assert met.all_met and met.slis[0].budget_remaining == pytest.approx(0.0)
    assert not breached.all_met and breached.slis[1].met
    assert met.breakdown[3].points == 0.0 and breached.breakdown[3].points > 10.0
    assert met.score > breached.score


@settings(max_examples=30, deadline=None)
@given(ticks=tick_counts)
def test_score_is_deterministic_and_within_0_100(ticks):
    first, second = score_of(ticks), score_of(ticks)
    assert first == second
    assert 0.0 <= first.score <= 100.0
    assert first.score == pytest.approx(sum(line.points for line in first.breakdown))


def test_report_to_dict_is_plain_json():
    import json

    drill, sim = run_availability_example()
    data = score_run(drill, sim).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["slo"][0]["breached_at"] == [30.0]
    assert np.isclose(json.loads(text)["score"], 85.2857, atol=1e-3)


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
    assert score_run(drill, sim) == none_run.report


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
    alone = (run_drill(drill, policy="none"), run_drill(drill, actions=drill.par, policy="par"))
    for forked, single in zip((none_run, par_run), alone):
        assert forked.sim.digest() == single.sim.digest()
        assert forked.report == single.report
        assert forked.sim.action_log == single.sim.action_log
        assert [e.message for e in forked.events] == [e.message for e in single.events]
    # The fork is a real copy: the do-nothing run saw none of par's actions.
    assert none_run.sim.history.written == par_run.sim.history.written
    assert not any(e.kind == "action_applied" for e in none_run.events)


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
            for burn, n in ((status.burn_rate_1m, 60), (status.burn_rate_5m, 300)):
                v, g = valid[-n:].sum(), good[-n:].sum()
                assert burn == ((v - g) / v / (1.0 - target) if v else 0.0)
            done = len(table) // 10
            wg, wv = good[: done * 10].reshape(done, 10).sum(axis=1), valid[: done * 10].reshape(done, 10).sum(axis=1)
            assert status.breaches == int(np.sum((wv > 0) & (wg < target * wv - 1e-9)))
            now_g, now_v = good[done * 10:].sum(), valid[done * 10:].sum()
            assert status.window_sli == (now_g / now_v if now_v else None)
    assert all(status.breaches > 0 for status in tracker.status())
