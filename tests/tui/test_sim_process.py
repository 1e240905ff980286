"""The live run stepped in a simulation process (tui.sim_process): same run, no orphans, commands arrive."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from app_driver import make_app, start_drill
from drill_factory import slow_llm_drill

from sim.records.saves import load_save
from tui.dialogs.message_dialog import MessageDialog
from tui.live import LiveRun
from tui.screens.debrief import DebriefScreen
from tui.screens.picker import PickerScreen
from tui.sim_process import ProcessRun

WAIT_S = 60.0
"""Longest wait for the process to get somewhere (spawning imports numpy; the test machine is loaded)."""


def _gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for a reaper that is not ours)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


async def _until(pilot, condition) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the simulation process did not get there"
        await pilot.pause(0.05)


def _drill(tmp_path, duration_s: float):
    """The test drill with a source file (so runs are saved)."""
    drill_file = tmp_path / "test-slow-llm.toml"
    drill_file.write_text("# stands in for the drill source; the save pins its hash\n")
    return slow_llm_drill(duration_s=duration_s, source_path=str(drill_file))


def _process_app(drill, tmp_path):
    return make_app(drill, tmp_path / "saves", tick_interval=0.05, sim_process=True)


async def _started(pilot) -> ProcessRun:
    await start_drill(pilot)
    live = pilot.app.live
    assert isinstance(live, ProcessRun) and live.process.is_alive()
    return live


async def test_a_run_through_the_process_saves_what_the_same_actions_give_in_process(tmp_path):
    drill = _drill(tmp_path, 20.0)
    app = _process_app(drill, tmp_path)
    async with app.run_test() as pilot:
        live = await _started(pilot)
        pid = live.process.pid
        live.set_speed(10)
        app.set_paused(False)
        await _until(pilot, lambda: app.live is not None and app.live.sim.t_s >= 5.0)
        app.submit_action("timeout.set", {"dependency": "llm", "timeout_s": 0.4})
        await _until(pilot, lambda: app.live is not None and app.live.sim.action_log)
        app.live.set_speed(50)
        await _until(pilot, lambda: isinstance(app.screen, DebriefScreen))
        played = app.screen.report
        assert _wait_gone(pid)
    save = load_save(app.save_path)
    assert save.ended == "finished" and len(save.actions) == 1

    # The same actions at the same sim times, stepped here: the same run, tick for tick.
    here = LiveRun.start(drill, save.seed, paused=False)
    for action in save.actions:
        here.advance_ticks(round(action.t_s / here.sim.dt_s) - here.sim.tick)
        assert here.sim.t_s == pytest.approx(action.t_s)
        here.submit(action.name, action.args)
    here.advance_ticks(here.ticks_total)
    report = here.stop_and_report()
    assert tuple(here.sim.action_log) == save.actions
    assert (here.sim.digest(), here.sim.tick) == (save.digest, save.end_tick)
    assert report == played


async def test_speed_and_pause_reach_the_process(tmp_path):
    app = _process_app(_drill(tmp_path, 600.0), tmp_path)
    async with app.run_test() as pilot:
        live = await _started(pilot)
        app.change_speed(+1)
        assert live.speed == 2
        app.set_paused(False)
        await _until(pilot, lambda: live.sim.t_s >= 1.0 and live.frame().speed == 2)
        app.set_paused(True)
        # Paused: once the process has heard (its own state says paused), the clock stands still.
        await _until(pilot, lambda: live.state.frame.paused)
        stood = live.sim.t_s
        await pilot.pause(0.3)
        live.poll()
        assert live.sim.t_s == stood and live.state.frame.speed == 2


async def test_no_process_remains_after_quit(tmp_path):
    app = _process_app(_drill(tmp_path, 600.0), tmp_path)
    async with app.run_test() as pilot:
        live = await _started(pilot)
        pid = live.process.pid
        app.set_paused(False)
        await _until(pilot, lambda: live.sim.t_s > 0)
        app.exit()
    assert _wait_gone(pid)


async def test_no_process_remains_after_ctrl_c(tmp_path):
    # Ctrl+C during a drill asks first, then ends the run (saved, scored) and the process with it.
    app = _process_app(_drill(tmp_path, 600.0), tmp_path)
    async with app.run_test() as pilot:
        live = await _started(pilot)
        pid = live.process.pid
        app.set_paused(False)
        await _until(pilot, lambda: live.sim.t_s > 0)
        await pilot.press("ctrl+c")
        await pilot.pause()
        await pilot.press("y")
        await _until(pilot, lambda: isinstance(app.screen, DebriefScreen))
        assert app.live is None and _wait_gone(pid)
        await pilot.press("ctrl+c")  # from the debrief: quit
    assert load_save(app.save_path).ended == "abandoned"


async def test_a_stop_signal_saves_the_run_from_the_process_and_ends_it(tmp_path):
    unhandled = []
    # Without the app's handler SIGTERM would kill the test process: catch it here instead.
    previous = signal.signal(signal.SIGTERM, lambda *_: unhandled.append(True))
    try:
        app = _process_app(_drill(tmp_path, 600.0), tmp_path)
        async with app.run_test() as pilot:
            live = await _started(pilot)
            pid = live.process.pid
            app.set_paused(False)
            await _until(pilot, lambda: live.sim.t_s > 0)
            os.kill(os.getpid(), signal.SIGTERM)
            await _until(pilot, lambda: app.return_code is not None or unhandled)
        assert not unhandled and app.return_code == 128 + signal.SIGTERM
        save = load_save(app.save_path)
        # The final state came from the process: the save holds the run up to where it stopped.
        assert save.ended == "abandoned" and save.end_tick == live.sim.tick > 0
        assert _wait_gone(pid)
    finally:
        signal.signal(signal.SIGTERM, previous)


class Boom(Exception):
    pass


async def test_no_process_remains_after_the_app_raises(tmp_path):
    app = _process_app(_drill(tmp_path, 600.0), tmp_path)
    pid = None
    with pytest.raises(Boom):
        async with app.run_test() as pilot:
            live = await _started(pilot)
            pid = live.process.pid
            app.set_paused(False)

            def explode():
                raise Boom("a bug in the app")

            app.call_later(explode)
            await pilot.pause(0.5)
    assert pid is not None and _wait_gone(pid)


async def test_a_killed_process_is_reported_and_the_run_saved(tmp_path):
    app = _process_app(_drill(tmp_path, 600.0), tmp_path)
    async with app.run_test() as pilot:
        live = await _started(pilot)
        pid = live.process.pid
        app.set_paused(False)
        await _until(pilot, lambda: live.sim.t_s > 0)
        os.kill(pid, signal.SIGKILL)
        await _until(pilot, lambda: app.live is None)
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        assert any(isinstance(s, PickerScreen) for s in app.screen_stack)
    assert _wait_gone(pid)
    saves = list((tmp_path / "saves").glob("*.toml"))
    assert len(saves) == 1 and load_save(saves[0]).ended == "crashed"


def test_the_process_exits_when_the_app_dies_without_cleaning_up(tmp_path):
    # A hard crash: the app's process ends at once (no finally, no atexit); the child notices.
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path[:0] = {[str(Path(__file__).parent), os.getcwd()]!r}
        from drill_factory import slow_llm_drill
        from sim.drill.modes import DEFAULT_MODE
        from tui.sim_process import ProcessRun

        if __name__ == "__main__":
            run = ProcessRun.start(slow_llm_drill(duration_s=600.0), paused=False, speed=1, mode=DEFAULT_MODE)
            deadline = time.monotonic() + {WAIT_S}
            while not run.poll() and time.monotonic() < deadline:
                time.sleep(0.05)
            print(run.process.pid, flush=True)
            os._exit(1)
    """)
    path = tmp_path / "crash.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=WAIT_S + 30)
    pid = int(done.stdout.split()[0])
    assert _wait_gone(pid)


def test_brownout_itself_steps_in_the_process(monkeypatch):
    import tui.app as app_module

    made = []
    monkeypatch.setattr(app_module.BrownoutApp, "run", lambda self, *a, **k: made.append(self))
    assert app_module.run_app() == 0
    assert made and made[0].sim_process
