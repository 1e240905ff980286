"""The dependencies panel on a database, an auth, an LLM and a cache drill, at 80x24 and 120x40."""

from __future__ import annotations

import pytest
from panel_drills import auth_drill, cache_drill, database_drill, llm_drill

from tui.app import BrownoutApp

SIZES = [(80, 24), (120, 40)]
PANEL_TICK = 400
"""20 s in: each drill's fault began at 10 s and shows on its dependency's row."""


async def _to_incident(pilot):
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    pilot.app.advance_sim(PANEL_TICK)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("build", [database_drill, auth_drill, llm_drill, cache_drill],
                         ids=["database", "auth", "llm", "cache"])
def test_dependencies_panel(snap_compare, tmp_path, build, size):
    app = BrownoutApp(drills=[build()], saves_dir=tmp_path, start_paused=True, tick_interval=None, player="snap")
    assert snap_compare(app, terminal_size=size, run_before=_to_incident)
