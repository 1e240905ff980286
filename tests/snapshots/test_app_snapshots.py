"""Snapshots of every screen and dialog at 80x24 (the minimum) and 120x40."""

from __future__ import annotations

import pytest
from snapshot_app import (
    build_app,
    to_action_dialog,
    to_briefing,
    to_confirm,
    to_debrief,
    to_help,
    to_incident,
    to_message,
)

SIZES = [(80, 24), (120, 40)]
size_ids = [f"{w}x{h}" for w, h in SIZES]


async def _picker(pilot):
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
@pytest.mark.parametrize(
    "run_before",
    [_picker, to_briefing, to_incident, to_action_dialog, to_confirm, to_help, to_message, to_debrief],
    ids=["picker", "briefing", "incident", "action_dialog", "confirm", "help", "message", "debrief"],
)
def test_screen(snap_compare, tmp_path, run_before, size):
    assert snap_compare(build_app(tmp_path), terminal_size=size, run_before=run_before)
