"""The latest hint, shown under the gauges when a drill's hint fires."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class HintLine(Widget):
    """`Hint: bound the LLM call with a timeout.` (hidden until a hint fires; cut to one line)."""

    DEFAULT_CSS = """
    HintLine {
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;
    }
    HintLine.-shown {
        display: block;
    }
    """

    hint: reactive[str | None] = reactive(None, layout=True)

    def watch_hint(self, hint: str | None) -> None:
        self.set_class(bool(hint), "-shown")

    def render(self) -> Text:
        # One line at most: the full hint is in the event log.
        return Text(f"Hint: {self.hint}" if self.hint else "", no_wrap=True, overflow="ellipsis")
