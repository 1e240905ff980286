"""Writing a postmortem: Markdown with its charts as SVG files beside it, and optionally one HTML file.

    brownout report SAVE [-o FILE] [--html]

FILE is the Markdown file (default `<save name>-postmortem.md` in the current
folder; a folder puts that name in it). The charts go beside it as
`<FILE's stem>.<chart>.svg` and `--html` writes `<FILE's stem>.html` (a FILE
ending in `.html` names the HTML file and implies `--html`). Every file is
written atomically, the charts first, so the Markdown never links a chart that
is not there yet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import attrs

from sim.model.errors import InputError
from sim.records.saves import write_atomic
from sim.reporting.postmortem import Postmortem, References, build_postmortem
from tui.report.charts import CHARTS, render_charts, require_matplotlib
from tui.report.document import postmortem_document
from tui.report.html import render_html
from tui.report.markdown import render_markdown

SUFFIX = "-postmortem"
POSTMORTEMS_DIR = "postmortems"
"""The folder beside a save that the debrief writes its postmortems into."""


@attrs.frozen
class ReportFiles:
    """What a report wrote."""

    markdown: Path
    charts: tuple[Path, ...]
    html: Path | None = None

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file, the Markdown first."""
        return (self.markdown, *self.charts, *((self.html,) if self.html is not None else ()))


def report_paths(save_path: str | os.PathLike[str], output: str | os.PathLike[str] | None,
                 html: bool) -> tuple[Path, Path | None]:
    """(Markdown file, HTML file or None) for a save and the `-o` the user gave."""
    default = Path(save_path).stem + SUFFIX + ".md"
    if output is None:
        markdown = Path(default)
    else:
        markdown = Path(output).expanduser()
        if markdown.is_dir():
            markdown = markdown / default
        elif markdown.suffix.lower() == ".html":
            html, markdown = True, markdown.with_suffix(".md")
    return markdown, (markdown.with_name(_stem(markdown) + ".html") if html else None)


def _stem(markdown: Path) -> str:
    return markdown.stem if markdown.suffix.lower() == ".md" else markdown.name


def chart_path(markdown: Path, name: str) -> Path:
    """Where chart `name` goes beside the Markdown file."""
    return markdown.with_name(f"{_stem(markdown)}.{name}.svg")


def check_writable(path: Path) -> None:
    """Fail before the slow replay, not after it: the folder exists and takes a new file."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InputError.single(str(path), f"cannot write the report: folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".brownout-report-check-"):
            pass
    except OSError as error:
        raise InputError.single(str(path), f"cannot write the report: folder {folder}: {error.strerror or error}") from None


def _write(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))
    # A report is for sharing: readable by others like any new file (the temporary file was private).
    umask = _umask()
    os.chmod(path, 0o666 & ~umask)


def _umask() -> int:
    try:
        # Linux reports the process umask here without changing it (os.umask would, for a moment).
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_report(pm: Postmortem, markdown: Path, html: Path | None = None) -> ReportFiles:
    """Draw the charts and write every file of the report (atomically, one by one)."""
    svgs = render_charts(pm)
    blocks = postmortem_document(pm)
    charts = tuple(chart_path(markdown, name) for name in CHARTS)
    try:
        for name, path in zip(CHARTS, charts):
            _write(path, svgs[name])
        _write(markdown, render_markdown(blocks, {name: path.name for name, path in zip(CHARTS, charts)}))
        if html is not None:
            _write(html, render_html(blocks, svgs, f"Postmortem: {pm.drill.title}"))
    except OSError as error:
        raise InputError.single(str(error.filename or markdown),
                                f"cannot write the report: {error.strerror or error}") from None
    return ReportFiles(markdown, charts, html)


def export_report(save_path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None, *,
                  html: bool = False, references: References | None = None) -> ReportFiles:
    """`brownout report`: check matplotlib and the output folder, replay the save, write the report.

    Raises `tui.report.charts.ReportUnavailable` without matplotlib, InputError (one line) for a bad
    save, a missing drill or an output that cannot be written.
    """
    require_matplotlib()
    markdown, html_path = report_paths(save_path, output, html)
    check_writable(markdown)
    pm = build_postmortem(save_path, references=references)
    return write_report(pm, markdown, html_path)


def export_beside_save(save_path: str | os.PathLike[str], *, references: References | None = None) -> ReportFiles:
    """The debrief's export: Markdown, charts and HTML in `postmortems/` beside the save."""
    folder = Path(save_path).parent / POSTMORTEMS_DIR
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise InputError.single(str(folder), f"cannot write the report: {error.strerror or error}") from None
    return export_report(save_path, folder, html=True, references=references)
