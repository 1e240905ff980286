"""SLO scoring: the month's error budget an incident spent, and a grade against what was possible.

**SLOs as a service has them.** An `[[slo]]` target holds over a window (30 days
unless the drill sets `window`). The drill is one incident inside that month.
What is assumed: the traffic before the incident (from t = 0 to the first fault)
stands in for the rest of the month, at the same rate of valid events, and the
rest of the month spends none of the budget. So

    month's valid events = valid events before the incident / its duration x window
    month's budget       = (1 - target) x month's valid events
    spent                = bad events of the run / month's budget

Bad events are the SLI's (failed, rejected, shed; for latency also the slow),
plus degraded answers: a fallback answer is not free, each costs the drill's
`degraded_cost` of its dependency (DEFAULT_DEGRADED_COST unless the drill says)
in every SLO that covers its class. The headline of a run is, per SLO, the share
of the month's budget it spent, beside "do nothing" and par on the same seed.

**The score** (0-100) measures the response against what was possible on this
seed, over the same span of sim time (an early-ended run is compared with do
nothing and par cut at the same moment). With S = the month's budget spent,
summed over the SLOs (each in its own budget's units):

- impact, IMPACT_POINTS x the share of do-nothing's avoidable spend avoided:
  (S_none - S_you) / (S_none - S_par), clipped to 0..1 (par's spend earns full
  marks; doing better than par is shown as such, without extra points);
- response, RESPONSE_POINTS: from the first page (the do-nothing run's, which is
  the page the player got or would have got) to the action that helped: the
  player's last action before their spend fell HELP_FRACTION of par's saving
  behind do-nothing's. Full marks up to par's response (acting before the page
  counts as responding at it), then falling linearly to 0 at RESPONSE_GRACE_S
  later; no points when nothing helped;
- collateral, COLLATERAL_POINTS: cost points (capacity, pools, needless
  shedding, restarts, refused actions, as below) spent beyond par's, item by
  item, one score point each.

Every term moves smoothly with the bad events and the seconds: there is no line
that a tenth of a point of SLI switches on or off. More bad events at the same
cost never score higher. A run branched from a replay is graded like any other
but marked as a branch (it had hindsight) and never counts as a best score.

`SLOTracker.update(sim)` consumes the ticks simulated since its previous call,
so the app can call it every frame for live budgets and burn-rate pages, and a
headless run of any length is scored without keeping the engine's history.
`SLOTracker.report()` gives the run's facts (SLIs, budgets, pages, cost);
`judge(you, none, par)` grades them.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from sim.drill.drill import Drill, SLOSpec
from sim.model.spec import ACTION_NAMES, CacheStep, CallStep
from sim.scoring.alerts import ALERT_RULES, ALERT_WARMUP_S, ALERT_WINDOWS_S, Alert, AlertWatch, first_page_s

EVAL_WINDOW_S = 10.0
"""Length of an evaluation window: the debrief's SLI strips show one cell per window."""
BURN_WINDOWS_S = (60.0, 300.0)
"""Burn rates reported in a run's SLI results (highest and final)."""
SAMPLE_EVERY_S = 0.25
"""Pages are judged on samples this far apart (`sim.drill.hints.SAMPLE_EVERY_S`, the app's cadence)."""

DEFAULT_DEGRADED_COST = 0.5
"""Bad events one degraded answer costs when the drill does not price its dependency."""

IMPACT_POINTS = 70.0
"""Points for the share of do-nothing's avoidable budget spend the response avoided (par: all)."""
RESPONSE_POINTS = 20.0
"""Points for responding as fast as par (from the first page to the response paying off)."""
RESPONSE_GRACE_S = 120.0
"""The response points fall linearly to 0 over this much time later than par."""
HELP_FRACTION = 0.1
"""A response "pays off" once it has saved this share of what par saves over the run."""
COLLATERAL_POINTS = 10.0
"""Points for collateral; each cost point beyond par's costs one score point."""

CAPACITY_COST = 10.0
"""Cost points for doubling the worker slots for the whole run (pro rata)."""
POOL_COST = 5.0
"""Cost points for doubling every connection pool for the whole run (pro rata)."""
NEEDLESS_SHED_COST = 20.0
"""Cost points for shedding (or rate-limiting) all traffic while capacity sat idle (pro rata)."""
RESTART_COST = 2.0
"""Cost points per `worker.restart` the operator applied (OOM kills are not the player's cost)."""
REFUSED_COST = 1.0
"""Cost points per action the service refused."""

GRADES = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"), (0.0, "F"))
"""Grade by score: the first whose floor the score reaches."""

MIN_AVOIDABLE = 1e-6
"""When par saves less than this share of a month's budget over do nothing, there was nothing
to avoid: impact is then full unless the run spent more than par."""


def grade_for(score: float) -> str:
    """The letter grade of a 0-100 score."""
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return GRADES[-1][1]


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@attrs.frozen
class SLIResult:
    """One SLO judged over a run."""

    name: str
    kind: str
    target: float
    threshold_s: float | None
    events: str
    good: int
    valid: int
    attained: float
    """good / valid (1.0 when there were no valid events)."""
    budget_events: float
    """(1 - target) x the run's valid events: the share of budget this run's own traffic earned."""
    budget_remaining: float
    """1 - bad / budget_events (negative when the run alone overspent it)."""
    met: bool
    """The SLI over the run reached its target."""
    breached_at_s: tuple[float, ...]
    """End times of the evaluation windows whose SLI was below target."""
    burn_rate_1m_max: float | None
    burn_rate_5m_max: float | None
    burn_rate_1m_end: float | None
    burn_rate_5m_end: float | None
    by_class: tuple[tuple[str, float | None], ...]
    """(class name, attained) for each class the SLO covers (None: no valid events)."""
    degraded: int = 0
    """Degraded (fallback) answers among the SLO's valid events."""
    degraded_cost: float = 0.0
    """What they cost, in bad events."""
    window_s: float = 30 * 86400.0
    month_valid_events: float = 0.0
    """Valid events the SLO's window holds at the pre-incident rate."""
    month_budget_events: float = 0.0
    """(1 - target) x month_valid_events."""

    @property
    def bad(self) -> int:
        return self.valid - self.good

    @property
    def effective_bad(self) -> float:
        """Bad events plus what the degraded answers cost."""
        return self.bad + self.degraded_cost

    @property
    def budget_spent(self) -> float:
        """Share of the month's error budget this run spent (0 without a budget)."""
        return self.effective_bad / self.month_budget_events if self.month_budget_events > 0 else 0.0

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return {
            "name": self.name,
            "kind": self.kind,
            "target": self.target,
            "threshold_ms": None if self.threshold_s is None else self.threshold_s * 1000.0,
            "events": self.events,
            "good": self.good,
            "valid": self.valid,
            "bad": self.bad,
            "attained": self.attained,
            "degraded": self.degraded,
            "degraded_cost": self.degraded_cost,
            "window_s": self.window_s,
            "month_budget_events": self.month_budget_events,
            "budget_spent": self.budget_spent,
            "run_budget_events": self.budget_events,
            "met": self.met,
            "breached_at": list(self.breached_at_s),
            "burn_rate_1m_max": self.burn_rate_1m_max,
            "burn_rate_5m_max": self.burn_rate_5m_max,
            "burn_rate_1m_end": self.burn_rate_1m_end,
            "burn_rate_5m_end": self.burn_rate_5m_end,
            "by_class": {name: value for name, value in self.by_class},
        }


@attrs.frozen
class WindowResult:
    """One evaluation window: each SLO's SLI in it and the latency percentiles at its end."""

    start_s: float
    end_s: float
    sli: tuple[float | None, ...]
    """Per SLO, in drill order (None: no valid events in the window)."""
    p95_ms: float | None
    p99_ms: float | None
    """The engine's rolling percentiles of successful requests at the window's end."""
    ok: bool
    """Every SLI at or above its target (or nothing to judge)."""

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return {
            "start": self.start_s,
            "end": self.end_s,
            "sli": list(self.sli),
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "ok": self.ok,
        }


@attrs.frozen
class CostReport:
    """Cost and collateral of the operator's choices."""

    extra_slot_s: float
    """Worker-slot-seconds above the drill's initial slots."""
    capacity_fraction: float
    """extra_slot_s / (initial slots x run duration)."""
    extra_connection_s: float
    """Connection-seconds above the pools' initial sizes, summed over pools."""
    pool_fraction: float
    """extra_connection_s / (initial connections x run duration)."""
    needless_shed: int
    """Requests shed or rate-limited in ticks that ended with idle slots and an empty queue."""
    needless_shed_fraction: float
    """needless_shed / all arrivals."""
    restarts: int
    refused_actions: int
    degraded: int = 0
    """Degraded (fallback) answers; their cost is counted in the SLOs' budgets, not in points here."""

    @property
    def capacity_points(self) -> float:
        return CAPACITY_COST * self.capacity_fraction

    @property
    def pool_points(self) -> float:
        return POOL_COST * self.pool_fraction

    @property
    def shed_points(self) -> float:
        return NEEDLESS_SHED_COST * self.needless_shed_fraction

    @property
    def restart_points(self) -> float:
        return RESTART_COST * self.restarts

    @property
    def refused_points(self) -> float:
        return REFUSED_COST * self.refused_actions

    @property
    def items(self) -> tuple[float, ...]:
        """Cost points per item: capacity, pools, needless shedding, restarts, refused actions."""
        return (self.capacity_points, self.pool_points, self.shed_points, self.restart_points, self.refused_points)

    @property
    def points(self) -> float:
        """Total cost points."""
        return self.capacity_points + self.pool_points + self.shed_points + self.restart_points + self.refused_points

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return {
            "extra_slot_s": self.extra_slot_s,
            "capacity_fraction": self.capacity_fraction,
            "extra_connection_s": self.extra_connection_s,
            "pool_fraction": self.pool_fraction,
            "needless_shed": self.needless_shed,
            "needless_shed_fraction": self.needless_shed_fraction,
            "restarts": self.restarts,
            "refused_actions": self.refused_actions,
            "degraded": self.degraded,
            "points": self.points,
        }


@attrs.frozen
class ScoreLine:
    """One line of the breakdown: where some of the 100 points went."""

    item: str
    points: float
    max_points: float
    detail: str

    def __str__(self) -> str:
        return f"{self.item}: {self.points:.1f} / {self.max_points:g} ({self.detail})"

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return {"item": self.item, "points": self.points, "max": self.max_points, "detail": self.detail}


@attrs.frozen
class SpentLine:
    """One SLO: the share of the month's budget spent by the run, do nothing and par."""

    slo: str
    you: float
    none: float
    par: float

    def to_dict(self) -> dict:
        return {"slo": self.slo, "you": self.you, "none": self.none, "par": self.par}


@attrs.frozen
class Verdict:
    """A run graded against do nothing and par on the same seed, over the same span."""

    score: float
    grade: str
    breakdown: tuple[ScoreLine, ...]
    spent: tuple[SpentLine, ...]
    """Per SLO, the month's budget spent (shares of each SLO's own month budget)."""
    avoided: float | None
    """Share of do-nothing's avoidable spend the run avoided (1.0: as par; above: better than par;
    None: par avoided nothing, so there was nothing to measure)."""
    first_page_s: float | None
    """The first page of the do-nothing run: the one the player got, or would have got."""
    helped_at_s: float | None
    """When the run's actions started to pay off (None: they never did)."""
    par_helped_at_s: float | None
    acted_at_s: float | None
    """The run's last action at or before helped_at_s: the one that helped."""
    par_acted_at_s: float | None
    response_s: float | None
    """first page -> acted_at_s, the action that helped (negative: before the page; None: nothing helped)."""
    par_response_s: float | None
    span_s: float
    """The sim time every run was judged over."""
    branch: bool = False
    """A run branched from a replay: it had hindsight, and never counts as a best score."""

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "grade": self.grade,
            "breakdown": [line.to_dict() for line in self.breakdown],
            "budget_spent": [line.to_dict() for line in self.spent],
            "avoided": self.avoided,
            "first_page_s": self.first_page_s,
            "helped_at_s": self.helped_at_s,
            "par_helped_at_s": self.par_helped_at_s,
            "acted_at_s": self.acted_at_s,
            "par_acted_at_s": self.par_acted_at_s,
            "response_s": self.response_s,
            "par_response_s": self.par_response_s,
            "span_s": self.span_s,
            "branch": self.branch,
        }


@attrs.frozen
class ScoreReport:
    """What happened in one run (SLIs, budgets, pages, cost) and, once judged, its verdict."""

    slis: tuple[SLIResult, ...]
    duration_s: float
    """Simulated time scored."""
    incident_start_s: float
    cost: CostReport
    windows: tuple[WindowResult, ...]
    alerts: tuple[Alert, ...] = ()
    """Pages and tickets raised and cleared, judged on the app's sample cadence."""
    first_page_s: float | None = None
    """When this run first paged (None: it never did)."""
    actions_s: tuple[float, ...] = ()
    """Times of the operator's applied (not refused) actions."""
    curve_t_s: np.ndarray = attrs.field(factory=lambda: np.zeros(0), eq=False, repr=False)
    """End time of every tick."""
    curve_bad: np.ndarray = attrs.field(factory=lambda: np.zeros((0, 0)), eq=False, repr=False)
    """Per tick and SLO, the cumulative effective bad events (bad + degraded cost)."""
    verdict: Verdict | None = None

    @property
    def score(self) -> float | None:
        return None if self.verdict is None else self.verdict.score

    @property
    def grade(self) -> str | None:
        return None if self.verdict is None else self.verdict.grade

    @property
    def breakdown(self) -> tuple[ScoreLine, ...]:
        return () if self.verdict is None else self.verdict.breakdown

    @property
    def all_met(self) -> bool:
        return all(sli.met for sli in self.slis)

    @property
    def degraded(self) -> int:
        return self.cost.degraded

    def to_dict(self) -> dict:
        """Plain JSON-ready values (see README "Headless runs" for the schema)."""
        return {
            "score": self.score,
            "grade": self.grade,
            "breakdown": [line.to_dict() for line in self.breakdown],
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "slo": [sli.to_dict() for sli in self.slis],
            "duration_s": self.duration_s,
            "incident_start_s": self.incident_start_s,
            "first_page_s": self.first_page_s,
            "alerts": [{"t_s": a.t_s, "slo": a.slo, "word": a.word, "page": a.is_page} for a in self.alerts],
            "cost": self.cost.to_dict(),
            "windows": [window.to_dict() for window in self.windows],
        }


@attrs.frozen
class SLOStatus:
    """A live view of one SLO while a run is going on (for gauges and pages)."""

    name: str
    target: float
    good: int
    valid: int
    attained: float
    budget_spent: float
    """Share of the month's error budget spent so far."""
    burns: tuple[tuple[float, float], ...]
    """(window_s, burn rate over the last window_s, or the run so far when shorter)."""
    window_sli: float | None = None
    """SLI of the evaluation window in progress (None: nothing valid yet)."""
    breaches: int = 0
    """Completed evaluation windows below target so far."""

    def burn(self, window_s: float) -> float:
        """The burn rate over one of ALERT_WINDOWS_S or BURN_WINDOWS_S (0 for other windows)."""
        for w, value in self.burns:
            if w == window_s:
                return value
        return 0.0

    @property
    def burn_rate_1m(self) -> float:
        return self.burn(60.0)

    @property
    def budget_remaining(self) -> float:
        """Share of the month's error budget left."""
        return 1.0 - self.budget_spent


class _Rows:
    """Per-tick rows appended in blocks; capacity doubles, so appending is amortised O(1)."""

    def __init__(self, width: int, dtype: type):
        self._data = np.zeros((1024, width), dtype=dtype)
        self.length = 0

    def extend(self, rows: np.ndarray) -> None:
        needed = self.length + len(rows)
        if needed > len(self._data):
            grown = np.zeros((max(needed, 2 * len(self._data)), self._data.shape[1]), dtype=self._data.dtype)
            grown[: self.length] = self._data[: self.length]
            self._data = grown
        self._data[self.length : needed] = rows
        self.length = needed

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.length]

    def after(self, ticks: int, zero) -> list:
        """The running sums after `ticks` ticks as Python numbers (`zero` for each before any tick)."""
        return self._data[ticks - 1].tolist() if ticks > 0 else [zero] * self._data.shape[1]


def _ring_positions(history, first_tick: int, count: int) -> slice | np.ndarray:
    """Where ticks [first_tick, first_tick + count) sit in the history ring.

    Reading only the new rows makes calling `update` every frame cost O(new
    ticks), not O(history length) as `History.series` (a full copy) would.
    """
    start = first_tick % history.capacity
    if start + count <= history.capacity:
        return slice(start, start + count)
    return np.arange(first_tick, first_tick + count) % history.capacity


def _rolling_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum over the last `width` rows (fewer at the start), along axis 0."""
    cumulative = np.concatenate((np.zeros((1, *values.shape[1:]), dtype=values.dtype), np.cumsum(values, axis=0)))
    ends = np.arange(1, len(values) + 1)
    return cumulative[ends] - cumulative[np.maximum(ends - width, 0)]


def _burn(bad: np.ndarray, valid: np.ndarray, target: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, bad / np.maximum(valid, 1) / (1.0 - target), 0.0)


def _class_degraded_costs(drill: Drill) -> np.ndarray:
    """Per traffic class, what one degraded answer costs: the dearest way its plan can degrade.

    A call degrades at its dependency's price, or at its feature flag's cost when it serves a
    feature the operator can turn off; a cache that can serve stale copies at its stale_cost.
    """
    priced = dict(drill.degraded_costs)
    flag_cost = {f.name: f.cost for f in drill.model.flags}
    stale_cost = {c.name: c.stale_cost for c in drill.model.caches if c.stale_ratio > 0}
    costs = []
    for cls in drill.model.classes:
        prices = [flag_cost.get(st.feature, DEFAULT_DEGRADED_COST) if st.feature
                  else priced.get(st.dependency, DEFAULT_DEGRADED_COST)
                  for st in cls.plan if isinstance(st, CallStep)]
        prices += [stale_cost[st.cache] for st in cls.plan if isinstance(st, CacheStep) and st.cache in stale_cost]
        costs.append(max(prices, default=DEFAULT_DEGRADED_COST))
    return np.array(costs, dtype=np.float64)


class SLOTracker:
    """Accumulates a run's SLIs tick by tick from the engine's history.

    Call `update(sim)` at least once every `history_ticks` ticks (the app: every
    frame; headless: every few seconds); `status()` gives the live budgets and
    burn rates; `report()` gives the run's facts over everything consumed so far
    (or up to a moment). One tracker follows one run forward: after
    `sim.restore` to an earlier tick, start a new tracker.
    """

    def __init__(self, drill: Drill, latency_thresholds_s: tuple[float, ...]):
        self.drill = drill
        self.dt_s = drill.model.dt_s
        self.slos: tuple[SLOSpec, ...] = drill.slos
        self.class_names = tuple(c.name for c in drill.model.classes)
        self.latency_thresholds_s = tuple(latency_thresholds_s)
        self._class_masks = []
        self._event_axes = []
        self._threshold_index = []
        for slo in self.slos:
            mask = np.array([not slo.classes or name in slo.classes for name in self.class_names], dtype=bool)
            self._class_masks.append(mask)
            self._event_axes.append([0] if slo.events == "fresh" else [0, 1])
            if slo.kind == "latency":
                self._threshold_index.append(self._find_threshold(slo))
            else:
                self._threshold_index.append(None)
        self._degraded_cost = _class_degraded_costs(drill)
        self.baseline_slots = drill.model.service.workers * drill.model.service.concurrency
        self.baseline_pool_sizes = tuple(p.size for p in drill.model.pools)

        n_slo = max(len(self.slos), 1)
        self.ticks = 0
        """Ticks consumed so far."""
        self.t_s = 0.0
        self._t_s = _Rows(1, np.float64)
        # Running sums per tick, so `status` (asked on every gauge sample) costs the same at any
        # point of a run, and a report can stop at any tick: a sum over ticks is a difference of rows.
        self._cum_good = _Rows(n_slo, np.int64)
        self._cum_valid = _Rows(n_slo, np.int64)
        self._cum_degraded = _Rows(n_slo, np.int64)
        self._cum_degraded_cost = _Rows(n_slo, np.float64)
        self._cum_good_by_class = _Rows(n_slo * max(len(self.class_names), 1), np.int64)
        self._cum_valid_by_class = _Rows(n_slo * max(len(self.class_names), 1), np.int64)
        # Whole slot-ticks / connection-ticks (times dt only when read: a float running sum would
        # depend on how the run was cut into update() calls), needless shed, arrivals, degraded.
        self._cum_cost = _Rows(5, np.int64)
        self._windows_judged = 0
        self._window_breaches = np.zeros(n_slo, dtype=np.int64)
        self._targets = np.array([slo.target for slo in self.slos] or [1.0])
        self._percentiles_ms = _Rows(2, np.float64)
        self._status_widths = tuple(self._ticks_for(window_s) for window_s in self._STATUS_WINDOWS)
        self._eval_window_ticks = self._ticks_for(EVAL_WINDOW_S)
        self._history_has_degraded: bool | None = None
        """Whether the simulation's history has the series `class_degraded` (known at the first update)."""
        self.events_seen = 0
        self.events: list = []
        """Every engine event consumed so far (the engine keeps only the most recent)."""

    @classmethod
    def for_sim(cls, drill: Drill, sim) -> SLOTracker:
        """A tracker reading the latency thresholds the simulation was built with."""
        return cls(drill, sim.latency_thresholds_s)

    def _find_threshold(self, slo: SLOSpec) -> int:
        for index, threshold_s in enumerate(self.latency_thresholds_s):
            if slo.threshold_s is not None and math.isclose(threshold_s, slo.threshold_s, rel_tol=1e-9, abs_tol=1e-12):
                return index
        raise ValueError(
            f"SLO {slo.name!r}: latency threshold {slo.threshold_s!r} s is not among the simulation's "
            f"latency_thresholds_s {self.latency_thresholds_s!r}; build it with Simulation.from_drill"
        )

    @property
    def extra_slot_s(self) -> float:
        """Slot-seconds above the drill's initial capacity so far."""
        return float(self._cum_cost.values[-1, 0]) * self.dt_s if self.ticks else 0.0

    @property
    def extra_connection_s(self) -> float:
        """Connection-seconds above the drill's initial pool sizes so far."""
        return float(self._cum_cost.values[-1, 1]) * self.dt_s if self.ticks else 0.0

    def update(self, sim) -> None:
        """Consume every tick simulated since the previous call, and the new events."""
        history = sim.history
        written = history.written
        if written < self.ticks:
            raise ValueError("the simulation went back in time (restored?); use a new SLOTracker")
        count = written - self.ticks
        if count > history.capacity:
            raise ValueError(
                f"SLOTracker.update was called {count} ticks after the previous call, but the history "
                f"only holds {history.capacity}; call it more often"
            )
        if count:
            positions = _ring_positions(history, self.ticks, count)
            rows = {
                name: np.array(history.buffer(name)[positions])
                for name in (
                    "t_s", "arrivals", "class_completed", "class_failed", "class_rejected", "class_within",
                    "total_slots", "pool_size", "rejected_shed", "rejected_ratelimit", "queue_depth",
                    "busy_slots", "p95_ms", "p99_ms",
                )
            }
            if self._history_has_degraded is None:
                self._history_has_degraded = "class_degraded" in history.names
            if self._history_has_degraded:
                rows["class_degraded"] = np.array(history.buffer("class_degraded")[positions])
            self.ingest(rows)
        total = sim.events_total
        if total > self.events_seen:
            self.events.extend(sim.events_since(self.events_seen))
            self.events_seen = total

    def ingest(self, rows: dict[str, np.ndarray]) -> None:
        """Consume a block of consecutive ticks given as history rows by series name."""
        count = len(rows["t_s"])
        completed = rows["class_completed"]
        valid_all = completed + rows["class_failed"] + rows["class_rejected"]
        degraded_all = rows.get("class_degraded")
        if degraded_all is None:
            degraded_all = np.zeros(completed.shape, dtype=completed.dtype)
        n_slo, n_cls = max(len(self.slos), 1), max(len(self.class_names), 1)
        good_block = np.zeros((count, n_slo), dtype=np.int64)
        valid_block = np.zeros((count, n_slo), dtype=np.int64)
        degraded_block = np.zeros((count, n_slo), dtype=np.int64)
        degraded_cost_block = np.zeros((count, n_slo), dtype=np.float64)
        good_class_block = np.zeros((count, n_slo, n_cls), dtype=np.int64)
        valid_class_block = np.zeros((count, n_slo, n_cls), dtype=np.int64)
        # Integer counts: summing them in another grouping gives the same numbers, so SLOs over the
        # same events share their per-class sums; with no degraded answer in the block, its degraded
        # counts and costs stay the zeros they start as (the float cost sums are then all 0.0).
        any_degraded = bool(degraded_all.any())
        valid_for_axes: dict[tuple[int, ...], np.ndarray] = {}
        for i, slo in enumerate(self.slos):
            axes = self._event_axes[i]
            if slo.kind == "availability":
                good_by_class = completed[:, :, axes].sum(axis=2)
            else:
                good_by_class = rows["class_within"][:, :, axes, self._threshold_index[i]].sum(axis=2)
            valid_by_class = valid_for_axes.get(tuple(axes))
            if valid_by_class is None:
                valid_by_class = valid_for_axes[tuple(axes)] = valid_all[:, :, axes].sum(axis=2)
            mask = self._class_masks[i]
            good_block[:, i] = good_by_class[:, mask].sum(axis=1)
            valid_block[:, i] = valid_by_class[:, mask].sum(axis=1)
            if any_degraded:
                degraded_by_class = degraded_all[:, :, axes].sum(axis=2)
                degraded_block[:, i] = degraded_by_class[:, mask].sum(axis=1)
                degraded_cost_block[:, i] = (degraded_by_class[:, mask] * self._degraded_cost[mask]).sum(axis=1)
            good_class_block[:, i, : good_by_class.shape[1]] = good_by_class
            valid_class_block[:, i, : valid_by_class.shape[1]] = valid_by_class
        for running, block in ((self._cum_good, good_block), (self._cum_valid, valid_block),
                               (self._cum_degraded, degraded_block), (self._cum_degraded_cost, degraded_cost_block),
                               (self._cum_good_by_class, good_class_block.reshape(count, -1)),
                               (self._cum_valid_by_class, valid_class_block.reshape(count, -1))):
            before = running.values[-1] if running.length else 0
            running.extend(np.cumsum(block, axis=0) + before)
        self._t_s.extend(np.asarray(rows["t_s"], dtype=np.float64).reshape(count, 1))
        self._percentiles_ms.extend(np.stack((rows["p95_ms"], rows["p99_ms"]), axis=1))

        total_slots = np.asarray(rows["total_slots"], dtype=np.float64)
        extra_slots = np.maximum(total_slots - self.baseline_slots, 0)
        pool_size = np.asarray(rows["pool_size"], dtype=np.float64).reshape(count, -1)
        baseline = np.zeros(pool_size.shape[1])
        known = min(len(self.baseline_pool_sizes), pool_size.shape[1])
        baseline[:known] = self.baseline_pool_sizes[:known]
        extra_connections = np.maximum(pool_size - baseline, 0).sum(axis=1)
        # Shedding is "needless" when the tick ended with idle slots and nothing queued:
        # the service could have served those requests.
        idle = (rows["queue_depth"] == 0) & (rows["busy_slots"] < rows["total_slots"])
        shed = (rows["rejected_shed"] + rows["rejected_ratelimit"]) * idle
        cost_block = np.stack((extra_slots, extra_connections, shed, rows["arrivals"],
                               degraded_all.sum(axis=(1, 2))), axis=1).astype(np.int64)
        before = self._cum_cost.values[-1] if self._cum_cost.length else 0
        self._cum_cost.extend(np.cumsum(cost_block, axis=0) + before)
        self.ticks += count
        self.t_s = float(rows["t_s"][-1])

    # -- live ---------------------------------------------------------------

    def _ticks_for(self, seconds: float) -> int:
        return max(1, int(round(seconds / self.dt_s)))

    def _cum_at(self, running: _Rows, ticks) -> np.ndarray:
        """Running sums after `ticks` ticks (0: zeros), for an int or an array of ints."""
        values = running.values
        ticks = np.asarray(ticks)
        safe = np.maximum(ticks - 1, 0)
        out = values[safe] if len(values) else np.zeros((*ticks.shape, values.shape[1]), dtype=values.dtype)
        return np.where((ticks > 0)[..., None], out, 0)

    def _valid_rate(self, ticks) -> np.ndarray:
        """Per SLO, valid events per second before the incident, as known after `ticks` ticks
        (an int, or an array giving rows): before the incident starts (or when it starts at 0),
        the rate so far."""
        ticks = np.atleast_1d(np.asarray(ticks))
        t_s = self._t_s.values[:, 0]
        before = int(np.searchsorted(t_s, self.drill.incident_start_s + 1e-9, side="right"))
        base = np.minimum(ticks, before) if before > 0 else ticks
        base_s = np.where(base > 0, t_s[np.maximum(base - 1, 0)] if len(t_s) else 0.0, 0.0)
        valid = self._cum_at(self._cum_valid, base).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((base_s > 0)[:, None], valid / np.maximum(base_s, 1e-12)[:, None], 0.0)

    def month_valid_events(self, ticks: int | None = None) -> np.ndarray:
        """Per SLO, the valid events its window holds at the pre-incident rate (see the module docstring)."""
        ticks = self.ticks if ticks is None else ticks
        windows = np.array([slo.window_s for slo in self.slos] or [1.0])
        return self._valid_rate(ticks)[0] * windows

    def month_budget_events(self, ticks: int | None = None) -> np.ndarray:
        """Per SLO, the month's error budget in events: (1 - target) x month_valid_events."""
        return (1.0 - self._targets) * self.month_valid_events(ticks)

    def _burns_at(self, ticks: np.ndarray, windows_s: tuple[float, ...]) -> np.ndarray:
        """Burn rates [sample, window, SLO] over the last window at each tick count.

        A window reaching back before the run starts is filled, like the rest of the month,
        with good traffic at the pre-incident rate: the service was healthy before the drill.
        """
        ticks = np.asarray(ticks)
        good_now, valid_now = self._cum_at(self._cum_good, ticks), self._cum_at(self._cum_valid, ticks)
        rate = self._valid_rate(ticks)
        out = np.zeros((len(ticks), len(windows_s), len(self._targets)))
        for w, window_s in enumerate(windows_s):
            width = self._ticks_for(window_s)
            start = np.maximum(ticks - width, 0)
            before_run = (np.maximum(width - ticks, 0) * self.dt_s)[:, None] * rate
            valid = valid_now - self._cum_at(self._cum_valid, start)
            bad = valid - (good_now - self._cum_at(self._cum_good, start))
            valid = valid + before_run
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, w, :] = np.where(valid > 0, bad / np.maximum(valid, 1e-12) / (1.0 - self._targets), 0.0)
        return out

    def _judge_windows(self) -> None:
        """Count breaches in the evaluation windows completed since the last call."""
        per_window = self._ticks_for(EVAL_WINDOW_S)
        done = self.ticks // per_window
        if done <= self._windows_judged:
            return
        last = np.arange(self._windows_judged + 1, done + 1) * per_window
        wgood = self._cum_at(self._cum_good, last) - self._cum_at(self._cum_good, last - per_window)
        wvalid = self._cum_at(self._cum_valid, last) - self._cum_at(self._cum_valid, last - per_window)
        self._window_breaches += ((wvalid > 0) & (wgood < self._targets * wvalid - 1e-9)).sum(axis=0)
        self._windows_judged = done

    def _statuses_at(self, ticks: int, burns: np.ndarray, windows_s: tuple[float, ...],
                     budget: np.ndarray) -> tuple[SLOStatus, ...]:
        good, valid = self._cum_at(self._cum_good, ticks), self._cum_at(self._cum_valid, ticks)
        g, v = good.tolist(), valid.tolist()
        cost = self._cum_at(self._cum_degraded_cost, ticks).tolist()
        per_window = self._ticks_for(EVAL_WINDOW_S)
        window_start = (ticks // per_window) * per_window
        wg = (good - self._cum_at(self._cum_good, window_start)).tolist()
        wv = (valid - self._cum_at(self._cum_valid, window_start)).tolist()
        out = []
        for i, slo in enumerate(self.slos):
            spent = (v[i] - g[i] + cost[i]) / budget[i] if budget[i] > 0 else 0.0
            out.append(SLOStatus(
                name=slo.name, target=slo.target, good=g[i], valid=v[i], attained=g[i] / v[i] if v[i] else 1.0,
                budget_spent=float(spent),
                burns=tuple((w, float(burns[k, i])) for k, w in enumerate(windows_s)),
                window_sli=wg[i] / wv[i] if wv[i] else None,
                breaches=int(self._window_breaches[i]),
            ))
        return tuple(out)

    _STATUS_WINDOWS = tuple(sorted(set(ALERT_WINDOWS_S) | set(BURN_WINDOWS_S)))

    def status(self) -> tuple[SLOStatus, ...]:
        """Each SLO as it stands after the ticks consumed so far (costs the same at any point of a run).

        The live app asks at every gauge sample, so this is `_burns_at`, `month_budget_events` and
        `_statuses_at` for the one tick count in Python scalars: the same IEEE operations in the
        same order on the same values, so the same floats (`tests/sim/test_scoring.py` checks),
        without the cost of numpy on arrays of a few elements.
        """
        self._judge_windows()
        ticks, dt_s = self.ticks, self.dt_s
        targets = [slo.target for slo in self.slos]
        good, valid = self._cum_good.after(ticks, 0), self._cum_valid.after(ticks, 0)
        rate = self._valid_rate_now(ticks)
        burns = []
        for window_s, width in zip(self._STATUS_WINDOWS, self._status_widths):
            start = max(ticks - width, 0)
            before_run_s = max(width - ticks, 0) * dt_s
            good_start, valid_start = self._cum_good.after(start, 0), self._cum_valid.after(start, 0)
            row = []
            for i, target in enumerate(targets):
                in_window = valid[i] - valid_start[i]
                bad = in_window - (good[i] - good_start[i])
                in_window = in_window + before_run_s * rate[i]
                row.append(bad / max(in_window, 1e-12) / (1.0 - target) if in_window > 0 else 0.0)
            burns.append(row)
        cost = self._cum_degraded_cost.after(ticks, 0.0)
        window_start = (ticks // self._eval_window_ticks) * self._eval_window_ticks
        good_start, valid_start = self._cum_good.after(window_start, 0), self._cum_valid.after(window_start, 0)
        out = []
        for i, slo in enumerate(self.slos):
            g, v = good[i], valid[i]
            budget = (1.0 - slo.target) * (rate[i] * slo.window_s)
            wg, wv = g - good_start[i], v - valid_start[i]
            out.append(SLOStatus(
                name=slo.name, target=slo.target, good=g, valid=v, attained=g / v if v else 1.0,
                budget_spent=(v - g + cost[i]) / budget if budget > 0 else 0.0,
                burns=tuple((w, burns[k][i]) for k, w in enumerate(self._STATUS_WINDOWS)),
                window_sli=wg / wv if wv else None,
                breaches=int(self._window_breaches[i]),
            ))
        return tuple(out)

    def _valid_rate_now(self, ticks: int) -> list[float]:
        """`_valid_rate(ticks)[0]` as Python floats."""
        t_s = self._t_s.values[:, 0]
        before = int(np.searchsorted(t_s, self.drill.incident_start_s + 1e-9, side="right"))
        base = min(ticks, before) if before > 0 else ticks
        base_s = float(t_s[base - 1]) if base > 0 and len(t_s) else 0.0
        if not base_s > 0:
            return [0.0] * len(self._targets)
        return [v / max(base_s, 1e-12) for v in self._cum_valid.after(base, 0)]

    def status_vectorized(self) -> tuple[SLOStatus, ...]:
        """`status` computed with the array code the replay's alerts use (the reference tests compare)."""
        self._judge_windows()
        burns = self._burns_at(np.array([self.ticks]), self._STATUS_WINDOWS)[0]
        return self._statuses_at(self.ticks, burns, self._STATUS_WINDOWS, self.month_budget_events())

    def alerts(self, ticks: int | None = None) -> tuple[Alert, ...]:
        """The pages and tickets of the run up to `ticks`, judged on the app's samples.

        The app samples at tick 0, every `sample_every_ticks` ticks and at the drill's last tick;
        this replays the same judgement on the same samples, so it lists what the player saw.
        """
        from sim.drill.hints import sample_every_ticks

        ticks = self.ticks if ticks is None else ticks
        every = sample_every_ticks(self.dt_s)
        samples = list(range(every, ticks + 1, every))
        end_tick = int(math.ceil(self.drill.duration_s / self.dt_s - 1e-9))
        if ticks == end_tick and (not samples or samples[-1] != ticks):
            samples.append(ticks)
        if not samples or not self.slos:
            return ()
        samples = np.array(samples)
        t_s = self._t_s.values[samples - 1, 0]
        keep = t_s >= ALERT_WARMUP_S
        samples, t_s = samples[keep], t_s[keep]
        burns = self._burns_at(samples, ALERT_WINDOWS_S)
        budget = self.month_budget_events(ticks)
        bad = (self._cum_at(self._cum_valid, samples) - self._cum_at(self._cum_good, samples)
               + self._cum_at(self._cum_degraded_cost, samples))
        watch = AlertWatch()
        raised: list[Alert] = []
        for k in range(len(samples)):
            statuses = tuple(
                SLOStatus(name=slo.name, target=slo.target, good=0, valid=0, attained=1.0,
                          budget_spent=float(bad[k, i] / budget[i]) if budget[i] > 0 else 0.0,
                          burns=tuple((w, float(burns[k, j, i])) for j, w in enumerate(ALERT_WINDOWS_S)))
                for i, slo in enumerate(self.slos)
            )
            raised.extend(watch.check(float(t_s[k]), statuses))
        return tuple(raised)

    # -- final --------------------------------------------------------------

    def report(self, until_s: float | None = None) -> ScoreReport:
        """The run's facts over the ticks consumed so far, or those ending by `until_s`."""
        dt_s = self.dt_s
        all_t_s = self._t_s.values[:, 0]
        n = self.ticks if until_s is None else int(np.searchsorted(all_t_s, until_s + 1e-9, side="right"))
        t_s = all_t_s[:n]
        n_slo = len(self.slos)
        cum_good = self._cum_good.values[:n, :n_slo]
        cum_valid = self._cum_valid.values[:n, :n_slo]
        good = np.diff(cum_good, axis=0, prepend=0)
        valid = np.diff(cum_valid, axis=0, prepend=0)
        duration_s = float(t_s[-1]) if n else 0.0
        incident_start_s = float(self.drill.incident_start_s)

        per_window = self._ticks_for(EVAL_WINDOW_S)
        n_windows = -(-n // per_window)
        window_last = np.minimum((np.arange(n_windows) + 1) * per_window, n)
        window_first = np.arange(n_windows) * per_window
        window_good = self._cum_at(self._cum_good, window_last)[:, :n_slo] - self._cum_at(self._cum_good, window_first)[:, :n_slo]
        window_valid = self._cum_at(self._cum_valid, window_last)[:, :n_slo] - self._cum_at(self._cum_valid, window_first)[:, :n_slo]
        window_end_s = t_s[window_last - 1] if n else np.zeros(0)
        window_start_s = np.concatenate(([0.0], window_end_s[:-1])) if n_windows else np.zeros(0)
        targets = np.array([slo.target for slo in self.slos])
        with np.errstate(divide="ignore", invalid="ignore"):
            window_sli = np.where(window_valid > 0, window_good / np.maximum(window_valid, 1), np.nan)
        window_breached = (window_valid > 0) & (window_good < targets * window_valid - 1e-9)
        window_ok = ~window_breached.any(axis=1)
        percentiles_ms = self._percentiles_ms.values
        windows = tuple(
            WindowResult(
                start_s=float(window_start_s[w]),
                end_s=float(window_end_s[w]),
                sli=tuple(_none_if_nan(x) for x in window_sli[w]),
                p95_ms=_none_if_nan(percentiles_ms[window_last[w] - 1, 0]),
                p99_ms=_none_if_nan(percentiles_ms[window_last[w] - 1, 1]),
                ok=bool(window_ok[w]),
            )
            for w in range(n_windows)
        )

        month_valid = self.month_valid_events(n)
        degraded = self._cum_at(self._cum_degraded, n)
        degraded_cost = self._cum_at(self._cum_degraded_cost, n).astype(np.float64)
        n_cls = max(len(self.class_names), 1)
        class_good = self._cum_at(self._cum_good_by_class, n).reshape(-1, n_cls)
        class_valid = self._cum_at(self._cum_valid_by_class, n).reshape(-1, n_cls)
        slis = tuple(
            self._sli_result(i, slo, t_s, good[:, i], valid[:, i], window_end_s, window_breached[:, i],
                             int(degraded[i]), float(degraded_cost[i]), float(month_valid[i]),
                             class_good[i], class_valid[i])
            for i, slo in enumerate(self.slos)
        )
        curve_bad = (cum_valid - cum_good).astype(np.float64) + self._cum_degraded_cost.values[:n, :n_slo]
        events = [e for e in self.events if e.t_s <= duration_s + 1e-9]
        alerts = self.alerts(n)
        return ScoreReport(
            slis=slis,
            duration_s=duration_s,
            incident_start_s=incident_start_s,
            cost=self._cost(n, duration_s, events),
            windows=windows,
            alerts=alerts,
            first_page_s=first_page_s(alerts),
            actions_s=tuple(e.t_s for e in events if e.kind == "action_applied" and e.subject in ACTION_NAMES),
            curve_t_s=np.array(t_s),
            curve_bad=curve_bad,
        )

    def _sli_result(self, i, slo, t_s, good, valid, window_end_s, breached, degraded, degraded_cost,
                    month_valid, class_good, class_valid) -> SLIResult:
        g, v = int(good.sum()), int(valid.sum())
        bad = v - g
        budget = (1.0 - slo.target) * v
        burn_max, burn_end = [], []
        for window_s in BURN_WINDOWS_S:
            width = self._ticks_for(window_s)
            if len(t_s) < width:
                burn_max.append(None)
                burn_end.append(None)
                continue
            rolling_valid = _rolling_sum(valid, width)
            rolling_bad = rolling_valid - _rolling_sum(good, width)
            burn = _burn(rolling_bad[width - 1:], rolling_valid[width - 1:], slo.target)
            burn_max.append(float(burn.max()))
            burn_end.append(float(burn[-1]))
        by_class = tuple(
            (name, int(class_good[c]) / int(class_valid[c]) if class_valid[c] else None)
            for c, name in enumerate(self.class_names)
            if self._class_masks[i][c]
        )
        return SLIResult(
            name=slo.name,
            kind=slo.kind,
            target=slo.target,
            threshold_s=slo.threshold_s,
            events=slo.events,
            good=g,
            valid=v,
            attained=g / v if v else 1.0,
            budget_events=budget,
            budget_remaining=1.0 - bad / budget if budget > 0 else 1.0,
            met=bad <= budget + 1e-9,
            breached_at_s=tuple(float(x) for x in window_end_s[breached]),
            burn_rate_1m_max=burn_max[0],
            burn_rate_5m_max=burn_max[1],
            burn_rate_1m_end=burn_end[0],
            burn_rate_5m_end=burn_end[1],
            by_class=by_class,
            degraded=degraded,
            degraded_cost=degraded_cost,
            window_s=slo.window_s,
            month_valid_events=month_valid,
            month_budget_events=(1.0 - slo.target) * month_valid,
        )

    def _cost(self, n: int, duration_s: float, events) -> CostReport:
        slot_base_s = self.baseline_slots * duration_s
        connection_base_s = sum(self.baseline_pool_sizes) * duration_s
        extra_slot_ticks, extra_connection_ticks, needless, arrivals, degraded = (
            int(x) for x in self._cum_at(self._cum_cost, n))
        extra_slot_s, extra_connection_s = extra_slot_ticks * self.dt_s, extra_connection_ticks * self.dt_s
        restarts = sum(1 for e in events if e.kind == "action_applied" and e.subject == "worker.restart")
        # Only the trainee's refusals cost points (a facilitated run logs the facilitator's too).
        refused = sum(1 for e in events if e.kind == "action_refused" and e.subject in ACTION_NAMES)
        return CostReport(
            extra_slot_s=extra_slot_s,
            capacity_fraction=extra_slot_s / slot_base_s if slot_base_s > 0 else 0.0,
            extra_connection_s=extra_connection_s,
            pool_fraction=extra_connection_s / connection_base_s if connection_base_s > 0 else 0.0,
            needless_shed=needless,
            needless_shed_fraction=needless / arrivals if arrivals else 0.0,
            restarts=restarts,
            refused_actions=refused,
            degraded=degraded,
        )


# -- grading ------------------------------------------------------------------


def _total_spent(report: ScoreReport, budgets: np.ndarray) -> float:
    return float(sum(sli.effective_bad / b for sli, b in zip(report.slis, budgets) if b > 0))


def _curve_spent(report: ScoreReport, budgets: np.ndarray) -> np.ndarray:
    usable = budgets > 0
    if not len(report.curve_bad) or not usable.any():
        return np.zeros(len(report.curve_bad))
    return (report.curve_bad[:, usable] / budgets[usable]).sum(axis=1)


def _helped_at(you: ScoreReport, none: ScoreReport, budgets: np.ndarray, saving: float) -> float | None:
    """When `you` had saved HELP_FRACTION of `saving` (par's saving) over do nothing."""
    if saving <= 0:
        return None
    n = min(len(you.curve_bad), len(none.curve_bad))
    ahead = _curve_spent(none, budgets)[:n] - _curve_spent(you, budgets)[:n]
    hits = np.flatnonzero(ahead >= HELP_FRACTION * saving)
    return float(you.curve_t_s[hits[0]]) if len(hits) else None


def _acted_before(report: ScoreReport, t_s: float | None) -> float | None:
    if t_s is None:
        return None
    before = [a for a in report.actions_s if a <= t_s + 1e-9]
    return before[-1] if before else None


def _relative(seconds: float, what: str) -> str:
    suffix = f" the {what}" if what else ""
    return f"{seconds:.0f}s after{suffix}" if seconds >= 0 else f"{-seconds:.0f}s before{suffix}"


def judge(you: ScoreReport, none: ScoreReport, par: ScoreReport, *, branch: bool = False) -> ScoreReport:
    """Grade `you` against do nothing and par on the same seed, all three over the same span.

    The month's budgets are do-nothing's (the service as it was before anyone acted),
    so the three runs' spends are in the same units. Returns `you` with its verdict.
    """
    span_s = you.duration_s
    budgets = np.array([sli.month_budget_events for sli in none.slis])
    s_you, s_none, s_par = (_total_spent(r, budgets) for r in (you, none, par))
    saving = s_none - s_par
    lines = []

    # Impact.
    if saving > MIN_AVOIDABLE:
        avoided = (s_none - s_you) / saving
        fraction = min(max(avoided, 0.0), 1.0)
        better = f", better than par by {s_par - s_you:.3%} of a month's budget" if avoided > 1.0 else ""
        detail = (f"avoided {max(avoided, 0.0):.0%} of what doing nothing spends and par avoids "
                  f"(spent {s_you:.3%} of the month's budgets, do nothing {s_none:.3%}, par {s_par:.3%}{better})")
    else:
        avoided = None
        excess = max(0.0, s_you - min(s_par, s_none))
        fraction = max(0.0, 1.0 - excess / max(MIN_AVOIDABLE, s_none))
        detail = f"par avoids nothing here; spent {s_you:.3%} of the month's budgets, par {s_par:.3%}"
    lines.append(ScoreLine("impact avoided", IMPACT_POINTS * fraction, IMPACT_POINTS, detail))

    # Response: first page -> the action that helped (the last one before the run pulled ahead).
    page = none.first_page_s if none.first_page_s is not None else none.incident_start_s
    helped = _helped_at(you, none, budgets, saving)
    par_helped = _helped_at(par, none, budgets, saving)
    acted = _acted_before(you, helped)
    par_acted = _acted_before(par, par_helped)
    response = None if acted is None else acted - page
    par_response = None if par_acted is None else par_acted - page
    paged = "first page" if none.first_page_s is not None else "incident start (nobody was paged)"
    if response is None:
        points, detail = 0.0, f"nothing you did paid off against doing nothing ({paged} at {page:.0f}s)"
    else:
        late = max(0.0, response) - max(0.0, par_response or 0.0)
        points = RESPONSE_POINTS * min(1.0, max(0.0, 1.0 - late / RESPONSE_GRACE_S))
        par_when = "-" if par_response is None else _relative(par_response, "")
        detail = f"the action that helped came {_relative(response, paged)}; par's {par_when}"
    lines.append(ScoreLine("response", points, RESPONSE_POINTS, detail))

    # Collateral: item by item, what the run spent beyond par (a cheaper capacity choice does not
    # pay for refused actions).
    excess = sum(max(0.0, mine - theirs) for mine, theirs in zip(you.cost.items, par.cost.items))
    c = you.cost
    parts = [
        f"capacity +{c.capacity_fraction:.0%}", f"pools +{c.pool_fraction:.0%}",
        f"needless shed {c.needless_shed_fraction:.1%}", f"restarts {c.restarts}", f"refused {c.refused_actions}",
    ]
    detail = f"{c.points:.1f} cost points, par {par.cost.points:.1f} ({', '.join(parts)})"
    if c.degraded:
        detail += f"; {c.degraded} degraded answers are counted in the budgets"
    lines.append(ScoreLine("collateral", max(0.0, COLLATERAL_POINTS - excess), COLLATERAL_POINTS, detail))

    score = float(min(100.0, max(0.0, sum(line.points for line in lines))))
    spent = tuple(
        SpentLine(sli.name, *(float(r.slis[i].effective_bad / budgets[i]) if budgets[i] > 0 else 0.0
                              for r in (you, none, par)))
        for i, sli in enumerate(you.slis)
    )
    verdict = Verdict(
        score=score,
        grade=grade_for(score),
        breakdown=tuple(lines),
        spent=spent,
        avoided=avoided,
        first_page_s=none.first_page_s,
        helped_at_s=helped,
        par_helped_at_s=par_helped,
        acted_at_s=acted,
        par_acted_at_s=par_acted,
        response_s=response,
        par_response_s=par_response,
        span_s=span_s,
        branch=branch,
    )
    return attrs.evolve(you, verdict=verdict)


def score_run(drill: Drill, sim, tracker: SLOTracker | None = None) -> ScoreReport:
    """A run's facts (ungraded). Without a tracker, the whole run must still be in the sim's history."""
    if tracker is None:
        tracker = SLOTracker.for_sim(drill, sim)
        if sim.history.written > sim.history.capacity:
            raise ValueError(
                f"the run is {sim.history.written} ticks long but the history holds {sim.history.capacity}; "
                "score it with an SLOTracker updated during the run"
            )
    tracker.update(sim)
    return tracker.report()
