"""The postmortem document as one self-contained HTML file: styles inline, charts inlined as data URIs.

Nothing is fetched: no script, no web font, no external stylesheet or image, so the
file opens the same in any browser, offline, attached to a ticket or an email.
"""

from __future__ import annotations

import base64
import re
from html import escape

from tui.report.document import Block, Bullets, Code, Figure, Heading, Paragraph, Table, parts

STYLE = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #212529; max-width: 62rem; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.7rem; margin-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #dee2e6; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #dee2e6; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f1f3f5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: .88em/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f5;
       padding: .05em .3em; border-radius: 3px; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eceff1; }
figcaption, .note { color: #5c636a; font-size: .9rem; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def inline(value) -> str:
    """Inline text as HTML (escaped; Code parts in <code>)."""
    out = []
    for part in parts(value):
        out.append(f"<code>{escape(part.text)}</code>" if isinstance(part, Code) else escape(part))
    return "".join(out)


def _paragraph(block: Paragraph) -> str:
    items = parts(block.text)
    if all(isinstance(part, str) for part in items):
        chunks = [chunk for chunk in re.split(r"\n\s*\n", "".join(items)) if chunk.strip()]
    else:
        chunks = [block.text]
    css = ' class="note"' if block.emphasis else ""
    return "\n".join(f"<p{css}>{inline(chunk)}</p>" for chunk in chunks)


def _table(block: Table) -> str:
    def cell(tag: str, index: int, content: str) -> str:
        css = ' class="num"' if index in block.numeric else ""
        return f"<{tag}{css}>{content}</{tag}>"

    head = "".join(cell("th", i, escape(h)) for i, h in enumerate(block.header))
    rows = "\n".join("<tr>" + "".join(cell("td", i, inline(c)) for i, c in enumerate(row)) + "</tr>"
                     for row in block.rows)
    thead = f"<thead><tr>{head}</tr></thead>" if any(block.header) else ""
    return f"<table>{thead}<tbody>\n{rows}\n</tbody></table>"


def svg_data_uri(svg: str) -> str:
    """An SVG as a data: URI (base64, so no character of it can end the attribute)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_html(blocks: tuple[Block, ...], charts: dict[str, str], title: str) -> str:
    """The document as a complete HTML page; `charts` maps each chart name to its SVG text."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(_paragraph(block))
        elif isinstance(block, Table):
            body.append(_table(block))
        elif isinstance(block, Bullets):
            items = "\n".join(f"<li>{inline(item)}</li>" for item in block.items)
            body.append(f"<ul>\n{items}\n</ul>")
        elif isinstance(block, Figure):
            body.append(
                f'<figure><img src="{svg_data_uri(charts[block.name])}" alt="{escape(block.title)}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>"
            )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
