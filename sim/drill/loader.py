"""Drill files: read a TOML drill, validate every field, build the `Drill` value.

Every problem in a file is collected as a `Problem` (file, line, field path,
message) and raised together in one `InputError`; bad content never raises
anything else. Seeded ranges ("60s..120s", "20..60") are drawn with the run's
seed, so one seed always gives the same drill. The format is described in the
README ("Writing a drill").
"""

from __future__ import annotations

import difflib
import hashlib
import math
import operator
import os
import re
import tomllib
from pathlib import Path

import attrs
import numpy as np

import drills
from sim.drill.conditions import ConditionError, parse_condition
from sim.drill.drill import Drill, Hint, SLOSpec
from sim.model.errors import InputError, Problem
from sim.model.spec import (
    ACTION_NAMES,
    Action,
    ArrivalProfile,
    BreakerSpec,
    CacheSpec,
    CacheStep,
    CallStep,
    CpuStep,
    DbStep,
    Dependency,
    Distribution,
    Fault,
    MemorySpec,
    ModelSpec,
    PoolSpec,
    RateLimitSpec,
    RetryPolicy,
    ServiceSpec,
    StreamStep,
    TrafficClass,
)
from sim.model.units import UnitError, ValueRange, format_duration, parse_duration_s, parse_range, parse_size_mb

SHIPPED_DRILLS_DIR = Path(drills.__file__).resolve().parent
"""The drills that ship with Brownout: the repository's drills/ folder, installed as package data."""

RANGE_SEED_SALT = 0x5EED
"""Mixed into the run's seed for range draws, so they never share a stream with the engine."""

MAX_FILE_BYTES = 1_000_000
"""A drill is a few kB; anything this large is a wrong file, refused before parsing."""
_MAX_DURATION_S = 7 * 24 * 3600.0
_MAX_RATE = 1e6
_MAX_COUNT = 100_000
_MAX_SIZE_MB = 1e9

_DRILL_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TOML_LINE = re.compile(r"at line (\d+)")
# A string is read as a seeded range only when it starts like a number; other
# strings with ".." (names, prose) are left alone.
_RANGE_LIKE = re.compile(r"\s*[+-]?\.?\d.*\.\.", re.DOTALL)
# Free text and names are never range-drawn, whatever they contain.
_TEXT_KEYS = frozenset({"id", "title", "briefing", "text", "when", "name"})


def user_drills_dir() -> Path:
    """Where a user's own drills live: $BROWNOUT_DRILLS, else ~/.config/brownout/drills."""
    configured = os.environ.get("BROWNOUT_DRILLS")
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "brownout" / "drills"


# --------------------------------------------------------------------------- source lines


def index_source_lines(text: str) -> dict[str, int]:
    """Map each table/key/array-element path of a TOML document to its 1-based line.

    Paths look like the loader's field paths: "drill.id", "faults[2].at",
    "classes[0].plan[1].db". Best effort: the document has already parsed, so
    this scanner only follows structure (headers, keys, brackets, strings).
    """
    return _LineScanner(text).scan()


class _LineScanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[str, int] = {}
        self.array_tables: dict[str, int] = {}
        self.last_checked_pos = -1

    def scan(self) -> dict[str, int]:
        table = ""
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            self.require_progress()
            if self.text.startswith("[[", self.pos):
                self.pos += 2
                keys = self.read_key()
                self.pos = self.text.index("]]", self.pos) + 2
                name = self.resolve(keys[:-1], keys[-1])
                index = self.array_tables.get(name, -1) + 1
                self.array_tables[name] = index
                table = f"{name}[{index}]"
                self.lines.setdefault(name, self.line)
                self.lines.setdefault(table, self.line)
            elif self.text.startswith("[", self.pos):
                self.pos += 1
                keys = self.read_key()
                self.pos = self.text.index("]", self.pos) + 1
                table = self.resolve(keys[:-1], keys[-1])
                self.lines.setdefault(table, self.line)
            else:
                keys = self.read_key()
                for end in range(1, len(keys) + 1):
                    self.lines.setdefault(_join(table, *keys[:end]), self.line)
                path = _join(table, *keys)
                self.pos = self.text.index("=", self.pos) + 1
                self.read_value(path)

    def require_progress(self) -> None:
        # A construct this scanner does not understand must end the scan, never loop.
        if self.pos == self.last_checked_pos:
            raise ValueError(f"line index scanner stuck at offset {self.pos}")
        self.last_checked_pos = self.pos

    def resolve(self, parents: list[str], last: str) -> str:
        # A header inside an array of tables refers to its latest element.
        path = ""
        for key in parents:
            path = _join(path, key)
            if path in self.array_tables:
                path = f"{path}[{self.array_tables[path]}]"
            # Parents a header defines implicitly point at their first mention.
            self.lines.setdefault(path, self.line)
        return _join(path, last)

    def advance(self, count: int) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance(1)
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def read_key(self) -> list[str]:
        keys = []
        while True:
            self.skip_blank(newlines=False)
            char = self.text[self.pos]
            if char in "\"'":
                keys.append(self.read_string())
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, self.pos)
                keys.append(match.group())
                self.pos = match.end()
            self.skip_blank(newlines=False)
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            return keys

    def read_string(self) -> str:
        for quote in ('"""', "'''", '"', "'"):
            if self.text.startswith(quote, self.pos):
                break
        start = self.pos + len(quote)
        end = start
        while True:
            end = self.text.index(quote, end)
            if quote[0] == '"' and _escaped(self.text, end):
                end += 1
                continue
            break
        # Multi-line strings may end with extra quotes ("""a""""): take them.
        while len(quote) == 3 and self.text.startswith(quote[0], end + 3):
            end += 1
        self.advance(end + len(quote) - self.pos)
        return self.text[start:end]

    def read_value(self, path: str) -> None:
        self.skip_blank(newlines=False)
        char = self.text[self.pos]
        if char in "\"'":
            self.read_string()
        elif char == "[":
            self.advance(1)
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.text[self.pos] == "]":
                    self.advance(1)
                    return
                self.require_progress()
                item = f"{path}[{index}]"
                self.lines.setdefault(item, self.line)
                self.read_value(item)
                index += 1
                self.skip_blank(newlines=True)
                if self.text[self.pos] == ",":
                    self.advance(1)
        elif char == "{":
            self.advance(1)
            while True:
                self.skip_blank(newlines=True)
                if self.text[self.pos] == "}":
                    self.advance(1)
                    return
                self.require_progress()
                keys = self.read_key()
                for end in range(1, len(keys) + 1):
                    self.lines.setdefault(_join(path, *keys[:end]), self.line)
                key_path = _join(path, *keys)
                self.pos = self.text.index("=", self.pos) + 1
                self.read_value(key_path)
                self.skip_blank(newlines=True)
                if self.text[self.pos] == ",":
                    self.advance(1)
        else:
            match = re.compile(r"[^,\]}\n#]*").match(self.text, self.pos)
            self.pos = match.end()


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _join(*parts: str) -> str:
    return ".".join(part for part in parts if part)


# --------------------------------------------------------------------------- problems and values


class _Invalid:
    """Marks a value that failed validation (its problem is already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID = _Invalid()
_REQUIRED = object()


@attrs.frozen
class _Drawn:
    """A value that came from a seeded range, remembered for error messages."""

    value: float
    kind: str
    """int | float | duration (seconds) | size (MB), as in `ValueRange.kind`."""
    origin: str
    """How it was chosen, e.g. 'drawn from range "0..2"'."""


@attrs.define
class _Context:
    """Collects problems for one file; knows the source lines to point at."""

    file: str
    lines: dict[str, int]
    problems: list[Problem] = attrs.Factory(list)

    def line_of(self, path: str) -> int | None:
        # The field itself, else the nearest enclosing table or array element.
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def report(self, path: str, message: str) -> _Invalid:
        self.problems.append(Problem(file=self.file, path=path, message=message, line=self.line_of(path)))
        return _INVALID


def _describe(value) -> str:
    """A value as the user wrote it, for "got ..." in messages."""
    if isinstance(value, _Drawn):
        return f"{value.value:g} ({value.origin})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (int, float)):
        shown = repr(value)
        return shown if len(shown) <= 40 else f"a number of {len(shown)} digits"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, _Invalid):
        return "an invalid value"
    return f"a {type(value).__name__}"


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; expected one of: {', '.join(sorted(known))}" if known else ""


def _is_invalid(value) -> bool:
    if value is _INVALID:
        return True
    if isinstance(value, (tuple, list)):
        return any(_is_invalid(item) for item in value)
    return False


def _build(ctx: _Context, path: str, cls, **kwargs):
    """Construct an attrs spec value, or _INVALID if any part was invalid.

    The loader checks every field itself; turning attrs validator errors into a
    problem is the safety net, so no TypeError/ValueError ever escapes.
    """
    if any(_is_invalid(value) for value in kwargs.values()):
        return _INVALID
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        return ctx.report(path, f"invalid {cls.__name__}: {error}")


# --------------------------------------------------------------------------- seeded ranges


def _draw_ranges(ctx: _Context, document, mode: str, rng: np.random.Generator | None, path: str = ""):
    """A copy of the document with every range string replaced by a `_Drawn` value.

    mode "draw" draws with rng in document order; "low" / "high" take the ends,
    so the loader can check that every value a range can produce is valid.
    """
    if isinstance(document, dict):
        drawn = {}
        for key, value in document.items():
            key_path = _join(path, str(key))
            if key in _TEXT_KEYS or key_path == "drill.seed":
                drawn[key] = value
            else:
                drawn[key] = _draw_ranges(ctx, value, mode, rng, key_path)
        return drawn
    if isinstance(document, list):
        return [_draw_ranges(ctx, item, mode, rng, f"{path}[{index}]") for index, item in enumerate(document)]
    if isinstance(document, str) and _RANGE_LIKE.match(document):
        try:
            value_range = parse_range(document)
        except UnitError as error:
            return ctx.report(path, str(error))
        return _draw_one(ctx, path, value_range, mode, rng) if value_range else document
    return document


def _draw_one(ctx: _Context, path: str, value_range: ValueRange, mode: str, rng) -> _Drawn | _Invalid:
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
    return _Drawn(value=value, kind=value_range.kind, origin=origin)


# --------------------------------------------------------------------------- field readers


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
    if value is _INVALID:
        return _INVALID
    shown = _describe(value)
    if isinstance(value, _Drawn):
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


def _read_int(ctx, path, value, low=None, high=_MAX_COUNT):
    return _read_number(ctx, path, value, integer=True, low=low, high=high)


def _read_float(ctx, path, value, low=None, high=None, low_open=False, high_open=False):
    number = _read_number(ctx, path, value, low=low, high=high, low_open=low_open, high_open=high_open)
    return number if number is _INVALID else float(number)


def _read_fraction(ctx, path, value):
    return _read_float(ctx, path, value, low=0.0, high=1.0)


def _read_unit(ctx, path, value, kind, parse, example, low, high, low_open, unit):
    if value is _INVALID:
        return _INVALID
    shown = _describe(value)
    if isinstance(value, _Drawn):
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


def _read_duration(ctx, path, value, *, positive=False, high=_MAX_DURATION_S):
    """Seconds from a duration string ("250ms", "90s", "5m")."""
    return _read_unit(ctx, path, value, "duration", parse_duration_s, '"90s"', 0.0, high, positive, "s")


def _read_size(ctx, path, value, *, positive=False):
    """Megabytes from a size string ("512MB", "2GB")."""
    return _read_unit(ctx, path, value, "size", parse_size_mb, '"512MB"', 0.0, _MAX_SIZE_MB, positive, "MB")


def _read_str(ctx, path, value, *, pattern: re.Pattern | None = None, what: str = "a string"):
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, str):
        return ctx.report(path, f"expected {what}, got {_describe(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        return ctx.report(path, f"expected {what}, got {_describe(value)}")
    if pattern is None and not value.strip():
        return ctx.report(path, "must not be empty")
    return value


def _read_name(ctx, path, value):
    return _read_str(ctx, path, value, pattern=_NAME, what="a name of letters, digits, '-' and '_'")


def _read_bool(ctx, path, value):
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, bool):
        return ctx.report(path, f"expected true or false, got {_describe(value)}")
    return value


def _read_choice(ctx, path, value, choices, what: str = "value"):
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f'"{choice}"' for choice in choices)
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        if hint.startswith("; did"):
            return ctx.report(path, f"unknown {what} {_describe(value)}{hint}")
        return ctx.report(path, f"expected one of {listed}, got {_describe(value)}")
    return value


def _read_reference(ctx, path, value, names, what: str):
    """A name that must be one of `names` (e.g. a pool of this drill)."""
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, str):
        return ctx.report(path, f"expected the name of {what}, got {_describe(value)}")
    if value not in names:
        known = f"; the drill has none" if not names else _suggest(value, names)
        return ctx.report(path, f'"{value}" is not {what}{known}')
    return value


class _Table:
    """One TOML table being read: fields are taken by name; leftovers are unknown keys."""

    def __init__(self, ctx: _Context, path: str, raw: dict, keys):
        self.ctx = ctx
        self.path = path
        self.raw = raw
        self.keys = tuple(keys)

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, reader, *args, default=_REQUIRED, **kwargs):
        """The value of `key` read with `reader`, the default, or _INVALID (reported)."""
        key_path = _join(self.path, key)
        if key not in self.raw:
            if default is _REQUIRED:
                unknown = [other for other in self.raw if other not in self.keys]
                if difflib.get_close_matches(key, unknown, n=1, cutoff=0.6):
                    return _INVALID  # reported as the misspelt key, with "did you mean"
                return self.ctx.report(key_path, f'required key "{key}" is missing')
            return default
        if self.raw[key] is _INVALID:
            return _INVALID
        return reader(self.ctx, key_path, self.raw[key], *args, **kwargs)

    def check_keys(self, wrong_place: dict[str, str] | None = None) -> None:
        """Report keys this table does not know, with a did-you-mean."""
        for key in self.raw:
            if key in self.keys:
                continue
            key_path = _join(self.path, key)
            if wrong_place and key in wrong_place:
                self.ctx.report(key_path, wrong_place[key])
            else:
                self.ctx.report(key_path, f'unknown key "{key}"{_suggest(key, self.keys)}')


def _table(ctx: _Context, path: str, raw, keys, *, required: bool = True) -> _Table | None:
    """A _Table over raw if it is a table; reports and returns None otherwise."""
    if raw is _INVALID:
        return None
    if raw is None:
        if required and "." in path:
            ctx.report(path, f'required key "{path.rsplit(".", 1)[1]}" is missing')
        elif required:
            ctx.report(path, f"required table [{path}] is missing")
        return None
    if not isinstance(raw, dict):
        ctx.report(path, f"expected a table, got {_describe(raw)}")
        return None
    return _Table(ctx, path, raw, keys)


def _array_of_tables(ctx: _Context, path: str, raw) -> list[tuple[str, dict | None]]:
    """(path, table) for each entry of an array of tables. Other entries are reported
    and come back with table None, so the model is never built without them."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.report(path, f"expected an array of tables ([[{path}]]), got {_describe(raw)}")
        return [(path, None)]
    entries = []
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            if item is not _INVALID:
                ctx.report(item_path, f"expected a table, got {_describe(item)}")
            item = None
        entries.append((item_path, item))
    return entries


def _read_each(entries, reader, *extra) -> tuple:
    """reader(*entry, *extra) for each entry; _INVALID for entries whose table is None."""
    return tuple(_INVALID if entry[-1] is None else reader(*entry, *extra) for entry in entries)


# --------------------------------------------------------------------------- distributions

_DISTRIBUTION_KINDS = ("constant", "exponential", "lognormal", "pareto", "mixture")


def _read_distribution(ctx: _Context, path: str, value, *, in_mixture: bool = False):
    """A Distribution: "5ms" (constant) or a one-key table (exponential, lognormal, pareto, mixture)."""
    if value is _INVALID:
        return _INVALID
    if isinstance(value, (str, _Drawn)) and not in_mixture:
        seconds = _read_duration(ctx, path, value)
        return _build(ctx, path, Distribution, kind="constant", value_s=seconds)
    if not isinstance(value, dict) and in_mixture:
        return ctx.report(path, f'expected a component such as {{ weight = 0.9, lognormal = {{ median = "5ms", p99 = "40ms" }} }}, got {_describe(value)}')
    if not isinstance(value, dict):
        return ctx.report(
            path,
            f'expected a duration like "5ms" or a distribution such as {{ lognormal = {{ median = "5ms", p99 = "40ms" }} }}, got {_describe(value)}',
        )
    kinds = _DISTRIBUTION_KINDS[:-1] if in_mixture else _DISTRIBUTION_KINDS
    allowed = kinds + (("weight",) if in_mixture else ())
    table = _Table(ctx, path, value, allowed)
    table.check_keys()
    present = [kind for kind in kinds if kind in value]
    if len(present) != 1:
        listed = ", ".join(kinds)
        if present:
            return ctx.report(path, f"give exactly one distribution kind, got {', '.join(present)}")
        return ctx.report(path, f"missing the distribution kind: one of {listed}")
    kind = present[0]
    kind_path = _join(path, kind)
    body = value[kind]
    if kind == "constant":
        return _build(ctx, path, Distribution, kind="constant", value_s=_read_duration(ctx, kind_path, body))
    if kind == "exponential":
        mean_s = _read_duration(ctx, kind_path, body, positive=True)
        return _build(ctx, path, Distribution, kind="exponential", mean_s=mean_s)
    if kind == "lognormal":
        params = _table(ctx, kind_path, body, ("median", "p99"))
        if params is None:
            return _INVALID
        params.check_keys()
        median_s = params.get("median", _read_duration, positive=True)
        p99_s = params.get("p99", _read_duration, positive=True)
        if not _is_invalid((median_s, p99_s)) and p99_s <= median_s:
            return ctx.report(_join(kind_path, "p99"), f"must be above the median ({median_s:g}s), got {p99_s:g}s")
        return _build(ctx, path, Distribution, kind="lognormal", median_s=median_s, p99_s=p99_s)
    if kind == "pareto":
        params = _table(ctx, kind_path, body, ("scale", "alpha"))
        if params is None:
            return _INVALID
        params.check_keys()
        scale_s = params.get("scale", _read_duration, positive=True)
        alpha = params.get("alpha", _read_float, low=0.0, high=100.0, low_open=True)
        return _build(ctx, path, Distribution, kind="pareto", scale_s=scale_s, alpha=alpha)
    if body is _INVALID:
        return _INVALID
    if not isinstance(body, list) or not body:
        return ctx.report(kind_path, f"expected a non-empty array of {{ weight = ..., <distribution> }}, got {_describe(body)}")
    components, weights = [], []
    for index, item in enumerate(body):
        item_path = f"{kind_path}[{index}]"
        if isinstance(item, dict) and "weight" not in item:
            ctx.report(_join(item_path, "weight"), 'required key "weight" is missing')
            weights.append(_INVALID)
        elif isinstance(item, dict):
            weights.append(_read_float(ctx, _join(item_path, "weight"), item["weight"], low=0.0, low_open=True, high=1e9))
        components.append(_read_distribution(ctx, item_path, item, in_mixture=True))
    return _build(ctx, path, Distribution, kind="mixture", components=tuple(components), weights=tuple(weights))


# --------------------------------------------------------------------------- [drill]

_DRILL_KEYS = ("id", "title", "difficulty", "briefing", "duration", "dt", "seed", "incident_start")


@attrs.frozen
class _DrillHeader:
    id: str
    title: str
    difficulty: int
    briefing: str
    duration_s: float
    dt_s: float
    seed: int
    incident_start_s: float | None


def _read_drill_header(ctx: _Context, raw) -> _DrillHeader | _Invalid:
    table = _table(ctx, "drill", raw, _DRILL_KEYS)
    if table is None:
        return _INVALID
    table.check_keys()
    header = dict(
        id=table.get("id", _read_str, pattern=_DRILL_ID, what="an id of lower-case letters, digits and '-'"),
        title=table.get("title", _read_str),
        difficulty=table.get("difficulty", _read_int, low=1, high=5),
        briefing=table.get("briefing", _read_str),
        duration_s=table.get("duration", _read_duration, positive=True, high=24 * 3600.0),
        dt_s=table.get("dt", _read_duration, default=0.05, positive=True, high=1.0),
        seed=table.get("seed", _read_int, low=0, high=2**63 - 1),
        incident_start_s=table.get("incident_start", _read_duration, default=None),
    )
    if any(_is_invalid(value) for value in header.values()):
        return _INVALID
    if header["dt_s"] > header["duration_s"]:
        return ctx.report("drill.dt", f"must not be longer than the drill ({header['duration_s']:g}s)")
    return _DrillHeader(**header)


# --------------------------------------------------------------------------- [service]

_SERVICE_KEYS = ("workers", "concurrency", "max_workers", "warmup", "queue_limit", "shed", "shed_mode", "memory", "ratelimit")
_MEMORY_KEYS = ("limit", "baseline", "per_request", "per_queued", "pressure", "gc_slowdown", "restart")
_RATELIMIT_KEYS = ("rate", "burst")
SHED_MODES = ("random", "priority")
"""How shedding picks its victims: at random, or lowest priority class first."""


def _read_queue_limit(ctx, path, value):
    if value is _INVALID:
        return _INVALID
    if value == "unbounded":
        return None
    if isinstance(value, str):
        return ctx.report(path, f'expected a whole number or "unbounded", got {_describe(value)}')
    return _read_int(ctx, path, value, low=0, high=10**9)


def _read_memory(ctx: _Context, raw) -> MemorySpec | _Invalid:
    table = _table(ctx, "service.memory", raw, _MEMORY_KEYS, required=False)
    if table is None:
        return _INVALID if raw is not None else MemorySpec()
    table.check_keys()
    defaults = MemorySpec()
    memory = dict(
        limit_mb=table.get("limit", _read_size, positive=True, default=defaults.limit_mb),
        baseline_mb=table.get("baseline", _read_size, default=defaults.baseline_mb),
        per_request_mb=table.get("per_request", _read_size, default=defaults.per_request_mb),
        per_queued_mb=table.get("per_queued", _read_size, default=defaults.per_queued_mb),
        pressure_fraction=table.get("pressure", _read_fraction, default=defaults.pressure_fraction),
        gc_slowdown=table.get("gc_slowdown", _read_float, low=1.0, high=1000.0, default=defaults.gc_slowdown),
        restart_s=table.get("restart", _read_duration, default=defaults.restart_s),
    )
    if not _is_invalid((memory["limit_mb"], memory["baseline_mb"])) and memory["baseline_mb"] >= memory["limit_mb"]:
        ctx.report("service.memory.baseline", f"must be below the limit ({memory['limit_mb']:g}MB), got {memory['baseline_mb']:g}MB")
        return _INVALID
    return _build(ctx, "service.memory", MemorySpec, **memory)


def _read_ratelimit(ctx: _Context, raw) -> RateLimitSpec | None | _Invalid:
    table = _table(ctx, "service.ratelimit", raw, _RATELIMIT_KEYS, required=False)
    if table is None:
        return _INVALID if raw is not None else None
    table.check_keys()
    rate_rps = table.get("rate", _read_float, low=0.0, low_open=True, high=_MAX_RATE)
    burst = table.get("burst", _read_float, low=1.0, high=_MAX_RATE)
    return _build(ctx, "service.ratelimit", RateLimitSpec, rate_rps=rate_rps, burst=burst)


def _read_service(ctx: _Context, raw) -> ServiceSpec | _Invalid:
    table = _table(ctx, "service", raw, _SERVICE_KEYS)
    if table is None:
        return _INVALID
    table.check_keys()
    workers = table.get("workers", _read_int, low=1, high=10_000)
    max_workers = table.get("max_workers", _read_int, low=1, high=10_000, default=None)
    if max_workers is None:
        max_workers = max(64, workers) if isinstance(workers, int) else _INVALID
    elif not _is_invalid((workers, max_workers)) and max_workers < workers:
        max_workers = ctx.report("service.max_workers", f"must be at least workers ({workers}), got {max_workers}")
    return _build(
        ctx, "service", ServiceSpec,
        workers=workers,
        concurrency=table.get("concurrency", _read_int, low=1, high=10_000),
        max_workers=max_workers,
        warmup_s=table.get("warmup", _read_duration, default=30.0),
        queue_limit=table.get("queue_limit", _read_queue_limit, default=None),
        shed_fraction=table.get("shed", _read_fraction, default=0.0),
        shed_mode=table.get("shed_mode", _read_choice, SHED_MODES, default="random"),
        memory=_read_memory(ctx, raw.get("memory")) if isinstance(raw, dict) else _INVALID,
        ratelimit=_read_ratelimit(ctx, raw.get("ratelimit")) if isinstance(raw, dict) else _INVALID,
    )


# --------------------------------------------------------------------------- [dependencies.*], [pools.*], [caches.*]

_DEPENDENCY_KEYS = ("kind", "latency", "error_rate", "knee", "contention", "max_connections", "capacity", "breaker",
                    "authenticates", "degraded_cost")
_DATABASE_ONLY = ("knee", "contention", "max_connections")
_SERVICE_ONLY = ("capacity",)
_BREAKER_KEYS = ("window", "failure_threshold", "min_calls", "open", "half_open_probes")
_POOL_KEYS = ("database", "size", "acquire_timeout")
_CACHE_KEYS = ("hit_ratio", "warm_requests")


@attrs.frozen
class _Names:
    """The names a drill defines, for checking references between sections."""

    dependency_kinds: dict[str, str | None]
    """Dependency name -> "database" / "service" (None when its kind is invalid)."""
    pools: tuple[str, ...]
    caches: tuple[str, ...]
    classes: tuple[str, ...]
    dependencies_malformed: bool = False

    def dependencies(self, kind: str | None = None) -> tuple[str, ...]:
        if self.dependencies_malformed:
            return _ANY_NAME
        return tuple(name for name, dep_kind in self.dependency_kinds.items() if kind is None or dep_kind == kind)


class _AnyName(tuple):
    """The names of a malformed section: every reference to it is accepted, so one
    mistake there is reported once, not again at every use."""

    def __contains__(self, item) -> bool:
        return True


_ANY_NAME = _AnyName()


def _named_tables(ctx: _Context, section: str, raw) -> list[tuple[str, str, dict | None]]:
    """(name, path, table) for each [section.NAME] table. A bad name or shape is
    reported and comes back with table None, so the model is never built without it."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        ctx.report(section, f"expected tables like [{section}.NAME], got {_describe(raw)}")
        return [(section, section, None)]
    entries = []
    for name, body in raw.items():
        path = _join(section, name)
        if not _NAME.fullmatch(name):
            ctx.report(path, f"the name {_describe(name)} must be letters, digits, '-' and '_'")
            body = None
        elif not isinstance(body, dict):
            ctx.report(path, f"expected a table [{path}], got {_describe(body)}")
            body = None
        entries.append((name, path, body))
    return entries


def _read_breaker(ctx: _Context, path: str, raw) -> BreakerSpec | None | _Invalid:
    table = _table(ctx, path, raw, _BREAKER_KEYS, required=False)
    if table is None:
        return _INVALID if raw is not None else None
    table.check_keys()
    defaults = BreakerSpec()
    return _build(
        ctx, path, BreakerSpec,
        window_s=table.get("window", _read_duration, positive=True, default=defaults.window_s),
        failure_threshold=table.get("failure_threshold", _read_fraction, default=defaults.failure_threshold),
        min_calls=table.get("min_calls", _read_int, low=1, high=10**6, default=defaults.min_calls),
        open_s=table.get("open", _read_duration, positive=True, default=defaults.open_s),
        half_open_probes=table.get("half_open_probes", _read_int, low=1, high=10**6, default=defaults.half_open_probes),
    )


def _read_dependency(ctx: _Context, name: str, path: str, raw: dict) -> Dependency | _Invalid:
    table = _Table(ctx, path, raw, _DEPENDENCY_KEYS)
    table.check_keys()
    kind = table.get("kind", _read_choice, ("database", "service"))
    wrong_for_kind = _SERVICE_ONLY if kind == "database" else _DATABASE_ONLY if kind == "service" else ()
    for key in wrong_for_kind:
        if key in raw:
            ctx.report(_join(path, key), f'"{key}" applies only to a dependency of kind "{"service" if kind == "database" else "database"}"')
    defaults = dict(knee=0, contention=1.0, max_connections=100, capacity=0)
    return _build(
        ctx, path, Dependency,
        name=name,
        kind=kind,
        latency=table.get("latency", _read_distribution),
        error_rate=table.get("error_rate", _read_fraction, default=0.0),
        knee=table.get("knee", _read_int, low=0, high=10**6, default=defaults["knee"]),
        contention=table.get("contention", _read_float, low=0.0, high=100.0, default=defaults["contention"]),
        max_connections=table.get("max_connections", _read_int, low=1, high=10**6, default=defaults["max_connections"]),
        capacity=table.get("capacity", _read_int, low=0, high=10**6, default=defaults["capacity"]),
        breaker=_read_breaker(ctx, _join(path, "breaker"), raw.get("breaker")),
        authenticates=table.get("authenticates", _read_bool, default=False),
    )


def _read_degraded_costs(ctx: _Context, raw) -> tuple[tuple[str, float], ...]:
    """(dependency, degraded_cost) for every [dependencies.NAME] that prices its fallback answers."""
    costs = []
    if isinstance(raw, dict):
        for name, body in raw.items():
            if isinstance(body, dict) and "degraded_cost" in body:
                cost = _read_float(ctx, _join("dependencies", name, "degraded_cost"), body["degraded_cost"],
                                   low=0.0, high=1.0)
                if not _is_invalid(cost):
                    costs.append((name, cost))
    return tuple(costs)


def _read_pool(ctx: _Context, name: str, path: str, raw: dict, names: _Names) -> PoolSpec | _Invalid:
    table = _Table(ctx, path, raw, _POOL_KEYS)
    table.check_keys()
    database = table.get("database", _read_reference, names.dependencies(), "a dependency of this drill")
    if isinstance(database, str) and names.dependency_kinds.get(database) == "service":
        database = ctx.report(_join(path, "database"), f'"{database}" is a dependency of kind "service"; a pool needs kind "database"')
    return _build(
        ctx, path, PoolSpec,
        name=name,
        database=database,
        size=table.get("size", _read_int, low=1, high=10**6),
        acquire_timeout_s=table.get("acquire_timeout", _read_duration, default=None),
    )


def _read_cache(ctx: _Context, name: str, path: str, raw: dict) -> CacheSpec | _Invalid:
    table = _Table(ctx, path, raw, _CACHE_KEYS)
    table.check_keys()
    return _build(
        ctx, path, CacheSpec,
        name=name,
        hit_ratio=table.get("hit_ratio", _read_fraction),
        warm_requests=table.get("warm_requests", _read_float, low=0.0, low_open=True, high=1e12, default=1000.0),
    )


# --------------------------------------------------------------------------- [[classes]]

_CLASS_KEYS = ("name", "priority", "timeout", "arrivals", "retry", "plan")
_RETRY_KEYS = ("retries", "backoff", "multiplier", "jitter")
_ARRIVAL_KEYS = {
    "constant": ("kind", "rate"),
    "ramp": ("kind", "rate", "to", "start", "end"),
    "step": ("kind", "rate", "to", "at"),
    "burst": ("kind", "rate", "to", "at", "duration"),
    "pulses": ("kind", "rate", "to", "start", "period", "width"),
}
_STEP_KEYS = {
    "cpu": ("cpu",),
    "cache": ("cache",),
    "db": ("db", "queries"),
    "call": ("call", "timeout", "retries", "backoff", "fallback"),
    "stream": ("stream", "duration", "slow_fraction", "slow_factor"),
}


def _read_arrivals(ctx: _Context, path: str, raw) -> ArrivalProfile | _Invalid:
    table = _table(ctx, path, raw, ())
    if table is None:
        return _INVALID
    kind = table.get("kind", _read_choice, tuple(_ARRIVAL_KEYS), "arrivals kind", default="constant")
    if kind is _INVALID:
        return _INVALID
    table.keys = _ARRIVAL_KEYS[kind]
    other_kinds = {
        key: f'"{key}" is not used by arrivals of kind "{kind}" (it takes {", ".join(_ARRIVAL_KEYS[kind][1:])})'
        for keys in _ARRIVAL_KEYS.values() for key in keys if key not in table.keys
    }
    table.check_keys(other_kinds)
    rate = dict(low=0.0, high=_MAX_RATE)
    fields = dict(kind=kind, rate_rps=table.get("rate", _read_float, **rate))
    if kind != "constant":
        fields["to_rps"] = table.get("to", _read_float, **rate)
    if kind == "ramp":
        fields["start_s"] = table.get("start", _read_duration)
        fields["end_s"] = table.get("end", _read_duration)
        if not _is_invalid((fields["start_s"], fields["end_s"])) and fields["end_s"] <= fields["start_s"]:
            fields["end_s"] = ctx.report(_join(path, "end"), f"must be after start ({fields['start_s']:g}s), got {fields['end_s']:g}s")
    elif kind == "step":
        fields["start_s"] = table.get("at", _read_duration)
    elif kind == "burst":
        fields["start_s"] = table.get("at", _read_duration)
        fields["duration_s"] = table.get("duration", _read_duration, positive=True)
    elif kind == "pulses":
        fields["start_s"] = table.get("start", _read_duration, default=0.0)
        fields["period_s"] = table.get("period", _read_duration, positive=True)
        fields["width_s"] = table.get("width", _read_duration, positive=True)
        if not _is_invalid((fields["period_s"], fields["width_s"])) and fields["width_s"] > fields["period_s"]:
            fields["width_s"] = ctx.report(_join(path, "width"), f"must not exceed the period ({fields['period_s']:g}s), got {fields['width_s']:g}s")
    return _build(ctx, path, ArrivalProfile, **fields)


def _read_retry(ctx: _Context, path: str, raw) -> RetryPolicy | _Invalid:
    table = _table(ctx, path, raw, _RETRY_KEYS, required=False)
    if table is None:
        return _INVALID if raw is not None else RetryPolicy()
    table.check_keys()
    defaults = RetryPolicy()
    return _build(
        ctx, path, RetryPolicy,
        retries=table.get("retries", _read_int, low=0, high=100, default=defaults.retries),
        backoff_s=table.get("backoff", _read_duration, default=defaults.backoff_s),
        multiplier=table.get("multiplier", _read_float, low=1.0, high=100.0, default=defaults.multiplier),
        jitter=table.get("jitter", _read_fraction, default=defaults.jitter),
    )


def _read_step(ctx: _Context, path: str, raw, names: _Names):
    if raw is _INVALID:
        return _INVALID
    if not isinstance(raw, dict):
        return ctx.report(path, f'expected a step table such as {{ cpu = "5ms" }}, got {_describe(raw)}')
    present = [kind for kind in _STEP_KEYS if kind in raw]
    if len(present) > 1:
        return ctx.report(path, f"one step per entry, but this one has {' and '.join(present)}")
    if not present:
        unknown = next(iter(raw), "")
        hint = _suggest(unknown, _STEP_KEYS) if unknown else ""
        if hint.startswith("; did"):
            return ctx.report(_join(path, unknown), f'unknown step "{unknown}"{hint}')
        return ctx.report(path, f"expected a step: one of {', '.join(_STEP_KEYS)}")
    kind = present[0]
    table = _Table(ctx, path, raw, _STEP_KEYS[kind])
    table.check_keys({
        key: f'"{key}" is not an option of a {kind} step (it takes {", ".join(_STEP_KEYS[kind][1:]) or "no options"})'
        for keys in _STEP_KEYS.values() for key in keys if key not in table.keys
    })
    if kind == "cpu":
        return _build(ctx, path, CpuStep, duration=table.get("cpu", _read_distribution))
    if kind == "cache":
        return _build(ctx, path, CacheStep, cache=table.get("cache", _read_reference, names.caches, "a cache of this drill ([caches.NAME])"))
    if kind == "db":
        return _build(
            ctx, path, DbStep,
            pool=table.get("db", _read_reference, names.pools, "a pool of this drill ([pools.NAME])"),
            queries=table.get("queries", _read_int, low=1, high=1000, default=1),
        )
    if kind == "call":
        dependency = table.get("call", _read_reference, names.dependencies(), "a dependency of this drill")
        if isinstance(dependency, str) and names.dependency_kinds.get(dependency) == "database":
            dependency = ctx.report(
                _join(path, "call"), f'"{dependency}" is a database; query it with a db step through a pool, or make it kind "service"'
            )
        return _build(
            ctx, path, CallStep,
            dependency=dependency,
            timeout_s=table.get("timeout", _read_duration, positive=True, default=None),
            retries=table.get("retries", _read_int, low=0, high=100, default=0),
            backoff_s=table.get("backoff", _read_duration, default=0.0),
            fallback=table.get("fallback", _read_bool, default=False),
        )
    return _build(
        ctx, path, StreamStep,
        size_mb=table.get("stream", _read_size),
        duration=table.get("duration", _read_distribution),
        slow_fraction=table.get("slow_fraction", _read_fraction, default=0.0),
        slow_factor=table.get("slow_factor", _read_float, low=1.0, high=1e6, default=1.0),
    )


def _read_class(ctx: _Context, path: str, raw: dict, names: _Names) -> TrafficClass | _Invalid:
    table = _Table(ctx, path, raw, _CLASS_KEYS)
    table.check_keys()
    plan_raw = raw.get("plan")
    plan_path = _join(path, "plan")
    if plan_raw is None:
        plan = ctx.report(plan_path, 'required key "plan" is missing (a list of steps such as [ { cpu = "5ms" } ])')
    elif not isinstance(plan_raw, list) or not plan_raw:
        plan = ctx.report(plan_path, f"expected a non-empty array of steps, got {_describe(plan_raw)}")
    else:
        plan = tuple(_read_step(ctx, f"{plan_path}[{index}]", step, names) for index, step in enumerate(plan_raw))
    return _build(
        ctx, path, TrafficClass,
        name=table.get("name", _read_name),
        arrivals=_read_arrivals(ctx, _join(path, "arrivals"), raw.get("arrivals")),
        plan=plan,
        priority=table.get("priority", _read_int, low=-1000, high=1000, default=1),
        timeout_s=table.get("timeout", _read_duration, positive=True, default=None),
        retry=_read_retry(ctx, _join(path, "retry"), raw.get("retry")),
    )


# --------------------------------------------------------------------------- [[faults]]

_FAULT_COMMON_KEYS = ("at", "target", "kind", "duration")
_DEPENDENCY_FAULTS = ("slow", "errors", "down", "blackhole", "latency_pulses", "packet_loss")
_FAULT_PARAMS = {
    "slow": ("factor", "add"),
    "errors": ("rate",),
    "down": (),
    "blackhole": (),
    "latency_pulses": ("period", "width", "add"),
    "packet_loss": ("rate", "retransmit"),
    "cache_flush": ("hit_ratio",),
    "traffic": ("factor",),
    "memory_leak": ("mb_per_s",),
    "lose_workers": ("count",),
}
_ALL_FAULT_PARAMS = tuple(sorted({param for params in _FAULT_PARAMS.values() for param in params}))


def _read_fault_target(ctx: _Context, path: str, value, kind: str, names: _Names):
    if kind in _DEPENDENCY_FAULTS:
        return _read_reference(ctx, path, value, names.dependencies(), f'a dependency of this drill (kind "{kind}" targets a dependency)')
    if kind == "cache_flush":
        return _read_reference(ctx, path, value, names.caches, 'a cache of this drill (kind "cache_flush" targets a cache)')
    if kind == "traffic":
        return _read_reference(ctx, path, value, names.classes, 'a traffic class of this drill (kind "traffic" targets a class)')
    if value != "service":
        return ctx.report(path, f'kind "{kind}" targets the service: write target = "service", got {_describe(value)}')
    return value


def _read_fault(ctx: _Context, path: str, raw: dict, names: _Names, duration_s) -> Fault | _Invalid:
    table = _Table(ctx, path, raw, _FAULT_COMMON_KEYS)
    kind = table.get("kind", _read_choice, tuple(_FAULT_PARAMS), "fault kind")
    params = _FAULT_PARAMS.get(kind, _ALL_FAULT_PARAMS)
    table.keys = _FAULT_COMMON_KEYS + params
    table.check_keys({
        key: f'"{key}" is not a parameter of faults of kind "{kind}" (it takes {", ".join(params) or "no parameters"})'
        for key in _ALL_FAULT_PARAMS if key not in params
    })
    at_s = table.get("at", _read_duration)
    if isinstance(at_s, float) and isinstance(duration_s, float) and at_s >= duration_s:
        at_s = ctx.report(_join(path, "at"), f"is at or after the end of the drill ({duration_s:g}s), got {at_s:g}s")
    target = table.get("target", _read_fault_target, kind, names) if kind is not _INVALID else _INVALID
    fields = dict(at_s=at_s, target=target, kind=kind, duration_s=table.get("duration", _read_duration, positive=True, default=None))
    if kind is _INVALID:
        return _INVALID
    if kind == "slow":
        if "factor" not in raw and "add" not in raw:
            return ctx.report(path, 'a "slow" fault needs factor (latency multiplier) and/or add (extra latency, e.g. "200ms")')
        fields["factor"] = table.get("factor", _read_float, low=0.0, low_open=True, high=1e6, default=1.0)
        fields["add_s"] = table.get("add", _read_duration, default=0.0)
    elif kind == "errors":
        fields["rate"] = table.get("rate", _read_fraction)
    elif kind == "latency_pulses":
        fields["period_s"] = table.get("period", _read_duration, positive=True)
        fields["width_s"] = table.get("width", _read_duration, positive=True)
        fields["add_s"] = table.get("add", _read_duration, positive=True)
        if not _is_invalid((fields["period_s"], fields["width_s"])) and fields["width_s"] > fields["period_s"]:
            fields["width_s"] = ctx.report(_join(path, "width"), f"must not exceed the period ({fields['period_s']:g}s), got {fields['width_s']:g}s")
    elif kind == "packet_loss":
        fields["rate"] = table.get("rate", _read_fraction)
        fields["retransmit_s"] = table.get("retransmit", _read_duration, positive=True, default=1.0)
    elif kind == "cache_flush":
        fields["hit_ratio"] = table.get("hit_ratio", _read_fraction, default=0.0)
    elif kind == "traffic":
        fields["factor"] = table.get("factor", _read_float, low=0.0, high=1000.0)
    elif kind == "memory_leak":
        fields["mb_per_s"] = table.get("mb_per_s", _read_float, low=0.0, low_open=True, high=_MAX_SIZE_MB)
    elif kind == "lose_workers":
        fields["count"] = table.get("count", _read_int, low=1, high=10_000)
    return _build(ctx, path, Fault, **fields)


def _read_time(ctx: _Context, path: str, value, incident_start_s, duration_s):
    """A time in the drill: "90s" from the start, or "+20s" after the incident starts."""
    if value is _INVALID:
        return _INVALID
    if isinstance(value, str) and value.lstrip().startswith("+"):
        offset_s = _read_duration(ctx, path, value.lstrip()[1:])
        if _is_invalid((offset_s, incident_start_s)):
            return _INVALID
        # Rounded so "+20s" after 60.71s reads 80.71, not 80.71000000000001.
        at_s = round(incident_start_s + offset_s, 6)
    else:
        at_s = _read_duration(ctx, path, value)
    if isinstance(at_s, float) and isinstance(duration_s, float) and at_s >= duration_s:
        return ctx.report(path, f"is at or after the end of the drill ({duration_s:g}s), got {at_s:g}s")
    return at_s


# --------------------------------------------------------------------------- [[slo]]

_SLO_KEYS = ("name", "kind", "target", "threshold", "classes", "events", "window")


def _read_class_list(ctx, path, value, names: _Names):
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, list):
        return ctx.report(path, f"expected an array of class names, got {_describe(value)}")
    return tuple(
        _read_reference(ctx, f"{path}[{index}]", item, names.classes, "a traffic class of this drill")
        for index, item in enumerate(value)
    )


def _read_slo(ctx: _Context, path: str, raw: dict, names: _Names) -> SLOSpec | _Invalid:
    table = _Table(ctx, path, raw, _SLO_KEYS)
    table.check_keys()
    kind = table.get("kind", _read_choice, ("availability", "latency"))
    threshold_s = table.get("threshold", _read_duration, positive=True, default=None)
    if kind == "latency" and threshold_s is None:
        threshold_s = ctx.report(_join(path, "threshold"), 'a latency SLO needs a threshold, e.g. threshold = "300ms"')
    elif kind == "availability" and threshold_s is not None:
        threshold_s = ctx.report(_join(path, "threshold"), 'only latency SLOs take a threshold; remove it or use kind = "latency"')
    return _build(
        ctx, path, SLOSpec,
        name=table.get("name", _read_str),
        kind=kind,
        target=table.get("target", _read_float, low=0.0, high=1.0, low_open=True, high_open=True),
        threshold_s=threshold_s,
        classes=table.get("classes", _read_class_list, names, default=()),
        events=table.get("events", _read_choice, ("fresh", "attempts"), default="fresh"),
        window_s=table.get("window", _read_duration, positive=True, high=366 * 86400.0, default=30 * 86400.0),
    )


# --------------------------------------------------------------------------- [[par]] actions

_ACTION_ALIASES = {"timeout": "timeout_s", "backoff": "backoff_s", "rate": "rate_rps"}
"""Keys a drill may write in the drill-file style ("2s") for the action's `_s`/`_rps` argument."""

ACTION_ARGUMENTS: dict[str, dict[str, bool]] = {
    "pool.resize": {"pool": True, "size": True},
    "breaker.force_open": {"dependency": True},
    "breaker.force_close": {"dependency": True},
    "breaker.auto": {"dependency": True},
    "shed.set": {"fraction": True, "mode": False},
    "queue.set_limit": {"limit": True},
    "timeout.set": {"dependency": True, "timeout_s": True},
    "retry.set": {"dependency": False, "class": False, "retries": True, "backoff_s": False, "jitter": False},
    "ratelimit.set": {"rate_rps": True, "burst": False},
    "workers.scale": {"workers": True},
    "bulkhead.set": {"class": True, "pool": True, "size": True},
    "fallback.set": {"dependency": True, "enabled": False},
    "worker.restart": {"worker": False},
}
"""Each action's arguments (canonical names, as `sim.engine.actions` reads them) and whether
they are required. The ranges below mirror what `sim.engine.actions` accepts, so a par
solution is never refused by the engine for a value the loader let through."""


def _read_seconds_arg(ctx, path, value, *, low=0.0, high=_MAX_DURATION_S):
    if value is _INVALID:
        return _INVALID
    # `timeout_s = 2.0` is plain seconds; `timeout = "2s"` or `timeout_s = "2s"` carry a unit.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _read_float(ctx, path, value, low=low, high=high)
    seconds = _read_duration(ctx, path, value, high=high)
    if isinstance(seconds, float) and seconds < low:
        return ctx.report(path, f"must be at least {low * 1000:g}ms, got {_describe(value)}")
    return seconds


def _read_action_timeout(ctx, path, value):
    # "none" removes the timeout (the engine's spelling).
    if value == "none":
        return value
    return _read_seconds_arg(ctx, path, value, low=0.001, high=3600.0)


def _read_action_limit(ctx, path, value):
    # Kept as "unbounded": the engine reads it, and 0 means a queue of length zero.
    if value == "unbounded":
        return value
    return _read_queue_limit(ctx, path, value)


def _read_action_arg(ctx: _Context, path: str, action: str, key: str, value, names: _Names, service):
    """One action argument, checked against the drill's names."""
    if key == "pool":
        return _read_reference(ctx, path, value, names.pools, "a pool of this drill")
    if key == "dependency":
        return _read_reference(ctx, path, value, names.dependencies(), "a dependency of this drill")
    if key == "class":
        return _read_reference(ctx, path, value, names.classes, "a traffic class of this drill")
    if key == "size":
        # bulkhead.set size 0 removes the bulkhead; a pool keeps at least one connection.
        return _read_int(ctx, path, value, low=0 if action == "bulkhead.set" else 1, high=10**6)
    if key == "burst":
        return _read_float(ctx, path, value, low=1.0, high=_MAX_RATE)
    if key in ("fraction", "jitter"):
        return _read_fraction(ctx, path, value)
    if key == "mode":
        return _read_choice(ctx, path, value, SHED_MODES)
    if key == "limit":
        return _read_action_limit(ctx, path, value)
    if key == "timeout_s":
        return _read_action_timeout(ctx, path, value)
    if key == "backoff_s":
        return _read_seconds_arg(ctx, path, value, high=600.0)
    if key == "retries":
        return _read_int(ctx, path, value, low=0, high=10)
    if key == "rate_rps":
        return _read_float(ctx, path, value, low=0.0, high=_MAX_RATE)
    if key == "enabled":
        return _read_bool(ctx, path, value)
    limit = service.max_workers if isinstance(service, ServiceSpec) else 10_000
    if key == "workers":
        return _read_int(ctx, path, value, low=1, high=limit)
    return _read_int(ctx, path, value, low=0, high=limit - 1)  # worker index


def _read_action(ctx: _Context, path: str, raw: dict, names: _Names, service, incident_start_s, duration_s) -> Action | _Invalid:
    problems_before = len(ctx.problems)
    table = _Table(ctx, path, raw, ("at", "action"))
    at_s = table.get("at", _read_time, incident_start_s, duration_s)
    name = table.get("action", _read_choice, ACTION_NAMES, "action")
    if name is _INVALID:
        return _INVALID
    expected = ACTION_ARGUMENTS[name]
    args: dict[str, object] = {}
    for key, value in raw.items():
        if key in ("at", "action"):
            continue
        canonical = _ACTION_ALIASES.get(key, key)
        key_path = _join(path, key)
        if canonical not in expected:
            known = list(expected) + [alias for alias, target in _ACTION_ALIASES.items() if target in expected]
            takes = ", ".join(expected) or "no arguments"
            hint = _suggest(key, known)
            ctx.report(key_path, f'"{key}" is not an argument of {name} (it takes {takes}){hint if hint.startswith("; did") else ""}')
            continue
        if canonical in args:
            ctx.report(key_path, f'"{key}" repeats "{canonical}"; give it once')
            continue
        if value is _INVALID:
            args[canonical] = _INVALID
        elif key in _ACTION_ALIASES and canonical in ("timeout_s", "backoff_s") and not isinstance(value, str):
            args[canonical] = ctx.report(key_path, f'expected a duration like "2s", got {_describe(value)} (or write {canonical} = {value} for seconds)')
        else:
            args[canonical] = _read_action_arg(ctx, key_path, name, canonical, value, names, service)
    for key, required in expected.items():
        if required and key not in args:
            alias = next((short for short, long in _ACTION_ALIASES.items() if long == key), None)
            also = f' (or {alias} = "2s")' if alias in ("timeout", "backoff") else ""
            ctx.report(_join(path, key), f'{name} needs "{key}"{also}')
    if name == "retry.set":
        if ("dependency" in args) == ("class" in args):
            ctx.report(path, 'retry.set needs exactly one of "dependency" (the service\'s own retries) or "class" (client retries)')
        elif "jitter" in args and "dependency" in args:
            ctx.report(_join(path, "jitter"), "jitter applies to client retries (class), not to a dependency")
    if len(ctx.problems) > problems_before:
        return _INVALID
    return _build(ctx, path, Action, t_s=at_s, name=name, args=args)


def _check_par_capacity(ctx: _Context, entries: list[tuple[str, Action]], model: ModelSpec) -> None:
    """Replay the par pool sizes in time order: the engine refuses a pool.resize or
    bulkhead.set that asks a database for more than its max_connections, or a
    bulkhead on a pool the class does not use."""
    pool_database = {pool.name: pool.database for pool in model.pools}
    sizes = {("pool", pool.name): pool.size for pool in model.pools}
    max_connections = {dep.name: dep.max_connections for dep in model.dependencies}
    uses = {cls.name: {step.pool for step in cls.plan if isinstance(step, DbStep)} for cls in model.classes}
    for path, action in sorted(entries, key=lambda entry: entry[1].t_s):
        if action.name == "pool.resize":
            key = ("pool", action.arg("pool"))
        elif action.name == "bulkhead.set":
            cls, pool = action.arg("class"), action.arg("pool")
            if pool not in uses.get(cls, ()):
                ctx.report(_join(path, "pool"), f'class "{cls}" does not query pool "{pool}", so it cannot get a bulkhead from it')
                continue
            key = ("bulkhead", cls, pool)
        else:
            continue
        database = pool_database.get(key[-1])
        if database not in max_connections:
            continue  # a dangling name, reported where it was read
        asked = sum(size for other, size in sizes.items() if other != key and pool_database.get(other[-1]) == database)
        asked += action.arg("size")
        if asked > max_connections[database]:
            ctx.report(
                _join(path, "size"),
                f"{database} allows {max_connections[database]} connections; its pools would need {asked} (the engine would refuse this)",
            )
            continue
        sizes[key] = action.arg("size")


# --------------------------------------------------------------------------- [[hints]]

_HINT_KEYS = ("at", "when", "text")


def _read_condition(ctx: _Context, path: str, value, names: _Names):
    if value is _INVALID:
        return _INVALID
    if not isinstance(value, str):
        return ctx.report(path, f'expected a condition like "p95_ms > 300 for 5s", got {_describe(value)}')
    try:
        condition = parse_condition(value)
    except ConditionError as error:
        return ctx.report(path, str(error))
    for pool in condition.pool_names():
        if pool not in names.pools:
            ctx.report(path, f'"pool_{pool}_..." names no pool of this drill{_suggest(pool, names.pools)}')
    for dependency in condition.breaker_names():
        if dependency not in names.dependency_kinds:
            ctx.report(path, f'"breaker_{dependency}_open" names no dependency of this drill{_suggest(dependency, names.dependencies())}')
    return value


def _read_hint(ctx: _Context, path: str, raw: dict, names: _Names, incident_start_s, duration_s) -> Hint | _Invalid:
    table = _Table(ctx, path, raw, _HINT_KEYS)
    table.check_keys()
    if ("at" in raw) == ("when" in raw):
        return ctx.report(path, 'a hint needs exactly one of "at" (a time) or "when" (a condition such as "p95_ms > 300 for 5s")')
    return _build(
        ctx, path, Hint,
        text=table.get("text", _read_str),
        at_s=table.get("at", _read_time, incident_start_s, duration_s, default=None),
        when=table.get("when", _read_condition, names, default=None),
    )


# --------------------------------------------------------------------------- the whole file

_TOP_LEVEL_KEYS = ("drill", "service", "classes", "dependencies", "pools", "caches", "faults", "slo", "par", "hints",
                   "wrong_move", "debrief")
_DEBRIEF_KEYS = ("lesson", "wrong_move")


def _read_debrief(ctx: _Context, raw) -> tuple[str, str]:
    """[debrief]: the lesson the debrief teaches, and what the drill's [[wrong_move]] is, in words."""
    table = _table(ctx, "debrief", raw, _DEBRIEF_KEYS, required=False)
    if table is None:
        return "", ""
    table.check_keys()
    lesson = table.get("lesson", _read_str, default="")
    wrong_move = table.get("wrong_move", _read_str, default="")
    return ("" if _is_invalid(lesson) else lesson.strip()), ("" if _is_invalid(wrong_move) else wrong_move.strip())


def _collect_names(ctx: _Context, document: dict) -> _Names:
    def table_names(section: str) -> tuple[str, ...]:
        raw = document.get(section)
        if raw is None:
            return ()
        return tuple(name for name in raw if isinstance(name, str)) if isinstance(raw, dict) else _ANY_NAME

    dependencies = document.get("dependencies")
    kinds: dict[str, str | None] = {}
    if isinstance(dependencies, dict):
        for name, body in dependencies.items():
            kind = body.get("kind") if isinstance(body, dict) else None
            kinds[name] = kind if kind in ("database", "service") else None
    classes = document.get("classes")
    class_names = []
    if isinstance(classes, list):
        for index, entry in enumerate(classes):
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                if name in class_names:
                    ctx.report(f"classes[{index}].name", f'class "{name}" is defined twice')
                class_names.append(name)
    return _Names(
        dependency_kinds=kinds, pools=table_names("pools"), caches=table_names("caches"),
        classes=tuple(class_names) if classes is None or isinstance(classes, list) else _ANY_NAME,
        dependencies_malformed=dependencies is not None and not isinstance(dependencies, dict),
    )


def _read_document(ctx: _Context, document: dict) -> Drill | _Invalid:
    """Build the Drill from a parsed (and range-drawn) document, reporting every problem."""
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            ctx.report(key, f'unknown section "{key}"{_suggest(key, _TOP_LEVEL_KEYS)}')
    names = _collect_names(ctx, document)
    header = _read_drill_header(ctx, document.get("drill"))
    duration_s = header.duration_s if isinstance(header, _DrillHeader) else _INVALID
    service = _read_service(ctx, document.get("service"))

    def section(name: str, reader, *extra) -> tuple:
        entries = (_named_tables if name in ("dependencies", "pools", "caches") else _array_of_tables)(ctx, name, document.get(name))
        return _read_each([(ctx, *entry) for entry in entries], reader, *extra)

    dependencies = section("dependencies", _read_dependency)
    pools = section("pools", _read_pool, names)
    caches = section("caches", _read_cache)
    if document.get("classes") in (None, []):
        ctx.report("classes", 'a drill needs at least one traffic class ([[classes]] with name, arrivals and plan)')
    classes = section("classes", _read_class, names)
    faults = section("faults", _read_fault, names, duration_s)
    incident_start_s = _incident_start(ctx, header, faults)
    if document.get("slo") in (None, []):
        # Without one the run cannot be judged: every score would be a meaningless 100.
        ctx.report("slo", "a drill needs at least one [[slo]] (name, kind, target): runs are scored against them")
    slos = section("slo", _read_slo, names)
    slo_names = [slo.name for slo in slos if isinstance(slo, SLOSpec)]
    for index, name in enumerate(slo_names):
        if name in slo_names[:index]:
            ctx.report("slo", f'SLO "{name}" is defined twice')
    timing = (incident_start_s, duration_s)
    par = section("par", _read_action, names, service, *timing)
    # A wrong move may well be refused by the engine (that is part of the lesson): no capacity check.
    wrong_move = section("wrong_move", _read_action, names, service, *timing)
    hints = section("hints", _read_hint, names, *timing)
    lesson, wrong_move_text = _read_debrief(ctx, document.get("debrief"))
    degraded_costs = _read_degraded_costs(ctx, document.get("dependencies"))
    if not isinstance(header, _DrillHeader):
        return _INVALID
    model = _build(
        ctx, "", ModelSpec,
        service=service, classes=classes, dependencies=dependencies, pools=pools, caches=caches, faults=faults, dt_s=header.dt_s,
    )
    if isinstance(model, ModelSpec):
        actions = [(f"par[{index}]", action) for index, action in enumerate(par) if isinstance(action, Action)]
        _check_par_capacity(ctx, actions, model)
    return _build(
        ctx, "drill", Drill,
        id=header.id, title=header.title, difficulty=header.difficulty, briefing=header.briefing,
        duration_s=header.duration_s, seed=header.seed, model=model, slos=slos,
        # Stable sort: same-time actions keep the order the file gives them.
        par=tuple(sorted(par, key=lambda action: action.t_s)) if not _is_invalid(par) else _INVALID,
        hints=hints, incident_start_s=incident_start_s,
        debrief=lesson, degraded_costs=degraded_costs, wrong_move_text=wrong_move_text,
        wrong_move=tuple(sorted(wrong_move, key=lambda action: action.t_s)) if not _is_invalid(wrong_move) else _INVALID,
    )


def _incident_start(ctx: _Context, header, faults) -> float | _Invalid:
    """[drill].incident_start, else the first fault's time (0 without faults)."""
    if not isinstance(header, _DrillHeader):
        return _INVALID
    if header.incident_start_s is None:
        if _is_invalid(faults):
            return _INVALID
        return min((fault.at_s for fault in faults), default=0.0)
    if header.incident_start_s >= header.duration_s:
        return ctx.report("drill.incident_start", f"is at or after the end of the drill ({header.duration_s:g}s), got {header.incident_start_s:g}s")
    return header.incident_start_s


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

    def attempt(mode: str, rng) -> tuple[Drill | _Invalid, list[Problem]]:
        ctx = _Context(source.file, lines)
        document = _draw_ranges(ctx, source.document, mode, rng)
        drill = _read_document(ctx, document)
        return drill, ctx.problems

    problems: list[Problem] = []
    seen: set[str] = set()
    # Every value a range can produce must be valid, not only this seed's draw:
    # check both ends first (their messages do not depend on the seed), then the draw.
    modes = ("low", "high", "draw") if _has_ranges(source.document) else ("draw",)
    for mode in modes:
        rng = np.random.default_rng(np.random.SeedSequence([seed, RANGE_SEED_SALT])) if mode == "draw" else None
        drill, found = attempt(mode, rng)
        # Dedupe across runs by field, never within one run (a field may have two problems).
        problems.extend(problem for problem in found if problem.path not in seen)
        seen.update(problem.path for problem in found)
    if problems or drill is _INVALID:
        raise InputError(sorted(problems, key=lambda p: (p.line is None, p.line or 0)) or [
            Problem(file=source.file, path="", message="the drill is not valid")
        ])
    return attrs.evolve(drill, seed=seed, source_path=str(Path(path).resolve()), source_sha256=source.sha256)


def _has_ranges(document) -> bool:
    if isinstance(document, dict):
        return any(_has_ranges(value) for key, value in document.items() if key not in _TEXT_KEYS)
    if isinstance(document, list):
        return any(_has_ranges(item) for item in document)
    return isinstance(document, str) and bool(_RANGE_LIKE.match(document))


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


# --------------------------------------------------------------------------- finding drills


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
    hint = _suggest(id_or_path, known) if known else "; no drills are installed"
    raise InputError.single(id_or_path, f'no drill with id "{id_or_path}"{hint}')
