"""An installed Brownout (not only an editable checkout) carries its drills and styles.

Building a wheel needs the build backend from the network, so this reads the
setuptools configuration the build uses and checks it covers every shipped file.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import drills
from sim.drill.loader import SHIPPED_DRILLS_DIR

ROOT = Path(__file__).resolve().parents[2]


def _setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _packaged(package: str, relative: str, config: dict) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) for pattern in config["package-data"].get(package, ()))


def test_shipped_drills_are_package_data_of_the_drills_package():
    config = _setuptools_config()
    assert "drills" in config["packages"]
    shipped = sorted(p.name for p in (ROOT / "drills").glob("*.toml"))
    assert len(shipped) >= 11
    missing = [name for name in shipped if not _packaged("drills", name, config)]
    assert not missing, f"drills not in the package data: {missing}"


def test_the_loader_finds_drills_through_the_installed_package():
    assert SHIPPED_DRILLS_DIR == Path(drills.__file__).resolve().parent
    assert (SHIPPED_DRILLS_DIR / "tutorial.toml").is_file()


def test_every_stylesheet_is_package_data_of_tui():
    config = _setuptools_config()
    styles = sorted(p.relative_to(ROOT / "tui").as_posix() for p in (ROOT / "tui").rglob("*.tcss"))
    assert styles
    missing = [name for name in styles if not _packaged("tui", name, config)]
    assert not missing, f"stylesheets not in the package data: {missing}"


def test_every_python_package_is_listed():
    config = _setuptools_config()
    on_disk = sorted(
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("sim", "tui", "drills")
        for p in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in p.parts
    )
    assert sorted(config["packages"]) == on_disk
