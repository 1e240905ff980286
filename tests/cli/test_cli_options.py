"""Command-line conveniences: --version, the app's options after the subcommand, an 80-column drill list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "cli" / "data" / "mini.toml"


def _brownout(*args, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_version_prints_the_installed_version():
    from importlib import metadata

    completed = _brownout("--version")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"brownout {metadata.version('brownout')} (engine ")
    assert completed.stdout.count("\n") == 1


@pytest.fixture
def opened(monkeypatch):
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run_app", lambda **kwargs: calls.append(kwargs))
    return calls


def test_player_and_saves_work_after_the_subcommand(opened, tmp_path):
    assert main(["play", str(MINI), "--player", "ana", "--saves", str(tmp_path)]) == 0
    assert opened[-1]["player"] == "ana" and opened[-1]["saves_dir"] == tmp_path
    # Given before it, they still count; given in both places, the later one wins.
    assert main(["--player", "bo", "play", str(MINI)]) == 0
    assert opened[-1]["player"] == "bo"
    assert main(["--player", "bo", "play", str(MINI), "--player", "cy"]) == 0
    assert opened[-1]["player"] == "cy"


def test_replay_takes_the_saves_folder_after_the_subcommand(opened, tmp_path, monkeypatch):
    import sim.records.saves

    monkeypatch.setattr(sim.records.saves, "load_save", lambda path: None)
    assert main(["replay", "x.toml", "--saves", str(tmp_path), "--player", "di"]) == 0
    assert opened[-1]["saves_dir"] == tmp_path and opened[-1]["player"] == "di"


def test_drills_list_fits_80_columns(tmp_path):
    own = tmp_path / "drills"
    own.mkdir()
    long_title = (MINI.read_text().replace('title = "', 'title = "A very long title that goes on and on about '))
    (own / "mini.toml").write_text(long_title)
    completed = _brownout("drills", "list", env_extra={"BROWNOUT_DRILLS": str(own)})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].split() == ["ID", "TITLE", "LEVEL", "LENGTH", "SOURCE"]
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    mini = next(line for line in lines if line.startswith("mini "))
    assert "…" in mini and mini.rstrip().endswith("user")
    assert {line.split()[0] for line in lines[1:]} >= {"tutorial", "mini"}


def test_drills_validate_prints_no_escape_sequences_from_the_file(tmp_path):
    bad = tmp_path / "evil.toml"
    bad.write_text('[drill]\nid = "a\\u001b[2Jb"\n')
    completed = _brownout("drills", "validate", bad)
    assert completed.returncode == 1
    assert "\x1b" not in completed.stderr and "a\\x1b[2Jb" in completed.stderr
