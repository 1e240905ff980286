"""Every kind of bad save gives a clear one-line error naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model.errors import InputError
from sim.records.saves import load_save

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "saves"

BAD_SAVES = {
    "truncated.toml": ["integrity.checksum", "truncated"],
    "truncated_mid_line.toml": ["not valid TOML", "truncated or corrupt"],
    "empty.toml": ["empty", "interrupted"],
    "binary.toml": ["not a text file", "corrupt"],
    "hand_edited_score.toml": ["checksum", "edited by hand"],
    "hand_edited_action_time.toml": ["checksum", "edited by hand"],
    "future_version.toml": ["save.format_version", "newer Brownout", "format 7", "upgrade"],
    "wrong_types.toml": ["save.seed", "whole number", "'seven'"],
    "unknown_action.toml": ["actions[1].name", "unknown action 'breaker.kick'"],
    "actions_out_of_order.toml": ["actions[1].t_s", "time order"],
    "bad_digest.toml": ["save.digest", "SHA-256"],
    "not_a_save.toml": ["not a Brownout save", "[drill]"],
    "bad_action_args.toml": ["actions[0].args.size", "whole number >= 0", "../../etc/passwd", "2 more problems"],
}


@pytest.mark.parametrize("name", sorted(BAD_SAVES))
def test_bad_save_gives_its_error(name):
    path = DATA_DIR / name
    with pytest.raises(InputError) as caught:
        load_save(path)
    line = caught.value.first_line()
    assert "\n" not in line
    assert line.startswith(str(path))
    for word in BAD_SAVES[name]:
        assert word in line, f"{word!r} not in {line!r}"


def test_every_bad_save_file_is_covered():
    on_disk = {p.name for p in DATA_DIR.glob("*.toml") if not p.name.startswith("valid")}
    assert on_disk == set(BAD_SAVES)


def test_all_problems_are_listed_not_only_the_first():
    with pytest.raises(InputError) as caught:
        load_save(DATA_DIR / "wrong_types.toml")
    paths = [problem.path for problem in caught.value.problems]
    assert paths == ["save.seed", "save.ended"]
    assert "(and 1 more problem)" in caught.value.first_line()


def test_error_points_at_the_line_of_the_field():
    with pytest.raises(InputError) as caught:
        load_save(DATA_DIR / "wrong_types.toml")
    problem = caught.value.problems[0]
    lines = (DATA_DIR / "wrong_types.toml").read_text().splitlines()
    assert lines[problem.line - 1].startswith("seed = ")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('ended = "finished"', 'ended = "won"', ["save.ended", "finished, abandoned, crashed"]),
        ("end_t_s = 600.0", "end_t_s = -1.0", ["save.end_t_s", ">= 0"]),
        ("end_t_s = 600.0", "end_t_s = 100.0", ["actions[1].t_s", "after the end of the run"]),
        ('started_at = "2026-01-31T14:05:00Z"', 'started_at = "yesterday"', ["save.started_at", "ISO 8601"]),
        ('started_at = "2026-01-31T14:05:00Z"', 'started_at = "2026-01-31T14:05:00"', ["save.started_at", "UTC"]),
        ("score = 72.5", "score = 140.0", ["result.score", "0 to 100"]),
        ("seed = 7", "seed = -3", ["save.seed", ">= 0"]),
        ("seed = 7\n", "seed = 7\ncolour = \"blue\"\n", ["save.colour", "unknown field"]),
        ('drill_id = "slow-db"\n', "", ["save.drill_id", "missing"]),
        ('args = { pool = "main", size = 40 }', 'args = { pool = "main", size = [40] }', ["actions[0].args.size"]),
        ("format_version = 1", "format_version = 0", ["save.format_version", ">= 1"]),
    ],
)
def test_hand_edits_that_break_a_field_name_the_field(tmp_path, old, new, words):
    text = (DATA_DIR / "valid.toml").read_text()
    assert old in text
    path = tmp_path / "edited.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_save(path)
    line = caught.value.first_line()
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"


def test_action_arguments_of_the_wrong_kind_are_each_named():
    with pytest.raises(InputError) as caught:
        load_save(DATA_DIR / "bad_action_args.toml")
    problems = {problem.path: problem.message for problem in caught.value.problems}
    assert set(problems) == {"actions[0].args.size", "actions[1].args.size", "actions[2].args.workers"}
    assert "-1" in problems["actions[1].args.size"] and "true" in problems["actions[2].args.workers"]


def test_a_bad_action_argument_makes_verify_exit_2_not_digest_differs():
    from sim.records.replay import verify_save

    result = verify_save(DATA_DIR / "bad_action_args.toml")
    assert result.kind == "bad_save" and result.exit_code == 2
    assert "actions[0].args.size" in result.message


def test_saved_argument_kinds_cover_every_action_argument():
    from sim.records.saves import SAVED_ARG_KINDS
    from sim.running.actions_file import ACTION_ARGS

    for name, specs in ACTION_ARGS.items():
        keys = {("dependency", "class") if spec.key == "target" else (spec.key,) for spec in specs}
        assert {k for group in keys for k in group} == set(SAVED_ARG_KINDS[name]), name
