"""`brownout report SAVE`: a postmortem draft as Markdown + SVG charts and a self-contained HTML file.

One short run of the 40-second replay-check drill is played and saved once for the
module (with a refused action among its actions); do nothing and par on its seed
are simulated once too and handed to every report, so each test costs one replay.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.model.spec import Action
from sim.records.saves import load_save, save_run
from sim.reporting import postmortem
from sim.reporting.postmortem import CHART_POINTS, TIMELINE_ORDER, action_text, build_postmortem
from sim.running.headless import compare, run_drill
from tui.cli import main
from tui.report.charts import CHARTS, MISSING_MATPLOTLIB
from tui.report.document import Bullets, Code, Paragraph, Table
from tui.report import export
from tui.report.export import report_paths
from tui.report.markdown import render_markdown

REPO = Path(__file__).resolve().parents[2]
DRILL_FILE = REPO / "tests" / "data" / "saves" / "drills" / "replay-check.toml"
STARTED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)

ACTIONS = (
    Action(6.0, "workers.scale", {"workers": 50}),  # above max_workers: refused
    Action(8.3, "pool.resize", {"pool": "main", "size": 16}),
    Action(17.0, "breaker.force_open", {"dependency": "llm"}),
    Action(17.0, "shed.set", {"fraction": 0.1, "mode": "random"}),
    Action(27.5, "breaker.auto", {"dependency": "llm"}),
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(save path, do nothing and par on its seed): one finished run of the test drill."""
    folder = tmp_path_factory.mktemp("report")
    drill_path = folder / "replay-check.toml"
    shutil.copy(DRILL_FILE, drill_path)
    drill = load_drill(drill_path)
    run = run_drill(drill, actions=ACTIONS, graded=False)
    path = save_run(drill, run.sim, player="ada", started_at=STARTED, ended_at=STARTED + dt.timedelta(minutes=1),
                    ended="finished", saves_dir=folder / "saves")
    return path, compare(drill, drill.seed)


@pytest.fixture
def references(recorded, monkeypatch):
    """The CLI's report reuses the module's do-nothing and par runs instead of simulating them again."""
    runs = recorded[1]
    monkeypatch.setattr(postmortem, "_default_references", lambda drill, seed: runs)
    return runs


@pytest.fixture(scope="module")
def pm(recorded):
    path, runs = recorded
    return build_postmortem(path, references=lambda drill, seed: runs)


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def test_report_writes_markdown_svgs_and_html_whose_timeline_lists_every_action(recorded, references, tmp_path,
                                                                                capsys):
    save_path = recorded[0]
    save = load_save(save_path)
    assert len(save.actions) == len(ACTIONS)

    code = main(["report", str(save_path), "-o", str(tmp_path / "pm.md"), "--html"])

    out, err = capsys.readouterr()
    assert code == 0, err
    written = [Path(line) for line in out.splitlines()]
    svgs = [tmp_path / f"pm.{name}.svg" for name in CHARTS]
    assert written == [tmp_path / "pm.md", *svgs, tmp_path / "pm.html"]
    for svg in svgs:
        root = ET.parse(svg).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20, f"{svg.name} draws nothing"

    markdown = (tmp_path / "pm.md").read_text(encoding="utf-8")
    timeline = _section(markdown, "Timeline")
    rows = [line for line in timeline.splitlines() if re.match(r"\| \d\d:\d\d \| A\d+ ", line)]
    assert len(rows) == len(save.actions)
    for number, (row, action) in enumerate(zip(rows, save.actions), start=1):
        assert f"A{number} `{action_text(action.name, action.args)}`" in row
    assert "refused: workers.scale refused: workers must be at most 8" in rows[0]
    for heading in ("Summary", "Detection, mitigation and recovery", "Impact", "Charts", "Trigger and root cause",
                    "Actions taken", "Compared with doing nothing and par", "Lessons"):
        _section(markdown, heading)
    for name in CHARTS:
        assert f"](<pm.{name}.svg>)" in markdown
    assert "Fault starts: slow on llm" in timeline

    html = (tmp_path / "pm.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count('src="data:image/svg+xml;base64,') == len(CHARTS)
    for encoded in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html):
        assert ET.fromstring(base64.b64decode(encoded)).tag == "{http://www.w3.org/2000/svg}svg"
    # Self-contained: nothing to fetch.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    for number, action in enumerate(save.actions, start=1):
        assert f"A{number} <code>{action_text(action.name, action.args)}</code>" in html


def test_the_timeline_is_in_time_order_and_agrees_with_the_engine(pm, recorded):
    save = load_save(recorded[0])
    times = [(round(e.t_s, 6), TIMELINE_ORDER.index(e.kind)) for e in pm.timeline]
    assert times == sorted(times)
    listed = [e for e in pm.timeline if e.kind in ("action", "refused")]
    assert [e.action for e in listed] == list(range(1, len(save.actions) + 1))
    assert [e.kind for e in listed] == ["refused", "action", "action", "action", "action"]
    # The fault's start is the tick the engine started it at.
    fault = pm.faults[0]
    engine_start = next(e.t_s for e in recorded[1][0].events if e.kind == "fault_start")
    assert fault.start_s == pytest.approx(engine_start)
    assert pm.timeline[-1].kind == "end" and pm.timeline[-1].t_s == pytest.approx(40.0)


def test_key_times_and_impact_are_the_score_s(pm):
    verdict = pm.you.report.verdict
    assert pm.times.acted_s == verdict.acted_at_s and pm.times.helped_s == verdict.helped_at_s
    assert pm.times.page_s == verdict.first_page_s
    if verdict.acted_at_s is not None:
        assert pm.times.time_to_mitigate_s == pytest.approx(verdict.response_s)
    assert pm.times.first_action_s == pytest.approx(8.3, abs=0.05), "the refused action is not a first action"
    bad = [w for w in pm.you.report.windows if not w.ok]
    assert bad and pm.times.impact_start_s >= bad[0].start_s
    assert [line.you for line in verdict.spent] == pytest.approx(
        [pm.you.series.budget_spent[-1, i] for i in range(len(verdict.spent))])
    for run in pm.runs:
        assert 0 < len(run.series.t_s) <= CHART_POINTS
        assert run.series.t_s[-1] == pytest.approx(pm.times.end_s)


def test_report_paths():
    assert report_paths("saves/x.toml", None, False) == (Path("x-postmortem.md"), None)
    assert report_paths("x.toml", "out/pm.md", True) == (Path("out/pm.md"), Path("out/pm.html"))
    assert report_paths("x.toml", "out/pm.html", False) == (Path("out/pm.md"), Path("out/pm.html"))


def test_a_folder_as_output_takes_the_default_name(tmp_path):
    assert report_paths("saves/x.toml", tmp_path, True) == (tmp_path / "x-postmortem.md",
                                                            tmp_path / "x-postmortem.html")


def test_without_matplotlib_one_line_and_nothing_written(recorded, tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code = main(["report", str(recorded[0]), "-o", str(tmp_path / "pm.md"), "--html"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == f"error: {MISSING_MATPLOTLIB}\n"
    assert "pip install 'brownout[report]'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["missing.toml", "not_a_save.toml"])
def test_a_bad_save_is_one_line(bad, tmp_path, capsys):
    path = REPO / "tests" / "data" / "saves" / bad if bad != "missing.toml" else tmp_path / "missing.toml"
    code = main(["report", str(path), "-o", str(tmp_path / "pm.md")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and path.name in err
    assert "Traceback" not in err
    assert not (tmp_path / "pm.md").exists()


def test_an_output_folder_that_does_not_exist_is_one_line_before_the_replay(recorded, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export, "build_postmortem", lambda *a, **k: pytest.fail("replayed anyway"))
    code = main(["report", str(recorded[0]), "-o", str(tmp_path / "no" / "pm.md")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "does not exist" in err


def test_the_real_entry_point_reports_a_missing_save_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tui.cli", "report", str(tmp_path / "gone.toml")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "gone.toml" in done.stderr and done.stdout == ""


def test_author_text_cannot_break_the_markdown():
    blocks = (
        Paragraph("- not a list | not a cell *not emphasis* <b>not html</b>"),
        Table(("a", "b"), (("x | y", ("run ", Code("a`b"))),)),
        Bullets(("[not](a link)",)),
    )
    text = render_markdown(blocks, {})
    assert text.startswith("\\- not a list \\| not a cell \\*not emphasis\\* \\<b>not html\\</b>")
    assert "| x \\| y | run ``a`b`` |" in text
    assert "- \\[not\\](a link)" in text


def test_a_save_its_replay_does_not_reproduce_is_refused_in_one_line(recorded, references, tmp_path, capsys):
    import attrs

    from sim.records.saves import write_save

    edited = write_save(attrs.evolve(load_save(recorded[0]), digest="0" * 64), tmp_path / "edited.toml")
    code = main(["report", str(edited), "-o", str(tmp_path / "pm.md")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "edited.toml" in err and "does not reproduce the recorded run" in err
    assert not (tmp_path / "pm.md").exists()


def test_a_branch_s_timeline_marks_the_fork_before_the_actions_after_it():
    from sim.records.saves import ForkPoint, Save
    from sim.reporting.postmortem import FaultWindow, KeyTimes, TakenAction, build_timeline

    save = Save(drill_id="d", drill_sha256="0" * 64, seed=1, player="ada", started_at=STARTED, ended_at=STARTED,
                ended="abandoned", end_t_s=30.0, end_tick=600, digest="0" * 64,
                forked_from=ForkPoint(save="original.toml", t_s=12.0))
    actions = (TakenAction(1, 5.0, "shed.set", (("fraction", 0.2),), False, "shedding 20%"),
               TakenAction(2, 12.0, "workers.scale", (("workers", 50),), True, "workers must be at most 8"))
    times = KeyTimes(fault_start_s=3.0, first_symptom_s=None, first_page_s=None, page_s=None, first_action_s=5.0,
                     acted_s=None, helped_s=None, impact_start_s=3.0, recovered_s=None, end_s=30.0)
    timeline = build_timeline(faults=(FaultWindow("slow", "db", "latency x4", 3.0, None),), symptoms=(), alerts=(),
                              hints=(), actions=actions, times=times, save=save, finished=False,
                              drill_duration_s=60.0)
    kinds = [(entry.t_s, entry.kind) for entry in timeline]
    assert kinds == [(3.0, "fault_start"), (3.0, "impact"), (5.0, "action"), (12.0, "fork"), (12.0, "refused"),
                     (30.0, "end")]
    assert "original.toml" in timeline[3].text
    assert timeline[-1].text == "Run abandoned before the drill's end (60 s), the service not yet recovered"


def test_the_report_never_imports_textual():
    code = ("import sys, tui.report.export, tui.report.charts\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": ""}, check=True)
    assert done.stdout.strip() == ""


def test_the_same_save_draws_the_same_charts_byte_for_byte(pm):
    from tui.report.charts import render_charts

    first, second = render_charts(pm, ("sli",)), render_charts(pm, ("sli",))
    assert list(first) == ["sli"]
    assert first == second
    assert "<dc:date>" not in first["sli"]
