"""Snapshots of the dialogs of the actions an SRE reaches for first (rollback, feature flag),
with their "Now:" and their delay, at 80x24 (the minimum) and 120x40."""

from __future__ import annotations

import pytest
from drill_factory import ops_drill
from textual.pilot import Pilot

from tui.app import BrownoutApp

SIZES = [(80, 24), (120, 40)]


def _app(saves_dir) -> BrownoutApp:
    return BrownoutApp(drills=[ops_drill()], saves_dir=saves_dir, start_paused=True, tick_interval=None, player="snap")


def _press(key: str):
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        pilot.app.advance_sim(100)  # 5 s: the deploy went out at 0.5 s
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("key", ["d", "e"], ids=["rollback", "flag"])
def test_ops_dialog(snap_compare, tmp_path, key, size):
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=_press(key))
