"""The save format: round trips, file names, listing and best scores."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

from sim import ENGINE_VERSION
from sim.model.errors import InputError
from sim.records.saves import (
    FORMAT_VERSION,
    ForkPoint,
    SavedSLI,
    best_scores,
    default_saves_dir,
    dumps_save,
    format_saves_table,
    list_saves,
    load_save,
    parse_save,
    save_filename,
    write_save,
)
from sim.model.spec import Action

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "saves"
UTC = dt.timezone.utc


def test_round_trip_is_identical(sample_save, tmp_path):
    path = write_save(sample_save, tmp_path / "run.toml")
    loaded = load_save(path)
    assert loaded == sample_save
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.engine_version == ENGINE_VERSION


def test_none_argument_survives_toml(sample_save):
    loaded = parse_save(dumps_save(sample_save).encode(), "mem.toml")
    timeout = loaded.actions[1]
    assert timeout.name == "timeout.set"
    assert timeout.arg("timeout_s", "absent") is None
    assert timeout.arg("dependency") == "llm"


def test_float_times_round_trip_bit_exact(sample_save):
    tricky = attrs.evolve(sample_save, actions=(Action(0.1 + 0.2, "worker.restart", {"worker": 0}),), end_t_s=0.30000000000000004)
    loaded = parse_save(dumps_save(tricky).encode(), "mem.toml")
    assert loaded.actions[0].t_s == 0.1 + 0.2
    assert loaded.end_t_s == 0.30000000000000004


def test_numpy_scalars_in_args_are_written_as_plain_values(sample_save):
    engine_made = attrs.evolve(
        sample_save, actions=(Action(np.float64(5.0), "pool.resize", {"pool": "main", "size": np.int64(12)}),)
    )
    loaded = parse_save(dumps_save(engine_made).encode(), "mem.toml")
    assert loaded.actions[0].arg("size") == 12
    assert type(loaded.actions[0].arg("size")) is int


def test_fork_point_and_nan_sli_round_trip(sample_save):
    forked = attrs.evolve(
        sample_save,
        forked_from=ForkPoint("slow-db-ada-20260131T140500Z.toml", 120.0),
        slis=(SavedSLI("latency", 0.95, math.nan),),
        score=None,
        grade=None,
        ended="abandoned",
    )
    loaded = parse_save(dumps_save(forked).encode(), "mem.toml")
    assert loaded.forked_from == ForkPoint("slow-db-ada-20260131T140500Z.toml", 120.0)
    assert math.isnan(loaded.slis[0].attained)
    assert loaded.score is None and loaded.grade is None and loaded.ended == "abandoned"


def test_times_are_utc_iso_8601_in_the_file(sample_save):
    text = dumps_save(sample_save)
    assert 'started_at = "2026-01-31T14:05:00Z"' in text
    assert 'ended_at = "2026-01-31T14:21:40Z"' in text


def test_integrity_checksum_is_the_last_table(sample_save):
    text = dumps_save(sample_save)
    assert text.rstrip().splitlines()[-2] == "[integrity]"


def test_filename_names_drill_player_and_utc_start():
    started = dt.datetime(2026, 1, 31, 14, 5, 9, 123456, tzinfo=UTC)
    assert save_filename("slow-db", "ada", started) == "slow-db-ada-20260131T140509Z.toml"


def test_filename_removes_characters_unsafe_in_paths():
    started = dt.datetime(2026, 1, 31, 14, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    name = save_filename("slow-db", "../../etc/pass wd", started)
    assert "/" not in name and " " not in name
    # A +02:00 start is written in UTC.
    assert name.endswith("-20260131T120509Z.toml")
    assert save_filename("x", "", started).startswith("x-player-")


def test_default_saves_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWNOUT_SAVES", str(tmp_path / "elsewhere"))
    assert default_saves_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("BROWNOUT_SAVES")
    monkeypatch.delenv("BROWNOUT_HOME", raising=False)  # the tests' own data folder (tests/conftest.py)
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    # The user's data folder, not the current one: a run saved from any folder is found from any other.
    folder = default_saves_dir()
    assert folder.parts[-2:] == ("brownout", "saves") and not folder.is_relative_to(Path.cwd())
    if sys.platform.startswith("linux"):
        assert folder == tmp_path / "data-home" / "brownout" / "saves"


def test_list_saves_newest_first_with_unreadable_files_last(sample_save, tmp_path):
    older = attrs.evolve(sample_save, started_at=dt.datetime(2025, 12, 1, 9, 0, tzinfo=UTC),
                         ended_at=dt.datetime(2025, 12, 1, 9, 10, tzinfo=UTC), player="bob", score=90.0)
    write_save(older, tmp_path / "older.toml")
    write_save(sample_save, tmp_path / "newer.toml")
    (tmp_path / "broken.toml").write_text("[save\n")
    (tmp_path / ".newer.toml.abc.tmp").write_text("half")
    (tmp_path / "notes.txt").write_text("not a save")
    summaries = list_saves(tmp_path)
    assert [s.path.name for s in summaries] == ["newer.toml", "older.toml", "broken.toml"]
    assert summaries[0].player == "ada" and summaries[1].player == "bob"
    assert not summaries[2].ok and "not valid TOML" in summaries[2].error


def test_list_saves_of_missing_folder_is_empty(tmp_path):
    assert list_saves(tmp_path / "nope") == []


def test_best_scores_counts_finished_readable_runs_only(sample_save, tmp_path):
    write_save(attrs.evolve(sample_save, score=60.0), tmp_path / "a.toml")
    write_save(attrs.evolve(sample_save, score=81.0), tmp_path / "b.toml")
    write_save(attrs.evolve(sample_save, score=99.0, ended="abandoned"), tmp_path / "c.toml")
    write_save(attrs.evolve(sample_save, drill_id="leak", score=None), tmp_path / "d.toml")
    write_save(attrs.evolve(sample_save, drill_id="retry-storm", score=40.0), tmp_path / "e.toml")
    (tmp_path / "f.toml").write_text("garbage = ")
    assert best_scores(tmp_path) == {"slow-db": 81.0, "retry-storm": 40.0}


def test_a_branch_is_never_the_best(sample_save, tmp_path):
    write_save(attrs.evolve(sample_save, score=70.0), tmp_path / "a.toml")
    # Branched from a replay at 2:00, with hindsight: a higher score that must not count.
    write_save(attrs.evolve(sample_save, score=100.0, grade="A", forked_from=ForkPoint("a.toml", 120.0)),
               tmp_path / "b.toml")
    write_save(attrs.evolve(sample_save, drill_id="leak", score=95.0, forked_from=ForkPoint("x.toml", 10.0)),
               tmp_path / "c.toml")
    assert best_scores(tmp_path) == {"slow-db": 70.0}


def test_saves_table_shows_drill_player_date_score(sample_save, tmp_path):
    write_save(sample_save, tmp_path / "run.toml")
    write_save(attrs.evolve(sample_save, forked_from=ForkPoint("run.toml", 120.0), ended="abandoned"), tmp_path / "fork.toml")
    (tmp_path / "bad.toml").write_text("")
    table = format_saves_table(list_saves(tmp_path))
    header, *rows = table.splitlines()
    assert header.split() == ["FILE", "DRILL", "PLAYER", "DATE", "(UTC)", "ENDED", "SCORE"]
    run_row = next(row for row in rows if row.startswith("run.toml"))
    assert "slow-db" in run_row and "ada" in run_row and "2026-01-31 14:05" in run_row and "72 C" in run_row
    fork_row = next(row for row in rows if row.startswith("fork.toml"))
    assert "branch @120s" in fork_row
    # An abandoned run scored only the time played: its score is bracketed and has no grade.
    assert fork_row.endswith("(72)") and "72 C" not in fork_row
    assert "bad.toml: the save file is empty" in table and "bad.toml: /" not in table


def test_saves_table_when_empty():
    assert format_saves_table([]) == "No saves yet."


def test_shipped_valid_examples_load():
    save = load_save(DATA_DIR / "valid.toml")
    assert save.drill_id == "slow-db" and len(save.actions) == 2 and save.forked_from is None
    fork = load_save(DATA_DIR / "valid_fork.toml")
    assert fork.forked_from == ForkPoint("slow-db-ada-20260131T140500Z.toml", 120.0)


def test_missing_file_and_folder_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such save file"):
        load_save(tmp_path / "absent.toml")
    with pytest.raises(InputError, match="is a folder"):
        load_save(tmp_path)
