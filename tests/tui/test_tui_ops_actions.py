"""The actions an SRE reaches for first, from the keyboard: rollback, feature flag, cache
coalescing and serve-stale. Each dialog states its delay; each action lands after it
(asserted on the engine); where it cannot apply, the key says why and sends nothing.
Also the fallback and client-retry dialogs' words."""

from __future__ import annotations

import pytest
from app_driver import fill_dialog, make_app, start_drill, step
from drill_factory import ops_drill, slow_llm_drill

from sim.engine.actions import action_delay
from tui.dialogs.action_dialog import ActionDialog
from tui.screens.incident import IncidentScreen

# key, dialog values, check on the simulation once the delay is over.
CASES = {
    "deploy.rollback": ("d", {}, lambda sim: sim.faults.deploys_out(sim.t_s) == ()),
    "flag.set": ("e", {"enabled": "off"}, lambda sim: sim.flags.is_off("summaries")),
    "cache.coalesce": ("k", {"enabled": "on"}, lambda sim: sim.caches.coalescing(0)),
    "cache.serve_stale": ("v", {"enabled": "on"}, lambda sim: sim.caches.serving_stale(0)),
}


def _explanation(app) -> str:
    return str(app.screen.query_one("#dialog-explanation").render())


@pytest.mark.parametrize("name", list(CASES))
async def test_key_sends_the_action_and_it_lands_after_its_delay(name, tmp_path):
    key, values, landed = CASES[name]
    app = make_app(ops_drill(), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, 20)
        sim = app.live.sim
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)
        assert "Takes effect in ~" in _explanation(app)
        assert "Now" in _explanation(app)
        await fill_dialog(pilot, values)
        assert isinstance(app.screen, IncidentScreen)
        await step(pilot, 1)
        assert sim.action_log[-1].name == name
        delay = action_delay(sim, sim.action_log[-1])
        assert delay > 0
        assert not landed(sim)
        await step(pilot, int(round(delay / sim.dt_s)) + 1)
        assert landed(sim), f"{name} did not take effect after {delay:g}s"
        assert [e for e in sim.events if e.kind == "action_refused"] == []


@pytest.mark.parametrize("key, words", [("d", "no deploy is involved"), ("e", "no feature flags"),
                                        ("k", "no cache"), ("v", "no cache")])
async def test_key_says_why_it_does_not_apply(key, words, tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, 5)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen)
        assert any(words in str(n.message) for n in app._notifications)
        assert app.live.sim.action_log == ()


async def test_fallback_dialog_shows_now_and_starts_from_it(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, 5)
        await pilot.press("f")
        await pilot.pause()
        text = _explanation(app)
        assert "Now: llm off" in text
        assert "still calls the dependency" in text
        assert app.screen.query_one("#field-enabled").value == "off"


async def test_client_retry_dialog_says_it_ships_a_client_config(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await pilot.press("r")
        await pilot.pause()
        text = _explanation(app)
        assert "client config" in text and "~1m" in text
