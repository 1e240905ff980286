"""The training programme in the app: blind incidents, the three modes, the progress screen and its export."""

from __future__ import annotations

import csv
import html
import random
import re

import attrs
from app_driver import make_app, start_drill, step
from drill_factory import slow_llm_drill

from sim.drill import modes
from sim.drill.blind import MAX_SEED
from sim.records.progress import RunRecord, load_profile, profile_path, record_run
from sim.records.saves import load_save
from tui.app import BrownoutApp
from tui.commands import MitigationCommands
from tui.dialogs.message_dialog import MessageDialog
from tui.screens.briefing import BriefingScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.debrief import DebriefScreen
from tui.screens.incident import IncidentScreen
from tui.screens.progress import ProgressScreen

NEUTRAL = "You run a chat answer bot on four workers.\n\nIt is a normal afternoon: forty questions a second."


def training_drill(tmp_path, **kwargs):
    """The 40 s test drill with neutral words and a source file (so runs are saved)."""
    drill_file = tmp_path / "test-slow-llm.toml"
    drill_file.write_text("# stands in for the drill source; the save pins its hash\n")
    drill = slow_llm_drill(source_path=str(drill_file), **kwargs)
    return attrs.evolve(drill, service_name="answer bot", service_description=NEUTRAL)


def visible_text(app) -> str:
    """Everything on the terminal, whitespace removed (a styled span may split words)."""
    svg = app.export_screenshot()
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", svg)))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def wait_for(pilot, predicate, timeout_s: float = 30.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


async def test_a_blind_incident_hides_the_drill_until_the_debrief_reveals_it(tmp_path):
    drill = training_drill(tmp_path, duration_s=25.0)  # short: the debrief plays do nothing and par too
    app = make_app(drill, tmp_path / "saves", rng=random.Random(5), player="ada")
    secrets = [drill.title, drill.id, "The LLM provider gets slow"]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, BriefingScreen) and app.screen.blind is not None
        shown = visible_text(app)
        assert squeeze(app.screen.blind.name) in shown and squeeze("You run a chat answer bot") in shown
        assert all(squeeze(secret) not in shown for secret in secrets), shown
        seed = app.screen.drill.seed
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen)
        await step(pilot, 400)  # 20 s: the fault is 10 s old, pages and hints have fired
        shown = visible_text(app)
        assert squeeze("Incident") in shown and all(squeeze(secret) not in shown for secret in secrets[:2])
        await step(pilot, app.live.ticks_total)
        assert isinstance(app.screen, DebriefScreen)
        title = str(app.screen.query_one("#debrief-title").render())
        assert title.startswith("Debrief — Incident ") and f"was: {drill.title} ({drill.id})" in title
        assert "guided · blind" in str(app.screen.query_one("#score-summary").render())
        await wait_for(pilot, lambda: app.screen.comparison is not None)
        await pilot.pause()
    (save_file,) = (tmp_path / "saves").glob("*.toml")
    save = load_save(save_file)
    assert (save.blind, save.mode, save.seed, save.drill_id) == (True, "guided", seed, drill.id)
    (record,) = load_profile("ada")[0].runs
    assert (record.blind, record.seed, record.drill_title, record.save) == (True, seed, drill.title, save_file.name)


async def test_a_blind_incident_never_draws_a_seed_already_played(tmp_path):
    drill = training_drill(tmp_path)
    played = 4242
    record_run("ada", RunRecord(drill.id, drill.title, played, "guided", True, False, "finished", 80.0, "B", (),
                                "2026-12-01T14:00:00Z"))

    class PlayedFirst(random.Random):
        """Offers the played seed first, as an unlucky draw would."""

        offered = False

        def randint(self, low, high):
            if high == MAX_SEED and not self.offered:
                self.offered = True
                return played
            return super().randint(low, high)

    app = make_app(drill, tmp_path / "saves", rng=PlayedFirst(1), player="ada")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        first = app.screen.drill.seed
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        second = app.screen.drill.seed
    assert app.rng.offered and played not in (first, second) and first != second


async def test_play_blind_of_a_difficulty_with_none_says_so(tmp_path):
    app = BrownoutApp(drills=[training_drill(tmp_path)], saves_dir=tmp_path, start_paused=True, tick_interval=None,
                      blind=True, blind_difficulty=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        assert app.screen.body == "There is no drill of difficulty 5 to play."


async def test_on_call_gives_no_hint_no_pause_no_speed_and_the_clock_runs_under_dialogs(tmp_path):
    app = make_app(training_drill(tmp_path, duration_s=30.0), tmp_path / "saves", mode="on-call", player="ada")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert "on-call" in str(app.screen.query_one("#briefing-mode").render())
        await pilot.press("enter")
        await pilot.pause()
        screen, live = app.screen, app.live
        assert live.mode.name == "on-call"
        live.paused = False  # the test app starts paused; on call nothing can pause it again
        await pilot.press("space")
        await pilot.press("plus")
        await pilot.pause()
        assert not live.paused and live.speed == 1
        keys = {b.binding.action for b in screen.active_bindings.values() if b.enabled and screen.check_action(b.binding.action, ()) is not False}
        assert not {"toggle_pause", "faster", "slower"} & keys
        titles = [title for title, _, _ in MitigationCommands(screen)._commands()]
        assert "Pause / resume" not in titles and "Faster" not in titles and "End the drill" in titles
        live.paused = True
        await step(pilot, 560)  # 28 s: guided would have shown both hints by now, and the SLOs page
        assert live.hints_fired == {} and live.frame().hint is None
        kinds = {entry.kind for entry in live.log}
        assert "HINT" not in kinds and "SYMPTOM" not in kinds and "ALERT" in kinds, kinds
        live.paused = False
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and not live.paused, "the clock keeps running under the question"
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DebriefScreen)
        assert "on-call" in str(app.screen.query_one("#score-summary").render())
        await wait_for(pilot, lambda: app.screen.comparison is not None)
        await pilot.pause()
    (save_file,) = (tmp_path / "saves").glob("*.toml")
    assert (load_save(save_file).mode, load_save(save_file).blind) == ("on-call", False)
    (record,) = load_profile("ada")[0].runs
    assert (record.mode, record.ended, record.grade, record.counts_as_best) == ("on-call", "abandoned", None, False)


async def test_standard_mode_chosen_on_the_briefing_shows_hints_late(tmp_path, monkeypatch):
    # A 10 s delay instead of the minute, so the test plays 16 s, not 66 (hints_due is tested with the real one).
    monkeypatch.setattr(modes, "MODES", (modes.GUIDED, attrs.evolve(modes.STANDARD, hint_delay_s=10.0), modes.ON_CALL))
    app = make_app(training_drill(tmp_path), tmp_path / "saves")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert "standard" in str(app.screen.query_one("#briefing-mode").render())
        await pilot.press("enter")
        await pilot.pause()
        live = app.live
        assert live.mode.name == "standard" and app.mode.name == "standard", "the choice is remembered"
        await step(pilot, 200)  # 10 s: the 5 s hint would show in guided mode
        assert live.hints_fired == {}
        await step(pilot, 120)  # 16 s
        assert list(live.hints_fired) == [0] and 15.0 <= live.hints_fired[0] <= 15.5
        assert live.frame().hint == "Watch the LLM latency."
        assert "standard" in live.frame().title
        await pilot.press("space")
        await pilot.pause()
        assert not live.paused, "standard may pause (the test app started paused: space resumes)"


async def test_guided_mode_shows_a_hint_when_it_fires(tmp_path):
    app = make_app(training_drill(tmp_path), tmp_path / "saves")
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, 120)  # 6 s
        assert list(app.live.hints_fired) == [0] and app.live.hints_fired[0] <= 5.5


def _record(drill_id, title, score, grade, *, ended="finished", branch=False, mode="guided", blind=False, day=1):
    return RunRecord(drill_id, title, day, mode, blind, branch, ended, score, grade if ended == "finished" else None,
                     (("availability", 0.1),), f"2026-12-{day:02d}T14:00:00Z")


async def test_the_progress_screen_shows_best_and_latest_and_exports_csv(tmp_path, monkeypatch):
    drill = training_drill(tmp_path)
    other = attrs.evolve(drill, id="test-other", title="Another drill", difficulty=2)
    for record in (
        _record(drill.id, drill.title, 62.0, "D", day=1),
        _record(drill.id, drill.title, 99.0, "A", branch=True, day=2),
        _record(drill.id, drill.title, 75.0, "C", mode="on-call", blind=True, day=3),
        _record(drill.id, drill.title, 30.0, None, ended="abandoned", day=4),
    ):
        record_run("ada", record)
    app = BrownoutApp(drills=[drill, other], saves_dir=tmp_path / "saves", start_paused=True, tick_interval=None,
                      player="ada")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProgressScreen)
        table = screen.query_one("#progress-table")
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[1:4] == ["4", "75 C on-call*", "(30) guided"], first
        assert first[4] == "▅▇ +13", "the two runs that count, 62 then 75; the branch and the early end are left out"
        assert [str(cell) for cell in table.get_row_at(1)][1:4] == ["0", "-", "-"]
        next_line = str(screen.query_one("#progress-next").render())
        assert "Never passed (C or better): Another drill" in next_line
        assert "Next: Another drill — not played yet" in next_line
        await pilot.press("e")
        await pilot.pause()
        rows = list(csv.DictReader(screen.exported.open()))
        assert [(r["drill"], r["best_score"], r["passed"]) for r in rows] == [
            (drill.id, "75.0", "True"), ("test-other", "", "False")]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, BriefingScreen) and app.screen.drill.id == drill.id


async def test_a_corrupt_progress_file_is_set_aside_with_a_notice(tmp_path):
    path = profile_path("ada")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ half a file")
    app = BrownoutApp(drills=[training_drill(tmp_path)], saves_dir=tmp_path / "saves", start_paused=True,
                      tick_interval=None, player="ada")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        notices = [n.message for n in app._notifications]
        assert any("not valid JSON" in n and "set aside" in n for n in notices), notices
    assert not path.exists()
    (kept,) = path.parent.glob("ada.json.bad-*")
    assert kept.read_text() == "{ half a file"


async def test_play_blind_opens_on_a_blind_briefing_in_the_mode_given(tmp_path):
    drill = training_drill(tmp_path)
    hard = attrs.evolve(drill, id="test-hard", title="Hard one", difficulty=4)
    app = BrownoutApp(drills=[drill, hard], saves_dir=tmp_path, start_paused=True, tick_interval=None,
                      blind=True, blind_difficulty=4, mode="standard", rng=random.Random(9))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BriefingScreen) and screen.blind is not None
        assert screen.drill.id == "test-hard" and screen.mode.name == "standard"
        assert "Hard one" not in str(screen.query_one("#briefing-title").render())
