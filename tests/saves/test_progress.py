"""Player progress: recorded atomically, summarized per drill, bad files set aside, never a traceback."""

from __future__ import annotations

import csv
import io
import json

import attrs
import pytest

from sim.records.home import brownout_home, progress_dir
from sim.records.progress import (
    PROGRESS_FORMAT,
    Profile,
    ProgressError,
    RunRecord,
    load_profile,
    load_profiles,
    profile_path,
    record_run,
    summarize,
    to_csv,
    to_json,
)
from sim.records.saves import default_saves_dir

KNOWN = {"tutorial": ("First shift", 1), "pool-exhaustion": ("Pool exhaustion", 2), "retry-storm": ("Retry storm", 3)}


def run(drill_id="pool-exhaustion", score=80.0, grade="B", *, ended="finished", branch=False, mode="guided",
        blind=False, seed=1, day=1) -> RunRecord:
    return RunRecord(drill_id=drill_id, drill_title=KNOWN.get(drill_id, (drill_id, 0))[0], seed=seed, mode=mode,
                     blind=blind, branch=branch, ended=ended, score=score, grade=grade if ended == "finished" else None,
                     budget_spent=(("availability", 0.12),), started_at=f"2026-12-{day:02d}T14:00:00Z")


def test_brownout_home_moves_progress_and_saves(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWNOUT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BROWNOUT_SAVES")
    assert brownout_home() == tmp_path / "home"
    assert progress_dir() == tmp_path / "home" / "progress"
    assert default_saves_dir() == tmp_path / "home" / "saves"
    monkeypatch.setenv("BROWNOUT_SAVES", str(tmp_path / "elsewhere"))
    assert default_saves_dir() == tmp_path / "elsewhere", "$BROWNOUT_SAVES still wins for saves"


def test_runs_are_recorded_in_order_and_read_back(tmp_path):
    record_run("ada", run(score=55.0, grade="F"), tmp_path)
    profile, warning = record_run("ada", run(score=91.0, grade="A", mode="on-call", blind=True), tmp_path)
    assert warning is None
    again, _ = load_profile("ada", tmp_path)
    assert again == profile and [r.score for r in again.runs] == [55.0, 91.0]
    assert again.runs[1].mode == "on-call" and again.runs[1].blind
    document = json.loads(profile_path("ada", tmp_path).read_text())
    assert document["format"] == PROGRESS_FORMAT and document["player"] == "ada"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "the atomic write leaves no temp file"


def test_player_names_never_share_a_file(tmp_path):
    assert profile_path("ada", tmp_path) != profile_path("ad a", tmp_path) != profile_path("ad_a", tmp_path)
    assert profile_path("../../etc/passwd", tmp_path).parent == tmp_path


def test_a_branch_never_counts_as_best_nor_a_run_ended_early():
    profile = attrs.evolve(Profile("ada"), runs=(
        run(score=60.0, grade="D"),
        run(score=99.0, grade="A", branch=True),
        run(score=97.0, ended="abandoned"),
    ))
    row = next(r for r in summarize(profile, KNOWN).rows if r.drill_id == "pool-exhaustion")
    assert row.best.score == 60.0 and not row.passed
    assert row.latest.ended == "abandoned", "the latest is the latest, whatever it was"
    assert row.scores == (60.0,) and row.attempts == 3


def test_best_latest_trend_never_passed_and_next():
    profile = Profile("ada", (
        run("tutorial", 72.0, "C", day=1),
        run("tutorial", 95.0, "A", mode="on-call", day=2),
        run("tutorial", 81.0, "B", day=3),
        run("retry-storm", 40.0, "F", day=4),
        run("pool-exhaustion", 65.0, "D", day=5),
    ))
    summary = summarize(profile, KNOWN)
    tutorial = next(r for r in summary.rows if r.drill_id == "tutorial")
    assert (tutorial.best.score, tutorial.best.mode, tutorial.latest.score) == (95.0, "on-call", 81.0)
    assert tutorial.trend.endswith(" -14") and len(tutorial.trend.split()[0]) == 3
    assert summary.never_passed == ("pool-exhaustion", "retry-storm")
    assert summary.suggestion.drill_id == "retry-storm", "the weakest lesson: the lowest best among those not passed"
    assert "never passed" in summary.suggestion.reason


def test_next_is_the_easiest_unplayed_drill_once_every_played_one_is_passed():
    summary = summarize(Profile("ada", (run("pool-exhaustion", 90.0, "A"),)), KNOWN)
    assert summary.suggestion.drill_id == "tutorial" and summary.suggestion.reason == "not played yet"
    everything = Profile("ada", tuple(run(d, 90.0 - i, "A") for i, d in enumerate(KNOWN)))
    assert summarize(everything, KNOWN).suggestion.drill_id == "retry-storm"


@pytest.mark.parametrize("content, words", [
    (b"{ not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not a text file"),
    (b'{"format": "something-else"}', "not a Brownout progress file"),
    (b'[1, 2, 3]', "not a Brownout progress file"),
    (json.dumps({"format": PROGRESS_FORMAT, "version": 1, "player": "bob", "runs": []}).encode(), "belongs to player 'bob'"),
    (json.dumps({"format": PROGRESS_FORMAT, "version": 1, "player": "ada", "runs": [{"drill_id": 3}]}).encode(), "runs[0]"),
])
def test_a_corrupt_or_foreign_file_is_set_aside_and_reported_in_one_line(tmp_path, content, words):
    path = profile_path("ada", tmp_path)
    path.write_bytes(content)
    profile, warning = record_run("ada", run(), tmp_path)
    assert words in warning and "set aside as ada.json.bad-" in warning and "\n" not in warning
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("ada.json.bad-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content, "never lost: renamed, untouched"
    assert len(profile.runs) == 1 and load_profile("ada", tmp_path) == (profile, None)


def test_a_newer_progress_file_is_refused_not_set_aside(tmp_path):
    path = profile_path("ada", tmp_path)
    path.write_text(json.dumps({"format": PROGRESS_FORMAT, "version": 9, "player": "ada", "runs": []}))
    with pytest.raises(ProgressError, match="newer Brownout"):
        record_run("ada", run(), tmp_path)
    assert path.exists() and json.loads(path.read_text())["version"] == 9


def test_a_cohort_is_every_player_and_exports_as_csv_and_json(tmp_path):
    record_run("ada", run("tutorial", 88.0, "B", mode="standard"), tmp_path)
    record_run("bob", run("tutorial", 50.0, "F", blind=True), tmp_path)
    (tmp_path / "junk.json").write_text("nope")
    profiles, warnings = load_profiles(tmp_path)
    assert [p.player for p in profiles] == ["ada", "bob"]
    assert len(warnings) == 1 and "junk.json" in warnings[0]
    summaries = [summarize(p, KNOWN) for p in profiles]
    rows = list(csv.DictReader(io.StringIO(to_csv(summaries))))
    assert len(rows) == 2 * len(KNOWN)
    ada = next(r for r in rows if r["player"] == "ada" and r["drill"] == "tutorial")
    assert (ada["best_score"], ada["best_grade"], ada["best_mode"], ada["passed"]) == ("88.0", "B", "standard", "True")
    assert ada["best_budget_spent"] == "availability=12.0000%"
    data = json.loads(to_json(summaries))
    bob = data["players"][1]
    assert bob["player"] == "bob" and "tutorial" in bob["never_passed"]
    assert bob["suggested_next"]["drill_id"] == "tutorial"
