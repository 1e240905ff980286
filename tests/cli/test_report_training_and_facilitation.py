"""The postmortem, verify and report of saves the other features write: a facilitated run (injected
faults, a message and a note) and a format-2 run played blind in a difficulty mode.

Each save is one run of the 40-second replay-check drill; the do-nothing and par runs are
simulated once per save and reused.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.model.facilitation import injected_faults
from sim.records.saves import load_save, save_run
from sim.reporting import postmortem
from sim.reporting.postmortem import build_postmortem
from sim.running.headless import compare
from sim.scoring.score import judge
from tests.saves.test_facilitated_save import FACILITATED
from tests.saves.test_replay import DRILL_FILE, play
from tui.cli import main
from tui.report.charts import CHARTS
from tui.report.document import postmortem_document
from tui.report.markdown import render_markdown

STARTED = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.timezone.utc)


def _record(folder: Path, actions, *, mode: str = "guided", blind: bool = False):
    """(save path, the save's injected faults, do nothing and par with them): one finished, graded run."""
    drill_path = folder / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    sim, report = play(drill, actions=actions)
    injected = injected_faults(sim.action_log)
    runs = compare(drill, None, injected)
    span = report.duration_s
    report = judge(report, runs[0].report_until(span), runs[1].report_until(span))
    path = save_run(drill, sim, player="ada", started_at=STARTED, ended_at=STARTED + dt.timedelta(minutes=1),
                    ended="finished", report=report, saves_dir=folder / "saves", mode=mode, blind=blind)
    return path, injected, runs


@pytest.fixture(scope="module")
def facilitated(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("facilitated"), FACILITATED)


@pytest.fixture(scope="module")
def blind_on_call(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("blind"), [(5.0, "pool.resize", {"pool": "main", "size": 16})],
                   mode="on-call", blind=True)


def _facts(pm) -> dict[str, str]:
    table = postmortem_document(pm)[2]
    return {label: "".join(getattr(part, "text", part) for part in (value if isinstance(value, tuple) else (value,)))
            for label, value in table.rows}


def test_a_facilitated_report_marks_injected_faults_and_replays_them_in_do_nothing_and_par(facilitated):
    path, injected, runs = facilitated
    asked = []

    def references(drill, seed, injected=()):
        asked.append(tuple(injected))
        return runs

    pm = build_postmortem(path, references=references)

    # Do nothing and par were asked for with the save's injected faults, as the debrief does.
    assert asked == [injected] and len(injected) == 3
    # Only the trainee's action is numbered and counted; the facilitator's show as faults and words.
    assert [a.name for a in pm.actions] == ["pool.resize"]
    assert [a.name for a in pm.you.actions] == ["pool.resize"]
    injected_windows = [f for f in pm.faults if f.injected]
    assert [(f.kind, f.target) for f in injected_windows] == [("errors", "postgres"), ("lose_workers", "service")]
    assert injected_windows[0].end_s - injected_windows[0].start_s == pytest.approx(6.0)
    # The cancel at 6 s took the drill's own fault (slow on llm at 10 s) before it started: it never ran.
    assert not [f for f in pm.faults if not f.injected]
    texts = [entry.text for entry in pm.timeline]
    assert "Fault starts (injected by the facilitator): errors on postgres (30% of calls fail)" in texts
    assert "Facilitator's message: The VP of sales asks for an ETA" in texts
    assert "Facilitator's note: trainee resized the pool before looking at errors" in texts
    assert "The facilitator cancels slow on llm" in texts
    facts = _facts(pm)
    assert facts["Facilitated"].startswith("yes: 2 faults injected, 1 fault cancelled, 1 message, 1 note")
    assert facts["Mode"].startswith("guided") and "Blind" not in facts
    # The grade is the one saved (judged against the same injected faults).
    assert pm.you.report.score == pytest.approx(load_save(path).score)
    markdown = render_markdown(postmortem_document(pm), {name: f"{name}.svg" for name in CHARTS})
    assert "injected by the facilitator" in markdown


def test_a_blind_on_call_report_names_the_mode_reveals_the_drill_and_shows_no_symptoms(blind_on_call):
    path, injected, runs = blind_on_call
    assert injected == ()
    pm = build_postmortem(path, references=lambda drill, seed: runs)
    facts = _facts(pm)
    assert facts["Mode"].startswith("on-call (no hints")
    assert facts["Blind"].startswith("yes") and facts["Blind"].endswith(f"the drill was {pm.drill.title}")
    assert facts["Incident"].startswith(pm.drill.title)
    # On call the log named no symptoms and showed no hints: the report says what the player saw.
    assert not [e for e in pm.timeline if e.kind in ("symptom", "hint")]
    assert pm.hints_shown == ()
    assert not any(f.injected for f in pm.faults)


@pytest.mark.parametrize("which", ["facilitated", "blind_on_call"])
def test_the_save_loads_verifies_and_reports_from_the_cli(which, request, tmp_path, monkeypatch, capsys):
    path, injected, runs = request.getfixturevalue(which)
    save = load_save(path)
    assert save.format_version == 2
    if which == "blind_on_call":
        assert (save.mode, save.blind) == ("on-call", True)
    else:
        assert [a.name for a in save.actions] == [a[1] for a in FACILITATED]

    def reuse(drill, seed, injected_given=()):
        assert tuple(injected_given) == injected
        return runs

    monkeypatch.setattr("sim.running.headless.compare", reuse)
    assert main(["replay", "--verify", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "exact replay" in out + err and "matches" in out + err

    monkeypatch.setattr(postmortem, "_default_references", reuse)
    target = tmp_path / "pm.md"
    assert main(["report", str(path), "-o", str(target)]) == 0, capsys.readouterr().err
    markdown = target.read_text(encoding="utf-8")
    assert f"| Mode | {save.mode} (" in markdown
    if which == "blind_on_call":
        assert "| Blind | yes" in markdown
    else:
        assert "| Facilitated | yes" in markdown and "Facilitator's message" in markdown
