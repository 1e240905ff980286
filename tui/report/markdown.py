"""The postmortem document as Markdown (CommonMark with GitHub tables), charts linked as SVG files."""

from __future__ import annotations

import re

from tui.report.document import Block, Bullets, Code, Figure, Heading, Paragraph, Table, parts

_SPECIAL = re.compile(r"([\\`*_\[\]<|])")


def escape(text: str) -> str:
    """Plain text that Markdown shows as written (no emphasis, links, HTML or table breaks)."""
    return _SPECIAL.sub(r"\\\1", text)


def code(text: str) -> str:
    """A code span that holds any text (a fence longer than any run of backticks in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def inline(value) -> str:
    """Inline text, newlines folded to spaces (a table cell or a list item is one line)."""
    out = []
    for part in parts(value):
        out.append(code(part.text) if isinstance(part, Code) else escape(part))
    return " ".join("".join(out).split())


def _paragraph(block: Paragraph) -> str:
    items = parts(block.text)
    if all(isinstance(part, str) for part in items):
        # Author text may hold paragraphs of its own: keep them apart.
        rendered = [inline(chunk) for chunk in re.split(r"\n\s*\n", "".join(items)) if chunk.strip()]
    else:
        rendered = [inline(block.text)]
    # A paragraph starting "- ", "1. ", "# " or "> " would become a list, a heading or a quote.
    rendered = [re.sub(r"^(\d+)([.)]\s)", r"\1\\\2", re.sub(r"^([-+#>])", r"\\\1", chunk)) for chunk in rendered]
    if block.emphasis:
        rendered = [f"_{chunk}_" for chunk in rendered]
    return "\n\n".join(rendered)


def _table(block: Table) -> str:
    widths = len(block.header)
    align = ["---:" if i in block.numeric else "---" for i in range(widths)]
    lines = ["| " + " | ".join(escape(h) for h in block.header) + " |", "| " + " | ".join(align) + " |"]
    for row in block.rows:
        lines.append("| " + " | ".join(inline(cell) for cell in row) + " |")
    return "\n".join(lines)


def render_markdown(blocks: tuple[Block, ...], chart_files: dict[str, str]) -> str:
    """The document as Markdown; `chart_files` maps each chart name to the SVG's relative path."""
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + escape(block.text))
        elif isinstance(block, Paragraph):
            out.append(_paragraph(block))
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {inline(item)}" for item in block.items))
        elif isinstance(block, Figure):
            # The <...> form takes any file name (spaces, parentheses).
            out.append(f"![{escape(block.title)}](<{chart_files[block.name]}>)\n\n_{escape(block.caption)}_")
    return "\n\n".join(out) + "\n"
