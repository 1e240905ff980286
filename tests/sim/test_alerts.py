"""SLO pages: multiwindow multi-burn-rate rules, hysteresis, and alerts judged per gauge sample."""

from __future__ import annotations

import attrs
import pytest
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.drill.drill import SLOSpec
from sim.scoring.alerts import ALERT_RULES, ALERT_WARMUP_S, ALERT_WINDOWS_S, AlertWatch, first_page_s, slo_state
from sim.scoring.score import SLOStatus


def _status(long_burn: float, short_burn: float | None = None, name: str = "availability", target: float = 0.99,
            spent: float = 0.01) -> SLOStatus:
    """Every long window (>= 60 s) burns at long_burn, every short one (< 60 s) at short_burn."""
    short_burn = long_burn if short_burn is None else short_burn
    burns = tuple((w, long_burn if w >= 60.0 else short_burn) for w in ALERT_WINDOWS_S)
    return SLOStatus(name=name, target=target, good=0, valid=0, attained=1.0, budget_spent=spent, burns=burns)


def test_pages_need_both_windows_and_tickets_do_not_page():
    assert slo_state(_status(0.5), "OK") == ("ok", "OK")
    assert slo_state(_status(2.0), "OK") == ("warn", "TICKET")
    assert slo_state(_status(7.0), "OK") == ("crit", "SLOW BURN")
    assert slo_state(_status(20.0), "OK") == ("crit", "FAST BURN")
    # A short spike alone is noise: the long window has not burned yet.
    assert slo_state(_status(0.5, short_burn=50.0), "OK") == ("ok", "OK")
    # A burn that has stopped does not page: the short windows are quiet again (the ticket's
    # "short" window is 360 s, so the slow leak still files a ticket).
    assert slo_state(_status(20.0, short_burn=0.0), "OK") == ("warn", "TICKET")


def test_a_raised_alert_holds_until_its_long_window_falls_below_half_its_rate():
    assert slo_state(_status(8.0, short_burn=0.0), "FAST BURN") == ("crit", "FAST BURN")  # 8 >= 14.4 / 2
    assert slo_state(_status(7.0, short_burn=0.0), "FAST BURN") == ("crit", "SLOW BURN")  # below, but slow holds
    assert slo_state(_status(2.0, short_burn=0.0), "SLOW BURN") == ("warn", "TICKET")
    assert slo_state(_status(0.4, short_burn=0.0), "TICKET") == ("ok", "OK")


def test_loose_targets_cap_the_burn_at_the_error_ratio_it_stands_for():
    fast = ALERT_RULES[0]
    assert fast.threshold(0.99) == 14.4
    assert fast.threshold(0.9) == pytest.approx(5.0)  # a 90 % SLO cannot burn at 14.4x: half the requests bad pages
    assert slo_state(_status(6.0, target=0.9), "OK") == ("crit", "FAST BURN")


def test_an_alert_is_raised_once_per_change_and_resolved_once():
    watch = AlertWatch()
    t = ALERT_WARMUP_S
    assert watch.check(t, (_status(0.5),)) == []
    (raised,) = watch.check(t + 1, (_status(20.0), _status(0.2, name="latency")))
    assert (raised.kind, raised.slo, raised.word, raised.level, raised.is_page) == (
        "ALERT", "availability", "FAST BURN", "crit", True)
    assert raised.text == "PAGE SLO availability FAST BURN: burning 20.0x over 60s, 1.00% of the month's budget spent"
    assert watch.check(t + 2, (_status(19.0), _status(0.2, name="latency"))) == []
    (resolved,) = watch.check(t + 3, (_status(0.1),))
    assert resolved.kind == "CLEAR" and resolved.word == "OK"
    assert watch.words == {"availability": "OK"}


def test_no_alert_before_the_warmup_however_bad():
    watch = AlertWatch()
    assert watch.check(ALERT_WARMUP_S - 0.25, (_status(50.0),)) == []
    assert watch.words == {}
    assert watch.check(ALERT_WARMUP_S, (_status(50.0),))[0].word == "FAST BURN"


def test_first_page_skips_tickets():
    watch = AlertWatch()
    shown = watch.check(6.0, (_status(2.0),)) + watch.check(9.0, (_status(7.0),))
    assert [a.word for a in shown] == ["TICKET", "SLOW BURN"]
    assert first_page_s(shown) == 9.0
    assert first_page_s(shown[:1]) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 30.0), st.sampled_from(["latency", "availability"])),
                min_size=1, max_size=60))
def test_replaying_the_alerts_gives_the_state_the_watch_had_at_any_moment(samples):
    # A replay seek and a fork rebuild the alert state from the alerts shown so far; that
    # must be exactly the state the live watch had then, or the fork would alert again.
    watch = AlertWatch()
    shown, states = [], []
    for k, (long_burn, short_burn, name) in enumerate(samples):
        t = ALERT_WARMUP_S + 0.25 * k
        shown += watch.check(t, (_status(long_burn, short_burn, name=name),))
        states.append((t, dict(watch.words)))
    for t, words in states:
        assert AlertWatch.after(shown, t).words == words


def test_alert_levels_change_at_most_once_per_window_on_a_steady_service():
    """A steady error ratio near each threshold, with Poisson noise, 10 minutes at 50 ms ticks:
    the state word must not flap from one sample to the next."""
    from tests.sim.test_scoring import FakeSim, make_drill

    for bad_ratio in (0.01, 0.06, 0.144, 0.2):
        drill = make_drill([SLOSpec(name="availability", kind="availability", target=0.99)], dt_s=0.05,
                           incident_start_s=0.0)
        drill = attrs.evolve(drill, duration_s=600.0)
        sim = FakeSim(drill, capacity=20000)
        rng = np.random.default_rng(7)
        for _ in range(12000):
            n = int(rng.poisson(10))
            bad = int(rng.binomial(n, bad_ratio))
            sim.tick(completed=n - bad, failed=bad)
        from sim.scoring.score import SLOTracker

        tracker = SLOTracker.for_sim(drill, sim)
        tracker.update(sim)
        alerts = tracker.alerts()
        times = [a.t_s for a in alerts]
        shortest_long_window = min(rule.long_s for rule in ALERT_RULES)
        assert all(b - a >= shortest_long_window for a, b in zip(times, times[1:])), (bad_ratio, alerts)

