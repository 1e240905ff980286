"""p50/p95/p99 latency over time with the SLO threshold line, drawn in text cells."""

from __future__ import annotations

import math

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.frame import LatencySeries, format_ms
from tui.widgets.levels import LEVEL_COMPONENT_CLASSES, LEVEL_CSS, level_style

AXIS_WIDTH = 6
GLYPHS = (("p99", "▴"), ("p50", "·"), ("p95", "●"))
"""Drawn in this order, so p95 (what latency SLOs are about) wins a shared cell."""


def chart_scale_ms(series: LatencySeries, columns: int | None = None) -> float:
    """The top of the y axis: room for the worst p99 and the SLO line, never below 10 ms.

    Only the newest `columns` samples (those drawn) count: a spike that has scrolled off
    must not keep the recovered values squashed on the bottom row.
    """
    first = 0 if columns is None else max(len(series.p95_ms) - columns, 0)
    values = [v for v in series.p99_ms[first:] + series.p95_ms[first:] if not math.isnan(v)]
    top = max(values, default=0.0) * 1.1
    if series.threshold_ms:
        top = max(top, series.threshold_ms * 1.5)
    return max(top, 10.0)


def plot_rows(series: LatencySeries, width: int, height: int) -> list[list[tuple[str, str]]]:
    """The chart as `height` rows of `width` (glyph, level) cells, top row first.

    One column per sample, the newest at the right; older samples than fit are dropped.
    """
    rows = [[(" ", "dim") for _ in range(width)] for _ in range(height)]
    if width <= 0 or height <= 0:
        return rows
    top_ms = chart_scale_ms(series, width)

    def row_of(value_ms: float) -> int:
        fraction = min(max(value_ms / top_ms, 0.0), 1.0)
        return height - 1 - min(int(fraction * height), height - 1)

    if series.threshold_ms:
        line_row = row_of(series.threshold_ms)
        rows[line_row] = [("╌", "crit") for _ in range(width)]
    offset = width - len(series.p95_ms)
    threshold = series.threshold_ms or math.inf
    for name, glyph in GLYPHS:
        values = getattr(series, f"{name}_ms")
        for index, value in enumerate(values):
            column = offset + index
            if column < 0 or math.isnan(value):
                continue
            level = "crit" if value > threshold else ("ok" if name == "p95" else "dim")
            rows[row_of(value)][column] = (glyph, level)
    return rows


class LatencyChart(Widget):
    """A scrolling latency chart: one column per sample, a dashed SLO line, a legend."""

    COMPONENT_CLASSES = LEVEL_COMPONENT_CLASSES
    DEFAULT_CSS = """
    LatencyChart {
        height: 1fr;
        min-height: 4;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: clip;
    """ + LEVEL_CSS + """
    }
    """

    series: reactive[LatencySeries | None] = reactive(None)

    def __init__(self, series: LatencySeries | None = None, *, title: str = "Latency", id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.title = title
        self.set_reactive(LatencyChart.series, series)

    def render(self) -> Text:
        series = self.series
        width, height = self.size.width, self.size.height
        text = Text(no_wrap=True, overflow="crop")
        if series is None or height < 2:
            return text
        dim = level_style(self, "dim")
        latest = {name: getattr(series, f"{name}_ms")[-1] if series.p95_ms else math.nan for name in ("p50", "p95", "p99")}
        # The legend must read whole at 80 columns (a 36-cell panel): the panel's border names
        # the chart, so the title joins the legend only where it fits, and "SLO" gives way last.
        parts = [f"{glyph}{name} {format_ms(latest[name])}" for name, glyph in (("p50", "·"), ("p95", "●"), ("p99", "▴"))]
        slo = f"╌SLO {format_ms(series.threshold_ms)}" if series.threshold_ms else ""
        legend = Text(no_wrap=True, overflow="ellipsis")
        plain = " ".join(parts)
        if slo and len(plain) + 1 + len(slo) > width:
            slo = f"╌{format_ms(series.threshold_ms)}"
        if len(self.title) + 1 + len(plain) + (len(slo) + 1 if slo else 0) <= width:
            legend.append(f"{self.title} ")
        legend.append(plain)
        if slo:
            legend.append(" ")
            legend.append(slo, style=level_style(self, "crit"))
        legend.truncate(width)
        text.append_text(legend)
        marker_row = 1 if series.markers_s else 0
        plot_height = height - 1 - marker_row
        plot_width = max(width - AXIS_WIDTH, 1)
        rows = plot_rows(series, plot_width, plot_height)
        top_ms = chart_scale_ms(series, plot_width)
        line_row = -1
        if series.threshold_ms and plot_height > 3:
            fraction = min(series.threshold_ms / top_ms, 1.0)
            line_row = plot_height - 1 - min(int(fraction * plot_height), plot_height - 1)
        for index, row in enumerate(rows):
            text.append("\n")
            if index == 0:
                axis = format_ms(top_ms)
            elif index == plot_height - 1:
                axis = "0"
            elif index == line_row:
                axis = format_ms(series.threshold_ms)
            else:
                axis = ""
            text.append(axis.rjust(AXIS_WIDTH - 1) + "┤", style=dim)
            for glyph, level in row:
                text.append(glyph, style=level_style(self, level))
        if marker_row:
            text.append("\n")
            text.append(self._marker_line(series, plot_width))
        return text

    def _marker_line(self, series: LatencySeries, plot_width: int) -> Text:
        """▲ under the columns where the operator acted."""
        cells = [" "] * plot_width
        samples = len(series.p95_ms)
        t_start_s = series.t_end_s - samples * series.step_s
        for t_s in series.markers_s:
            sample = int((t_s - t_start_s) // series.step_s)
            column = plot_width - samples + sample
            if 0 <= sample < samples and 0 <= column < plot_width:
                cells[column] = "▲"
        line = Text(" actn".ljust(AXIS_WIDTH), style=level_style(self, "dim"))
        line.append("".join(cells), style=level_style(self, "warn"))
        return line
