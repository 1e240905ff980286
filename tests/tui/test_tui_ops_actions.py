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


# The footer at 80 and 120 columns keeps pause, help, palette and end (test_screen_signals);
# the newer actions live in help and the palette, with their keys.
NEWER = {"deploy.rollback": "d", "flag.set": "e", "cache.coalesce": "k", "cache.serve_stale": "v"}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_newer_actions_keys_are_in_help_and_the_palette(size, tmp_path):
    from textual.widgets._footer import FooterKey

    from tui.commands import MitigationCommands
    from tui.screens.help import HelpScreen

    app = make_app(ops_drill(), tmp_path)
    async with app.run_test(size=size) as pilot:
        await start_drill(pilot)
        await pilot.pause()
        screen = app.screen
        footer = [k.description for k in screen.query(FooterKey)]
        assert footer[:4] == ["Pause", "Help", "Palette", "End"], footer
        titles = [title for title, _, _ in MitigationCommands(screen)._commands()]
        for name in NEWER:
            assert any(name in t for t in titles), (name, titles)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        lines = [strip.text for strip in body.render_lines(body.region.reset_offset)]
        text = "\n".join(lines)
        for name, key in NEWER.items():
            assert any(line.lstrip().startswith(f"{key} ") and name in line for line in lines), (name, text)


@pytest.mark.parametrize("key, name, values, words", [
    ("t", "timeout.set", {"timeout_s": "400"}, "Takes effect in ~10s (config push)."),
    ("s", "shed.set", {"fraction": "0.2"}, "Takes effect in ~5s (load-balancer rule)."),
])
async def test_an_older_action_s_dialog_states_its_delay_and_it_lands_after_it(key, name, values, words, tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, 20)
        sim = app.live.sim
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)
        assert words in _explanation(app), _explanation(app)
        await fill_dialog(pilot, values)
        await step(pilot, 1)
        sent = sim.action_log[-1]
        assert sent.name == name
        delay = action_delay(sim, sent)
        pending = [e for e in sim.events if e.kind == "action_pending" and e.subject == name]
        assert len(pending) == 1 and f"takes effect in ~{delay:g} s" in pending[0].message
        await step(pilot, int(round(delay / sim.dt_s)) - 2)
        assert not [e for e in sim.events if e.kind == "action_applied" and e.subject == name]
        await step(pilot, 3)
        assert [e for e in sim.events if e.kind == "action_applied" and e.subject == name]
