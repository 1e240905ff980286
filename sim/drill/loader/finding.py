"""Where drills live (shipped and the user's folder), finding one by id or path, listing them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import attrs

import drills
from sim.drill.drill import SLOSpec
from sim.drill.loader.files import load_drill
from sim.drill.loader.problems import suggest
from sim.model.errors import InputError

SHIPPED_DRILLS_DIR = Path(drills.__file__).resolve().parent
"""The drills that ship with Brownout: the repository's drills/ folder, installed as package data."""


def user_drills_dir() -> Path:
    """Where a user's own drills live: $BROWNOUT_DRILLS, else ~/.config/brownout/drills."""
    configured = os.environ.get("BROWNOUT_DRILLS")
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "brownout" / "drills"


@attrs.frozen
class DrillSummary:
    """What the drill picker and `brownout drills list` show about one drill."""

    id: str
    title: str
    difficulty: int
    duration_s: float
    slos: tuple[SLOSpec, ...]
    path: Path
    source: str = "shipped"
    """"shipped" (comes with Brownout) or "user" (the user's drills folder)."""


def _drill_files(folder: Path) -> list[Path]:
    try:
        return sorted(path for path in folder.glob("*.toml") if path.is_file())
    except OSError:
        return []


def list_drills() -> list[DrillSummary]:
    """Every valid drill, shipped ones first (by difficulty, then id), then the user's.

    Invalid files are left out; `brownout drills validate FILE` explains them.
    """
    summaries = []
    for source, folder in (("shipped", SHIPPED_DRILLS_DIR), ("user", user_drills_dir())):
        found = []
        for path in _drill_files(folder):
            try:
                drill = load_drill(path)
            except InputError:
                continue
            found.append(DrillSummary(drill.id, drill.title, drill.difficulty, drill.duration_s, drill.slos, path, source))
        summaries.extend(sorted(found, key=lambda summary: (summary.difficulty, summary.id)))
    return summaries


def _declared_id(path: Path) -> str | None:
    try:
        header = tomllib.loads(path.read_text(encoding="utf-8")).get("drill")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    return header.get("id") if isinstance(header, dict) else None


def find_drill(id_or_path: str) -> Path:
    """The file of a drill given as a path, a shipped drill id or a user drill id.

    A path wins; then a shipped drill, then the user's folder (a file named
    <id>.toml first, else a file declaring that id). Raises InputError with a
    did-you-mean when nothing matches.
    """
    as_path = Path(id_or_path).expanduser()
    folders = (SHIPPED_DRILLS_DIR, user_drills_dir())
    if as_path.suffix == ".toml" or os.sep in id_or_path or as_path.is_file():
        if as_path.is_file():
            return as_path
        # "tutorial.toml" also names the shipped (or user) file of that name.
        for folder in folders if os.sep not in id_or_path else ():
            if (folder / as_path.name).is_file():
                return folder / as_path.name
        raise InputError.single(id_or_path, "no such drill file")
    for folder in folders:
        candidate = folder / f"{id_or_path}.toml"
        if candidate.is_file():
            return candidate
    # A file may be named differently from the id it declares.
    known = []
    for folder in folders:
        for path in _drill_files(folder):
            declared = _declared_id(path)
            if declared == id_or_path:
                return path
            known.append(declared if isinstance(declared, str) else path.stem)
    hint = suggest(id_or_path, known) if known else "; no drills are installed"
    raise InputError.single(id_or_path, f'no drill with id "{id_or_path}"{hint}')
