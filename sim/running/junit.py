"""JUnit XML for headless runs: one test case per SLO, so any CI can show runbook checks.

A test case fails when its SLO ended over budget; the failure message gives the
attained SLI, the target and the budget left, and the body lists the breached
evaluation windows.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from sim.running.headless import HeadlessRun


def junit_tree(runs: list[HeadlessRun]) -> ET.ElementTree:
    """A <testsuites> document with one <testsuite> per run and one <testcase> per SLO."""
    suites = ET.Element("testsuites", name="brownout")
    total_tests = total_failures = 0
    total_time_s = 0.0
    for run in runs:
        report = run.report
        failures = sum(1 for sli in report.slis if not sli.met)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"brownout.{run.drill.id}",
            tests=str(len(report.slis)),
            failures=str(failures),
            errors="0",
            skipped="0",
            time=f"{run.wall_s:.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("drill", run.drill.id), ("seed", run.seed), ("policy", run.policy),
            ("score", "none" if report.score is None else f"{report.score:.2f}"), ("grade", report.grade or "none"),
            ("first_page_s", "none" if report.first_page_s is None else f"{report.first_page_s:g}"),
        ):
            ET.SubElement(properties, "property", name=name, value=str(value))
        for sli in report.slis:
            case = ET.SubElement(
                suite, "testcase", classname=f"brownout.{run.drill.id}.seed{run.seed}", name=sli.name, time="0"
            )
            if not sli.met:
                failure = ET.SubElement(
                    case,
                    "failure",
                    type="SLOBreached",
                    message=(
                        f"{sli.name}: attained {sli.attained:.4%} < target {sli.target:.4%}; "
                        f"{sli.budget_spent:.2%} of the month's budget spent ({sli.bad} bad of {sli.valid} valid)"
                    ),
                )
                windows = ", ".join(f"{t:g}s" for t in sli.breached_at_s) or "none"
                failure.text = f"breached evaluation windows ending at: {windows}"
        total_tests += len(report.slis)
        total_failures += failures
        total_time_s += run.wall_s
    suites.set("tests", str(total_tests))
    suites.set("failures", str(total_failures))
    suites.set("time", f"{total_time_s:.3f}")
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(path: str | Path, runs: list[HeadlessRun]) -> Path:
    """Write the JUnit XML for `runs` to `path` (whole file or nothing: temp file + rename)."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            junit_tree(runs).write(handle, encoding="utf-8", xml_declaration=True)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target
