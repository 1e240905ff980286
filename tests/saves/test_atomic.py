"""Atomic writes: a write interrupted at any point leaves the old file or the new one."""

from __future__ import annotations

import os
import stat

import attrs
import pytest

from sim.records.saves import load_save, write_atomic, write_save


class InjectedFailure(Exception):
    """Stands in for a full disk, an I/O error or a kill at one step of the write."""


def _fail(*args, **kwargs):
    raise InjectedFailure()



def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "run.toml")


@pytest.mark.parametrize("step", ["write", "partial_write", "fsync", "close", "replace"])
def test_failure_at_each_step_keeps_the_old_file(sample_save, tmp_path, monkeypatch, step):
    path = write_save(sample_save, tmp_path / "run.toml")
    old_bytes = path.read_bytes()
    newer = attrs.evolve(sample_save, player="grace", score=95.0)
    if step == "partial_write":
        real_write = os.write

        def write_half_then_fail(fd, data):
            # Part of the bytes reach the temporary file, then the process "dies".
            real_write(fd, bytes(data[: len(data) // 2]))
            raise InjectedFailure()

        monkeypatch.setattr(os, "write", write_half_then_fail)
    elif step == "close":
        real_close = os.close

        def close_then_fail(fd):
            real_close(fd)
            raise InjectedFailure()

        monkeypatch.setattr(os, "close", close_then_fail)
    else:
        monkeypatch.setattr(os, step, _fail)
    with pytest.raises(InjectedFailure):
        write_save(newer, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert load_save(path) == sample_save
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_during_write_cleans_up(sample_save, tmp_path, monkeypatch):
    path = write_save(sample_save, tmp_path / "run.toml")
    old_bytes = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt()

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_save(attrs.evolve(sample_save, score=1.0), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert _leftovers(tmp_path) == []


def test_first_write_interrupted_leaves_no_file(sample_save, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", _fail)
    with pytest.raises(InjectedFailure):
        write_save(sample_save, tmp_path / "run.toml")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_successful_write_replaces_and_syncs_file_and_folder(sample_save, tmp_path, monkeypatch):
    path = write_save(sample_save, tmp_path / "run.toml")
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.fstat(fd).st_mode)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    newer = attrs.evolve(sample_save, score=95.0)
    write_save(newer, path)
    monkeypatch.undo()
    assert load_save(path) == newer
    assert _leftovers(tmp_path) == []

    assert [stat.S_ISREG(mode) for mode in synced] == [True, False]
    assert stat.S_ISDIR(synced[1])


def test_write_atomic_writes_all_bytes_even_with_short_writes(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    payload = bytes(range(256)) * 40
    write_atomic(tmp_path / "blob", payload)
    monkeypatch.undo()
    assert (tmp_path / "blob").read_bytes() == payload
