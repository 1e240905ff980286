"""Playing a whole drill through the app with the par actions scores exactly like the headless par run."""

from __future__ import annotations

import math

from drill_factory import slow_llm_drill
from app_driver import fill_dialog, make_app, start_drill, step

from sim.running.headless import run_drill
from tui.screens.debrief import DebriefScreen

# The par script of slow_llm_drill as the keys a player presses, with the dialog values.
PAR_KEYS = {
    "timeout.set": ("t", {"dependency": "llm", "timeout_s": "0.4"}),
    "fallback.set": ("f", {"dependency": "llm", "enabled": "on"}),
}


async def test_par_through_the_app_matches_headless_par(tmp_path):
    drill = slow_llm_drill()
    headless = run_drill(drill, actions=drill.par, policy="par")
    app = make_app(drill, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        for action in drill.par:
            # Actions take hold at the first tick boundary at or after their time, as headless.
            boundary = math.ceil(action.t_s / drill.dt_s - 1e-9)
            await step(pilot, boundary - app.live.sim.tick)
            key, values = PAR_KEYS[action.name]
            await pilot.press(key)
            await pilot.pause()
            await fill_dialog(pilot, values)
        sim = app.live.sim
        await step(pilot, app.live.ticks_total - sim.tick)
        assert isinstance(app.screen, DebriefScreen)
        debrief = app.screen
        for _ in range(600):
            if debrief.comparison is not None:
                break
            await pilot.pause(0.05)
        assert sim.action_log == headless.sim.action_log
        assert sim.digest() == headless.sim.digest()
        assert debrief.report.score == headless.report.score
        assert debrief.report.grade == headless.report.grade
        shown = str(debrief.query_one("#score-big").render())
        assert shown.startswith(f"{headless.report.score:.0f}/100")
