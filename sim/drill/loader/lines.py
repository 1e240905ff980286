"""The TOML position index: which line of a drill file each field path starts on.

The loader reports problems by field path ("faults[2].at"); this index maps a
path to the line to point at. tomllib keeps no positions, so a small scanner
walks the (already parsed, hence valid) text again.
"""

from __future__ import annotations

import re


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
                    self.lines.setdefault(join_path(table, *keys[:end]), self.line)
                path = join_path(table, *keys)
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
            path = join_path(path, key)
            if path in self.array_tables:
                path = f"{path}[{self.array_tables[path]}]"
            # Parents a header defines implicitly point at their first mention.
            self.lines.setdefault(path, self.line)
        return join_path(path, last)

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
                    self.lines.setdefault(join_path(path, *keys[:end]), self.line)
                key_path = join_path(path, *keys)
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


def join_path(*parts: str) -> str:
    """Field path parts joined with dots, empty ones left out ("", "drill", "id" -> "drill.id")."""
    return ".".join(part for part in parts if part)
