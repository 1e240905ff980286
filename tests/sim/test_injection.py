"""Facilitator actions in the engine: an injected fault acts like a scripted one; cancel ends one."""

from __future__ import annotations

from sim.engine.injection import check_injection
from sim.model.facilitation import FAULT_ARGS
from sim.model.spec import Fault
from tests.sim.model_factory import act, api_model, events_of, mean_latency_ms, run, with_faults


def test_injected_slow_fault_equals_the_same_scripted_fault():
    """Injecting slow x10 at 2 s gives the run a drill with that fault scripted at 2 s would have."""
    scripted = run(with_faults(api_model(), Fault(at_s=2.0, target="api", kind="slow", factor=10.0, duration_s=2.0)), 6.0)
    injected = run(api_model(), 6.0, actions=[act(2.0, "fault.inject", kind="slow", target="api", factor=10.0,
                                                   duration_s=2.0)])
    assert injected.digest() == scripted.digest()
    assert mean_latency_ms(injected, 2.5, 4.0) > 5 * mean_latency_ms(injected, 0.5, 2.0)
    assert [e.subject for e in events_of(injected, "action_applied")] == ["fault.inject"]


def test_cancel_ends_an_active_fault_and_drops_one_to_come():
    spec = with_faults(api_model(), Fault(at_s=1.0, target="api", kind="slow", factor=10.0),
                       Fault(at_s=5.0, target="api", kind="down"))
    sim = run(spec, 6.0, actions=[act(2.0, "fault.cancel", fault=0), act(2.0, "fault.cancel", fault=1)])
    assert mean_latency_ms(sim, 3.0, 6.0) < 2 * mean_latency_ms(sim, 0.2, 1.0)
    assert [f.end_s for f in sim.faults.timeline] == [2.0, 5.0]
    assert not events_of(sim, "action_refused")


def test_bad_injections_are_refused_never_raised():
    sim = run(api_model(), 2.0, actions=[
        act(0.5, "fault.inject", kind="slow", target="nope", factor=2.0),
        act(0.5, "fault.inject", kind="melt", target="api"),
        act(0.5, "fault.inject", kind="errors", target="api", rate=3.0),
        act(0.5, "fault.cancel", fault=7),
        act(0.5, "facilitator.message", text=""),
    ])
    assert len(events_of(sim, "action_refused")) == 5


def test_check_injection_agrees_with_the_engine():
    model = api_model()
    assert check_injection(model, (), "fault.inject", {"kind": "down", "target": "api"}, 1.0) is None
    assert "cannot target" in check_injection(model, (), "fault.inject", {"kind": "down", "target": "x"}, 1.0)
    assert "at most" in check_injection(model, (), "facilitator.note", {"text": "x" * 1000}, 1.0)
    assert set(FAULT_ARGS) == set(__import__("sim.model.spec", fromlist=["FAULT_KINDS"]).FAULT_KINDS)
