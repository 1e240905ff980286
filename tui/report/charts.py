"""The postmortem's charts as SVG, drawn with matplotlib (the optional extra `brownout[report]`).

Each chart is a matplotlib `Figure` built directly (no pyplot: no global figure
state, so the debrief can draw in a worker thread), saved as SVG with a fixed
hash salt and no date, so the same save always gives the same files. Every chart
shares the drill-time axis, shades the faults and marks the actions A1, A2, ...
"""

from __future__ import annotations

import io

import numpy as np

from sim.reporting.postmortem import Postmortem, RunSeries
from sim.scoring.score import EVAL_WINDOW_S
from tui.frame import format_clock

CHARTS = ("impact", "sli", "latency", "saturation")
"""Chart names, in the order the document shows them (file `<stem>.<name>.svg`)."""

MISSING_MATPLOTLIB = ("the postmortem's charts need matplotlib, which is not installed: "
                      "pip install 'brownout[report]'")

RUN_STYLES = {
    "You": {"color": "#1f5fa8", "linestyle": "-", "linewidth": 1.8, "zorder": 3},
    "Do nothing": {"color": "#8c8c8c", "linestyle": ":", "linewidth": 1.5},
    "Par": {"color": "#2a9d4b", "linestyle": "--", "linewidth": 1.3},
}
ACTION_COLOR = "#d9480f"
FAULT_COLOR = "#e03131"
WIDTH_IN = 9.0


class ReportUnavailable(Exception):
    """The report cannot be drawn here (matplotlib is missing); the message is one line."""


def require_matplotlib() -> None:
    """Raise ReportUnavailable with a one-line message when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise ReportUnavailable(MISSING_MATPLOTLIB) from None


def render_charts(pm: Postmortem, names: tuple[str, ...] = CHARTS) -> dict[str, str]:
    """The charts named (default every chart of CHARTS) as SVG text, by name."""
    require_matplotlib()
    import matplotlib

    drawers = {"impact": _impact, "sli": _sli, "latency": _latency, "saturation": _saturation}
    out = {}
    with matplotlib.rc_context({"svg.hashsalt": "brownout-postmortem", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False}):
        for name in names:
            figure = drawers[name](pm)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
            out[name] = buffer.getvalue()
    return out


# --------------------------------------------------------------------------- shared


def _figure(rows: int, row_height: float = 2.3):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, 0.6 + row_height * rows), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return figure, list(axes)


def _time_axis(pm: Postmortem, axes) -> None:
    """Drill time in mm:ss on the shared x axis, faults shaded, actions marked (labels on the top axes)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    end_s = pm.times.end_s
    for ax in axes:
        ax.set_xlim(0.0, max(end_s, 1e-6))
        ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.6)
        for number, fault in enumerate(pm.faults):
            ax.axvspan(fault.start_s, fault.end_s if fault.end_s is not None else end_s, color=FAULT_COLOR,
                       alpha=0.07, linewidth=0, label="fault" if number == 0 else None)
        for action in pm.actions:
            ax.axvline(action.t_s, color=ACTION_COLOR if not action.refused else "#adb5bd", linewidth=0.9,
                       linestyle="-" if not action.refused else "--", alpha=0.85)
    for ax in axes:
        # Last, so the legend lists the fault's shading too.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, borderaxespad=0.0)
    top = axes[0]
    _label_actions(top, pm)
    bottom = axes[-1]
    bottom.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 6, 10]))
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_clock(x)))
    bottom.set_xlabel("drill time (mm:ss)")


def _label_actions(ax, pm: Postmortem) -> None:
    """A1, A2, ... above the top axes; actions closer than a label's width share one line of text."""
    end_s = max(pm.times.end_s, 1e-6)
    min_gap = end_s / 40.0
    groups: list[list] = []
    for action in pm.actions:
        if groups and action.t_s - groups[-1][0].t_s < min_gap:
            groups[-1].append(action)
        else:
            groups.append([action])
    transform = ax.get_xaxis_transform()
    for group in groups:
        label = ",".join(str(a.number) for a in group)
        ax.text(group[0].t_s, 1.01, "A" + label, transform=transform, fontsize=7, color=ACTION_COLOR,
                ha="center", va="bottom", clip_on=False)


def _plot(ax, series: RunSeries, t_s: np.ndarray, values: np.ndarray, label: str | None = None, **overrides) -> None:
    style = dict(RUN_STYLES.get(series.label, {}))
    style.update(overrides)
    ax.plot(t_s, values, label=label if label is not None else series.label, **style)


def _percent(ax, digits: int = 1) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=digits))


# --------------------------------------------------------------------------- charts


def _impact(pm: Postmortem):
    slis = pm.you.report.slis
    figure, axes = _figure(max(len(slis), 1), 1.9)
    for index, sli in enumerate(slis):
        ax = axes[index]
        for run in pm.runs:
            series = run.series
            _plot(ax, series, series.budget_t_s, series.budget_spent[:, index])
        ax.set_ylabel("budget spent")
        ax.set_title(f"{sli.name}: share of the month's error budget spent", fontsize=9, loc="left", pad=14)
        top = max(float(np.nanmax(run.series.budget_spent[:, index])) if len(run.series.budget_spent) else 0.0
                  for run in pm.runs)
        _percent(ax, 3 if top < 0.01 else 2 if top < 0.1 else 1)
        ax.set_ylim(bottom=0.0)
    if not slis:
        axes[0].text(0.5, 0.5, "this drill has no SLO", transform=axes[0].transAxes, ha="center")
    _time_axis(pm, axes)
    return figure


def _sli(pm: Postmortem):
    slis = pm.you.report.slis
    figure, axes = _figure(max(len(slis), 1), 2.1)
    for index, sli in enumerate(slis):
        ax = axes[index]
        lowest = sli.target
        for run in pm.runs:
            series = run.series
            values = series.window_sli[:, index]
            if len(values):
                # One step per evaluation window, drawn over the window it covers.
                starts = np.concatenate(([0.0], series.window_end_s[:-1]))
                ax.stairs(values, np.concatenate((starts, series.window_end_s[-1:])), label=series.label,
                          baseline=None, **RUN_STYLES[series.label])
                if np.isfinite(values).any():
                    lowest = min(lowest, float(np.nanmin(values)))
        ax.axhline(sli.target, color=FAULT_COLOR, linewidth=0.9, linestyle="-.", label=f"target {sli.target:.2%}")
        margin = max((1.0 - lowest) * 0.08, 0.002)
        ax.set_ylim(max(lowest - margin, 0.0), 1.0 + margin / 2)
        _percent(ax, 2 if 1.0 - lowest < 0.05 else 1 if 1.0 - lowest < 0.5 else 0)
        kind = f"answered within {sli.threshold_s * 1000:g} ms" if sli.threshold_s else "answered"
        ax.set_title(f"{sli.name}: share of requests {kind}, per {EVAL_WINDOW_S:g} s window", fontsize=9,
                     loc="left", pad=14)
    if not slis:
        axes[0].text(0.5, 0.5, "this drill has no SLO", transform=axes[0].transAxes, ha="center")
    _time_axis(pm, axes)
    return figure


def _latency(pm: Postmortem):
    figure, axes = _figure(1, 3.2)
    ax = axes[0]
    you = pm.you.series
    shades = (("p50", you.p50_ms, "#74a9e0"), ("p95", you.p95_ms, "#1f5fa8"), ("p99", you.p99_ms, "#0b2f5c"))
    for name, values, color in shades:
        ax.plot(you.t_s, values, color=color, linewidth=1.6 if name == "p95" else 1.1, label=f"You {name}")
    for run in (pm.none, pm.par):
        _plot(ax, run.series, run.series.t_s, run.series.p95_ms, label=f"{run.label} p95")
    thresholds = sorted({slo.threshold_s for slo in pm.drill.slos if slo.kind == "latency" and slo.threshold_s})
    for threshold_s in thresholds:
        names = ", ".join(s.name for s in pm.drill.slos if s.threshold_s == threshold_s)
        ax.axhline(threshold_s * 1000.0, color=FAULT_COLOR, linewidth=0.9, linestyle="-.",
                   label=f"SLO {names}: {threshold_s * 1000:g} ms")
    values = np.concatenate([you.p50_ms, you.p99_ms, *(r.series.p95_ms for r in (pm.none, pm.par)),
                             np.array(thresholds) * 1000.0])
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() / max(values.min(), 1e-9) > 30:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    else:
        ax.set_ylim(bottom=0.0)
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency of successful requests (rolling 10 s percentiles)", fontsize=9, loc="left", pad=14)
    _time_axis(pm, axes)
    return figure


def _used_pools(pm: Postmortem) -> list[int]:
    """Pools that held connections at some point in any run (bulkhead slots never used are left out)."""
    used = []
    for index in range(len(pm.pool_names)):
        for run in pm.runs:
            series = run.series
            if series.pool_size.ndim == 2 and series.pool_size.shape[1] > index and (
                    series.pool_size[:, index].max(initial=0) > 0 or series.pool_in_use[:, index].max(initial=0) > 0):
                used.append(index)
                break
    return used


def _saturation(pm: Postmortem):
    pools = _used_pools(pm)
    figure, axes = _figure(2 + len(pools), 1.8)
    ax = axes[0]
    for run in pm.runs:
        _plot(ax, run.series, run.series.t_s, run.series.queue_depth)
    ax.set_ylabel("requests")
    ax.set_title("Request queue depth", fontsize=9, loc="left", pad=14)
    ax.set_ylim(bottom=0.0)

    ax = axes[1]
    for run in pm.runs:
        _plot(ax, run.series, run.series.t_s, run.series.busy_slots, label=f"{run.label} busy")
    you = pm.you.series
    ax.plot(you.t_s, you.total_slots, color="#495057", linewidth=0.9, drawstyle="steps-post", label="You: slots up")
    ax.set_ylabel("worker slots")
    ax.set_title("Worker slots busy", fontsize=9, loc="left", pad=4)
    ax.set_ylim(bottom=0.0)

    for row, index in enumerate(pools, start=2):
        ax = axes[row]
        name = pm.pool_names[index]
        for run in pm.runs:
            _plot(ax, run.series, run.series.t_s, run.series.pool_in_use[:, index], label=f"{run.label} in use")
        ax.plot(you.t_s, you.pool_size[:, index], color="#495057", linewidth=0.9, drawstyle="steps-post",
                label="You: pool size")
        waiters = you.pool_waiters[:, index]
        if waiters.max(initial=0) > 0:
            ax.plot(you.t_s, waiters, color="#ae3ec9", linewidth=0.9, alpha=0.8, label="You: waiting")
        ax.set_ylabel("connections")
        ax.set_title(f"Connection pool {name}", fontsize=9, loc="left", pad=4)
        ax.set_ylim(bottom=0.0)
    _time_axis(pm, axes)
    return figure
