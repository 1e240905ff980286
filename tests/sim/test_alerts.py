"""SLO alert states, and alerts judged per gauge sample (so they depend on the run alone)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.scoring.alerts import ALERT_WARMUP_S, AlertWatch, slo_state
from sim.scoring.score import SLOStatus


def _status(burn: float, budget: float = 0.9, name: str = "latency") -> SLOStatus:
    return SLOStatus(name=name, target=0.95, good=90, valid=100, attained=0.9, budget_remaining=budget,
                     burn_rate_1m=burn, burn_rate_5m=burn, window_sli=0.9, breaches=0)


def test_slo_state_alerts_on_burn_rate_with_hysteresis():
    assert slo_state(_status(0.5), "OK") == ("ok", "OK")
    assert slo_state(_status(2.5), "OK") == ("warn", "AT RISK")
    assert slo_state(_status(12.0), "OK") == ("crit", "BURNING")
    # Still above the recovery mark: the alert stays up instead of flapping.
    assert slo_state(_status(1.7), "AT RISK") == ("warn", "AT RISK")
    assert slo_state(_status(1.7), "OK") == ("ok", "OK")
    assert slo_state(_status(1.0), "AT RISK") == ("ok", "OK")
    assert slo_state(_status(0.5, budget=0.1), "OK") == ("warn", "LOW BUDGET")
    assert slo_state(_status(0.5, budget=-0.2), "OK") == ("crit", "BREACHED")


def test_an_alert_is_raised_once_per_change_and_cleared_once():
    watch = AlertWatch()
    t = ALERT_WARMUP_S
    assert watch.check(t, (_status(0.5),)) == []
    (raised,) = watch.check(t + 1, (_status(3.0), _status(0.2, name="availability")))
    assert (raised.kind, raised.slo, raised.word, raised.level) == ("ALERT", "latency", "AT RISK", "warn")
    assert raised.text == "SLO latency AT RISK: burn 3.0x (1m), 90% of budget left"
    assert watch.check(t + 2, (_status(2.5), _status(0.2, name="availability"))) == []
    (worse,) = watch.check(t + 3, (_status(15.0),))
    assert worse.word == "BURNING" and worse.level == "crit"
    assert watch.check(t + 4, (_status(1.6),))[0].word == "AT RISK"  # still above the recovery mark
    (cleared,) = watch.check(t + 5, (_status(1.0),))
    assert cleared.kind == "CLEAR" and cleared.text == "SLO latency back within budget (burn 1.0x)"
    assert watch.words == {"latency": "OK"}


def test_no_alert_before_the_warmup_however_bad():
    watch = AlertWatch()
    assert watch.check(ALERT_WARMUP_S - 0.25, (_status(50.0, budget=-1.0),)) == []
    assert watch.words == {}
    assert watch.check(ALERT_WARMUP_S, (_status(50.0, budget=-1.0),))[0].word == "BREACHED"


def test_a_watch_resumes_from_the_alerts_already_shown():
    watch = AlertWatch()
    shown = []
    for t, burn in ((6.0, 3.0), (7.0, 12.0), (9.0, 0.5)):
        shown += watch.check(t, (_status(burn),))
    assert [a.word for a in shown] == ["AT RISK", "BURNING", "OK"]
    assert AlertWatch.after(shown, 8.0).words == {"latency": "BURNING"}
    assert AlertWatch.after(shown, 5.0).words == {}
    resumed = AlertWatch.after(shown, 7.0)
    assert resumed.check(7.5, (_status(12.0),)) == []  # already shown: not raised again


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(-1.0, 1.0), st.sampled_from(["latency", "availability"])),
                min_size=1, max_size=60))
def test_replaying_the_alerts_gives_the_state_the_watch_had_at_any_moment(samples):
    # A replay seek and a fork rebuild the alert state from the alerts shown so far; that
    # must be exactly the state the live watch had then, or the fork would alert again.
    watch = AlertWatch()
    shown, states = [], []
    for k, (burn, budget, name) in enumerate(samples):
        t = ALERT_WARMUP_S + 0.25 * k
        shown += watch.check(t, (_status(burn, budget=budget, name=name),))
        states.append((t, dict(watch.words)))
    for t, words in states:
        assert AlertWatch.after(shown, t).words == words
