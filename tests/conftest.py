"""Shared fixtures: deterministic Textual output for pilot and snapshot tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The app tests and the snapshot factory share the Python-built drills.
sys.path.insert(0, str(Path(__file__).parent / "tui"))


def pytest_collection_modifyitems(items):
    """Longest first: the drill runs lead, so no worker is left with them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long_run") is None)


@pytest.fixture(autouse=True)
def isolated_saves(monkeypatch, tmp_path_factory):
    """Runs a test saves without naming a folder go to a temporary one, never the user's data folder."""
    monkeypatch.setenv("BROWNOUT_SAVES", str(tmp_path_factory.mktemp("default-saves")))
    # Progress and exports too: a test's runs never reach the user's data folder.
    monkeypatch.setenv("BROWNOUT_HOME", str(tmp_path_factory.mktemp("brownout-home")))


@pytest.fixture(autouse=True)
def deterministic_terminal(monkeypatch):
    """No cursor blink (a blink timer makes snapshots flaky) and colour on whatever the shell says."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    from textual.widgets import Input

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
