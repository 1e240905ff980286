"""Human units in drill files: durations ("250ms", "90s", "5m", "1h", "1m30s"),
sizes ("500MB", "2GB") and seeded ranges ("60s..120s", "20..60").

Parsing only; no randomness here. The drill loader draws range values with the
run's seed.
"""

from __future__ import annotations

import math
import re

import attrs

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

_DURATION_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Longest units first so "ms" is not read as "m" followed by junk.
_DURATION_PART = re.compile(rf"({_NUMBER})\s*(us|ms|s|m|h|d)")
_DURATION_WHOLE = re.compile(rf"\s*(?:{_NUMBER}\s*(?:us|ms|s|m|h|d)\s*)+")

# Memory sizes are binary: 1 GB = 1024 MB, 1 KB = 1/1024 MB, as tools like `free` show them.
_SIZE_UNITS_MB = {"b": 1 / (1024 * 1024), "kb": 1 / 1024, "mb": 1.0, "gb": 1024.0, "tb": 1024.0 * 1024.0}
_SIZE_WHOLE = re.compile(rf"\s*({_NUMBER})\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)\s*", re.IGNORECASE)

_INT_LITERAL = re.compile(r"\s*[+-]?\d[\d_]*\s*")
_FLOAT_LITERAL = re.compile(rf"\s*[+-]?{_NUMBER}\s*")

DURATION_EXAMPLE = '"90s"'
SIZE_EXAMPLE = '"512MB"'


class UnitError(ValueError):
    """A string is not a valid duration, size or range; the message says what was expected."""


def parse_duration_s(text: str) -> float:
    """Seconds in a duration string such as "250ms", "90s", "5m", "1h", "1m30s" or "30d"."""
    if not isinstance(text, str) or not _DURATION_WHOLE.fullmatch(text):
        raise UnitError(f"expected a duration like {DURATION_EXAMPLE}, \"250ms\" or \"5m\"")
    total_s = sum(float(number) * _DURATION_UNITS_S[unit] for number, unit in _DURATION_PART.findall(text))
    if not math.isfinite(total_s):
        raise UnitError(f"expected a finite duration like {DURATION_EXAMPLE}")
    return total_s


def parse_size_mb(text: str) -> float:
    """Megabytes in a size string such as "500MB", "0.5GB" or "64KB" (binary units)."""
    match = _SIZE_WHOLE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UnitError(f"expected a size like {SIZE_EXAMPLE} or \"2GB\"")
    unit = match.group(2).lower().replace("i", "")
    size_mb = float(match.group(1)) * _SIZE_UNITS_MB[unit]
    if not math.isfinite(size_mb):
        raise UnitError(f"expected a finite size like {SIZE_EXAMPLE}")
    return size_mb


def format_duration(seconds: float) -> str:
    """A short human form of a duration: "250ms", "90s", "2m", "1m30s", "1h"."""
    if seconds < 1.0:
        return f"{seconds * 1000:g}ms"
    if seconds < 60.0 or seconds % 1.0:
        return f"{seconds:g}s"
    minutes, rest_s = divmod(int(seconds), 60)
    if rest_s == 0 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m" if rest_s == 0 else f"{minutes}m{rest_s}s"


@attrs.frozen
class ValueRange:
    """A seeded range from a drill file, e.g. "60s..120s".

    kind is "int" (both ends integer literals: draws stay integers), "float",
    "duration" (ends in seconds) or "size" (ends in MB).
    """

    kind: str
    low: float
    high: float
    text: str


_MAX_END_CHARS = 40
"""Longer range ends are refused before int() would choke on thousands of digits."""


def _range_end(text: str) -> tuple[str, float]:
    if len(text.strip()) > _MAX_END_CHARS:
        raise UnitError(f"a range end is at most {_MAX_END_CHARS} characters long")
    if _INT_LITERAL.fullmatch(text):
        return "int", int(text.replace("_", ""))
    if _FLOAT_LITERAL.fullmatch(text):
        return "float", float(text)
    try:
        return "duration", parse_duration_s(text)
    except UnitError:
        pass
    try:
        return "size", parse_size_mb(text)
    except UnitError:
        raise UnitError(
            f'expected a range like "60s..120s" or "20..60", but "{text.strip()}" is not a number, duration or size'
        ) from None


def parse_range(text: str) -> ValueRange | None:
    """The range in `text` ("low..high"), or None when `text` is not range syntax at all.

    Raises UnitError when it has ".." but the ends are malformed, of different
    kinds, or in the wrong order.
    """
    if not isinstance(text, str) or ".." not in text:
        return None
    parts = text.split("..")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise UnitError(f'expected a range like "60s..120s" or "20..60", got "{text}"')
    (low_kind, low), (high_kind, high) = _range_end(parts[0]), _range_end(parts[1])
    numeric = {"int", "float"}
    if low_kind in numeric and high_kind in numeric:
        kind = "int" if low_kind == high_kind == "int" else "float"
    elif low_kind == high_kind:
        kind = low_kind
    else:
        raise UnitError(f'the two ends of range "{text}" are of different kinds ({low_kind} and {high_kind})')
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UnitError(f'the ends of range "{text}" must be finite')
    if low > high:
        raise UnitError(f'range "{text}" has its low end above its high end')
    return ValueRange(kind=kind, low=low, high=high, text=text)
