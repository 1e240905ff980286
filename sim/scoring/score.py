"""SLO scoring: good-events / valid-events SLIs, error budgets, burn rates and a score.

The arithmetic is the standard SRE one, from the engine's per-tick history:

- availability SLI = successful requests / valid requests, where valid =
  completed + failed + rejected (shed and rate-limited requests are bad);
- latency SLI = requests answered within the threshold / valid requests;
- an SLO's `events` says whether retries are valid events ("attempts") or only
  first attempts ("fresh"); its `classes` restrict it to some traffic classes;
- error budget = (1 - target) x valid events; budget remaining = 1 - bad / budget;
- burn rate over a window = (bad / valid in the window) / (1 - target).

The run is cut into EVAL_WINDOW_S evaluation windows; a window whose SLI is
below target is a breach. Time to detect = first breach after the incident
start; time to mitigate = incident start -> every SLI back inside its SLO for a
sustained SUSTAINED_S minute (measured after the last breached window).

`SLOTracker.update(sim)` consumes the ticks simulated since its previous call,
so the app can call it every frame for a live error budget and burn-rate
alerts, and a headless run of any length is scored without keeping the whole
history in the engine. `score_run(drill, sim)` scores a finished run at once.
The score weights are the documented constants below (README: "How a run is
scored").
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from sim.drill.drill import Drill, SLOSpec

EVAL_WINDOW_S = 10.0
"""Length of an evaluation window: SLIs, p95 and p99 are judged per window."""
SUSTAINED_S = 60.0
"""How long every SLI must stay inside its SLO for the incident to count as mitigated."""
BURN_WINDOWS_S = (60.0, 300.0)
"""Burn rates are reported over 1-minute and 5-minute windows."""

BUDGET_POINTS = 40.0
"""Points for error budget, split evenly across the drill's SLOs."""
BUDGET_SOFTNESS = 3.0
"""An SLO keeps weight / (1 + spent / BUDGET_SOFTNESS) of its points, spent = bad / budget:
every extra bad event costs something, exhausting the budget exactly keeps 75 %."""
ALL_MET_POINTS = 30.0
"""Points for ending the drill with every SLO met (bad events within budget)."""
MITIGATION_POINTS = 15.0
"""Points for time to mitigate, falling linearly to 0 over the time left after the incident."""
COST_POINTS = 15.0
"""Points for cost and collateral; each cost point below is one score point lost, at most 15."""

CAPACITY_COST = 10.0
"""Cost points for doubling the worker slots for the whole drill (pro rata)."""
POOL_COST = 5.0
"""Cost points for doubling every connection pool for the whole drill (pro rata)."""
NEEDLESS_SHED_COST = 20.0
"""Cost points for shedding (or rate-limiting) all traffic while capacity sat idle (pro rata)."""
RESTART_COST = 2.0
"""Cost points per `worker.restart` the operator applied (OOM kills are not the player's cost)."""
REFUSED_COST = 1.0
"""Cost points per action the service refused."""

GRADES = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"), (0.0, "F"))
"""Grade by score: the first whose floor the score reaches."""


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
    """One SLO judged over a whole run."""

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
    """The error budget in events: (1 - target) x valid."""
    budget_remaining: float
    """1 - bad / budget: 1.0 untouched, 0.0 exactly spent, negative when overspent."""
    met: bool
    breached_at_s: tuple[float, ...]
    """End times of the evaluation windows whose SLI was below target."""
    budget_exhausted_at_s: float | None
    """When the bad events first exceeded the whole run's budget (None: never)."""
    burn_rate_1m_max: float | None
    """Highest 1-minute burn rate over the run (None when the run is shorter than a minute)."""
    burn_rate_5m_max: float | None
    burn_rate_1m_end: float | None
    """Burn rate over the last minute of the run."""
    burn_rate_5m_end: float | None
    by_class: tuple[tuple[str, float | None], ...]
    """(class name, attained) for each class the SLO covers (None: no valid events)."""

    @property
    def bad(self) -> int:
        return self.valid - self.good

    @property
    def budget_spent(self) -> float:
        """bad / budget (0 when there is no budget because nothing was valid)."""
        return self.bad / self.budget_events if self.budget_events > 0 else 0.0

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
            "budget_events": self.budget_events,
            "budget_remaining": self.budget_remaining,
            "met": self.met,
            "breached_at": list(self.breached_at_s),
            "budget_exhausted_at": self.budget_exhausted_at_s,
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
    def points(self) -> float:
        """Total cost points (before the COST_POINTS cap)."""
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
class ScoreReport:
    """The judgement of one run: score, grade, the breakdown and every SLI."""

    score: float
    """0-100, the sum of the breakdown's points."""
    grade: str
    breakdown: tuple[ScoreLine, ...]
    slis: tuple[SLIResult, ...]
    duration_s: float
    """Simulated time scored."""
    incident_start_s: float
    time_to_detect_s: float | None
    """Incident start -> end of the first breached window (None: never breached)."""
    time_to_mitigate_s: float | None
    """Incident start -> every SLI inside its SLO for a sustained minute
    (0 when never breached; None when not mitigated before the end)."""
    cost: CostReport
    windows: tuple[WindowResult, ...]

    @property
    def all_met(self) -> bool:
        return all(sli.met for sli in self.slis)

    def to_dict(self) -> dict:
        """Plain JSON-ready values (see README "Headless runs" for the schema)."""
        return {
            "score": self.score,
            "grade": self.grade,
            "breakdown": [line.to_dict() for line in self.breakdown],
            "slo": [sli.to_dict() for sli in self.slis],
            "duration_s": self.duration_s,
            "incident_start_s": self.incident_start_s,
            "time_to_detect_s": self.time_to_detect_s,
            "time_to_mitigate_s": self.time_to_mitigate_s,
            "cost": self.cost.to_dict(),
            "windows": [window.to_dict() for window in self.windows],
        }


@attrs.frozen
class SLOStatus:
    """A live view of one SLO while a run is going on (for gauges and alerts)."""

    name: str
    target: float
    good: int
    valid: int
    attained: float
    budget_remaining: float
    """Of the budget earned so far: 1 - bad / ((1 - target) x valid so far)."""
    burn_rate_1m: float
    """Over the last minute (or what has been simulated of it); 0 with no valid events."""
    burn_rate_5m: float
    window_sli: float | None
    """SLI of the evaluation window in progress (None: nothing valid yet)."""
    breaches: int
    """Completed evaluation windows below target so far."""


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


class SLOTracker:
    """Accumulates a run's SLIs tick by tick from the engine's history.

    Call `update(sim)` at least once every `history_ticks` ticks (the app: every
    frame; headless: every few seconds); `status()` gives the live error budget
    and burn rates; `report()` scores everything consumed so far. One tracker
    follows one run forward: after `sim.restore` to an earlier tick, start a new
    tracker.
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
        self.baseline_slots = drill.model.service.workers * drill.model.service.concurrency
        self.baseline_pool_sizes = tuple(p.size for p in drill.model.pools)

        n_slo = len(self.slos)
        self.ticks = 0
        """Ticks consumed so far."""
        self.t_s = 0.0
        self._t_s = _Rows(1, np.float64)
        # Good and valid events per SLO as running sums over the ticks, so `status` (asked on
        # every gauge sample) costs the same at any point of a run: a sum over the last n ticks
        # is a difference of two rows. The per-tick counts are their differences.
        self._cum_good = _Rows(max(n_slo, 1), np.int64)
        self._cum_valid = _Rows(max(n_slo, 1), np.int64)
        self._windows_judged = 0
        self._window_breaches = np.zeros(max(n_slo, 1), dtype=np.int64)
        self._targets = np.array([slo.target for slo in self.slos] or [1.0])
        self._percentiles_ms = _Rows(2, np.float64)
        self._class_good = np.zeros((n_slo, len(self.class_names)), dtype=np.int64)
        self._class_valid = np.zeros((n_slo, len(self.class_names)), dtype=np.int64)
        self.arrivals = 0
        # Whole slot-ticks / connection-ticks, times dt only when read: a float running sum
        # would depend on how the run was cut into update() calls, and a replay must score
        # exactly what the live run scored.
        self.extra_slot_ticks = 0
        self.extra_connection_ticks = 0
        self.needless_shed = 0
        self.events_seen = 0
        self.events: list = []
        """Every engine event consumed so far (the engine keeps only the most recent)."""

    @property
    def extra_slot_s(self) -> float:
        """Slot-seconds above the drill's initial capacity so far."""
        return self.extra_slot_ticks * self.dt_s

    @property
    def extra_connection_s(self) -> float:
        """Connection-seconds above the drill's initial pool sizes so far."""
        return self.extra_connection_ticks * self.dt_s

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
        good_block = np.zeros((count, max(len(self.slos), 1)), dtype=np.int64)
        valid_block = np.zeros_like(good_block)
        for i, slo in enumerate(self.slos):
            axes = self._event_axes[i]
            if slo.kind == "availability":
                good_by_class = completed[:, :, axes].sum(axis=2)
            else:
                good_by_class = rows["class_within"][:, :, axes, self._threshold_index[i]].sum(axis=2)
            valid_by_class = valid_all[:, :, axes].sum(axis=2)
            mask = self._class_masks[i]
            good_block[:, i] = good_by_class[:, mask].sum(axis=1)
            valid_block[:, i] = valid_by_class[:, mask].sum(axis=1)
            self._class_good[i] += good_by_class.sum(axis=0).astype(np.int64)
            self._class_valid[i] += valid_by_class.sum(axis=0).astype(np.int64)
        for running, block in ((self._cum_good, good_block), (self._cum_valid, valid_block)):
            before = running.values[-1] if running.length else 0
            running.extend(np.cumsum(block, axis=0) + before)
        self._t_s.extend(np.asarray(rows["t_s"], dtype=np.float64).reshape(count, 1))
        self._percentiles_ms.extend(np.stack((rows["p95_ms"], rows["p99_ms"]), axis=1))

        self.arrivals += int(np.sum(rows["arrivals"]))
        total_slots = np.asarray(rows["total_slots"], dtype=np.float64)
        self.extra_slot_ticks += int(np.maximum(total_slots - self.baseline_slots, 0).sum())
        pool_size = np.asarray(rows["pool_size"], dtype=np.float64).reshape(count, -1)
        baseline = np.zeros(pool_size.shape[1])
        known = min(len(self.baseline_pool_sizes), pool_size.shape[1])
        baseline[:known] = self.baseline_pool_sizes[:known]
        self.extra_connection_ticks += int(np.maximum(pool_size - baseline, 0).sum())
        # Shedding is "needless" when the tick ended with idle slots and nothing queued:
        # the service could have served those requests.
        idle = (rows["queue_depth"] == 0) & (rows["busy_slots"] < rows["total_slots"])
        shed = rows["rejected_shed"] + rows["rejected_ratelimit"]
        self.needless_shed += int(shed[idle].sum())
        self.ticks += count
        self.t_s = float(rows["t_s"][-1])

    # -- live ---------------------------------------------------------------

    def _ticks_for(self, seconds: float) -> int:
        return max(1, int(round(seconds / self.dt_s)))

    def _sum_since(self, running: _Rows, tick: int) -> np.ndarray:
        """Per SLO, the sum over ticks [tick, now) of a series, from its running sums."""
        values = running.values
        return values[-1] - values[tick - 1] if tick > 0 else values[-1].copy()

    def _judge_windows(self) -> None:
        """Count breaches in the evaluation windows completed since the last call."""
        per_window = self._ticks_for(EVAL_WINDOW_S)
        done = self.ticks // per_window
        if done <= self._windows_judged:
            return
        # The last tick of each newly completed window; a window's sum is the running sum
        # there minus the running sum at the end of the window before it.
        last = np.arange(self._windows_judged + 1, done + 1) * per_window - 1
        sums = []
        for running in (self._cum_good, self._cum_valid):
            cum = running.values
            before = np.where((last >= per_window)[:, None], cum[np.maximum(last - per_window, 0)], 0)
            sums.append(cum[last] - before)
        wgood, wvalid = sums
        self._window_breaches += ((wvalid > 0) & (wgood < self._targets * wvalid - 1e-9)).sum(axis=0)
        self._windows_judged = done

    def status(self) -> tuple[SLOStatus, ...]:
        """Each SLO as it stands after the ticks consumed so far (costs the same at any point of a run)."""
        if not self.ticks:
            zero = np.zeros(len(self._targets), dtype=np.int64)
            g = v = wg = wv = zero
            recent = [(zero, zero), (zero, zero)]
        else:
            g, v = self._cum_good.values[-1], self._cum_valid.values[-1]
            recent = [(self._sum_since(self._cum_valid, max(self.ticks - n, 0)),
                       self._sum_since(self._cum_good, max(self.ticks - n, 0)))
                      for n in (self._ticks_for(w) for w in BURN_WINDOWS_S)]
            per_window = self._ticks_for(EVAL_WINDOW_S)
            window_start = (self.ticks // per_window) * per_window
            wg, wv = self._sum_since(self._cum_good, window_start), self._sum_since(self._cum_valid, window_start)
        self._judge_windows()
        g, v, wg, wv = g.tolist(), v.tolist(), wg.tolist(), wv.tolist()
        recent = [(vb.tolist(), gb.tolist()) for vb, gb in recent]
        out = []
        for i, slo in enumerate(self.slos):
            bad = v[i] - g[i]
            budget = (1.0 - slo.target) * v[i]
            burns = [(vb[i] - gb[i]) / vb[i] / (1.0 - slo.target) if vb[i] else 0.0 for vb, gb in recent]
            out.append(
                SLOStatus(
                    name=slo.name,
                    target=slo.target,
                    good=g[i],
                    valid=v[i],
                    attained=g[i] / v[i] if v[i] else 1.0,
                    budget_remaining=1.0 - bad / budget if budget > 0 else 1.0,
                    burn_rate_1m=burns[0],
                    burn_rate_5m=burns[1],
                    window_sli=wg[i] / wv[i] if wv[i] else None,
                    breaches=int(self._window_breaches[i]),
                )
            )
        return tuple(out)

    # -- final --------------------------------------------------------------

    def report(self) -> ScoreReport:
        """Score the ticks consumed so far."""
        dt_s = self.dt_s
        t_s = self._t_s.values[:, 0]
        good = np.diff(self._cum_good.values[:, : len(self.slos)], axis=0, prepend=0)
        valid = np.diff(self._cum_valid.values[:, : len(self.slos)], axis=0, prepend=0)
        n = self.ticks
        duration_s = float(t_s[-1]) if n else 0.0
        incident_start_s = float(self.drill.incident_start_s)

        per_window = self._ticks_for(EVAL_WINDOW_S)
        n_windows = -(-n // per_window)
        window_of_tick = np.arange(n) // per_window
        window_good = np.zeros((n_windows, len(self.slos)), dtype=np.int64)
        window_valid = np.zeros_like(window_good)
        np.add.at(window_good, window_of_tick, good)
        np.add.at(window_valid, window_of_tick, valid)
        window_last_tick = np.minimum((np.arange(n_windows) + 1) * per_window, n) - 1
        window_end_s = t_s[window_last_tick] if n else np.zeros(0)
        window_start_s = np.concatenate(([0.0], window_end_s[:-1])) if n_windows else np.zeros(0)
        targets = np.array([slo.target for slo in self.slos])
        with np.errstate(divide="ignore", invalid="ignore"):
            window_sli = np.where(window_valid > 0, window_good / np.maximum(window_valid, 1), np.nan)
        # A window breaches when good < target x valid (tolerance for float targets).
        window_breached = (window_valid > 0) & (window_good < targets * window_valid - 1e-9)
        window_ok = ~window_breached.any(axis=1)
        percentiles_ms = self._percentiles_ms.values

        windows = tuple(
            WindowResult(
                start_s=float(window_start_s[w]),
                end_s=float(window_end_s[w]),
                sli=tuple(_none_if_nan(x) for x in window_sli[w]),
                p95_ms=_none_if_nan(percentiles_ms[window_last_tick[w], 0]),
                p99_ms=_none_if_nan(percentiles_ms[window_last_tick[w], 1]),
                ok=bool(window_ok[w]),
            )
            for w in range(n_windows)
        )

        slis = tuple(self._sli_result(i, slo, t_s, good[:, i], valid[:, i], window_end_s, window_breached[:, i])
                     for i, slo in enumerate(self.slos))

        # Detection and mitigation look only at windows that end after the incident began.
        after = window_end_s > incident_start_s + 1e-9
        breached_after = np.flatnonzero(~window_ok & after)
        if len(breached_after):
            time_to_detect_s = float(window_end_s[breached_after[0]]) - incident_start_s
            mitigated_at_s = float(window_end_s[breached_after[-1]])
            if duration_s - mitigated_at_s >= SUSTAINED_S - 1e-6:
                time_to_mitigate_s = max(0.0, mitigated_at_s - incident_start_s)
            else:
                time_to_mitigate_s = None
        else:
            time_to_detect_s = None
            time_to_mitigate_s = 0.0

        cost = self._cost(duration_s)
        breakdown = self._breakdown(slis, time_to_mitigate_s, duration_s, incident_start_s, cost)
        score = float(sum(line.points for line in breakdown))
        return ScoreReport(
            score=score,
            grade=grade_for(score),
            breakdown=breakdown,
            slis=slis,
            duration_s=duration_s,
            incident_start_s=incident_start_s,
            time_to_detect_s=time_to_detect_s,
            time_to_mitigate_s=time_to_mitigate_s,
            cost=cost,
            windows=windows,
        )

    def _sli_result(self, i, slo, t_s, good, valid, window_end_s, breached) -> SLIResult:
        g, v = int(good.sum()), int(valid.sum())
        bad = v - g
        budget = (1.0 - slo.target) * v
        bad_so_far = np.cumsum(valid - good)
        over = np.flatnonzero(bad_so_far > budget + 1e-9) if v else np.zeros(0, dtype=int)
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
            (name, int(self._class_good[i, c]) / int(self._class_valid[i, c]) if self._class_valid[i, c] else None)
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
            budget_exhausted_at_s=float(t_s[over[0]]) if len(over) else None,
            burn_rate_1m_max=burn_max[0],
            burn_rate_5m_max=burn_max[1],
            burn_rate_1m_end=burn_end[0],
            burn_rate_5m_end=burn_end[1],
            by_class=by_class,
        )

    def _cost(self, duration_s: float) -> CostReport:
        slot_base_s = self.baseline_slots * duration_s
        connection_base_s = sum(self.baseline_pool_sizes) * duration_s
        restarts = sum(1 for e in self.events if e.kind == "action_applied" and e.subject == "worker.restart")
        refused = sum(1 for e in self.events if e.kind == "action_refused")
        return CostReport(
            extra_slot_s=self.extra_slot_s,
            capacity_fraction=self.extra_slot_s / slot_base_s if slot_base_s > 0 else 0.0,
            extra_connection_s=self.extra_connection_s,
            pool_fraction=self.extra_connection_s / connection_base_s if connection_base_s > 0 else 0.0,
            needless_shed=self.needless_shed,
            needless_shed_fraction=self.needless_shed / self.arrivals if self.arrivals else 0.0,
            restarts=restarts,
            refused_actions=refused,
        )

    def _breakdown(self, slis, time_to_mitigate_s, duration_s, incident_start_s, cost) -> tuple[ScoreLine, ...]:
        lines = []
        weight = BUDGET_POINTS / len(slis) if slis else BUDGET_POINTS
        for sli in slis:
            spent = sli.budget_spent
            lines.append(
                ScoreLine(
                    item=f"budget {sli.name}",
                    points=weight / (1.0 + spent / BUDGET_SOFTNESS),
                    max_points=weight,
                    detail=f"{sli.bad} bad of {sli.valid} valid, {spent:.0%} of a {sli.budget_events:.1f}-event budget spent",
                )
            )
        if not slis:
            lines.append(ScoreLine("budget", BUDGET_POINTS, BUDGET_POINTS, "the drill has no SLOs"))
        missed = [sli.name for sli in slis if not sli.met]
        lines.append(
            ScoreLine(
                item="all SLOs met",
                points=0.0 if missed else ALL_MET_POINTS,
                max_points=ALL_MET_POINTS,
                detail=f"missed: {', '.join(missed)}" if missed else "every SLO within budget",
            )
        )
        horizon_s = max(duration_s - incident_start_s - SUSTAINED_S, self.dt_s)
        if time_to_mitigate_s is None:
            mitigation_points, detail = 0.0, "not mitigated: SLIs never stayed inside their SLOs for a sustained minute"
        elif time_to_mitigate_s == 0.0:
            mitigation_points, detail = MITIGATION_POINTS, "no evaluation window breached after the incident start"
        else:
            mitigation_points = MITIGATION_POINTS * max(0.0, 1.0 - time_to_mitigate_s / horizon_s)
            detail = f"mitigated {time_to_mitigate_s:.0f}s after the incident start (0 points at {horizon_s:.0f}s)"
        lines.append(ScoreLine("time to mitigate", mitigation_points, MITIGATION_POINTS, detail))
        parts = [
            f"capacity +{cost.capacity_fraction:.0%} -{cost.capacity_points:.1f}",
            f"pools +{cost.pool_fraction:.0%} -{cost.pool_points:.1f}",
            f"needless shed {cost.needless_shed_fraction:.1%} -{cost.shed_points:.1f}",
            f"restarts {cost.restarts} -{cost.restart_points:.1f}",
            f"refused {cost.refused_actions} -{cost.refused_points:.1f}",
        ]
        lines.append(ScoreLine("cost", COST_POINTS - min(COST_POINTS, cost.points), COST_POINTS, ", ".join(parts)))
        return tuple(lines)


def score_run(drill: Drill, sim, tracker: SLOTracker | None = None) -> ScoreReport:
    """Score a run. Without a tracker, the whole run must still be in the sim's history."""
    if tracker is None:
        tracker = SLOTracker.for_sim(drill, sim)
        if sim.history.written > sim.history.capacity:
            raise ValueError(
                f"the run is {sim.history.written} ticks long but the history holds {sim.history.capacity}; "
                "score it with an SLOTracker updated during the run"
            )
    tracker.update(sim)
    return tracker.report()
