"""The README's CI runbook example works on every drill it lists, and only on those;
a run that fails leaves no JSON file behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.drill.loader import SHIPPED_DRILLS_DIR, find_drill, load_drill
from sim.model.errors import InputError
from sim.running.runbook import load_runbook

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _fenced_blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced code block in the README."""
    blocks, language, lines = [], None, []
    for line in README.splitlines():
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(lines) + "\n"))
                language = None
        elif language is not None:
            lines.append(line)
    return blocks


def _example_runbook() -> str:
    return next(text for lang, text in _fenced_blocks() if lang == "toml" and text.startswith("[[rules]]"))


def _ci_loop() -> str:
    return next(text for _, text in _fenced_blocks() if text.startswith("for ") and "--runbook runbook.toml" in text)


def _listed_drills() -> list[str]:
    return re.match(r"for d in ([a-z0-9 -]+); do", _ci_loop()).group(1).split()


@pytest.fixture
def runbook(tmp_path) -> Path:
    path = tmp_path / "runbook.toml"
    path.write_text(_example_runbook())
    return path


def test_the_example_runbook_fits_exactly_the_drills_the_loop_lists(runbook):
    fits = []
    for path in sorted(SHIPPED_DRILLS_DIR.glob("*.toml")):
        drill = load_drill(path)
        try:
            load_runbook(runbook, drill)
        except InputError:
            continue
        fits.append(drill.id)
    assert sorted(_listed_drills()) == fits
    assert all(find_drill(d) for d in _listed_drills())


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell loop")
def test_a_failing_run_in_the_loop_leaves_no_json_file(runbook, tmp_path):
    # The loop body, on a drill without pool "main": `brownout run` fails at once (exit 2).
    body = _ci_loop().replace(" ".join(_listed_drills()), "sqlite-lock").replace("1 2 3", "1")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "brownout").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tui.cli "$@"\n')
    (shim / "brownout").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO))
    completed = subprocess.run(["bash", "-c", body], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120)
    assert "no pool" in completed.stderr and "main" in completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "runbook.toml"]
