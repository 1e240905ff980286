"""Every failure and rejection reason `brownout run --json` reports is documented in the README."""

from __future__ import annotations

from pathlib import Path

from sim.model.observe import FAIL_REASONS, REJECT_REASONS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _row(key: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{key}` |"))


def test_every_failure_reason_is_in_the_json_table():
    row = _row("requests.failed")
    assert [reason for reason in FAIL_REASONS if f"`{reason}`" not in row] == []


def test_every_rejection_reason_is_in_the_json_table():
    row = _row("requests.rejected")
    assert [reason for reason in REJECT_REASONS if f"`{reason}`" not in row] == []
