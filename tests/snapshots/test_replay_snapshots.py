"""Snapshots of the replay viewer and the saves list (80x24, the minimum, and 120x40)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.records.saves import ForkPoint, Save, SavedSLI, save_run, write_save
from sim.scoring.score import SLOTracker
from sim.model.spec import Action
from tui.app import BrownoutApp

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"
STARTED = dt.datetime(2026, 1, 31, 14, 5, tzinfo=dt.timezone.utc)
SIZES = [(80, 24), (120, 40)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]
REPLAY_AT_S = 19.0
"""The moment shown: after both recorded actions, with the LLM slow."""


@pytest.fixture(scope="module")
def recorded_save(tmp_path_factory) -> Path:
    """A 24-second headless run of the test drill with two actions, saved."""
    folder = tmp_path_factory.mktemp("replay-snapshots")
    drill = load_drill(DRILL_FILE)
    sim = Simulation.from_drill(drill)
    tracker = SLOTracker.for_sim(drill, sim)
    for t_s, name, args in ((6.0, "pool.resize", {"pool": "main", "size": 14}),
                            (16.0, "breaker.force_open", {"dependency": "llm"})):
        sim.run_until(t_s)
        sim.apply(Action(t_s, name, args))
    sim.run_until(24.0)
    tracker.update(sim)
    return save_run(drill, sim, player="ada", started_at=STARTED, ended_at=STARTED + dt.timedelta(minutes=1),
                    ended="abandoned", report=tracker.report(), saves_dir=folder)


def replay_app(path: Path, saves_dir: Path) -> BrownoutApp:
    return BrownoutApp(drills=[], saves_dir=saves_dir, start_paused=True, tick_interval=None, replay=path,
                       player="snap")


async def at_replay_moment(pilot) -> None:
    """Wait for the checkpoint pass (it shows "replay exact"), then seek to REPLAY_AT_S."""
    screen = pilot.app.screen
    for _ in range(600):
        if screen.replay.index_complete:
            break
        await pilot.pause(0.05)
    await pilot.pause()
    screen.seek(REPLAY_AT_S)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_replay_viewer(snap_compare, recorded_save, tmp_path, size):
    assert snap_compare(replay_app(recorded_save, tmp_path), terminal_size=size, run_before=at_replay_moment)


def _saves_folder(folder: Path) -> None:
    """Three saves written from values (no engine: the list must not follow engine tuning)."""
    base = Save(
        drill_id="slow-database", drill_sha256="3" * 64, seed=11, player="ada", started_at=STARTED,
        ended_at=STARTED + dt.timedelta(minutes=8), ended="finished", end_t_s=420.0, end_tick=8400,
        digest="d" * 64, actions=(Action(95.0, "timeout.set", {"dependency": "postgres", "timeout_s": 0.25}),),
        score=81.5, grade="B", slis=(SavedSLI("availability", 0.995, 0.9961),),
    )
    write_save(base, folder / "slow-database-ada-20260131T140500Z.toml")
    write_save(
        attrs.evolve(base, player="grace", started_at=STARTED + dt.timedelta(hours=2),
                     ended_at=STARTED + dt.timedelta(hours=2, minutes=3), ended="abandoned", end_t_s=150.0,
                     end_tick=3000, score=42.0, grade="F",
                     forked_from=ForkPoint("slow-database-ada-20260131T140500Z.toml", 95.0)),
        folder / "slow-database-grace-20260131T160500Z.toml",
    )
    (folder / "retry-storm-bob-20260130T090000Z.toml").write_text("[save]\nformat_version = 1\n")


async def _saves_screen(pilot) -> None:
    await pilot.pause()
    pilot.app.action_show_saves()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_saves_list(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)  # the screen shows the folder: keep it the same on every machine
    Path("saves").mkdir()
    _saves_folder(Path("saves"))
    app = BrownoutApp(drills=[], saves_dir=Path("saves"), start_paused=True, tick_interval=None, player="snap")
    assert snap_compare(app, terminal_size=size, run_before=_saves_screen)
