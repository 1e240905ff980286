"""The app stopped from outside (terminal closed, SIGTERM) keeps the run; a crash never exits 0."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.records.saves import load_save
from tui.app import BrownoutApp

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"


@pytest.fixture
def drill(tmp_path):
    path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, path)
    return load_drill(path)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("signame", ["SIGHUP", "SIGTERM"])
async def test_a_stop_signal_saves_the_run_played_so_far_then_exits(drill, tmp_path, signame):
    signum = getattr(signal, signame)
    unhandled = []
    # Without the app's handler the signal would kill the test process: catch it here instead.
    previous = signal.signal(signum, lambda *_: unhandled.append(signum))
    try:
        app = BrownoutApp(drills=[drill], saves_dir=tmp_path / "saves", start_paused=True, tick_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            app.start_drill(drill)
            await pilot.pause()
            app.advance_sim(40)
            await pilot.pause()
            assert app.save_path is None, "no autosave yet: only the signal can save this run"
            os.kill(os.getpid(), signum)
            for _ in range(100):
                await pilot.pause(0.02)
                if app.return_code is not None or unhandled:
                    break
        assert not unhandled, f"{signame} was not handled by the app"
        assert app.return_code == 128 + signum
        save = load_save(app.save_path)
        assert save.ended == "abandoned" and save.end_tick == 40 and save.grade is None
        app.save_unfinished()  # what run_app does next: nothing left to save
        assert [p.name for p in (tmp_path / "saves").iterdir()] == [app.save_path.name]
    finally:
        signal.signal(signum, previous)


def test_a_crash_in_the_app_exits_non_zero(drill, tmp_path, monkeypatch):
    import tui.app

    def crash(self):
        raise RuntimeError("boom")

    real_run = BrownoutApp.run
    monkeypatch.setattr(BrownoutApp, "on_ready", crash)
    monkeypatch.setattr(BrownoutApp, "run", lambda self, **kw: real_run(self, headless=True, size=(100, 30)))
    code = tui.app.run_app(saves_dir=tmp_path, drill=drill)
    assert code == 1


def test_the_cli_passes_the_apps_exit_code_on(monkeypatch):
    import tui.app
    from tui.cli import run_cli

    monkeypatch.setattr(tui.app, "run_app", lambda **kwargs: 1)
    assert run_cli([]) == 1
