"""Saves written at the same time never overwrite each other; killed writes leave nothing behind."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest

from sim.drill.loader import load_drill
from sim.engine.simulation import Simulation
from sim.records.saves import load_save, remove_stale_temp_files, save_run

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"
STARTED = dt.datetime(2026, 1, 31, 14, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def run():
    drill = load_drill(DRILL_FILE)
    return drill, Simulation.from_drill(drill, None)


def _save(run, folder, player="ada", seed_note=""):
    drill, sim = run
    return save_run(drill, sim, player=player, started_at=STARTED, ended_at=STARTED, ended="abandoned",
                    saves_dir=folder)


def test_a_writer_that_claims_the_name_while_another_is_writing_gets_its_own_file(run, tmp_path, monkeypatch):
    # Writer A is stopped inside its write (the fsync) while writer B saves the same drill,
    # player and start second. Checking for a free name and then renaming onto it would
    # hand both the same name and B's save would be overwritten by A's.
    real_fsync = os.fsync
    a_in_fsync, release_a = threading.Event(), threading.Event()
    writer_a = {}

    def fsync(fd):
        if threading.current_thread().name == "writer-a" and not a_in_fsync.is_set():
            a_in_fsync.set()
            assert release_a.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    thread = threading.Thread(target=lambda: writer_a.setdefault("path", _save(run, tmp_path)), name="writer-a")
    thread.start()
    assert a_in_fsync.wait(10)
    path_b = _save(run, tmp_path)
    release_a.set()
    thread.join(10)
    path_a = writer_a["path"]
    assert path_a != path_b
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path_a.name, path_b.name])
    load_save(path_a), load_save(path_b)


def test_many_writers_racing_for_one_name_all_keep_their_save(run, tmp_path):
    writers = 8
    barrier = threading.Barrier(writers)
    paths: list[Path] = []

    def write():
        barrier.wait()
        paths.append(_save(run, tmp_path))

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(paths)) == writers
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == writers and not any(name.startswith(".") for name in names)
    for path in paths:
        load_save(path)


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_a_new_save_removes_temporary_files_killed_writes_left(run, tmp_path):
    left = tmp_path / ".replay-check-ada-20260131T140500Z.toml.k1ll3d.tmp"
    left.write_text("[save]\nformat_")
    _age(left, 3600)
    path = _save(run, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_temporary_file_being_written_is_left_alone(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    busy = tmp_path / ".x.toml.busy.tmp"
    fresh = tmp_path / ".y.toml.fresh.tmp"
    stale = tmp_path / ".z.toml.stale.tmp"
    for path in (busy, fresh, stale):
        path.write_text("partial")
    _age(busy, 3600)
    _age(stale, 3600)
    with open(busy) as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        removed = remove_stale_temp_files(tmp_path)
    assert removed == [stale]
    assert busy.exists() and fresh.exists() and not stale.exists()


async def test_the_app_clears_leftover_temporary_files_when_it_starts(tmp_path):
    from tui.app import BrownoutApp

    left = tmp_path / ".a.toml.k1ll3d.tmp"
    left.write_text("half")
    _age(left, 3600)
    app = BrownoutApp(drills=[load_drill(DRILL_FILE)], saves_dir=tmp_path, tick_interval=None)
    async with app.run_test() as pilot:
        await pilot.pause()
    assert not left.exists()
