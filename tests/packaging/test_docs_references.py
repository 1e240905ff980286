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
