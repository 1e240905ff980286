"""Seeded ranges: "60s..120s" or "20..60" in a drill is drawn with the run's seed.

The whole document is drawn before any section is read, so a section reader
sees a `Drawn` value where the file has a range.
"""

from __future__ import annotations

import re

import numpy as np

from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import Context, Drawn, Invalid
from sim.model.units import UnitError, ValueRange, parse_range

RANGE_SEED_SALT = 0x5EED
"""Mixed into the run's seed for range draws, so they never share a stream with the engine."""

# A string is read as a seeded range only when it starts like a number; other
# strings with ".." (names, prose) are left alone.
_RANGE_LIKE = re.compile(r"\s*[+-]?\.?\d.*\.\.", re.DOTALL)
# Free text and names are never range-drawn, whatever they contain.
_TEXT_KEYS = frozenset({"id", "title", "briefing", "text", "when", "name"})


def draw_ranges(ctx: Context, document, mode: str, rng: np.random.Generator | None, path: str = ""):
    """A copy of the document with every range string replaced by a `Drawn` value.

    mode "draw" draws with rng in document order; "low" / "high" take the ends,
    so the loader can check that every value a range can produce is valid.
    """
    if isinstance(document, dict):
        drawn = {}
        for key, value in document.items():
            key_path = join_path(path, str(key))
            if key in _TEXT_KEYS or key_path == "drill.seed":
                drawn[key] = value
            else:
                drawn[key] = draw_ranges(ctx, value, mode, rng, key_path)
        return drawn
    if isinstance(document, list):
        return [draw_ranges(ctx, item, mode, rng, f"{path}[{index}]") for index, item in enumerate(document)]
    if isinstance(document, str) and _RANGE_LIKE.match(document):
        try:
            value_range = parse_range(document)
        except UnitError as error:
            return ctx.report(path, str(error))
        return _draw_one(ctx, path, value_range, mode, rng) if value_range else document
    return document


def _draw_one(ctx: Context, path: str, value_range: ValueRange, mode: str, rng) -> Drawn | Invalid:
    low, high, text = value_range.low, value_range.high, value_range.text
    if value_range.kind == "int":
        if max(abs(low), abs(high)) > 2**53:
            return ctx.report(path, f'range "{text}" is too large')
        if mode == "draw":
            value = int(rng.integers(int(low), int(high), endpoint=True))
    elif mode == "draw":
        value = float(rng.uniform(low, high))
        # Whole milliseconds read better in briefings and event logs.
        if value_range.kind == "duration":
            value = min(max(round(value, 3), low), high)
    if mode == "low":
        value, origin = low, f'the low end of range "{text}"'
    elif mode == "high":
        value, origin = high, f'the high end of range "{text}"'
    else:
        origin = f'drawn from range "{text}"'
    return Drawn(value=value, kind=value_range.kind, origin=origin)


def has_ranges(document) -> bool:
    """Whether any value of the document is a range string (text fields aside)."""
    if isinstance(document, dict):
        return any(has_ranges(value) for key, value in document.items() if key not in _TEXT_KEYS)
    if isinstance(document, list):
        return any(has_ranges(item) for item in document)
    return isinstance(document, str) and bool(_RANGE_LIKE.match(document))
