"""Shared level colouring: ok / warn / crit as component classes, so colours live in CSS."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget

LEVEL_COMPONENT_CLASSES = {"level--ok", "level--warn", "level--crit", "level--dim"}

LEVEL_CSS = """
    & > .level--ok { color: $success; }
    & > .level--warn { color: $warning; }
    & > .level--crit { color: $error; text-style: bold; }
    & > .level--dim { color: $text-muted; }
"""


def level_style(widget: Widget, level: str) -> Style:
    """The rich style for a level ('ok', 'warn', 'crit' or 'dim') from the widget's CSS."""
    return widget.get_component_rich_style(f"level--{level}", partial=True)
