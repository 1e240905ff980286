"""Run controls and the run's life: pause, speed, confirm-to-quit, saving, the debrief, resizing."""

from __future__ import annotations

import asyncio
import time

from drill_factory import slow_llm_drill
from app_driver import make_app, start_drill, step

from sim.records.saves import load_save
from tui.app import BrownoutApp
from tui.live import SPEEDS, LiveRun
from tui.screens.confirm import ConfirmScreen
from tui.screens.debrief import DebriefScreen
from tui.screens.incident import IncidentScreen
from tui.screens.picker import PickerScreen
from tui.screens.too_small import TooSmallScreen
from tui.widgets.clock_bar import ClockBar
from tui.widgets.row_table import RowTable


async def _wait_for(pilot, predicate, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


async def test_pause_freezes_sim_time_and_space_resumes(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path, tick_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await pilot.pause(0.4)
        assert app.live.sim.tick == 0, "started paused: the timer must not step"
        await pilot.press("space")
        await _wait_for(pilot, lambda: app.live.sim.tick >= 10)
        await pilot.press("space")
        await _wait_for(pilot, lambda: not app.stepping)
        frozen = app.live.sim.tick
        await pilot.pause(0.5)
        assert app.live.sim.tick == frozen
        assert app.screen.frame.paused


async def test_speed_keys_change_sim_seconds_per_wall_second(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        live = app.live
        live.paused = False
        assert live.speed == 1
        assert live.advance_wall(0.5) == 10  # 0.5 s at 1x with dt 0.05
        await pilot.press("plus")
        assert live.speed == 2
        assert live.advance_wall(0.5) == 20
        for _ in range(10):
            await pilot.press("plus")
        assert live.speed == SPEEDS[-1] == 50
        assert live.advance_wall(0.1) == 100
        await pilot.press("minus")
        assert live.speed == 10
        # Fractions of a tick carry over instead of being lost.
        await pilot.press("minus", "minus", "minus")
        assert live.speed == 1
        ticks = sum(live.advance_wall(0.03) for _ in range(10))
        assert ticks == 6


async def test_an_open_dialog_holds_the_clock_to_real_time(tmp_path, monkeypatch):
    # The frame's CPU budget would cut the 50x frame short on a loaded machine: this test
    # is about the speed asked, not about how fast the machine steps.
    monkeypatch.setattr("tui.app.FRAME_BUDGET_FRACTION", 1e9)
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        live = app.live
        live.paused = False
        live.set_speed(50)
        # Drive the timer's path by hand: its worker runs inline, a frame owes the 0.25 s catch-up limit.
        app.tick_interval = 0.1
        app.run_worker = lambda work, **kwargs: work()

        async def one_timer_frame() -> int:
            before = live.sim.tick
            app.last_advance_wall = time.perf_counter() - 1.0
            app.on_sim_timer()
            await pilot.pause()
            return live.sim.tick - before

        assert live.speed_cap is None
        # A mitigation dialog, help and the command palette all cover the incident screen.
        for key in ("s", "question_mark", "ctrl+p"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, IncidentScreen), key
            assert live.speed_cap == 1 and live.clock_speed == 1, key
            assert await one_timer_frame() == 5, f"{key}: 0.25 s at real time with dt 0.05, not at 50x"
            clock = str(app.incident_screen().query_one(ClockBar).render())
            assert " 1x  (50x once the dialog closes) " in clock, clock
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, IncidentScreen), key
            assert live.speed_cap is None and live.clock_speed == 50
            assert await one_timer_frame() > 50, f"{key}: closed, so back to 50x"
            assert "once the dialog closes" not in str(app.screen.query_one(ClockBar).render())


def test_a_cap_set_while_a_frame_steps_drops_the_rest_of_the_frame():
    class CoveredAtTick12(LiveRun):
        def step_once(self) -> None:
            super().step_once()
            if self.sim.tick == 12:
                self.speed_cap = 1  # the trainee opened a dialog mid-frame

    live = CoveredAtTick12.start(slow_llm_drill(), paused=False, speed=50)
    # 0.2 s at 50x owes 200 ticks; the chunk under way (5 ticks) finishes, then the frame stops.
    assert live.advance_wall(0.2, budget_s=60.0) == 15
    assert live.advance_wall(0.2, budget_s=60.0) == 4, "0.2 s at real time"


async def test_q_asks_then_ends_the_run_with_a_save_and_debrief(tmp_path):
    drill_file = tmp_path / "test-slow-llm.toml"
    drill_file.write_text("# stands in for the drill source; the save pins its hash\n")
    saves = tmp_path / "saves"
    app = make_app(slow_llm_drill(source_path=str(drill_file)), saves)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await step(pilot, 100)
        app.live.paused = False
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.live.paused, "the clock stops while the question is open"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen) and app.live is not None
        assert not app.live.paused, "keep playing: the clock runs again"
        app.live.paused = True
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DebriefScreen)
        saved = list(saves.glob("*.toml"))
        assert len(saved) == 1
        save = load_save(saved[0])
        assert (save.ended, save.end_tick, save.drill_id) == ("abandoned", 100, "test-slow-llm")
        summary = str(app.screen.query_one("#score-summary").render())
        assert "ended early at 00:05" in summary, summary
        await _wait_for(pilot, lambda: app.screen.comparison is not None, timeout_s=30)
        # Quitting early must not read as a grade: the run is compared with do nothing and par
        # over the same five seconds, and that score is shown in brackets only.
        headline = str(app.screen.query_one("#score-big").render())
        assert headline.startswith("Not graded: ended at 00:05 of "), headline
        assert all(report.duration_s == 5.0 for report in app.screen.comparison)
        assert app.screen.report.verdict.span_s == 5.0
        table = app.screen.query_one("#compare-table")
        you = [str(cell) for cell in table.get_row_at(0)]
        assert you[0] == "You" and you[1].startswith("("), you
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_back_from_the_debrief_the_picker_is_on_the_drill_just_played(tmp_path):
    import attrs

    first = slow_llm_drill()
    second = attrs.evolve(slow_llm_drill(duration_s=1.0), id="test-second", title="Second drill")
    app = BrownoutApp(drills=[first, second], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("down")
        await start_drill(pilot)
        await step(pilot, 20)  # the whole 1-second drill: the debrief follows
        await _wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.selected().id == "test-second"
        assert "Second drill" in str(app.screen.query_one("#drill-detail").render())


async def test_home_and_end_go_to_the_first_and_last_drill(tmp_path):
    import attrs

    drills = [attrs.evolve(slow_llm_drill(), id=f"drill-{k}", title=f"Drill {k}") for k in range(4)]
    app = BrownoutApp(drills=drills, saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("end")
        assert app.screen.selected().id == "drill-3"
        await pilot.press("home")
        assert app.screen.selected().id == "drill-0"
        await pilot.press("v")  # the saves list is the same kind of table
        await pilot.pause()
        assert isinstance(app.screen.query_one("#saves-table"), RowTable)


async def test_ctrl_c_during_a_drill_asks_first(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DebriefScreen)
        assert app.live is None


async def test_ctrl_c_outside_a_drill_quits(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


async def test_below_minimum_size_says_so_and_pauses(tmp_path):
    app = make_app(slow_llm_drill(), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        app.live.paused = False
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert "60x20" in str(app.screen.query_one("#too-small").render())
        assert app.live.paused
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen)
        await step(pilot, 5)
        assert app.screen.frame.tick == 5


async def test_drill_runs_to_the_end_on_the_timer(tmp_path):
    # Start paused: a 3 s drill at full speed can end (and show the debrief) before
    # start_drill looks at the screen on a loaded machine.
    app = make_app(slow_llm_drill(duration_s=3.0), tmp_path, tick_interval=0.02, start_paused=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_drill(pilot)
        app.live.set_speed(10)
        app.live.paused = False
        await _wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen), timeout_s=30)
        assert app.screen.report.duration_s == 3.0
        await _wait_for(pilot, lambda: app.screen.comparison is not None, timeout_s=30)
    assert app.frame_compute_ms, "frames were computed in the worker"
    await asyncio.sleep(0)
