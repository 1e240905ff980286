"""Shared values for the save tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sim.records.saves import Save, SavedSLI
from sim.model.spec import Action

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "saves"
UTC = dt.timezone.utc


@pytest.fixture
def sample_save() -> Save:
    """A valid save with actions, SLIs and a None-valued action argument."""
    return Save(
        drill_id="slow-db",
        drill_sha256="3" * 64,
        seed=7,
        player="ada",
        started_at=dt.datetime(2026, 1, 31, 14, 5, tzinfo=UTC),
        ended_at=dt.datetime(2026, 1, 31, 14, 21, 40, tzinfo=UTC),
        ended="finished",
        end_t_s=600.0,
        end_tick=12000,
        digest="d" * 64,
        actions=(
            Action(95.0, "pool.resize", {"pool": "main", "size": 40}),
            Action(130.55, "timeout.set", {"dependency": "llm", "timeout_s": None}),
            Action(130.55, "shed.set", {"fraction": 0.25, "mode": "priority"}),
        ),
        score=72.5,
        grade="C",
        slis=(SavedSLI("availability", 0.99, 0.9931), SavedSLI("latency", 0.95, 0.91)),
        drill_path="/somewhere/drills/slow-db.toml",
    )
