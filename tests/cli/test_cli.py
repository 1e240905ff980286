"""`brownout` through its real entry point: every command and every error path.

Most tests run `python -m tui.cli` in a subprocess, as a user or CI would;
the ones that would open the app call `main(argv)` in-process with
`tui.app.run_app` replaced, and check what it was asked to open.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim.model.delays import ACTION_DELAYS_S
from sim.running.headless import RUN_JSON_SCHEMA
from sim.model.observe import FAIL_REASONS, REJECT_REASONS
from sim.scoring.score import grade_for
from tui.cli import main

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
MINI = REPO / "tests" / "cli" / "data" / "mini.toml"
BAD_DRILL = REPO / "tests" / "cli" / "data" / "bad-drill.toml"


def brownout(*args, env_extra: dict | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as a subprocess from the repository root; empty user drill and saves folders."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["BROWNOUT_DRILLS"] = str(tmp / "no-user-drills") if tmp else "/nonexistent/brownout-drills"
    env["BROWNOUT_SAVES"] = str(tmp / "saves") if tmp else "/nonexistent/brownout-saves"
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def check_schema(value, schema: dict, where: str = "$") -> None:
    """Validate `value` against the JSON Schema subset RUN_JSON_SCHEMA uses; raise on the first mismatch."""
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "null": lambda v: v is None,
        }
        assert any(checks[k](value) for k in allowed), f"{where}: {value!r} is not {allowed}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "minimum" in schema and value is not None:
        assert value >= schema["minimum"], f"{where}: {value!r} < {schema['minimum']}"
    if "maximum" in schema and value is not None:
        assert value <= schema["maximum"], f"{where}: {value!r} > {schema['maximum']}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key!r}"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                check_schema(item, properties[key], f"{where}.{key}")
            elif extra is False:
                raise AssertionError(f"{where}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                check_schema(item, extra, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check_schema(item, schema["items"], f"{where}[{index}]")


def run_json(*args) -> dict:
    completed = brownout("run", MINI, "--json", *args)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def none_json():
    return run_json("--policy", "none")


@pytest.fixture(scope="module")
def par_json():
    return run_json("--policy", "par")


# --------------------------------------------------------------------------- run --json


def assert_consistent(data: dict) -> None:
    """The numbers of one run agree with each other."""
    check_schema(data, RUN_JSON_SCHEMA)
    r = data["requests"]
    assert r["completed"] + r["failed"]["total"] + r["in_flight"] == r["admitted"]
    assert r["admitted"] + r["rejected"]["total"] == r["arrivals"]
    assert r["fresh"] + r["retries"] == r["arrivals"]
    assert r["failed"]["total"] == sum(r["failed"][k] for k in FAIL_REASONS)
    assert r["rejected"]["total"] == sum(r["rejected"][k] for k in REJECT_REASONS)
    assert r["degraded"] <= r["completed"]
    lat = data["latency_ms"]
    assert lat["p50"] <= lat["p95"] <= lat["p99"]
    for slo in data["slo"]:
        assert slo["good"] + slo["bad"] == slo["valid"]
        assert slo["attained"] == pytest.approx(slo["good"] / slo["valid"])
        assert slo["run_budget_events"] == pytest.approx((1 - slo["target"]) * slo["valid"])
        assert slo["met"] == (slo["bad"] <= slo["run_budget_events"])
        # The month's budget: the pre-incident rate of valid events over the SLO's window.
        assert slo["month_budget_events"] > slo["run_budget_events"]
        assert slo["budget_spent"] == pytest.approx((slo["bad"] + slo["degraded_cost"]) / slo["month_budget_events"])
        # Fresh-attempt SLOs count each first attempt once, at its outcome; in-flight ones are not yet valid.
        if slo["events"] == "fresh":
            assert slo["valid"] <= r["fresh"]
            assert slo["valid"] >= r["fresh"] - r["in_flight"] - r["retries"]
        if slo["kind"] == "availability":
            assert slo["good"] <= r["completed"]
    assert data["score"] == pytest.approx(sum(line["points"] for line in data["breakdown"]))
    assert sum(line["max"] for line in data["breakdown"]) == pytest.approx(100)
    assert data["grade"] == grade_for(data["score"])
    # Every run is graded against do nothing and par on its seed: their month's spend rides along.
    assert [line["slo"] for line in data["budget_spent"]] == [slo["name"] for slo in data["slo"]]
    for line, slo in zip(data["budget_spent"], data["slo"]):
        assert line["you"] == pytest.approx(slo["budget_spent"], rel=0.05)
    assert data["branch"] is False
    assert data["first_page_s"] is None or data["first_page_s"] >= 5.0
    assert data["duration_s"] == pytest.approx(120.0)
    windows = data["windows"]
    assert len(windows) == 12 and windows[-1]["end"] == pytest.approx(120.0)
    for index, slo in enumerate(data["slo"]):
        breached = [w["end"] for w in windows if w["sli"][index] is not None and w["sli"][index] < slo["target"]]
        assert slo["breached_at"] == pytest.approx(breached)


def test_run_json_matches_the_schema_and_its_numbers_agree(none_json, par_json):
    for data in (none_json, par_json):
        assert_consistent(data)
    assert none_json["drill"] == "mini" and none_json["seed"] == 3 and none_json["policy"] == "none"
    assert par_json["policy"] == "par"
    assert par_json["grade"] == "A" and none_json["grade"] == "F"
    assert par_json["response_s"] == par_json["par_response_s"]


def test_par_applies_the_drills_actions_and_beats_doing_nothing(none_json, par_json):
    applied = [(e["t_s"], e["subject"]) for e in par_json["events"] if e["kind"] == "action_applied"]
    # Sent at 25 s: the workers start at once (they warm up), the pool's config push lands 10 s later.
    assert (35.0, "pool.resize") in applied and (25.0, "workers.scale") in applied
    assert not [e for e in none_json["events"] if e["kind"].startswith("action")]
    assert par_json["requests"]["failed"]["total"] < none_json["requests"]["failed"]["total"]
    assert par_json["slo"][0]["attained"] > none_json["slo"][0]["attained"]
    # Par pays for its extra workers and connections; doing nothing costs nothing.
    assert par_json["cost"]["capacity_fraction"] > 0 and par_json["cost"]["pool_fraction"] > 0
    assert none_json["cost"]["points"] == 0


def test_run_is_deterministic_and_the_seed_matters(none_json):
    again = run_json("--policy", "none")
    other_seed = run_json("--policy", "none", "--seed", "4")
    assert {k: v for k, v in again.items() if k != "wall_s"} == {k: v for k, v in none_json.items() if k != "wall_s"}
    assert other_seed["seed"] == 4
    assert other_seed["digest"] != none_json["digest"]


def test_actions_file_is_applied_at_its_times_and_refusals_are_counted(none_json):
    data = run_json("--actions", DATA / "actions" / "mini-fix.toml")
    assert_consistent(data)
    assert data["policy"] == "actions"
    applied = {(e["t_s"], e["subject"]) for e in data["events"] if e["kind"] == "action_applied"}
    # Sent at 22 s and 30 s: the pool's and the timeout's config pushes land 10 s later.
    assert {(32.0, "pool.resize"), (22.0, "workers.scale"), (40.0, "timeout.set")} <= applied
    refused = run_json("--actions", DATA / "actions" / "refused.toml")
    assert [e["t_s"] for e in refused["events"] if e["kind"] == "action_refused"] == [5.0]
    assert refused["cost"]["refused_actions"] == 1
    assert refused["score"] < none_json["score"]


def test_runbook_rules_fire_on_live_gauges_and_junit_has_one_case_per_slo(tmp_path):
    junit = tmp_path / "slo.xml"
    data = run_json("--runbook", DATA / "runbooks" / "mini-autoscale.toml", "--junit", junit)
    assert_consistent(data)
    assert data["policy"] == "none+runbook"
    fired = {f["rule"]: f for f in data["runbook"]}
    assert set(fired) == {"pool starved", "latency high"}
    # Rules fire after the database slows at 20 s, each once; a rule sees the gauges at the end
    # of a tick and its action is sent at that same boundary: workers.scale takes hold there,
    # pool.resize once its config push is over.
    assert all(f["t_s"] > 20.0 for f in fired.values())
    applied = {e["subject"]: e["t_s"] for e in data["events"] if e["kind"] == "action_applied" and "." in e["subject"]}
    assert applied["workers.scale"] == pytest.approx(fired["latency high"]["t_s"])
    assert applied["pool.resize"] == pytest.approx(fired["pool starved"]["t_s"] + ACTION_DELAYS_S["pool.resize"])
    suites = ET.parse(junit).getroot()
    cases = suites.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [slo["name"] for slo in data["slo"]]
    failures = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failures == [slo["name"] for slo in data["slo"] if not slo["met"]]
    assert suites.get("tests") == str(len(cases)) and suites.get("failures") == str(len(failures))


def test_readable_summary_without_json():
    completed = brownout("run", MINI, "--policy", "par")
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    for words in ("Mini slow database", "policy par", "Requests", "SLOs", "availability", "latency",
                  "first page", "Score", "grade", "month budget spent", "impact avoided", "response", "collateral",
                  "action_applied"):
        assert words in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# --------------------------------------------------------------------------- errors


def assert_one_line_error(completed: subprocess.CompletedProcess, *words: str) -> None:
    assert completed.returncode == 2, (completed.stdout, completed.stderr)
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert completed.stdout == ""


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        ("bad-at.toml", ["bad-at.toml:2", "actions[0].at", "duration", '"soon"']),
        ("unknown-action.toml", ["unknown-action.toml:3", "actions[0].action", 'did you mean "pool.resize"']),
        ("missing-arg.toml", ["missing-arg.toml", "actions[0].size", "missing"]),
        ("unknown-arg.toml", ["unknown-arg.toml:4", "actions[0].fracton", 'did you mean "fraction"']),
        ("wrong-type.toml", ["wrong-type.toml:4", "actions[0].workers", "whole number", '"lots"']),
        ("unknown-pool.toml", ["unknown-pool.toml:4", "actions[0].pool", '"replica"', "main"]),
        ("syntax-error.toml", ["syntax-error.toml:3", "TOML syntax error"]),
        ("no-actions.toml", ["no-actions.toml", "did you mean \"actions\""]),
        ("many-problems.toml", ["many-problems.toml:2", "actions[0].at", "and 3 more problems"]),
        ("does-not-exist.toml", ["does-not-exist.toml", "file not found"]),
    ],
)
def test_bad_actions_file_is_one_line_naming_file_and_field(fixture, words):
    assert_one_line_error(brownout("run", MINI, "--actions", DATA / "actions" / fixture), *words)


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        ("bad-condition.toml", ["bad-condition.toml:2", "rules[0].when", "expected a number"]),
        ("unknown-metric.toml", ["unknown-metric.toml:2", "rules[0].when", 'did you mean "p95_ms"']),
        ("unknown-pool.toml", ["unknown-pool.toml:2", "rules[0].when", 'no pool "replica"']),
        ("missing-do.toml", ["missing-do.toml", "rules[0].do", "missing"]),
        ("bad-once.toml", ["bad-once.toml:5", "rules[0].once", "true or false"]),
    ],
)
def test_bad_runbook_is_one_line_naming_file_and_field(fixture, words):
    assert_one_line_error(brownout("run", MINI, "--runbook", DATA / "runbooks" / fixture), *words)


def test_unknown_drill_names_the_known_ones():
    assert_one_line_error(brownout("run", "slow-databse"), '"slow-databse"', 'did you mean "slow-database"')


def test_bad_drill_file_names_file_line_and_field():
    assert_one_line_error(brownout("run", BAD_DRILL), "bad-drill.toml:", "faults[0].at", "(and 1 more problem)")


def test_missing_drill_file():
    assert_one_line_error(brownout("run", "nowhere/else.toml"), "nowhere/else.toml", "no such drill file")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", MINI, "--policy", "par", "--actions", DATA / "actions" / "mini-fix.toml"], ["--actions", "not allowed with", "--policy"]),
        (["run", MINI, "--policy", "best"], ["--policy", "invalid choice", "best"]),
        (["run", MINI, "--seed", "-1"], ["--seed", "whole number >= 0"]),
        (["run", MINI, "--seed", "abc"], ["--seed", "'abc'"]),
        (["run"], ["DRILL"]),
        (["drills"], ["SUBCOMMAND"]),
        (["drills", "validate"], ["FILE"]),
        (["saves", "delete"], ["invalid choice", "delete"]),
        (["launch"], ["invalid choice", "launch"]),
    ],
)
def test_bad_usage_is_one_line_exit_2(args, words):
    assert_one_line_error(brownout(*args), *words)


def test_junit_into_a_missing_folder_fails_before_running(tmp_path):
    target = tmp_path / "missing" / "out.xml"
    assert_one_line_error(brownout("run", MINI, "--junit", target), "out.xml", "does not exist")


# --------------------------------------------------------------------------- drills


def test_drills_list_shows_shipped_and_user_drills(tmp_path):
    completed = brownout("drills", "list", "--long", env_extra={"BROWNOUT_DRILLS": str(MINI.parent)})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "TITLE"]
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert "tutorial" in by_id and "shipped" in by_id["tutorial"]
    assert "mini" in by_id and by_id["mini"].rstrip().endswith("user")
    assert "availability 99.00%" in by_id["mini"]


def test_drills_validate_ok_and_every_problem(tmp_path):
    ok = brownout("drills", "validate", MINI)
    assert ok.returncode == 0 and "mini.toml: ok" in ok.stdout
    bad = brownout("drills", "validate", MINI, BAD_DRILL)
    assert bad.returncode == 1
    assert "mini.toml: ok" in bad.stdout
    assert "bad-drill.toml: 2 problems" in bad.stderr
    assert "faults[0].at" in bad.stderr and "slo[0].target" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_play_with_a_bad_drill_never_opens_the_app():
    assert_one_line_error(brownout("play", "no-such-drill"), '"no-such-drill"')


# --------------------------------------------------------------------------- the app entry points


@pytest.fixture
def opened(monkeypatch):
    """Replace the app with a recorder of what it was asked to open."""
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run_app", lambda **kwargs: calls.append(kwargs))
    return calls


def test_no_arguments_opens_the_app_on_the_picker(opened, tmp_path):
    assert main([]) == 0
    assert opened == [{}]
    assert main(["--saves", str(tmp_path)]) == 0
    assert opened[-1] == {"saves_dir": tmp_path}


def test_play_opens_the_app_on_the_drill_with_the_seed(opened):
    assert main(["--player", "ana", "play", str(MINI), "--seed", "11"]) == 0
    (call,) = opened
    assert call["drill"].id == "mini" and call["drill"].seed == 11 and call["player"] == "ana"


def test_replay_without_verify_opens_the_replay_viewer(opened, tmp_path):
    save = make_save(tmp_path)
    assert main(["replay", str(save)]) == 0
    assert opened == [{"replay": save}]


# --------------------------------------------------------------------------- saves and replay


def make_save(folder: Path) -> Path:
    from sim.drill.loader import load_drill
    from sim.running.headless import run_drill
    from sim.records.saves import save_run

    drill = load_drill(MINI)
    run = run_drill(drill, actions=drill.par)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    return save_run(drill, run.sim, player="ci", started_at=now, ended_at=now, ended="finished",
                    report=run.report, saves_dir=folder)


def test_saves_list_and_replay_verify(tmp_path):
    empty = brownout("saves", "list", "--saves", tmp_path)
    assert empty.returncode == 0 and "No saves yet." in empty.stdout
    save = make_save(tmp_path)
    listed = brownout("saves", "list", "--saves", tmp_path)
    assert listed.returncode == 0
    assert save.name in listed.stdout and "mini" in listed.stdout and "ci" in listed.stdout
    verified = brownout("replay", save, "--verify")
    assert verified.returncode == 0, verified.stderr
    assert "exact replay" in verified.stdout


def test_saves_list_of_a_missing_folder_is_bad_input(tmp_path):
    assert_one_line_error(brownout("saves", "list", "--saves", tmp_path / "nope"), "nope", "no such saves folder")


def test_replay_of_a_corrupt_save_is_one_line(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("this is = not [a save\n")
    assert_one_line_error(brownout("replay", bad), "broken.toml")
    verify = brownout("replay", bad, "--verify")
    assert verify.returncode == 2 and "broken.toml" in verify.stderr and "Traceback" not in verify.stderr


# --------------------------------------------------------------------------- bench


def test_bench_prints_requests_per_wall_second_and_times_real_time():
    completed = brownout("bench", MINI)
    assert completed.returncode == 0, completed.stderr
    header, row = completed.stdout.strip().splitlines()
    assert header.split() == ["DRILL", "SIM", "S", "REQUESTS", "WALL", "S", "REQ/WALL", "S", "x", "REAL-TIME"]
    cells = row.split()
    assert cells[0] == "mini" and cells[1] == "120"
    assert int(cells[2].replace(",", "")) > 6000  # ~60 rps for 120 s
    assert float(cells[4].replace(",", "")) > 0 and float(cells[5].replace(",", "")) > 0


def test_bench_of_an_unknown_drill_is_bad_input():
    assert_one_line_error(brownout("bench", "no-such-drill"), '"no-such-drill"')


# --------------------------------------------------------------------------- layering


def test_headless_commands_never_import_textual():
    code = (
        "import sys, tui.cli; tui.cli.run_cli(['drills', 'list']); "
        "tui.cli.run_cli(['run', sys.argv[1], '--json']); "
        "bad = [m for m in sys.modules if m == 'tui.app' or m.split('.')[0] == 'textual']; "
        "assert not bad, bad"
    )
    completed = subprocess.run([sys.executable, "-c", code, str(MINI)], cwd=REPO, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
