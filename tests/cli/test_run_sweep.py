"""`brownout run --seeds A-B -j N` and `brownout run --save` (issue 14)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.records.replay import verify_save
from sim.running.headless import compare
from sim.tools.sweep import SweepSpec, parse_seeds, run_seed, summarize
from tui.cli import main

REPO = Path(__file__).resolve().parents[2]
SHORT = REPO / "tests" / "cli" / "data" / "mini-short.toml"


def _without_wall(run: dict) -> dict:
    return {k: v for k, v in run.items() if k not in ("wall_s", "references", "save")}


def test_parse_seeds():
    assert parse_seeds("1-3") == (1, 2, 3)
    assert parse_seeds("7") == (7,)
    assert parse_seeds("1,5,3-4,5") == (1, 5, 3, 4)
    for bad in ("", "a-3", "5-1", "1-", "-3", "1-1000000"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_a_sweep_gives_each_seed_what_a_single_run_gives(capsys):
    assert main(["run", str(SHORT), "--seeds", "1-2", "-j", "2", "--policy", "par", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seed"] for line in lines] == [1, 2]
    for line in lines:
        assert main(["run", str(SHORT), "--seed", str(line["seed"]), "--policy", "par", "--json"]) == 0
        single = json.loads(capsys.readouterr().out)
        assert _without_wall(line) == _without_wall(single)
        assert line["references"]["par"]["score"] == pytest.approx(single["score"])


def test_references_are_do_nothing_and_par_on_that_seed():
    from sim.drill.loader import load_drill

    outcome = run_seed(SweepSpec(drill_path=str(SHORT)), 2)
    none_run, par_run = compare(load_drill(SHORT, 2), 2)
    assert outcome.none.score == pytest.approx(none_run.report.score)
    assert outcome.par.grade == par_run.report.grade
    assert outcome.run["score"] == pytest.approx(none_run.report.score)  # the policy was "none"
    none, nothing, par = summarize([outcome])
    assert (none.label, nothing.label, par.label) == ("run (none)", "do nothing", "par")
    assert sum(par.grades.values()) == 1 and par.grades[par_run.report.grade] == 1


def test_summary_table(capsys):
    assert main(["run", str(SHORT), "--seeds", "1-2", "-j", "1", "--policy", "par"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 seeds, 1 job" in out
    for label in ("par", "do nothing", "availability spent mean/max"):
        assert label in out


def test_bad_options_are_one_line(capsys):
    assert main(["run", str(SHORT), "--seeds", "3-1"]) == 2
    assert "runs backwards" in capsys.readouterr().err
    assert main(["run", str(SHORT), "--seed", "1", "--seeds", "1-2"]) == 2
    assert main(["run", str(SHORT), "-j", "2"]) == 2
    assert "goes with --seeds" in capsys.readouterr().err


def test_run_save_writes_a_save_that_verifies(tmp_path, capsys):
    assert main(["run", str(SHORT), "--policy", "par", "--save", "--saves", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays one JSON object
    saved = Path(captured.err.split("Saved to ", 1)[1].strip())
    assert saved.parent == tmp_path
    result = verify_save(saved, references=compare)
    assert result.ok, result.message


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_the_workers_and_keeps_finished_seeds(tmp_path):
    env = dict(os.environ, BROWNOUT_SAVES=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", str(SHORT), "--seeds", "1-40", "-j", "2",
                             "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    first = proc.stdout.readline()  # one seed has finished
    workers = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl+C: the whole group
    # Not communicate(): it reads the raw pipe and would lose what readline() buffered
    # beyond the first line (the start of the second seed's line, when it came at once).
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 130, err
    lines = [json.loads(line) for line in (first + out).splitlines()]
    assert lines and lines[0]["seed"] == 1 and len(lines) < 40
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(_alive(pid) for pid in workers)
