"""Save format 2 records the difficulty mode and whether the run was blind; format 1 saves still read and verify."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import attrs
import pytest
import tomli_w

from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.model.errors import InputError
from sim.records.replay import verify_save
from sim.records.saves import FORMAT_VERSION, _checksum, dumps_save, load_save, parse_save, save_run, write_save

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "saves"


def test_mode_and_blind_round_trip(sample_save, tmp_path):
    save = attrs.evolve(sample_save, mode="on-call", blind=True)
    loaded = load_save(write_save(save, tmp_path / "s.toml"))
    assert (loaded.mode, loaded.blind, loaded.format_version) == ("on-call", True, FORMAT_VERSION)
    assert FORMAT_VERSION == 2


def test_a_format_1_save_reads_as_guided_and_not_blind():
    loaded = load_save(DATA_DIR / "valid.toml")
    assert (loaded.format_version, loaded.mode, loaded.blind) == (1, "guided", False)


def test_an_unknown_mode_is_named(sample_save):
    text = dumps_save(attrs.evolve(sample_save, mode="standard")).replace('mode = "standard"', 'mode = "hard"')
    with pytest.raises(InputError) as caught:
        parse_save(text.encode(), "x.toml")
    assert "save.mode" in caught.value.first_line() and "on-call" in caught.value.first_line()


def test_a_non_boolean_blind_is_named(sample_save):
    text = dumps_save(sample_save).replace("blind = false", 'blind = "yes"')
    with pytest.raises(InputError, match="save.blind: expected true or false"):
        parse_save(text.encode(), "x.toml")


def test_an_old_format_save_of_a_played_run_still_verifies(tmp_path):
    drill_file = tmp_path / "replay-check.toml"
    shutil.copy(DATA_DIR / "drills" / "replay-check.toml", drill_file)
    drill = load_drill(drill_file)
    sim = Simulation.from_drill(drill)
    for _ in range(200):
        sim.step()
    import datetime as dt

    now = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.timezone.utc)
    path = save_run(drill, sim, player="ada", started_at=now, ended_at=now, ended="abandoned", saves_dir=tmp_path)
    # Write it as Brownout wrote it before modes: format 1, no mode, no blind, its own checksum.
    document = tomllib.loads(path.read_text())
    document["save"]["format_version"] = 1
    del document["save"]["mode"], document["save"]["blind"]
    document["integrity"]["checksum"] = _checksum(document)
    old = tmp_path / "old.toml"
    old.write_text(tomli_w.dumps(document))
    assert load_save(old).mode == "guided"
    result = verify_save(old)
    assert result.ok, result.message


def test_saves_list_shows_a_mode_other_than_guided_and_blind(sample_save, tmp_path):
    from sim.records.saves import format_saves_table, list_saves

    write_save(attrs.evolve(sample_save, mode="on-call", blind=True), tmp_path / "a.toml")
    write_save(sample_save, tmp_path / "b.toml")
    table = format_saves_table(list_saves(tmp_path))
    assert "finished [on-call, blind]" in table
    assert table.count("[") == 1, "a guided run that was not blind reads as before"


def test_a_replay_shows_hints_as_the_mode_did():
    from sim.drill.modes import GUIDED, ON_CALL, STANDARD, hint_times_under

    fired = {1: 20.0, 0: 5.0}
    assert hint_times_under(GUIDED, fired, 100.0) == {1: 20.0, 0: 5.0}
    assert hint_times_under(STANDARD, fired, 70.0) == {0: 65.0}, "the second would have shown after the run ended"
    assert hint_times_under(ON_CALL, fired, 100.0) == {}


@pytest.mark.parametrize("mode, expected", [("guided", {0: 1.0}), ("on-call", {})])
def test_the_replay_index_shows_the_hints_the_mode_showed(tmp_path, mode, expected):
    import datetime as dt

    from sim.records.replay import Replay

    drill_file = tmp_path / "replay-check.toml"
    drill_file.write_text((DATA_DIR / "drills" / "replay-check.toml").read_text()
                          + '\n[[hints]]\ntext = "Look at the pool."\nat = "1s"\n')
    drill = load_drill(drill_file)
    sim = Simulation.from_drill(drill)
    for _ in range(60):
        sim.step()
    now = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.timezone.utc)
    path = save_run(drill, sim, player="ada", started_at=now, ended_at=now, ended="abandoned", saves_dir=tmp_path,
                    mode=mode)
    replay = Replay.open(path)
    replay.build_index()
    assert replay.hint_times == expected
    assert replay.index_digest == load_save(path).digest
