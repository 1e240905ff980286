"""The README and the code name only documents the project contains."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_markdown_file_mentioned_exists():
    sources = [ROOT / "README.md", *sorted((ROOT / "sim").rglob("*.py")), *sorted((ROOT / "tui").rglob("*.py")),
               *sorted((ROOT / "tests").rglob("*.py"))]
    missing = []
    for source in sources:
        for name in set(re.findall(r"\b([A-Z][A-Z_]+\.md)\b", source.read_text(encoding="utf-8"))):
            if not (ROOT / name).exists():
                missing.append(f"{source.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_the_readme_action_delays_table_is_the_code_s():
    """Every action's row in the README's "Action delays" table states `ACTION_DELAYS_S`."""
    from sim.model.delays import ACTION_DELAYS_S, CLIENT_RETRY_DELAY_S

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| action | delay | what takes the time |"):]
    table = table[:table.index("\n\n")]
    stated = {}
    for row in table.splitlines()[2:]:
        names, delay = row.split("|")[1:3]
        seconds = 0.0 if delay.strip().startswith("at once") else float(re.match(r"\s*(\d+(?:\.\d+)?) s", delay)[1])
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`( on a class)?", names):
            stated["retry.client" if name[1] else name[0]] = seconds
    assert stated == {**ACTION_DELAYS_S, "retry.client": CLIENT_RETRY_DELAY_S}
