"""A drill file from bytes to `Drill`: read, parse, draw its ranges, read every
section, and raise every problem at once."""

from __future__ import annotations

import hashlib
import operator
import os
import re
import tomllib
from pathlib import Path

import attrs
import numpy as np

from sim.drill.drill import Drill
from sim.drill.loader.document import read_document
from sim.drill.loader.lines import index_source_lines
from sim.drill.loader.problems import INVALID, Context, Invalid
from sim.drill.loader.ranges import RANGE_SEED_SALT, draw_ranges, has_ranges
from sim.model.errors import InputError, Problem

MAX_FILE_BYTES = 1_000_000
"""A drill is a few kB; anything this large is a wrong file, refused before parsing."""
_TOML_LINE = re.compile(r"at line (\d+)")


@attrs.frozen
class _Source:
    """A drill file read and parsed (or the problems that stopped it)."""

    file: str
    text: str
    sha256: str
    document: dict | None
    problems: tuple[Problem, ...]


def _read_source(path: str | os.PathLike) -> _Source:
    file = str(path)

    def failed(message: str, line: int | None = None, text: str = "", sha256: str = "") -> _Source:
        return _Source(file, text, sha256, None, (Problem(file=file, path="", message=message, line=line),))

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return failed("no such drill file")
    except IsADirectoryError:
        return failed("is a directory, not a drill file")
    except OSError as error:
        return failed(f"cannot read the file: {error.strerror or error}")
    if len(data) > MAX_FILE_BYTES:
        return failed(f"is larger than {MAX_FILE_BYTES // 1000} kB; a drill file is a few kB of TOML")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return failed(f"is not UTF-8 text (byte {error.start}); save it as UTF-8", line, sha256=sha256)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        return failed(f"TOML syntax error: {error}", int(match.group(1)) if match else None, text, sha256)
    except RecursionError:
        return failed("TOML syntax error: nested too deeply", None, text, sha256)
    except ValueError as error:
        # tomllib lets int() errors through, e.g. an integer of more than 4300 digits.
        return failed(f"TOML value error: {error}", None, text, sha256)
    return _Source(file, text, sha256, document, ())


def _line_index(text: str) -> dict[str, int]:
    try:
        return index_source_lines(text)
    except (ValueError, IndexError, AttributeError, RecursionError):
        # Line numbers are a courtesy: if the scanner misreads an exotic but valid
        # document, problems are still reported, just without a line.
        return {}


def _load(path, seed: int | None) -> Drill:
    source = _read_source(path)
    if source.document is None:
        raise InputError(source.problems)
    lines = _line_index(source.text)
    header = source.document.get("drill")
    file_seed = header.get("seed") if isinstance(header, dict) else None
    if seed is None:
        seed = file_seed if isinstance(file_seed, int) and not isinstance(file_seed, bool) and file_seed >= 0 else 0
    try:
        # operator.index accepts numpy integers too, and refuses floats and strings.
        seed = operator.index(seed) if not isinstance(seed, bool) else -1
    except TypeError:
        seed = -1
    if seed < 0:
        raise InputError.single(source.file, "the seed must be a whole number >= 0")

    def attempt(mode: str, rng) -> tuple[Drill | Invalid, list[Problem]]:
        ctx = Context(source.file, lines)
        document = draw_ranges(ctx, source.document, mode, rng)
        drill = read_document(ctx, document)
        return drill, ctx.problems

    problems: list[Problem] = []
    seen: set[str] = set()
    # Every value a range can produce must be valid, not only this seed's draw:
    # check both ends first (their messages do not depend on the seed), then the draw.
    modes = ("low", "high", "draw") if has_ranges(source.document) else ("draw",)
    for mode in modes:
        rng = np.random.default_rng(np.random.SeedSequence([seed, RANGE_SEED_SALT])) if mode == "draw" else None
        drill, found = attempt(mode, rng)
        # Dedupe across runs by field, never within one run (a field may have two problems).
        problems.extend(problem for problem in found if problem.path not in seen)
        seen.update(problem.path for problem in found)
    if problems or drill is INVALID:
        raise InputError(sorted(problems, key=lambda p: (p.line is None, p.line or 0)) or [
            Problem(file=source.file, path="", message="the drill is not valid")
        ])
    return attrs.evolve(drill, seed=seed, source_path=str(Path(path).resolve()), source_sha256=source.sha256)


def load_drill(path: str | os.PathLike, seed: int | None = None) -> Drill:
    """Load and validate a drill file; seeded ranges are drawn with `seed`
    (None: the file's [drill].seed). Raises InputError listing every problem."""
    return _load(path, seed)


def validate_drill_file(path: str | os.PathLike) -> list[Problem]:
    """Every problem in a drill file (an empty list when it is valid)."""
    try:
        load_drill(path)
    except InputError as error:
        return list(error.problems)
    return []
