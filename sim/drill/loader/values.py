"""The value readers: numbers, units (durations, sizes), ranges of allowed values,
strings, names, choices and references to names a drill defines.

Each reader takes (ctx, path, value, ...) and returns the checked value, or
reports a problem at `path` and returns INVALID. A value drawn from a seeded
range arrives as `Drawn` and is checked like the value it stands for.
"""

from __future__ import annotations

import math
import re

from sim.drill.loader.problems import INVALID, Context, Drawn, describe, is_invalid, suggest
from sim.model.units import UnitError, format_duration, parse_duration_s, parse_size_mb

# Sanity caps: a value past these is a slip of the keyboard, not a drill.
MAX_DURATION_S = 7 * 24 * 3600.0
MAX_RATE = 1e6
_MAX_COUNT = 100_000
MAX_SIZE_MB = 1e9
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _range_message(value, low, high, low_open, high_open) -> str | None:
    def shown(bound):
        return f"{bound:g}"

    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not (too_low or too_high):
        return None
    if low is not None and high is not None:
        left, right = ("(" if low_open else "["), (")" if high_open else "]")
        return f"must be in {left}{shown(low)}, {shown(high)}{right}"
    if too_low:
        return f"must be {'>' if low_open else '>='} {shown(low)}"
    return f"must be {'<' if high_open else '<='} {shown(high)}"


def _read_number(ctx, path, value, *, integer=False, low=None, high=None, low_open=False, high_open=False):
    if value is INVALID:
        return INVALID
    shown = describe(value)
    if isinstance(value, Drawn):
        if value.kind not in (("int",) if integer else ("int", "float")):
            kind = "an integer" if integer else "a number"
            return ctx.report(path, f"expected {kind}, but the range gives {value.kind} values ({value.origin})")
        value = value.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        hint = " (write durations and sizes as strings with a unit)" if isinstance(value, str) and not integer else ""
        return ctx.report(path, f"expected {kind}, got {shown}{hint}")
    if isinstance(value, float) and not math.isfinite(value):
        return ctx.report(path, f"expected a finite number, got {shown}")
    problem = _range_message(value, low, high, low_open, high_open)
    if problem:
        return ctx.report(path, f"{problem}, got {shown}")
    return value


def read_int(ctx, path, value, low=None, high=_MAX_COUNT):
    """An integer in [low, high]."""
    return _read_number(ctx, path, value, integer=True, low=low, high=high)


def read_float(ctx, path, value, low=None, high=None, low_open=False, high_open=False):
    """A number (int or float) in the given bounds, as a float."""
    number = _read_number(ctx, path, value, low=low, high=high, low_open=low_open, high_open=high_open)
    return number if number is INVALID else float(number)


def read_fraction(ctx, path, value):
    """A number in [0, 1]."""
    return read_float(ctx, path, value, low=0.0, high=1.0)


def _read_unit(ctx, path, value, kind, parse, example, low, high, low_open, unit):
    if value is INVALID:
        return INVALID
    shown = describe(value)
    if isinstance(value, Drawn):
        if value.kind != kind:
            return ctx.report(path, f"expected a {kind} like {example}, but the range gives {value.kind} values ({value.origin})")
        amount = value.value
    elif isinstance(value, str):
        try:
            amount = parse(value)
        except UnitError:
            return ctx.report(path, f"expected a {kind} like {example}, got {shown}")
    else:
        hint = f' (add a unit, e.g. "{value}{unit}")' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        return ctx.report(path, f"expected a {kind} like {example}, got {shown}{hint}")
    # Only the bound that was crossed: the upper ones are sanity caps, noise otherwise.
    if amount < low or (low_open and amount == low):
        return ctx.report(path, f"must be {'>' if low_open else '>='} {_show_amount(low, unit)}, got {shown}")
    if amount > high:
        return ctx.report(path, f"must be <= {_show_amount(high, unit)}, got {shown}")
    return float(amount)


def _show_amount(amount: float, unit: str) -> str:
    if unit == "s":
        return "0s" if amount == 0 else format_duration(amount)
    return f"{amount:g}{unit}"


def read_duration(ctx, path, value, *, positive=False, high=MAX_DURATION_S):
    """Seconds from a duration string ("250ms", "90s", "5m")."""
    return _read_unit(ctx, path, value, "duration", parse_duration_s, '"90s"', 0.0, high, positive, "s")


def read_size(ctx, path, value, *, positive=False):
    """Megabytes from a size string ("512MB", "2GB")."""
    return _read_unit(ctx, path, value, "size", parse_size_mb, '"512MB"', 0.0, MAX_SIZE_MB, positive, "MB")


def read_str(ctx, path, value, *, pattern: re.Pattern | None = None, what: str = "a string"):
    """A non-empty string, or one matching `pattern`."""
    if value is INVALID:
        return INVALID
    if not isinstance(value, str):
        return ctx.report(path, f"expected {what}, got {describe(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        return ctx.report(path, f"expected {what}, got {describe(value)}")
    if pattern is None and not value.strip():
        return ctx.report(path, "must not be empty")
    return value


def read_name(ctx, path, value):
    """A name of letters, digits, "-" and "_"."""
    return read_str(ctx, path, value, pattern=NAME_PATTERN, what="a name of letters, digits, '-' and '_'")


def read_bool(ctx, path, value):
    """true or false."""
    if value is INVALID:
        return INVALID
    if not isinstance(value, bool):
        return ctx.report(path, f"expected true or false, got {describe(value)}")
    return value


def read_choice(ctx, path, value, choices, what: str = "value"):
    """One of `choices`, with a did-you-mean for a near miss."""
    if value is INVALID:
        return INVALID
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f'"{choice}"' for choice in choices)
        hint = suggest(value, choices) if isinstance(value, str) else ""
        if hint.startswith("; did"):
            return ctx.report(path, f"unknown {what} {describe(value)}{hint}")
        return ctx.report(path, f"expected one of {listed}, got {describe(value)}")
    return value


def read_reference(ctx, path, value, names, what: str):
    """A name that must be one of `names` (e.g. a pool of this drill)."""
    if value is INVALID:
        return INVALID
    if not isinstance(value, str):
        return ctx.report(path, f"expected the name of {what}, got {describe(value)}")
    if value not in names:
        known = f"; the drill has none" if not names else suggest(value, names)
        return ctx.report(path, f'"{value}" is not {what}{known}')
    return value


def read_time(ctx: Context, path: str, value, incident_start_s, duration_s):
    """A time in the drill: "90s" from the start, or "+20s" after the incident starts."""
    if value is INVALID:
        return INVALID
    if isinstance(value, str) and value.lstrip().startswith("+"):
        offset_s = read_duration(ctx, path, value.lstrip()[1:])
        if is_invalid((offset_s, incident_start_s)):
            return INVALID
        # Rounded so "+20s" after 60.71s reads 80.71, not 80.71000000000001.
        at_s = round(incident_start_s + offset_s, 6)
    else:
        at_s = read_duration(ctx, path, value)
    if isinstance(at_s, float) and isinstance(duration_s, float) and at_s >= duration_s:
        return ctx.report(path, f"is at or after the end of the drill ({duration_s:g}s), got {at_s:g}s")
    return at_s
