"""Errors are data: every problem in a user's file is a record, raised together.

The drill loader, the save loader and the actions/runbook readers collect
`Problem`s and raise one `InputError`; the CLI prints it and exits 2, the app
shows it in a dialog. Nobody sees a traceback for bad input.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Problem:
    """One thing wrong with an input file."""

    file: str
    path: str
    """Field path inside the file, e.g. 'faults[2].at' ('' for the whole file)."""
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(Exception):
    """A user-supplied file (drill, save, actions, runbook) is not valid."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, message: str, path: str = "", line: int | None = None) -> InputError:
        return cls([Problem(file=file, path=path, message=message, line=line)])

    def first_line(self) -> str:
        """A one-line summary for stderr: the first problem, and how many more."""
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = len(self.problems) - 1
        return first if more <= 0 else f"{first} (and {more} more problem{'s' if more > 1 else ''})"
