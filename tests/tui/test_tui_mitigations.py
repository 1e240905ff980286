"""Each mitigation key opens its dialog and changes the simulation (asserted on the engine)."""

from __future__ import annotations

import pytest
from drill_factory import slow_llm_drill
from app_driver import fill_dialog, make_app, start_drill, step

from textual.command import CommandList

from tui.commands import MITIGATIONS
from tui.dialogs.action_dialog import ActionDialog
from tui.screens.incident import IncidentScreen
from sim.engine.actions import action_delay
from sim.model.spec import ACTION_NAMES


def _pool(gauges, name):
    return next((p for p in gauges.pools if p.name == name), None)


def _dependency(gauges, name):
    return next(d for d in gauges.dependencies if d.name == name)


# key, dialog values (None: applies without a dialog), check on the simulation after one tick.
CASES = {
    "pool.resize": ({"size": "12"}, lambda sim: _pool(sim.gauges(), "main").target_size == 12),
    "breaker.force_open": (None, lambda sim: sim.gauges().breakers[0].forced == "open"),
    "breaker.force_close": (None, lambda sim: sim.gauges().breakers[0].forced == "closed"),
    "shed.set": ({"fraction": "0.25", "mode": "priority"},
                 lambda sim: (sim.gauges().shed_fraction, sim.gauges().shed_mode) == (0.25, "priority")),
    "queue.set_limit": ({"limit": "50"}, lambda sim: sim.gauges().queue_limit == 50),
    "timeout.set": ({"timeout_s": "0.4"}, lambda sim: _dependency(sim.gauges(), "llm").timeout_s == 0.4),
    "retry.set": ({"retries": "0", "backoff_s": "1"},
                  lambda sim: (sim.retries.policy(0).retries, sim.retries.policy(0).backoff_s) == (0, 1.0)),
    "ratelimit.set": ({"rate_rps": "30", "burst": "10"}, lambda sim: sim.gauges().ratelimit_rps == 30.0),
    "workers.scale": ({"workers": "6"}, lambda sim: sim.gauges().target_workers == 6),
    "bulkhead.set": ({"size": "5"}, lambda sim: getattr(_pool(sim.gauges(), "main/ask"), "target_size", 0) == 5),
    "fallback.set": ({"enabled": "on"}, lambda sim: _dependency(sim.gauges(), "llm").fallback is True),
    "worker.restart": ({"worker": "1"}, lambda sim: not next(w for w in sim.gauges().workers if w.index == 1).up
                       or next(w for w in sim.gauges().workers if w.index == 1).warming),
}


def test_every_action_has_a_key():
    assert sorted(m.action for m in MITIGATIONS) == sorted(ACTION_NAMES)
    keys = [m.key for m in MITIGATIONS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("mitigation", [m for m in MITIGATIONS if m.action in CASES], ids=lambda m: m.action)
async def test_key_applies_action(mitigation, tmp_path):
    values, applied = CASES[mitigation.action]
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await step(pilot, 20)
        sim = app.live.sim
        assert not applied(sim)
        await pilot.press(mitigation.key)
        await pilot.pause()
        if values is None:
            assert isinstance(app.screen, IncidentScreen)
        else:
            await fill_dialog(pilot, values)
            assert isinstance(app.screen, IncidentScreen)
        await step(pilot, 1)
        assert sim.action_log[-1].name == mitigation.action
        delay = action_delay(sim, sim.action_log[-1])
        if delay > 0:
            # Sent, on its way: the log says when it lands (tests/sim/test_ops_actions.py: it lands then).
            pending = [e for e in sim.events if e.kind == "action_pending"]
            assert pending and "takes effect in ~" in pending[-1].message
            assert not applied(sim)
            (due, action), = sim.pending_actions.waiting()
            assert (due, action.name) == (pytest.approx(sim.action_log[-1].t_s + delay), mitigation.action)
        else:
            assert applied(sim), f"{mitigation.action} did not take effect"
        refused = [e for e in sim.events if e.kind == "action_refused"]
        assert refused == []


async def test_breaker_auto_releases_a_forced_breaker(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        sim = app.live.sim
        await pilot.press("o")
        await step(pilot, 1)
        # Each override lands after its delay (a breaker override on every instance).
        await step(pilot, int(round(action_delay(sim, sim.action_log[-1]) / sim.dt_s)))
        assert sim.gauges().breakers[0].forced == "open"
        await pilot.press("a")
        await step(pilot, 1)
        await step(pilot, int(round(action_delay(sim, sim.action_log[-1]) / sim.dt_s)))
        assert sim.gauges().breakers[0].forced is None


async def test_typed_value_goes_through_the_dialog(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)
        await pilot.press("7", "enter")  # the current value is selected, typing replaces it
        await step(pilot, 1)
        assert app.live.sim.gauges().target_workers == 7


async def test_out_of_range_value_keeps_dialog_open_with_reason(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#field-fraction").value = "1.5"
        dialog.submit()
        await pilot.pause()
        assert app.screen is dialog
        error = str(dialog.query_one("#dialog-error").render())
        assert "Fraction" in error and "0 – 1" in error
        await pilot.press("escape")
        await step(pilot, 1)
        assert app.live.sim.action_log == ()


async def test_refused_action_shows_its_reason(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await pilot.press("b")
        await pilot.pause()
        # A 35-connection bulkhead next to the 10-connection pool: the database allows 40 in all.
        # (The pool dialog itself stops at 40: its range is the database's limit.)
        await fill_dialog(pilot, {"size": "35"})
        await step(pilot, 1)
        sim = app.live.sim
        assert _pool(sim.gauges(), "main").target_size == 10
        refused = [e for e in sim.events if e.kind == "action_refused"]
        assert len(refused) == 1 and "40" in refused[0].message
        messages = [n.message for n in app._notifications]
        assert any("refused" in m and "40" in m for m in messages), messages
        log = app.screen.query_one("#log")
        assert any("REFUSED" in line.text for line in log.lines)


async def test_command_palette_offers_mitigations(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        screen = app.screen
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"workers.scale")
        # The palette searches in a worker: wait for its first match rather than a fixed time.
        results = app.screen.query_one(CommandList)
        for _ in range(200):
            if results.option_count and results.highlighted is not None:
                break
            await pilot.pause(0.05)
        assert "workers.scale" in str(results.get_option_at_index(results.highlighted).prompt)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog) and app.screen.form.action == "workers.scale"
        await fill_dialog(pilot, {"workers": "5"})
        assert app.screen is screen
        await step(pilot, 1)
        assert app.live.sim.gauges().target_workers == 5
