"""Snapshots of the training screens at 80x24 and 120x40: a blind briefing, an on-call incident, progress."""

from __future__ import annotations

import random

import pytest
from snapshot_app import INCIDENT_TICK, picker_drills

from sim.records.progress import RunRecord, record_run
from tui.app import BrownoutApp

SIZES = [(80, 24), (120, 40)]
size_ids = [f"{w}x{h}" for w, h in SIZES]


def build_app(saves_dir, **kwargs) -> BrownoutApp:
    return BrownoutApp(drills=picker_drills(), saves_dir=saves_dir, start_paused=True, tick_interval=None,
                       player="snap", **kwargs)


async def to_blind_briefing(pilot) -> None:
    await pilot.press("s")
    await pilot.pause()


async def to_on_call_incident(pilot) -> None:
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    pilot.app.advance_sim(INCIDENT_TICK)
    # Running, as on call it always is (no timer in snapshots, so the frame stays put).
    pilot.app.live.paused = False
    pilot.app.refresh_frame()
    await pilot.pause()


async def to_progress(pilot) -> None:
    await pilot.press("p")
    await pilot.pause()


def _record(drill, score, grade, day, *, mode="guided", blind=False, branch=False, ended="finished"):
    return RunRecord(drill.id, drill.title, 100 + day, mode, blind, branch, ended, score,
                     grade if ended == "finished" else None, (("availability", 0.05),), f"2026-11-{day:02d}T14:00:00Z")


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
def test_blind_briefing(snap_compare, tmp_path, size):
    assert snap_compare(build_app(tmp_path, rng=random.Random(4)), terminal_size=size, run_before=to_blind_briefing)


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
def test_on_call_incident(snap_compare, tmp_path, size):
    assert snap_compare(build_app(tmp_path, mode="on-call"), terminal_size=size, run_before=to_on_call_incident)


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
def test_progress(snap_compare, tmp_path, size):
    first, second = picker_drills()
    for record in (
        _record(first, 58.0, "F", 2),
        _record(first, 97.0, "A", 3, branch=True),
        _record(first, 74.0, "C", 4, mode="standard"),
        _record(first, 86.0, "B", 5, mode="on-call", blind=True),
        _record(second, 41.0, "F", 6),
        _record(second, 20.0, None, 7, ended="abandoned"),
    ):
        record_run("snap", record)
    assert snap_compare(build_app(tmp_path), terminal_size=size, run_before=to_progress)
