"""The replay viewer in the app: seeking, stepping, the timeline, taking the controls, app saves."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.records.index_cache import cache_path
from sim.records.replay import Replay, verify_save
from sim.records.saves import ForkPoint, load_save, save_run
from sim.scoring.score import SLOTracker
from sim.model.spec import Action
from tui.app import BrownoutApp
from tui.commands import ScreenCommands
from tui.dialogs.message_dialog import MessageDialog
from tui.screens.incident import IncidentScreen
from tui.screens.replay import SEEK_MAX_STEP_S, IndexProgress, ReplayScreen, ReplayTimeline, fork_live_run

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"
ACTIONS = ((8.0, "pool.resize", {"pool": "main", "size": 16}), (17.0, "breaker.force_open", {"dependency": "llm"}))


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A headless run of the test drill (30 s of its 40), saved once for the module."""
    folder = tmp_path_factory.mktemp("replay-viewer")
    drill_path = folder / "replay-check.toml"
    drill_path.write_text(DRILL_FILE.read_text() + STRICT_SLO)
    drill = load_drill(drill_path)
    sim = Simulation.from_drill(drill)
    tracker = SLOTracker.for_sim(drill, sim)
    for t_s, name, args in ACTIONS:
        sim.run_until(t_s)
        sim.apply(Action(t_s, name, args))
    sim.run_until(30.0)
    tracker.update(sim)
    started = dt.datetime(2026, 1, 31, 14, 5, tzinfo=dt.timezone.utc)
    path = save_run(drill, sim, player="ada", started_at=started, ended_at=started, ended="abandoned",
                    report=tracker.report(), saves_dir=folder / "saves")
    return drill, sim, path


def replay_app(path, saves_dir, **kwargs) -> BrownoutApp:
    return BrownoutApp(drills=[], saves_dir=saves_dir, start_paused=True, tick_interval=None, replay=path, **kwargs)


async def wait_for_index(pilot, screen: ReplayScreen) -> None:
    for _ in range(600):
        if screen.replay.index_complete:
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError("the replay index did not finish")


def reference_at(drill, path, t_s: float) -> Replay:
    reference = Replay.start(load_save(path), drill, checkpoint_every_s=float("inf"))
    reference.run_to_tick(int(round(t_s / drill.dt_s)))
    return reference


async def test_seek_keys_move_sim_time_and_gauges(recording, tmp_path):
    drill, recorded_sim, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for_index(pilot, screen)
        assert screen.replay.index_exact is True
        assert screen.replay.t_s == 0.0

        await pilot.press("full_stop")  # +10 s
        assert screen.replay.t_s == pytest.approx(10.0)
        reference = reference_at(drill, path, 10.0)
        gauges, expected = screen.replay.sim.gauges(), reference.sim.gauges()
        assert gauges.queue_depth == expected.queue_depth and gauges.busy_slots == expected.busy_slots
        assert gauges.pools == expected.pools and gauges.breakers == expected.breakers
        assert screen.frame.t_s == pytest.approx(10.0)
        assert screen.frame.pools[0].value_text == f"{expected.pools[0].in_use}/{expected.pools[0].size}"
        # The recorded pool resize (sent at 8 s) is on its way in the replay: its config push lands at 18 s.
        assert expected.pools[0].size == 10
        waiting = screen.replay.sim.pending_actions.waiting()
        assert [(due, a.name, a.arg("size")) for due, a in waiting] == [(pytest.approx(18.0), "pool.resize", 16)]

        await pilot.press("right")
        assert screen.replay.tick == 201
        await pilot.press("left", "left")
        assert screen.replay.tick == 199

        await pilot.press("right_square_bracket")  # next recorded action: 17 s
        assert screen.replay.t_s == pytest.approx(17.0)
        await pilot.press("left_square_bracket")  # previous: 8 s
        assert screen.replay.t_s == pytest.approx(8.0)

        await pilot.press("5")  # 50 % of the 30 s run
        assert screen.replay.t_s == pytest.approx(15.0)
        await pilot.press("end")
        assert screen.replay.at_end and screen.replay.sim.digest() == recorded_sim.digest()
        await pilot.press("home")
        assert screen.replay.tick == 0

        # Every seek is fast once indexed.
        assert max(screen.seek_ms) < 1000.0


async def test_click_on_the_timeline_scrubs(recording, tmp_path):
    drill, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await wait_for_index(pilot, screen)
        timeline = screen.query_one(ReplayTimeline)
        width = timeline.content_size.width
        await pilot.click(ReplayTimeline, offset=(1 + (width - 1) // 2, 0))
        assert screen.replay.t_s == pytest.approx(15.0, abs=30.0 / (width - 1) + drill.dt_s)
        assert timeline.state.t_s == screen.replay.t_s


async def test_play_and_pause_drive_the_replay_clock(recording, tmp_path):
    _, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("space")
        assert not screen.run.paused
        screen.run.advance_wall(1.0)
        assert screen.replay.t_s == pytest.approx(1.0)
        await pilot.press("plus")
        assert screen.run.speed == 2
        screen.run.advance_wall(1.0)
        assert screen.replay.t_s == pytest.approx(3.0)
        await pilot.press("space")
        assert screen.run.advance_wall(1.0) == 0
        # Mitigation keys do nothing in a replay.
        await pilot.press("o")
        assert isinstance(app.screen, ReplayScreen)
        assert screen.replay.sim.action_log == ()


async def test_take_the_controls_forks_a_live_run_saved_with_its_fork_point(recording, tmp_path):
    drill, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await wait_for_index(pilot, screen)
        await pilot.press("full_stop", "full_stop")  # 20 s: after both recorded actions
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen) and not isinstance(app.screen, ReplayScreen)
        assert app.live.sim.t_s == pytest.approx(20.0)
        assert app.forked_from == ForkPoint(save=path.name, t_s=20.0)
        assert [a.name for a in app.live.sim.action_log] == ["pool.resize", "breaker.force_open"]
        app.submit_action("breaker.auto", {"dependency": "llm"})
        app.advance_sim(60)
        await pilot.pause()
        app.end_run("abandoned")
        await pilot.pause()
        fork_save = load_save(app.save_path)
        assert fork_save.forked_from == ForkPoint(save=path.name, t_s=20.0)
        assert [a.name for a in fork_save.actions] == ["pool.resize", "breaker.force_open", "breaker.auto"]
        assert fork_save.end_t_s == pytest.approx(23.0)
    result = verify_save(app.save_path)
    assert result.ok, result.message


async def test_app_round_trip_save_replays_exactly(tmp_path):
    drill_path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    app = BrownoutApp(drills=[drill], saves_dir=tmp_path / "saves", start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        app.advance_sim(163)
        app.submit_action("pool.resize", {"pool": "main", "size": 14})
        app.advance_sim(150)
        app.submit_action("breaker.force_open", {"dependency": "llm"})
        app.advance_sim(47)
        await pilot.pause()
        played_digest = app.live.sim.digest()
        app.end_run("abandoned")
        await pilot.pause()
    save = load_save(app.save_path)
    assert save.digest == played_digest and save.end_tick == 360 and save.ended == "abandoned"
    assert [a.t_s for a in save.actions] == [pytest.approx(8.15), pytest.approx(15.65)]
    result = verify_save(app.save_path)
    assert result.ok, result.message
    assert result.score == save.score


async def test_a_crash_mid_drill_still_leaves_a_complete_save(tmp_path):
    drill_path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    app = BrownoutApp(drills=[drill], saves_dir=tmp_path / "saves", start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        app.advance_sim(40)
        await pilot.pause()
    # What run_app does after the app stopped, however it stopped.
    app.save_unfinished()
    save = load_save(app.save_path)
    assert save.ended == "crashed" and save.end_tick == 40
    assert verify_save(app.save_path).ok


async def test_a_changed_drill_opens_a_dialog_not_a_replay(recording, tmp_path):
    drill, _, path = recording
    own = tmp_path / "changed"
    own.mkdir()
    shutil.copy(drill.source_path, own / "replay-check.toml")
    save = load_save(path)
    from sim.records.saves import write_save
    import attrs

    copy_path = write_save(attrs.evolve(save, drill_path=str(own / "replay-check.toml")), own / path.name)
    (own / "replay-check.toml").write_text((own / "replay-check.toml").read_text() + "\n# edited\n")
    app = replay_app(copy_path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MessageDialog)
        assert "changed since this run was recorded" in app.screen.body


async def test_saves_screen_lists_saves_and_opens_a_replay(recording, tmp_path):
    _, _, path = recording
    saves_dir = tmp_path / "saves"
    saves_dir.mkdir()
    shutil.copy(path, saves_dir / path.name)
    (saves_dir / "broken.toml").write_text("[save]\n")
    app = BrownoutApp(drills=[], saves_dir=saves_dir, start_paused=True, tick_interval=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("v")  # from the picker
        await pilot.pause()
        from tui.screens.saves import SavesScreen
        from textual.widgets import DataTable, Static

        screen = app.screen
        assert isinstance(screen, SavesScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        assert [str(cell) for cell in table.get_row_at(0)][:2] == ["replay-check", "ada"]
        assert [str(cell) for cell in table.get_row_at(1)][3] == "unreadable"
        await pilot.press("down")
        assert "broken.toml cannot be replayed" in str(screen.query_one("#saves-detail", Static).render())
        await pilot.press("up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        assert app.screen.replay.save.player == "ada"
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, SavesScreen)


async def test_a_run_in_progress_is_autosaved_then_saved_over_when_it_ends(tmp_path, monkeypatch):
    import tui.app

    monkeypatch.setattr(tui.app, "AUTOSAVE_EVERY_S", 0.0)
    drill_path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    saves_dir = tmp_path / "saves"
    app = BrownoutApp(drills=[drill], saves_dir=saves_dir, start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        app.advance_sim(30)
        await pilot.pause()
        (autosaved,) = saves_dir.glob("*.toml")
        save = load_save(autosaved)
        # Killed now, this is what would be left: the run so far, marked crashed.
        assert save.ended == "crashed" and save.end_tick == 30 and save.score is None
        assert verify_save(autosaved).ok
        app.advance_sim(10)
        await pilot.pause()
        app.end_run("abandoned")
        await pilot.pause()
        # The debrief grades against do nothing and par in a thread, then saves over again.
        for _ in range(600):
            if getattr(app.screen, "comparison", None) is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()
    assert list(saves_dir.glob("*.toml")) == [autosaved]
    final = load_save(autosaved)
    assert final.ended == "abandoned" and final.end_tick == 40 and final.score is not None


STRICT_SLO = """
# A strict SLO that the LLM slowdown at 10-15 s pages on within seconds (FAST BURN at ~14.5 s):
# these tests need pages in the first 30 s, and the drill's own SLOs page only at 38 s.
[[slo]]
name = "fast-answers"
kind = "latency"
target = 0.999
threshold = "300ms"
"""

HINTS = """
[[hints]]
at = "5s"
text = "A timed hint."

[[hints]]
when = "p95_ms > 500 for 2s"
text = "A hint on the gauges."
"""


async def test_a_seek_shows_the_symptoms_hints_and_alerts_the_player_had_seen_by_then(tmp_path):
    drill_path = tmp_path / "replay-check.toml"
    drill_path.write_text(DRILL_FILE.read_text() + STRICT_SLO + HINTS)
    drill = load_drill(drill_path)
    app = BrownoutApp(drills=[drill], saves_dir=tmp_path / "saves", start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        for _ in range(12):  # 30 s in frames of 50 ticks, as the app's timer would
            app.advance_sim(50)
        played = dict(app.live.hints_fired)
        symptoms = [(entry.t_s, entry.text) for entry in app.live.log if entry.kind == "SYMPTOM"]
        alerts = [(entry.t_s, entry.kind, entry.text) for entry in app.live.log if entry.kind in ("ALERT", "CLEAR")]
        app.end_run("abandoned")
        await pilot.pause()
    assert list(played) == [0, 1], played
    assert played[0] == pytest.approx(5.0) and 10.0 < played[1] < 30.0
    assert len(symptoms) == 1 and "llm" in symptoms[0][1], symptoms  # the LLM slowdown, as noticed
    assert len(alerts) >= 1 and alerts[0][1] == "ALERT", alerts

    # The index pass re-judges the hints on the same samples the app took.
    replay = Replay.open(app.save_path)
    assert replay.hint_times is None
    replay.build_index()
    assert replay.hint_times == played
    assert [(symptom.t_s, symptom.text) for symptom in replay.symptoms_seen] == symptoms
    assert [(alert.t_s, alert.kind, alert.text) for alert in replay.alerts_seen] == alerts

    viewer = replay_app(app.save_path, tmp_path)
    async with viewer.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = viewer.screen
        await wait_for_index(pilot, screen)
        screen.seek(played[1] + 1.0)  # straight past both: they fired on ticks never played here
        await pilot.pause()
        assert screen.frame.hint == "A hint on the gauges."
        shown = [(entry.t_s, entry.text) for entry in screen.frame.log if entry.kind == "HINT"]
        assert shown == [(played[0], "A timed hint."), (played[1], "A hint on the gauges.")]
        assert [(entry.t_s, entry.text) for entry in screen.frame.log if entry.kind == "SYMPTOM"] == symptoms
        assert [entry.t_s for entry in screen.frame.log] == sorted(entry.t_s for entry in screen.frame.log)
        # Every alert raised or cleared by then, at its time, though the ticks were never played here.
        by_then = [alert for alert in alerts if alert[0] <= played[1] + 1.0 + 1e-9]
        assert by_then and [(entry.t_s, entry.kind, entry.text) for entry in screen.frame.log
                            if entry.kind in ("ALERT", "CLEAR")] == by_then
        # Taking the controls here does not raise them again: the fork goes on from the same states.
        live = fork_live_run(screen.replay, screen.replay.fork()[0])
        assert not [entry for entry in live.log if entry.kind in ("ALERT", "CLEAR")]
        assert {slo: word for slo, word in live.alerts.words.items()} == {
            slo: word for slo, word in screen.run.alerts.words.items()}
        screen.seek(played[0] + 1.0)  # back: only the first had been shown by then
        await pilot.pause()
        assert screen.frame.hint == "A timed hint."
        assert [entry.text for entry in screen.frame.log if entry.kind == "HINT"] == ["A timed hint."]
        # Taking the controls here does not show the first hint again, and the second still can fire.
        live = fork_live_run(screen.replay, screen.replay.fork()[0])
        assert live.hints_fired == {0: played[0]}
        assert not [entry for entry in live.log if entry.kind == "HINT"]
        # Forked before the slowdown showed: the fork notices it (on its own gauges).
        live.advance_ticks(int(10.0 / live.sim.dt_s))
        assert [entry.text for entry in live.log if entry.kind == "SYMPTOM"] == [symptoms[0][1]]
        # Forked after it was noticed: it is not reported a second time.
        screen.seek(symptoms[0][0] + 1.0)
        await pilot.pause()
        live = fork_live_run(screen.replay, screen.replay.fork()[0])
        live.advance_ticks(int(20.0 / live.sim.dt_s))
        assert not [entry for entry in live.log if entry.kind == "SYMPTOM"]


@contextlib.asynccontextmanager
async def unindexed_viewer(recording, tmp_path):
    """The replay viewer on the recording, with no index pass of its own: the test runs it."""
    _, _, path = recording
    # Another test's pass left its index cache beside the shared save: these tests need none.
    cache_path(path).unlink(missing_ok=True)
    app = BrownoutApp(drills=[], saves_dir=tmp_path, start_paused=True, tick_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ReplayScreen(Replay.open(path), index_in_background=False)
        await app.push_screen(screen)
        await pilot.pause()
        yield app, pilot, screen


async def test_a_view_made_before_the_index_ends_is_remade_from_it_when_it_ends(recording, tmp_path):
    # A seek before the pass ends judges alerts from the moment jumped to ("BREACHED at 00:25");
    # once the pass knows what the player was shown, the log says that instead.
    async with unindexed_viewer(recording, tmp_path) as (app, pilot, screen):
        replay = screen.replay
        # The pass starts from tick 0, as the app's does, and is held half way (15 s of 30)
        # until the viewer has jumped ahead of it.
        halfway, seeked = threading.Event(), threading.Event()

        def progress(fraction: float) -> None:
            if fraction >= 0.5:
                halfway.set()
                seeked.wait(10)

        indexer = threading.Thread(target=replay.build_index, kwargs={"progress": progress})
        indexer.start()
        assert halfway.wait(30)
        screen.seek(25.0)
        await pilot.pause()
        judged_here = [(e.t_s, e.text) for e in screen.frame.log if e.kind in ("ALERT", "CLEAR")]
        assert judged_here and all(t_s == pytest.approx(25.0) for t_s, _ in judged_here), judged_here
        seeked.set()
        indexer.join(30)
        screen.post_message(IndexProgress(1.0, done=True))
        await pilot.pause()
        assert screen.run.alerts_from_index and screen.replay.t_s == pytest.approx(25.0)
        shown = [(e.t_s, e.kind, e.text) for e in screen.frame.log if e.kind in ("ALERT", "CLEAR")]
        assert shown == [(a.t_s, a.kind, a.text) for a in replay.alerts_seen if a.t_s <= 25.0 + 1e-9]
        assert shown and shown[0][0] < 25.0


async def test_a_jump_ahead_of_the_index_stops_where_it_can_reach_at_once(recording, tmp_path):
    # Ahead of the index a seek costs what playing that stretch costs, on the UI thread: it
    # goes at most SEEK_MAX_STEP_S past the furthest checkpoint and says so.
    async with unindexed_viewer(recording, tmp_path) as (app, pilot, screen):
        replay = screen.replay
        screen.seek(28.0)
        await pilot.pause()
        assert replay.t_s == pytest.approx(SEEK_MAX_STEP_S)
        assert any("jumped to 00:10" in n.message for n in app._notifications), list(app._notifications)
        screen.seek(replay.t_s + 10.0)  # from where it is: another stretch of at most 10 s
        await pilot.pause()
        assert replay.t_s == pytest.approx(20.0)
        replay.build_index()
        screen.seek(28.0)
        await pilot.pause()
        assert replay.t_s == pytest.approx(28.0)
        screen.seek(3.0)
        await pilot.pause()
        assert replay.t_s == pytest.approx(3.0)


async def test_a_fork_before_the_index_ends_goes_on_from_what_the_view_showed(recording, tmp_path):
    async with unindexed_viewer(recording, tmp_path) as (app, pilot, screen):
        screen.seek(10.0)
        screen.seek(18.0)  # from where it is: no index needed
        await pilot.pause()
        shown = [e for e in screen.frame.log if e.kind in ("ALERT", "CLEAR", "SYMPTOM", "HINT")]
        assert any(e.kind == "ALERT" for e in shown), shown
        live = fork_live_run(screen.replay, screen.replay.fork()[0], view=screen.run)
        # What the view had raised is not raised again by the fork's first sample.
        assert not [e for e in live.log if e.kind in ("ALERT", "CLEAR", "SYMPTOM", "HINT")]
        assert live.alerts.words == screen.run.alerts.words and live.alerts is not screen.run.alerts


async def test_the_palette_offers_the_viewer_s_keys_and_no_mitigation(recording, tmp_path):
    async with unindexed_viewer(recording, tmp_path) as (app, pilot, screen):
        titles = {title for title, _, _ in ScreenCommands(screen)._commands()}
        shown = {a.binding.description for a in screen.active_bindings.values()
                 if a.node is screen and a.enabled and a.binding.show}
        assert {"Play/Pause", "Take controls", "Close", "+10s", "Next action"} <= shown <= titles
        assert {"50%", "End", "Faster"} <= titles  # keys the footer has no room for
        actions = {callback.args[0] for _, _, callback in ScreenCommands(screen)._commands()}
        assert not {a for a in actions if a.startswith(("mitigate", "end_run"))}, actions  # it plays itself


# ---------------------------------------------------------------- issue 13: the viewer's own keys, averages, branch, log


async def test_help_in_the_replay_viewer_lists_its_own_keys(recording, tmp_path):
    from textual.widgets import Static

    from tui.screens.help import HelpScreen

    _, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body", Static)
        text = "".join(segment.text for segment in app.console.render(body.content))
        assert "Play on live from this moment" in text and "Jump to the next recorded action" in text
        assert "pool.resize" not in text and "Shed a fraction" not in text


async def test_a_seek_rebuilds_the_moving_averages_from_the_history(recording, tmp_path):
    from tui.live import SMOOTH_WINDOW_S

    drill, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await wait_for_index(pilot, screen)
        screen.seek(20.0)
        await pilot.pause()
        samples = list(screen.run.samples)
        # A window of samples as the live app took them, not the one sample of the moment jumped to.
        assert samples[0].t_s == pytest.approx(20.0 - SMOOTH_WINDOW_S + 0.25)
        assert samples[-1].t_s == pytest.approx(20.0)
        history = screen.replay.sim.history
        busy = history.buffer("busy_slots")
        expected = [float(busy[(round(s.t_s / drill.dt_s) - 1) % history.capacity]) for s in samples]
        assert [float(s.busy_slots) for s in samples] == expected
        assert screen.frame.slots.average == pytest.approx(sum(expected) / len(expected))


async def test_taking_the_controls_starts_the_branch_paused(recording, tmp_path):
    _, _, path = recording
    app = BrownoutApp(drills=[], saves_dir=tmp_path, start_paused=False, tick_interval=None, replay=path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await wait_for_index(pilot, app.screen)
        await pilot.press("full_stop")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen) and app.live.paused
        assert app.live.sim.t_s == pytest.approx(10.0)


async def test_after_a_seek_back_the_log_shows_no_line_from_later(recording, tmp_path):
    from tui.widgets.event_log import EventLog

    _, _, path = recording
    app = replay_app(path, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await wait_for_index(pilot, screen)
        screen.seek(25.0)
        await pilot.pause()
        later = [e for e in screen.frame.log if e.t_s > 10.0]
        assert later  # the log at 25 s holds lines after 10 s (alerts, the forced breaker)
        screen.seek(10.0)
        await pilot.pause()
        log = screen.query_one(EventLog)
        stamps = [line.text[:5] for line in log.lines if line.text[:2].isdigit() and line.text[2] == ":"]
        assert stamps and all(stamp <= "00:10" for stamp in stamps), stamps
        assert log.entries_written == screen.frame.log_total


async def test_when_the_index_ends_the_log_widget_shows_only_what_the_player_saw(recording, tmp_path):
    from tui.widgets.event_log import EventLog

    async with unindexed_viewer(recording, tmp_path) as (app, pilot, screen):
        replay = screen.replay
        screen.seek(25.0)  # judged from here before the pass knows: alerts "at 00:25"
        await pilot.pause()
        replay.build_index()
        screen.post_message(IndexProgress(1.0, done=True))
        await pilot.pause()
        log = screen.query_one(EventLog)
        stamps = [line.text[:5] for line in log.lines if line.text[:2].isdigit() and line.text[2] == ":"]
        from tui.frame import format_clock

        assert stamps == [format_clock(e.t_s) for e in screen.frame.log], (stamps, screen.frame.log)
