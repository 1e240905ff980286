"""Exact replays: play headless, save, load, replay; seek, fork and verify."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import attrs
import numpy as np
import pytest

from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.model.errors import InputError
from sim.records.replay import Replay, verify_save
from sim.records.saves import ForkPoint, load_save, save_run, write_save
from sim.running.headless import compare
from sim.scoring.score import SLOTracker, judge
from sim.model.spec import Action

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"
STARTED = dt.datetime(2026, 1, 31, 14, 5, tzinfo=dt.timezone.utc)

# (sim time the player acts at, action name, args): deliberately not on tick boundaries.
PLAYER_ACTIONS = (
    (8.337, "pool.resize", {"pool": "main", "size": 16}),
    (17.01, "breaker.force_open", {"dependency": "llm"}),
    (17.01, "shed.set", {"fraction": 0.1, "mode": "random"}),
    (27.5, "breaker.auto", {"dependency": "llm"}),
)


@pytest.fixture
def drill_file(tmp_path) -> Path:
    """A private copy of the test drill, so a test may change it."""
    path = tmp_path / "drills" / "replay-check.toml"
    path.parent.mkdir()
    shutil.copy(DRILL_FILE, path)
    return path


def play(drill, *, until_s: float | None = None, actions=PLAYER_ACTIONS, seed: int | None = None, graded=False):
    """Play like the app: actions are applied between frames, the tracker is fed every frame;
    graded, the report is judged as the debrief does (against do nothing and par, same span)."""
    sim = Simulation.from_drill(drill, seed)
    tracker = SLOTracker.for_sim(drill, sim)
    pending = list(actions)
    end_s = drill.duration_s if until_s is None else until_s
    frame_ticks = 7
    while sim.t_s < end_s - 1e-9:
        while pending and pending[0][0] <= sim.t_s:
            t_s, name, args = pending.pop(0)
            sim.apply(Action(t_s, name, args))
        for _ in range(frame_ticks):
            if sim.t_s >= end_s - 1e-9:
                break
            sim.step()
        tracker.update(sim)
    report = tracker.report()
    if graded:
        none_run, par_run = compare(drill, seed)
        span = report.duration_s
        report = judge(report, none_run.report_until(span), par_run.report_until(span))
    return sim, report


def save_played(drill, sim, report, saves_dir, *, ended="finished", forked_from=None) -> Path:
    return save_run(
        drill, sim, player="ada", started_at=STARTED, ended_at=STARTED + dt.timedelta(minutes=2),
        ended=ended, report=report, saves_dir=saves_dir, forked_from=forked_from,
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """One finished headless run of the test drill, played once for the module."""
    folder = tmp_path_factory.mktemp("recording")
    drill_path = folder / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    sim, report = play(drill, graded=True)
    return drill, sim, report, save_played(drill, sim, report, folder / "saves")


@pytest.fixture
def played(recording, drill_file, tmp_path):
    """The recorded run, saved in this test's own folder against its own copy of the drill."""
    drill, sim, report, recorded_path = recording
    save = load_save(recorded_path)
    path = write_save(attrs.evolve(save, drill_path=str(drill_file)), tmp_path / recorded_path.name)
    return drill, sim, report, path


def test_headless_round_trip_replays_to_identical_digest_and_score(played):
    drill, sim, report, path = played
    save = load_save(path)
    assert save.digest == sim.digest()
    assert save.score == report.score and save.grade == report.grade
    assert save.score is not None
    assert [a.name for a in save.actions] == [a[1] for a in PLAYER_ACTIONS]
    # The save records the tick each action took effect at, not when it was asked for.
    assert [a.t_s for a in save.actions] == [a.t_s for a in sim.action_log]
    assert all(abs(a.t_s / drill.dt_s - round(a.t_s / drill.dt_s)) < 1e-9 for a in save.actions)

    replay = Replay.open(path)
    replay.run_to_end()
    assert replay.sim.digest() == sim.digest()
    assert replay.sim.action_log == sim.action_log
    np.testing.assert_equal(attrs.asdict(replay.sim.result()), attrs.asdict(sim.result()))
    for name in ("completed", "failed", "queue_depth", "p95_ms", "class_within", "pool_size"):
        np.testing.assert_array_equal(replay.sim.history.series(name), sim.history.series(name))

    result = verify_save(path, references=compare)
    assert result.ok and result.exit_code == 0 and result.kind == "exact"
    assert result.digest == sim.digest() and result.score == report.score
    assert "exact replay" in result.message and path.name in result.message


def test_abandoned_run_replays_to_where_it_stopped(drill_file, tmp_path):
    drill = load_drill(drill_file)
    sim, report = play(drill, until_s=21.0)
    path = save_played(drill, sim, report, tmp_path, ended="abandoned")
    save = load_save(path)
    assert save.ended == "abandoned" and save.end_t_s == pytest.approx(21.0)
    assert len(save.actions) == 3
    result = verify_save(path)
    assert result.ok, result.message
    replay = Replay.open(path)
    replay.run_to_end()
    assert replay.t_s == pytest.approx(21.0) and not replay.step()


def test_another_seed_is_replayed_with_its_own_seed(drill_file, tmp_path):
    drill = load_drill(drill_file, seed=99)
    sim, report = play(drill, until_s=20.0, seed=99)
    path = save_played(drill, sim, report, tmp_path)
    assert load_save(path).seed == 99
    assert verify_save(path).ok


def test_changed_drill_is_detected_not_replayed(played, drill_file):
    _, _, _, path = played
    drill_file.write_text(drill_file.read_text().replace('rate = "50..60"', 'rate = "51..60"'))
    result = verify_save(path)
    assert not result.ok and result.exit_code == 1 and result.kind == "drill_changed"
    assert "changed since this run was recorded" in result.message
    assert str(drill_file) in result.message and str(path) in result.message
    with pytest.raises(InputError, match="changed since this run was recorded"):
        Replay.open(path)


def test_even_a_comment_changes_the_drill_hash(played, drill_file):
    _, _, _, path = played
    drill_file.write_text(drill_file.read_text() + "\n# tuned\n")
    assert verify_save(path).kind == "drill_changed"


def test_different_digest_is_reported(played):
    _, _, _, path = played
    save = load_save(path)
    write_save(attrs.evolve(save, digest="0" * 64), path)
    result = verify_save(path)
    assert not result.ok and result.exit_code == 1 and result.kind == "digest_differs"
    assert "replay differs from the recording" in result.message and "000000000000" in result.message


def test_different_recorded_action_is_caught_by_the_digest(played):
    _, _, _, path = played
    save = load_save(path)
    moved = (attrs.evolve(save.actions[0], t_s=save.actions[0].t_s + 0.05), *save.actions[1:])
    write_save(attrs.evolve(save, actions=moved), path)
    assert verify_save(path).kind == "digest_differs"


def test_bad_save_file_exits_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[save]\nformat_version = 1\n")
    result = verify_save(path)
    assert not result.ok and result.exit_code == 2 and result.kind == "bad_save"
    assert result.message.startswith(str(path))


def test_missing_drill_is_reported(played, drill_file):
    _, _, _, path = played
    save = load_save(path)
    write_save(attrs.evolve(save, drill_id="no-such-drill-anywhere"), path)
    drill_file.unlink()
    result = verify_save(path)
    assert not result.ok and result.kind == "drill_missing" and result.exit_code == 1
    assert "no-such-drill-anywhere" in result.message


def _reference(drill, save, tick):
    """A replay stepped straight from t=0 to `tick` (no checkpoints involved)."""
    reference = Replay.start(save, drill, checkpoint_every_s=float("inf"))
    reference.run_to_tick(tick)
    return reference


def _same_state(replay, reference):
    assert replay.tick == reference.tick
    assert replay.sim.digest() == reference.sim.digest()
    assert replay.sim.action_log == reference.sim.action_log
    # assert_equal treats NaN (no successes yet) as equal to NaN.
    np.testing.assert_equal(attrs.asdict(replay.sim.result()), attrs.asdict(reference.sim.result()))
    assert replay.sim.gauges().queue_depth == reference.sim.gauges().queue_depth
    assert replay.sim.gauges().breakers == reference.sim.gauges().breakers
    for name in ("completed", "in_flight", "class_arrivals", "pool_in_use"):
        np.testing.assert_array_equal(replay.sim.history.series(name), reference.sim.history.series(name))
    # And the future is the same too.
    replay.run_to_tick(replay.tick + 30)
    reference.run_to_tick(reference.tick + 30)
    assert replay.sim.digest() == reference.sim.digest()


@pytest.mark.parametrize("targets_s", [(23.3, 8.0), (0.0,), (30.0, 30.0, 2.0, 39.95), (17.0, 17.05, 16.95)])
def test_seek_lands_on_the_same_state_as_playing_straight(played, targets_s):
    drill, _, _, path = played
    replay = Replay.open(path)
    replay.build_index()
    save = load_save(path)
    for target_s in targets_s:
        replay.seek(target_s)
        expected_tick = int(round(target_s / drill.dt_s))
        assert replay.tick == expected_tick and replay.t_s == pytest.approx(target_s)
    _same_state(replay, _reference(drill, save, replay.tick))


def test_seek_without_index_plays_forward_then_back(played):
    drill, _, _, path = played
    replay = Replay.open(path)
    replay.seek(20.0)
    replay.seek(7.0)
    _same_state(replay, _reference(drill, load_save(path), replay.tick))


def test_seek_clamps_to_the_run(played):
    _, sim, _, path = played
    replay = Replay.open(path)
    replay.seek(-5.0)
    assert replay.tick == 0
    replay.seek(10_000.0)
    assert replay.at_end and replay.sim.digest() == sim.digest()


def test_index_is_exact_and_seeks_are_fast(played):
    drill, sim, _, path = played
    replay = Replay.open(path)
    fractions = []
    replay.build_index(progress=fractions.append)
    assert replay.index_exact is True and replay.index_digest == sim.digest()
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    every = replay.checkpoint_every_ticks
    assert replay.checkpoint_ticks[:3] == (0, every, 2 * every)
    worst_s = 0.0
    for target_s in (35.0, 3.0, 28.7, 11.4, 39.9, 0.5):
        started = time.perf_counter()
        replay.seek(target_s)
        worst_s = max(worst_s, time.perf_counter() - started)
    assert worst_s < 1.0, f"a seek took {worst_s:.2f} s"


def test_index_can_stop_early(played):
    _, _, _, path = played
    replay = Replay.open(path)
    calls = []
    replay.build_index(progress=calls.append, cancelled=lambda: len(calls) >= 3)
    assert not replay.index_complete and replay.index_exact is None
    assert replay.indexed_tick == 3 * replay.checkpoint_every_ticks


def test_play_advances_by_speed_and_stops_at_the_end(played):
    drill, _, _, path = played
    replay = Replay.open(path)
    assert replay.advance(1.0) == 0  # paused
    replay.play()
    assert replay.advance(0.5) == int(round(0.5 / drill.dt_s))
    replay.faster()
    assert replay.speed == 2.0
    assert replay.advance(0.025) == 1  # 0.05 s of sim time: one tick
    replay.set_speed(50.0)
    replay.advance(0.7)
    assert replay.t_s == pytest.approx(0.5 + 0.05 + 35.0)
    replay.advance(10.0)
    assert replay.at_end and not replay.playing
    replay.toggle()  # playing again from the start
    assert replay.playing and replay.tick == 0
    with pytest.raises(ValueError):
        replay.set_speed(0)


def test_fork_plays_on_live_and_its_save_replays_exactly(played, tmp_path):
    drill, _, _, path = played
    replay = Replay.open(path)
    replay.seek(20.0)
    fork_sim, fork_point = replay.fork()
    assert fork_point == ForkPoint(save=path.name, t_s=20.0)
    # The fork is independent of the replay.
    replay.seek(5.0)
    assert fork_sim.t_s == pytest.approx(20.0)
    # What if the breaker had been closed again at once?
    fork_sim.apply(Action(fork_sim.t_s, "breaker.force_close", {"dependency": "llm"}))
    tracker = SLOTracker.for_sim(drill, fork_sim)
    while fork_sim.t_s < drill.duration_s - 1e-9:
        fork_sim.step()
        tracker.update(fork_sim)
    report = tracker.report()
    fork_path = save_played(drill, fork_sim, report, tmp_path / "saves", forked_from=fork_point)
    assert fork_path != path
    fork_save = load_save(fork_path)
    assert fork_save.forked_from == fork_point
    assert [a.name for a in fork_save.actions] == ["pool.resize", "breaker.force_open", "shed.set", "breaker.force_close"]
    result = verify_save(fork_path)
    assert result.ok, result.message
    assert fork_save.digest != load_save(path).digest


def test_a_run_longer_than_its_drill_is_refused(played):
    drill, _, _, path = played
    save = load_save(path)
    too_long = int(round(drill.duration_s / drill.dt_s)) + 1
    write_save(attrs.evolve(save, end_tick=too_long, end_t_s=too_long * drill.dt_s), path)
    result = verify_save(path)
    assert not result.ok and result.kind == "bad_save" and "after the drill's end" in result.message
    write_save(attrs.evolve(save, end_tick=save.end_tick - 40), path)
    with pytest.raises(InputError, match="does not match end_t_s"):
        Replay.open(path)


def test_a_digest_mismatch_names_a_different_engine_version(played):
    _, _, _, path = played
    save = load_save(path)
    write_save(attrs.evolve(save, engine_version="0", digest="0" * 64), path)
    result = verify_save(path)
    assert result.kind == "digest_differs" and "recorded with engine 0" in result.message
    # Same metrics from an older engine are still an exact replay.
    write_save(attrs.evolve(save, engine_version="0"), path)
    assert verify_save(path).ok


def _edit_result(path, **changes):
    save = load_save(path)
    write_save(attrs.evolve(save, **changes), path)  # the checksum is recomputed: only replay can tell


def test_an_edited_grade_is_caught(played):
    _, _, report, path = played
    other = "A" if report.grade != "A" else "F"
    _edit_result(path, grade=other)
    result = verify_save(path, references=compare)
    assert not result.ok and result.exit_code == 1 and result.kind == "result_differs"
    assert "result.grade" in result.message and repr(other) in result.message


def test_an_edited_sli_attainment_is_caught(played):
    _, _, _, path = played
    save = load_save(path)
    slis = (attrs.evolve(save.slis[0], attained=min(1.0, save.slis[0].attained + 0.001)), *save.slis[1:])
    _edit_result(path, slis=slis)
    result = verify_save(path, references=compare)
    assert result.kind == "result_differs" and "result.slis[0].attained" in result.message


def test_an_edited_sli_name_or_count_is_caught(played):
    _, _, _, path = played
    save = load_save(path)
    _edit_result(path, slis=(attrs.evolve(save.slis[0], name="made-up"), *save.slis[1:]))
    assert "result.slis[0].name" in verify_save(path, references=compare).message
    _edit_result(path, slis=save.slis[:-1])
    assert verify_save(path, references=compare).kind == "result_differs"


def test_a_run_ended_early_is_saved_without_a_grade_and_verify_prints_none(drill_file, tmp_path):
    drill = load_drill(drill_file)
    sim, report = play(drill, until_s=4.1)
    for ended in ("abandoned", "crashed"):
        path = save_played(drill, sim, report, tmp_path / ended, ended=ended)
        save = load_save(path)
        assert save.grade is None and save.score == report.score
        result = verify_save(path, references=compare)
        assert result.ok, result.message
        assert f" {report.grade}" not in result.message.split("matches")[1]
        assert "not graded" in result.message and ended in result.message


def test_a_grade_on_a_run_ended_early_is_caught(drill_file, tmp_path):
    drill = load_drill(drill_file)
    sim, report = play(drill, until_s=4.1)
    path = save_played(drill, sim, report, tmp_path, ended="crashed")
    _edit_result(path, grade="A")
    result = verify_save(path, references=compare)
    assert result.kind == "result_differs" and "gets no grade" in result.message


def test_an_action_naming_a_pool_the_drill_lacks_is_an_invalid_save(played):
    _, _, _, path = played
    save = load_save(path)
    renamed = (attrs.evolve(save.actions[0], args={"pool": "replica", "size": 16}), *save.actions[1:])
    write_save(attrs.evolve(save, actions=renamed), path)
    result = verify_save(path)
    assert result.kind == "bad_save" and result.exit_code == 2
    assert "actions[0].args.pool" in result.message and "'replica'" in result.message
    with pytest.raises(InputError, match="has no pool"):
        Replay.open(path)


def test_an_action_on_a_bulkhead_pool_the_engine_made_is_valid(played):
    _, _, _, path = played
    save = load_save(path)
    bulkhead = attrs.evolve(save.actions[0], args={"pool": "main/ask", "size": 4})
    write_save(attrs.evolve(save, actions=(bulkhead, *save.actions[1:])), path)
    assert verify_save(path).kind == "digest_differs"  # a different run, but a valid save
