"""Text users and drill authors write is shown as written, never read as Rich markup.

A drill title, briefing, hint or SLO name, a player name or a saves folder with
`[/]` in it used to crash the picker or the saves list with MarkupError, and
`Resize [pools.main] now` showed as `Resize  now`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from sim.drill.loader import load_drill
from sim.records.saves import list_saves
from tui.app import BrownoutApp
from tui.screens.briefing import BriefingScreen
from tui.screens.debrief import DebriefScreen
from tui.screens.incident import IncidentScreen
from tui.screens.saves import SavesScreen
from tui.widgets.hint_line import HintLine

DRILL_FILE = Path(__file__).resolve().parent / "data" / "markup-drill.toml"
TITLE = "[/] Resize [pools.main] now [bold red]"
PLAYER = "[/]ada [b]x"


def _shown(screen) -> str:
    """Everything the screen's Static widgets and tables show, as plain text."""
    parts = []
    for widget in screen.query(Static):
        parts.append(str(widget.render()))
    for table in screen.query(DataTable):
        for row in range(table.row_count):
            parts.extend(str(cell) for cell in table.get_row_at(row))
    return "\n".join(parts)


@pytest.fixture
def folder(tmp_path):
    # The saves folder's own name looks like markup too: it is shown in messages.
    drills = tmp_path / "[red]drills"
    drills.mkdir()
    shutil.copy(DRILL_FILE, drills / "markup-drill.toml")
    return tmp_path


async def test_markup_like_text_is_shown_as_written_on_every_screen(folder):
    drill = load_drill(folder / "[red]drills" / "markup-drill.toml")
    saves = folder / "[bold]saves"
    app = BrownoutApp(drills=[drill], saves_dir=saves, player=PLAYER, start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert TITLE in _shown(app.screen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, BriefingScreen)
        assert TITLE in _shown(app.screen) and "Resize [pools.main] now." in _shown(app.screen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen)
        app.advance_sim(40)
        await pilot.pause()
        assert "Resize [pools.main] now [/]" in str(app.screen.query_one(HintLine).render())
        # A refused action pops up as a notification (shown as text, whatever its reason says).
        app.submit_action("pool.resize", {"pool": "main", "size": 5000})
        app.advance_sim(2)
        await pilot.pause()
        app.end_run("abandoned")
        await pilot.pause()
        assert isinstance(app.screen, DebriefScreen)
        assert TITLE in _shown(app.screen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, SavesScreen)
        assert PLAYER in _shown(app.screen)
        await pilot.press("v")  # verify: the message names the file in its markup-like folder
        for _ in range(1200):  # a re-simulation in a worker thread: allow for a busy machine
            await pilot.pause(0.05)
            if any("exact replay" in str(n.message) for n in app._notifications):
                break
        else:
            raise AssertionError("no verify notification")
        await pilot.pause()
    assert [s.player for s in list_saves(saves)] == [PLAYER]


async def test_a_message_dialog_title_is_text(tmp_path):
    from tui.dialogs.message_dialog import MessageDialog

    app = BrownoutApp(drills=[], saves_dir=tmp_path, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(MessageDialog("Cannot load drill [/]x", "body [/]"))
        await pilot.pause()
        assert "Cannot load drill [/]x" in _shown(app.screen)


EVIL_PLAYER = "ada\x1b[2J\x1b]0;owned\x07\nFAKE-LINE\u202e"


def test_saves_list_prints_no_control_characters_from_a_player_name(tmp_path):
    import attrs

    from sim.records.saves import format_saves_table, load_save, write_save

    saves = tmp_path / "saves"
    saves.mkdir()
    valid = Path(__file__).resolve().parents[1] / "data" / "saves" / "valid.toml"
    write_save(attrs.evolve(load_save(valid), player=EVIL_PLAYER), saves / "x.toml")
    (saves / "bad\x1b[31m\nname.toml").write_text("not a save")
    table = format_saves_table(list_saves(saves))
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    lines = table.splitlines()
    assert not any(line.startswith("FAKE-LINE") for line in lines)
    assert "ada\\x1b[2J" in table and "bad\\x1b[31m\\x0aname.toml" in table


def test_the_saves_command_prints_no_control_characters(tmp_path):
    import subprocess
    import sys

    import attrs

    from sim.records.saves import load_save, write_save

    saves = tmp_path / "saves"
    saves.mkdir()
    valid = Path(__file__).resolve().parents[1] / "data" / "saves" / "valid.toml"
    write_save(attrs.evolve(load_save(valid), player=EVIL_PLAYER), saves / "x.toml")
    out = subprocess.run([sys.executable, "-m", "tui.cli", "saves", "list", "--saves", str(saves)],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "FAKE-LINE" in out.stdout
    assert len(out.stdout.strip().splitlines()) == 2


async def test_the_saves_screen_shows_control_characters_as_escapes(tmp_path):
    import attrs

    from sim.records.saves import load_save, write_save

    saves = tmp_path / "saves"
    saves.mkdir()
    valid = Path(__file__).resolve().parents[1] / "data" / "saves" / "valid.toml"
    write_save(attrs.evolve(load_save(valid), player=EVIL_PLAYER), saves / "x.toml")
    app = BrownoutApp(drills=[], saves_dir=saves, tick_interval=None)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, SavesScreen)
        cell = str(app.screen.query_one(DataTable).get_row_at(0)[1])
        assert "\n" not in cell and "\x1b" not in cell and cell.startswith("ada\\x1b")


def test_a_headless_run_prints_markup_like_text_as_written():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "tui.cli", "run", str(DRILL_FILE)],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(TITLE) and "avail [/]" in out.stdout


async def test_a_users_copy_of_a_shipped_drill_with_the_same_id_is_listed_twice(tmp_path, monkeypatch):
    # Copying tutorial.toml into the drills folder to tweak it keeps its id.
    from sim.drill.loader import SHIPPED_DRILLS_DIR

    own = tmp_path / "drills"
    own.mkdir()
    shutil.copy(SHIPPED_DRILLS_DIR / "tutorial.toml", own / "my-tutorial.toml")
    monkeypatch.setenv("BROWNOUT_DRILLS", str(own))
    app = BrownoutApp(saves_dir=tmp_path / "saves", tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        titles = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert titles.count("First shift: the lunchtime rush") == 2
