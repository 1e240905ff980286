"""`brownout play --blind/--mode` and `brownout progress`: options, exports, bad files in one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sim.records.progress import RunRecord, profile_path, record_run
from tui.cli import main

MINI = Path(__file__).resolve().parent / "data" / "mini.toml"


@pytest.fixture
def opened(monkeypatch):
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run_app", lambda **kwargs: calls.append(kwargs))
    return calls


def one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for word in words:
        assert word in err, err


def test_play_blind_opens_a_blind_incident_with_mode_and_difficulty(opened):
    assert main(["play", "--blind", "--difficulty", "2", "--mode", "on-call"]) == 0
    assert opened[-1] == {"mode": "on-call", "blind": True, "blind_difficulty": 2}
    assert main(["play", str(MINI), "--mode", "standard"]) == 0
    assert opened[-1]["mode"] == "standard" and opened[-1]["drill"].id == "mini"


@pytest.mark.parametrize("argv, words", [
    (["play"], ["give a DRILL, or --blind"]),
    (["play", "--blind", "tutorial"], ["not both"]),
    (["play", "--blind", "--seed", "3"], ["fresh seed"]),
    (["play", "tutorial", "--difficulty", "2"], ["--difficulty goes with --blind"]),
    (["play", "--blind", "--difficulty", "7"], ["from 1 to 5"]),
    (["play", "--blind", "--difficulty", "5"], ["no drill of that difficulty"]),
    (["play", "tutorial", "--mode", "hard"], ["invalid choice", "on-call"]),
])
def test_bad_play_options_are_one_line(opened, capsys, argv, words):
    assert main(argv) == 2
    one_line_error(capsys, *words)
    assert opened == []


def _run(drill_id, score, grade, *, branch=False, ended="finished", mode="guided"):
    return RunRecord(drill_id, drill_id, 1, mode, False, branch, ended, score, grade if ended == "finished" else None,
                     (), "2026-12-01T14:00:00Z")


def test_progress_prints_each_player_and_exports_a_cohort(capsys):
    record_run("ada", _run("tutorial", 91.0, "A", mode="on-call"))
    record_run("ada", _run("tutorial", 99.0, "A", branch=True))
    record_run("bob", _run("pool-exhaustion", 55.0, "F"))
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "ada: 2 run(s)" in out and "bob: 1 run(s)" in out
    assert "91 A on-call" in out and "(99) branch guided" in out
    assert "next: pool-exhaustion (never passed, best 55 F)" in out
    assert main(["progress", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["player"] for r in rows} == {"ada", "bob"}
    ada = next(r for r in rows if r["player"] == "ada" and r["drill"] == "tutorial")
    assert (ada["best_score"], ada["best_mode"], ada["trend"], ada["attempts"]) == ("91.0", "on-call", "91", "2")
    assert main(["progress", "--player", "bob", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["player"] for p in data["players"]] == ["bob"]
    assert data["players"][0]["suggested_next"]["drill_id"] == "pool-exhaustion"


def test_a_corrupt_progress_file_is_a_warning_line_and_set_aside(capsys):
    path = profile_path("ada")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00garbage")
    assert main(["progress", "--player", "ada"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("warning: ") and "set aside" in captured.err
    assert "ada: 0 run(s)" in captured.out
    assert not path.exists() and len(list(path.parent.glob("ada.json.bad-*"))) == 1


def test_a_newer_progress_file_is_one_error_line(capsys):
    path = profile_path("ada")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "brownout-progress", "version": 5, "player": "ada", "runs": []}))
    assert main(["progress", "--player", "ada"]) == 2
    one_line_error(capsys, "newer Brownout")
    assert path.exists()
