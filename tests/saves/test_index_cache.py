"""The replay index cache beside a save (sim.records.index_cache): reused when sound, rebuilt when not."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import time

import attrs
import pytest
from test_replay import _reference, _same_state, recording  # noqa: F401 (a fixture)

import sim.records.index_cache as index_cache
from sim.records.index_cache import cache_path
from sim.records.replay import Replay, verify_save
from sim.records.saves import load_save, save_run, write_save


@pytest.fixture(scope="module")
def indexed_once(recording):
    """The recorded run's save with its index built once for the module: (save, first replay)."""
    _, _, _, path = recording
    replay = Replay.open(path)
    if not replay.index_from_cache:
        replay.build_index()
    assert cache_path(path).is_file()
    return path, replay


@pytest.fixture
def indexed(indexed_once, recording, tmp_path):
    """This test's own copy of the save and its cache: (drill, sim, save path, first replay)."""
    path, first = indexed_once
    drill, sim, _, _ = recording
    own = tmp_path / path.name
    shutil.copy(path, own)
    shutil.copy(cache_path(path), cache_path(own))
    return drill, sim, own, first


def test_a_reopened_replay_takes_the_index_from_the_cache_and_seeks_at_once(indexed):
    drill, sim, path, first = indexed
    replay = Replay.open(path)
    assert replay.index_from_cache and replay.index_complete and replay.index_exact is True
    assert replay.checkpoint_ticks == first.checkpoint_ticks
    assert (replay.hint_times, replay.symptoms_seen, replay.alerts_seen) == (
        first.hint_times, first.symptoms_seen, first.alerts_seen)
    worst_s = 0.0
    for target_s in (39.9, 3.0, 28.7, 11.4, 0.5, 35.0):
        started = time.perf_counter()
        replay.seek(target_s)
        worst_s = max(worst_s, time.perf_counter() - started)
    assert worst_s < 0.5, f"a seek took {worst_s:.2f} s"
    _same_state(replay, _reference(drill, load_save(path), replay.tick))
    replay.seek(drill.duration_s)
    assert replay.sim.digest() == sim.digest()


def test_a_fork_of_a_cached_replay_saves_a_run_that_verifies(indexed, tmp_path):
    drill, _, path, _ = indexed
    replay = Replay.open(path)
    assert replay.index_from_cache
    replay.seek(20.0)
    fork_sim, fork_point = replay.fork()
    while fork_sim.t_s < drill.duration_s - 1e-9:
        fork_sim.step()
    from datetime import datetime, timezone

    now = datetime(2026, 2, 1, tzinfo=timezone.utc)
    branch = save_run(drill, fork_sim, player="ada", started_at=now, ended_at=now, ended="finished",
                      saves_dir=tmp_path / "branches", forked_from=fork_point)
    result = verify_save(branch)
    assert result.ok, result.message


def _flip_last_byte(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 0xFF])


DAMAGES = {
    "a flipped byte": _flip_last_byte,
    "cut in half": lambda raw: raw[: len(raw) // 2],
    "the header only": lambda raw: raw.partition(b"\n")[0],
    "garbage": lambda raw: b"not a cache at all",
    "empty": lambda raw: b"",
}


def test_a_damaged_cache_is_ignored_then_rebuilt_and_the_replay_still_verifies(indexed):
    _, _, path, _ = indexed
    good = cache_path(path).read_bytes()
    for name, damage in DAMAGES.items():
        cache_path(path).write_bytes(damage(good))
        replay = Replay.open(path)
        assert not replay.index_from_cache and not replay.index_complete, name
        assert replay.index_cache_note, name
    replay.build_index()
    assert replay.index_exact is True
    assert Replay.open(path).index_from_cache  # rewritten
    result = verify_save(path)
    assert result.ok, result.message


def test_a_cache_of_another_engine_or_save_is_stale(indexed, monkeypatch):
    _, _, path, _ = indexed
    assert Replay.open(path).index_from_cache
    with monkeypatch.context() as patch:
        patch.setattr(index_cache, "ENGINE_VERSION", "another")
        replay = Replay.open(path)
        assert not replay.index_from_cache and "engine_version" in replay.index_cache_note
        assert replay.index_cache_note.startswith("stale")
    # The save rewritten (another player name): its SHA-256 no longer matches the cache's key.
    write_save(attrs.evolve(load_save(path), player="bob"), path)
    replay = Replay.open(path)
    assert not replay.index_from_cache and "save_sha256" in replay.index_cache_note


class _Hostile:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/brownout-index-cache-pwned",))


def test_a_well_formed_but_hostile_cache_is_not_unpickled(indexed):
    _, _, path, _ = indexed
    replay = Replay.open(path)
    body = pickle.dumps(_Hostile())
    header = {"format": index_cache.FORMAT, "engine_version": index_cache.ENGINE_VERSION,
              "save_sha256": replay.save_sha256, "checkpoint_every_ticks": replay.checkpoint_every_ticks,
              "body_sha256": hashlib.sha256(body).hexdigest()}
    cache_path(path).write_bytes(json.dumps(header).encode() + b"\n" + body)
    reopened = Replay.open(path)
    assert not reopened.index_from_cache and "not allowed" in reopened.index_cache_note
    from pathlib import Path

    assert not Path("/tmp/brownout-index-cache-pwned").exists()


def test_the_cache_does_not_show_in_the_saves_list(indexed):
    from sim.records.saves import list_saves

    _, _, path, _ = indexed
    assert [s.path.name for s in list_saves(path.parent)] == [path.name]
