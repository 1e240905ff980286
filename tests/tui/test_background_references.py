"""Do nothing and par computed in a background process from the drill's start (sim.running.references)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_driver import make_app, start_drill
from drill_factory import slow_llm_drill

import sim.running.references as references_module
from sim.running.headless import compare
from sim.running.references import ReferenceJob
from tui.screens.debrief import DebriefScreen

DURATION_S = 20.0


@pytest.fixture(autouse=True)
def one_spare_core(monkeypatch):
    """The job starts whatever the test machine's core count."""
    monkeypatch.setattr(references_module, "spare_cores", lambda: 1)


def _gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for a reaper that is not ours)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def _expected_scores(drill):
    none_run, par_run = compare(drill, drill.seed)
    return none_run.report.score, par_run.report.score


async def _play_to_debrief(pilot) -> DebriefScreen:
    """Play to the end; the debrief once graded, with `wait_s`: how long grading took after the end."""
    app = pilot.app
    app.advance_sim(app.live.ticks_total)
    ended = time.perf_counter()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DebriefScreen)
    for _ in range(600):
        if screen.comparison is not None:
            break
        await pilot.pause(0.05)
    assert screen.comparison is not None, screen.query_one("#compare-status").render()
    screen.wait_s = time.perf_counter() - ended
    return screen


async def test_debrief_takes_the_background_results_without_simulating(tmp_path, monkeypatch):
    drill = slow_llm_drill(duration_s=DURATION_S)
    expected = _expected_scores(drill)
    app = make_app(drill, tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        job = app.reference_job
        assert job is not None and job.process.is_alive()
        assert job.wait(120) is not None, job.error

        def no_simulation(*args, **kwargs):
            raise AssertionError("the debrief simulated do nothing / par again")

        monkeypatch.setattr(references_module, "compute_references", no_simulation)
        screen = await _play_to_debrief(pilot)
        # Graded straight from the job's results: no simulation (patched above), no progress bar.
        # (How long that takes is a figure for a quiet machine, not for a loaded test run.)
        assert screen.poll_timer is None and not screen.query_one("#compare-progress").display
        none_report, par_report = screen.comparison
        assert (none_report.score, par_report.score) == pytest.approx(expected)
        assert screen.report.verdict is not None


async def test_debrief_simulates_itself_when_the_worker_was_killed(tmp_path):
    drill = slow_llm_drill(duration_s=DURATION_S)
    expected = _expected_scores(drill)
    app = make_app(drill, tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        job = app.reference_job
        job.process.kill()
        job.process.join(10)
        screen = await _play_to_debrief(pilot)
        assert job.error is not None and job.result is None
        none_report, par_report = screen.comparison
        assert (none_report.score, par_report.score) == pytest.approx(expected)


async def test_debrief_waits_for_a_running_job_with_a_progress_bar(tmp_path):
    # Long enough that the job cannot be done a second in, even when the app's own steps are
    # slowed by a busy machine (with the 20 s drill it sometimes was, under a loaded suite).
    drill = slow_llm_drill(duration_s=6 * DURATION_S)
    app = make_app(drill, tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        job = app.reference_job
        app.advance_sim(20)
        app.end_run("abandoned")  # a second in: the spawned process is still starting
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DebriefScreen)
        assert job.running and screen.comparison is None, job.error
        assert screen.query_one("#compare-progress").display
        for _ in range(600):
            if screen.comparison is not None:
                break
            await pilot.pause(0.05)
        assert job.result is not None and screen.comparison is not None
        assert not screen.query_one("#compare-progress").display
        none_report, _ = screen.comparison
        assert none_report.duration_s == pytest.approx(1.0)


async def test_quitting_mid_drill_stops_the_process(tmp_path):
    app = make_app(slow_llm_drill(duration_s=DURATION_S), tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        job = app.reference_job
        pid = job.process.pid
        app.exit()
        await pilot.pause()
    assert app.reference_job is None and job.process is None
    assert _gone(pid)


async def test_back_to_the_picker_stops_the_process(tmp_path):
    app = make_app(slow_llm_drill(duration_s=DURATION_S), tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        pid = app.reference_job.process.pid
        app.end_run("abandoned")
        await pilot.pause()
        app.action_back_to_picker()
        await pilot.pause()
        assert app.reference_job is None and _gone(pid)


CRASHING_PARENT = """
import os, sys
from sim.drill.loader import find_drill, load_drill
from sim.running.references import ReferenceJob
if __name__ == "__main__":
    drill = load_drill(find_drill("tutorial"))
    job = ReferenceJob.start(drill, drill.seed, max_jobs=1)
    print(job.process.pid, flush=True)
    job.wait(3)  # let it get going
    os._exit(1)  # a crash: no cleanup at all
"""


def test_the_process_ends_when_its_parent_crashes(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_PARENT)
    env = dict(os.environ, PYTHONPATH=str(Path(references_module.__file__).parents[2]))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid)


def test_the_job_reports_progress_and_the_same_results_as_compare():
    drill = slow_llm_drill(duration_s=DURATION_S)
    job = ReferenceJob.start(drill, drill.seed)
    result = job.wait(120)
    assert result is not None and job.progress == 1.0 and job.process is None
    none_run, par_run = compare(drill, drill.seed)
    assert result.none.report.score == pytest.approx(none_run.report.score)
    assert result.par.report.score == pytest.approx(par_run.report.score)
    assert result.par.report_until(10.0).duration_s == pytest.approx(par_run.report_until(10.0).duration_s)


def test_no_job_without_a_spare_core(monkeypatch):
    monkeypatch.setattr(references_module, "spare_cores", lambda: 0)
    assert ReferenceJob.start(slow_llm_drill(duration_s=DURATION_S), 7) is None


async def test_the_app_takes_in_the_result_while_the_drill_is_still_running(tmp_path):
    app = make_app(slow_llm_drill(duration_s=DURATION_S), tmp_path, background_references=True)
    async with app.run_test() as pilot:
        await start_drill(pilot)
        job = app.reference_job
        for _ in range(1200):
            app.advance_sim(1)  # a frame: the app polls the job
            if job.result is not None:
                break
            await pilot.pause(0.05)
        assert job.result is not None and job.process is None  # read and reaped mid-drill
        assert not app.live.finished
