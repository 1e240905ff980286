"""The frozen per-frame snapshot the incident screen shows.

`tui.live.LiveRun` builds one `Frame` per timer frame from the simulation;
widgets only ever see these values (no numpy arrays, no live engine objects),
so a frame can cross from a worker thread in a message and be compared safely.
Every level is also spelled out as a word so the screen reads without colour.
"""

from __future__ import annotations

import math

import attrs

LEVELS = ("ok", "warn", "crit")
LEVEL_WORDS = {"ok": "OK", "warn": "WARN", "crit": "CRIT"}


def level_for(fraction: float, warn_at: float, crit_at: float) -> str:
    """ok / warn / crit for a fill fraction against two thresholds."""
    if fraction >= crit_at:
        return "crit"
    if fraction >= warn_at:
        return "warn"
    return "ok"


def worst_level(*levels: str) -> str:
    """The most severe of some levels."""
    return max(levels, key=LEVELS.index, default="ok")


def format_clock(t_s: float) -> str:
    """Sim time as mm:ss (h:mm:ss past an hour)."""
    whole_s = int(max(t_s, 0.0))
    hours, rest = divmod(whole_s, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def format_ms(value_ms: float) -> str:
    """A latency for a narrow column: 85ms, 1.2s, 'n/a' when there is none (the one unit style
    of the app: milliseconds under a second, seconds from there)."""
    if value_ms is None or math.isnan(value_ms):
        return "n/a"
    if math.isinf(value_ms):
        return "none"
    if value_ms >= 10_000:
        return f"{value_ms / 1000:.0f}s"
    if value_ms >= 1000:
        return f"{value_ms / 1000:.1f}s"
    return f"{value_ms:.0f}ms"


@attrs.frozen
class GaugeReading:
    """One bar gauge: an instant value against a limit, with its short moving average."""

    label: str
    value: float
    limit: float | None
    """The full-scale value (None: unbounded; the bar then shows `scale`)."""
    average: float
    """Moving average of `value` over the smoothing window."""
    level: str
    value_text: str
    """The instant value as shown, e.g. '28/32' or '41 (no limit)'."""
    average_text: str
    scale: float = 1.0
    """What a full bar means when there is no limit."""
    mark: float | None = None
    """A mark drawn on the bar as a fraction of full scale (memory pressure)."""
    note: str = ""
    """Extra words after the numbers, e.g. '3 waiting' or '+2 pending'."""

    @property
    def fraction(self) -> float:
        """How full the bar is, 0..1."""
        full = self.limit if self.limit else self.scale
        return 0.0 if full <= 0 else min(max(self.value / full, 0.0), 1.0)


@attrs.frozen
class BreakerReading:
    """A circuit breaker's light."""

    dependency: str
    state: str
    """closed | open | half_open (what calls see)."""
    forced: str | None
    failure_rate: float
    calls_in_window: int

    @property
    def level(self) -> str:
        return {"closed": "ok", "half_open": "warn"}.get(self.state, "crit")

    @property
    def state_word(self) -> str:
        return {"closed": "CLOSED", "open": "OPEN", "half_open": "HALF_OPEN"}.get(self.state, self.state.upper())


@attrs.frozen
class DependencyReading:
    """One row of the dependencies panel: what a dependency's own dashboard shows."""

    name: str
    kind: str
    """database | service"""
    calls_per_s: float
    p95_ms: float
    """p95 of the calls that ended over the last few seconds (NaN: none did)."""
    normal_p95_ms: float
    error_ratio: float
    in_flight: int
    timeout_s: float | None
    """The per-call timeout in force (None: calls wait as long as it takes)."""
    breaker: BreakerReading | None
    """None: this dependency has no breaker."""
    level: str
    """The worst of the three below: the row's word."""
    slow_level: str = "ok"
    """p95 against normal, judged with hysteresis (see `tui.level_bands`)."""
    error_level: str = "ok"

    @property
    def slowdown(self) -> float:
        """p95 as a multiple of the normal p95 (NaN without a reading)."""
        if math.isnan(self.p95_ms) or not self.normal_p95_ms > 0:
            return math.nan
        return self.p95_ms / self.normal_p95_ms


@attrs.frozen
class CacheReading:
    """A cache's row: hit ratio against its warm ratio."""

    name: str
    hit_ratio: float
    normal_hit_ratio: float
    warming: bool
    level: str


@attrs.frozen
class RatesReading:
    """Request, goodput, error and rejection rates (instant = last second, avg = window)."""

    arrival_rps: float
    arrival_avg_rps: float
    retry_rps: float
    goodput_rps: float
    goodput_avg_rps: float
    error_ratio: float
    error_avg_ratio: float
    reject_ratio: float
    reject_avg_ratio: float
    error_level: str = "ok"
    """Judged on the smoothed ratio (see `tui.level_bands`), not the instant one."""
    reject_level: str = "ok"


@attrs.frozen
class LatencySeries:
    """p50/p95/p99 sampled every step_s, oldest first, ending at t_end_s (NaN: no successes)."""

    step_s: float
    t_end_s: float
    p50_ms: tuple[float, ...]
    p95_ms: tuple[float, ...]
    p99_ms: tuple[float, ...]
    threshold_ms: float | None
    """The latency SLO threshold drawn as a line (None: the drill has none)."""
    markers_s: tuple[float, ...] = ()
    """Sim times of operator actions, marked under the chart."""

    @property
    def latest_p95_ms(self) -> float:
        return self.p95_ms[-1] if self.p95_ms else math.nan


@attrs.frozen
class SLOReading:
    """An SLO's live state: attainment so far, error budget left and burn rate."""

    name: str
    target: float
    attained: float
    """Good / valid so far (NaN before any valid event)."""
    budget_remaining: float
    """Fraction of the error budget left (1 = untouched, < 0 = overspent)."""
    burn_rate: float
    """How fast the budget burns now, in multiples of the sustainable rate."""
    level: str
    state_word: str
    """OK / TICKET / SLOW BURN / FAST BURN (see `sim.scoring.alerts`)."""


@attrs.frozen
class LogEntry:
    """One line of the incident event log."""

    t_s: float
    kind: str
    """A short upper-case tag shown in the log: ALERT, BREAKER, OOM, FAULT, ACTION, REFUSED, HINT, ..."""
    level: str
    text: str


@attrs.frozen
class Frame:
    """Everything the incident screen shows at one moment."""

    title: str
    t_s: float
    tick: int
    duration_s: float
    speed: int
    paused: bool
    finished: bool
    slots: GaugeReading
    queue: GaugeReading
    memory: GaugeReading | None
    """None: the drill does not model memory, so there is no row to draw."""
    workers: GaugeReading
    pools: tuple[GaugeReading, ...]
    breakers: tuple[BreakerReading, ...]
    rates: RatesReading
    latency: LatencySeries
    slos: tuple[SLOReading, ...]
    log: tuple[LogEntry, ...]
    """The most recent log entries, oldest first."""
    log_total: int
    """How many entries were ever logged (so a widget can append only new ones)."""
    hint: str | None = None
    """The latest hint that fired."""
    achieved_speed: float | None = None
    """Sim seconds per wall second actually reached (None: not measured, e.g. paused or in tests)."""
    speed_cap: int | None = None
    """The speed the clock is held to for now (a dialog is open), or None: see LiveRun.speed_cap."""
    dependencies: tuple[DependencyReading, ...] = ()
    caches: tuple[CacheReading, ...] = ()
