"""Rows of the dependencies panel: one line per dependency or cache, cut by priority when narrow."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import LEVEL_WORDS, CacheReading, DependencyReading, format_ms
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style
from tui.widgets.rates import rate_text

NAME_WIDTH = 10


def fit(pieces: list[tuple[int, str, str]], width: int) -> list[tuple[str, str]]:
    """Keep the pieces (priority, text, level) that fit in `width`, lowest priority number first,
    in their original order; a piece left out leaves no gap."""
    kept: set[int] = set()
    used = 0
    for index in sorted(range(len(pieces)), key=lambda i: pieces[i][0]):
        size = len(pieces[index][1])
        if used + size <= width:
            kept.add(index)
            used += size
    return [(text, level) for i, (_, text, level) in enumerate(pieces) if i in kept]


def breaker_text(reading: DependencyReading) -> str:
    breaker = reading.breaker
    if breaker is None:
        return ""
    state = breaker.state_word + (" forced" if breaker.forced else "")
    return f" breaker {state}"


def dependency_pieces(reading: DependencyReading) -> list[tuple[int, str, str]]:
    """(priority, text, level) of a dependency row; 0 is kept first."""
    p95 = format_ms(reading.p95_ms)
    normal = format_ms(reading.normal_p95_ms)
    timeout = "none" if reading.timeout_s is None else format_ms(1000 * reading.timeout_s)
    pieces = [
        (0, f"{reading.name[:NAME_WIDTH - 1]:<{NAME_WIDTH}}", ""),
        (3, f"{rate_text(reading.calls_per_s):>4}/s", "dim"),
        (0, f" p95 {p95:>5}", "slow"),
        (1, f" (normal {normal})", "dim"),
        (0, f" err {reading.error_ratio:>3.0%}", "errors"),
        (4, f" {reading.in_flight} in flight", ""),
        (5, f" timeout {timeout}", "dim"),
    ]
    if reading.breaker is not None:
        # A closed, automatic breaker says little: it gives way first when the row is narrow.
        quiet = reading.breaker.state == "closed" and not reading.breaker.forced
        pieces.append((6 if quiet else 2, breaker_text(reading), "breaker"))
        pieces.append((6, f" fail {reading.breaker.failure_rate:.0%} of {reading.breaker.calls_in_window}", "dim"))
    return pieces


class DependencyRow(Widget):
    """`postgres   91/s p95 98ms (normal 102ms) err 0% 6 in flight timeout 250ms breaker CLOSED  OK`."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    DependencyRow {
        height: 1;
        width: 1fr;
    """ + LEVEL_CSS + """
    }
    """

    reading: reactive[DependencyReading | CacheReading | None] = reactive(None)

    def render(self) -> Text:
        reading = self.reading
        if reading is None:
            return Text("")
        style = level_style(self, reading.level)
        dim = level_style(self, "dim")
        word = f" {LEVEL_WORDS[reading.level]}"
        pieces = cache_pieces(reading) if isinstance(reading, CacheReading) else dependency_pieces(reading)
        line = Text(no_wrap=True)
        for text, kind in fit(pieces, max(self.size.width - len(word), 0)):
            # Each reading in its own level's colour (a slow call is red, its 0% errors are not).
            level = piece_level(reading, kind)
            line.append(text, style=dim if kind == "dim" else (level_style(self, level) if level != "ok" else ""))
        line.pad_right(max(self.size.width - line.cell_len - len(word), 0))
        line.append(word, style=style)
        line.truncate(self.size.width)
        return line


def piece_level(reading: DependencyReading | CacheReading, kind: str) -> str:
    """The level a piece of a row is coloured with."""
    if isinstance(reading, CacheReading):
        return reading.level if kind == "slow" else "ok"
    if kind == "slow":
        return reading.slow_level
    if kind == "errors":
        return reading.error_level
    if kind == "breaker" and reading.breaker is not None:
        return reading.breaker.level
    return "ok"


def cache_pieces(reading: CacheReading) -> list[tuple[int, str, str]]:
    """(priority, text, level) of a cache row."""
    pieces = [
        (0, f"{reading.name[:NAME_WIDTH - 1]:<{NAME_WIDTH}}", ""),
        (0, f"cache hit {reading.hit_ratio:.0%}", "slow"),
        (1, f" (normal {reading.normal_hit_ratio:.0%})", "dim"),
    ]
    if reading.warming:
        pieces.append((0, " warming", "slow"))
    return pieces
