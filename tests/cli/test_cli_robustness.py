"""`brownout` stops cleanly however it is stopped: Ctrl+C while starting, a closed pipe, an
unwritable JUnit folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "cli" / "data" / "mini.toml"


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["BROWNOUT_DRILLS"] = str(tmp_path / "no-user-drills")
    env["BROWNOUT_SAVES"] = str(tmp_path / "saves")
    return env


def _interrupted_at_import(module: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # Ctrl+C arrives exactly while `module` is being imported, as `brownout run` starts.
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.argv = ["brownout", "run", {str(MINI)!r}]

        class InterruptOnImport:
            def find_spec(self, name, path=None, target=None):
                if name == {module!r}:
                    sys.meta_path.remove(self)
                    os.kill(os.getpid(), signal.SIGINT)
                return None

        sys.meta_path.insert(0, InterruptOnImport())
        from tui.cli import main
        main()
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("module", ["argparse", "numpy"])
def test_ctrl_c_while_starting_exits_130_without_a_traceback(module, tmp_path):
    # argparse: among tui.cli's own first imports; numpy: the simulator, loaded by `run`.
    completed = _interrupted_at_import(module, tmp_path)
    assert completed.returncode == 130, completed.stderr
    assert "Traceback" not in completed.stderr and "KeyboardInterrupt" not in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize("json_output", [False, True], ids=["tables", "json"])
def test_a_reader_that_goes_away_ends_the_run_quietly(json_output, tmp_path):
    # `brownout run X | head -1`, with the reader gone before the first line is written.
    args = [sys.executable, "-m", "tui.cli", "run", str(MINI)] + (["--json"] if json_output else [])
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = subprocess.run(args, cwd=REPO, env=_env(tmp_path), stdout=write_end, stderr=subprocess.PIPE,
                                   text=True, timeout=300)
    finally:
        os.close(write_end)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, a folder nobody can create files in")
def test_junit_into_an_unwritable_folder_fails_before_running(tmp_path, monkeypatch, capsys):
    # /proc: even root cannot create a file there (a permission check would let root through).
    import sim.running.headless
    from tui.cli import main

    ran = []
    monkeypatch.setenv("BROWNOUT_DRILLS", str(tmp_path / "none"))
    monkeypatch.setattr(sim.running.headless, "run_drill", lambda *a, **k: ran.append(a))
    code = main(["run", str(MINI), "--json", "--junit", "/proc/brownout-junit.xml"])
    out, err = capsys.readouterr()
    assert code == 2 and ran == [], "it must fail before running, not after"
    [line] = err.strip().splitlines()
    assert "brownout-junit.xml" in line and "cannot write the JUnit file" in line


def test_json_is_printed_even_when_the_junit_file_then_fails(tmp_path, monkeypatch, capsys):
    import sim.running.junit
    from tui.cli import main

    def disk_full(path, runs):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("BROWNOUT_DRILLS", str(tmp_path / "none"))
    monkeypatch.setattr(sim.running.junit, "write_junit", disk_full)
    code = main(["run", str(MINI), "--json", "--junit", str(tmp_path / "out.xml")])
    out, err = capsys.readouterr()
    assert code == 2 and "No space left" in err
    assert json.loads(out)["drill"] == "mini"
