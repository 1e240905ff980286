"""The debrief's postmortem key: the same report as `brownout report`, for the run just played."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sim.drill.loader import load_drill
from sim.records.saves import load_save
from sim.reporting.postmortem import action_text
from tui.app import BrownoutApp
from tui.commands import ScreenCommands
from tui.report.charts import CHARTS, MISSING_MATPLOTLIB
from tui.screens.debrief import DebriefScreen

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"


async def _wait_for(pilot, condition, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met")


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_e_on_the_debrief_writes_the_postmortem_beside_the_save(tmp_path, monkeypatch):
    drill_path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    saves = tmp_path / "saves"
    app = BrownoutApp(drills=[drill], saves_dir=saves, start_paused=True, tick_interval=None, player="ada")
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        app.advance_sim(170)
        app.submit_action("pool.resize", {"pool": "main", "size": 14})
        app.advance_sim(200)
        app.submit_action("breaker.force_open", {"dependency": "llm"})
        app.advance_sim(50)
        await pilot.pause()
        app.end_run("abandoned")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DebriefScreen) and screen.save_path == app.save_path
        await _wait_for(pilot, lambda: screen.comparison is not None)
        titles = {title for title, _, _ in ScreenCommands(screen)._commands()}
        assert "Postmortem" in titles, titles

        # Without matplotlib: one line in a notification, nothing written, the debrief carries on.
        with monkeypatch.context() as patched:
            for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
                patched.delitem(sys.modules, name)
            patched.setitem(sys.modules, "matplotlib", None)
            await pilot.press("e")
            await _wait_for(pilot, lambda: not screen.exporting)
        assert any(MISSING_MATPLOTLIB in note for note in _notes(app)), _notes(app)
        assert screen.exported is None

        await pilot.press("e")
        await _wait_for(pilot, lambda: screen.exported is not None)
        files = screen.exported
        assert isinstance(app.screen, DebriefScreen)

    folder = saves / "postmortems"
    stem = app.save_path.stem + "-postmortem"
    assert files.markdown == folder / f"{stem}.md" and files.html == folder / f"{stem}.html"
    assert [p.name for p in files.charts] == [f"{stem}.{name}.svg" for name in CHARTS]
    assert all(path.is_file() for path in files.paths)
    assert sorted(p.name for p in saves.glob("*.toml")) == [app.save_path.name], "the saves list is untouched"
    markdown = files.markdown.read_text(encoding="utf-8")
    save = load_save(app.save_path)
    assert len(save.actions) == 2
    for number, action in enumerate(save.actions, start=1):
        assert f"A{number} `{action_text(action.name, action.args)}`" in markdown
    assert "abandoned at 00:21 of 00:40" in markdown
