"""The README's quick start is two command lines, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _quick_start_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start has a code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quick_start_is_two_command_lines_in_a_virtual_environment():
    install_and_play, install_and_test = _quick_start_lines()
    for line in (install_and_play, install_and_test):
        # A managed system Python (Debian, Ubuntu) refuses a bare `pip install`.
        assert line.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ")
    assert install_and_play.endswith("&& brownout")
    assert install_and_test.endswith("&& python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert script[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in script
    commands = [line for line in script if line.strip() and not line.startswith("#")]
    assert commands[-1] == _quick_start_lines()[1]
