"""Problems and the values they leave behind: the context that collects a file's
problems, the marker for a value that failed, and how values are shown in messages."""

from __future__ import annotations

import difflib

import attrs

from sim.model.errors import Problem


class Invalid:
    """Marks a value that failed validation (its problem is already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = Invalid()
"""The one `Invalid` value: readers return it after reporting, and builders skip what holds it."""


@attrs.frozen
class Drawn:
    """A value that came from a seeded range, remembered for error messages."""

    value: float
    kind: str
    """int | float | duration (seconds) | size (MB), as in `ValueRange.kind`."""
    origin: str
    """How it was chosen, e.g. 'drawn from range "0..2"'."""


@attrs.define
class Context:
    """Collects problems for one file; knows the source lines to point at."""

    file: str
    lines: dict[str, int]
    problems: list[Problem] = attrs.Factory(list)

    def line_of(self, path: str) -> int | None:
        """The line of the field itself, else of the nearest enclosing table or array element."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def report(self, path: str, message: str) -> Invalid:
        """Record a problem at `path`; returns INVALID so a reader can `return ctx.report(...)`."""
        self.problems.append(Problem(file=self.file, path=path, message=message, line=self.line_of(path)))
        return INVALID


def describe(value) -> str:
    """A value as the user wrote it, for "got ..." in messages."""
    if isinstance(value, Drawn):
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
    if isinstance(value, Invalid):
        return "an invalid value"
    return f"a {type(value).__name__}"


def suggest(key: str, known) -> str:
    """'; did you mean "x"?' for a close match, else the known names ("" when there are none)."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; expected one of: {', '.join(sorted(known))}" if known else ""


def is_invalid(value) -> bool:
    """True for INVALID, or a tuple/list holding it anywhere."""
    if value is INVALID:
        return True
    if isinstance(value, (tuple, list)):
        return any(is_invalid(item) for item in value)
    return False


def build(ctx: Context, path: str, cls, **kwargs):
    """Construct an attrs spec value, or INVALID if any part was invalid.

    The loader checks every field itself; turning attrs validator errors into a
    problem is the safety net, so no TypeError/ValueError ever escapes.
    """
    if any(is_invalid(value) for value in kwargs.values()):
        return INVALID
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        return ctx.report(path, f"invalid {cls.__name__}: {error}")
