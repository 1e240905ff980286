"""A facilitated run's save: injected faults, cancels, messages and notes replay bit-exactly and
are graded against do nothing and par that had the same injections."""

from __future__ import annotations

import shutil

from sim.drill.loader import load_drill
from sim.model.facilitation import injected_faults
from sim.records.replay import Replay, verify_save
from sim.records.saves import load_save
from sim.running.headless import compare
from sim.scoring.score import judge
from tests.saves.test_replay import DRILL_FILE, play, save_played

FACILITATED = (
    (3.0, "fault.inject", {"kind": "errors", "target": "postgres", "rate": 0.3, "duration_s": 6.0}),
    (4.02, "facilitator.message", {"text": "The VP of sales asks for an ETA"}),
    (5.0, "pool.resize", {"pool": "main", "size": 16}),
    (6.0, "fault.cancel", {"fault": 0}),
    (7.5, "facilitator.note", {"text": "trainee resized the pool before looking at errors"}),
    (8.0, "fault.inject", {"kind": "lose_workers", "target": "service", "count": 2, "duration_s": 4.0}),
)


def test_facilitated_save_replays_exactly_and_grades_against_the_same_faults(tmp_path):
    drill_path = tmp_path / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    sim, report = play(drill, actions=FACILITATED)
    assert not [e for e in sim.events if e.kind == "action_refused"]
    injected = injected_faults(sim.action_log)
    assert [a.name for a in injected] == ["fault.inject", "fault.cancel", "fault.inject"]
    none_run, par_run = compare(drill, None, injected)
    # Do nothing saw the injected faults: its failures differ from a plain do nothing's.
    plain_none, _ = compare(drill, None)
    assert none_run.sim.digest() != plain_none.sim.digest()
    assert [a.name for a in none_run.sim.action_log] == [a.name for a in injected]
    report = judge(report, none_run.report_until(report.duration_s), par_run.report_until(report.duration_s))
    path = save_played(drill, sim, report, tmp_path / "saves")

    save = load_save(path)
    assert [a.name for a in save.actions] == [a[1] for a in FACILITATED]
    assert save.actions[1].arg("text") == "The VP of sales asks for an ETA"
    replay = Replay.open(path)
    replay.run_to_end()
    assert replay.sim.digest() == sim.digest() == save.digest
    result = verify_save(path, references=compare)
    assert result.ok and result.kind == "exact", result.message
    assert result.score == report.score
