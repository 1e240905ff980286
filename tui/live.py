"""The live run behind the incident screen: the simulation, its clock and what it publishes.

`LiveRun` is the one mutable object of a played drill. The app's timer calls
`advance_wall(frame_s)`; at speed S that advances S x frame_s of sim time in whole
ticks (fractions carry over). While stepping it samples the gauges every
`sim.drill.hints.SAMPLE_EVERY_S` of sim time to smooth them, follow hint conditions, spot
fault symptoms and judge SLO alerts; `frame()` publishes an immutable `Frame` for the
widgets. Every method takes the lock, so a worker thread may step while the UI thread
submits actions.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import threading
import time

import attrs
import numpy as np

from sim.scoring.alerts import ALERT_WARMUP_S, Alert, AlertWatch, slo_state
from sim.drill.drill import Drill
from sim.engine.simulation import Simulation
from sim.drill.hints import HintWatch, sample_every_ticks
from sim.drill.modes import DEFAULT_MODE, Mode, hints_due
from sim.model.observe import Event, Gauges
from sim.scoring.score import SLOTracker
from sim.model.facilitation import MESSAGE, is_facilitator_action
from sim.model.spec import Action
from sim.drill.symptoms import SymptomWatch
from tui.frame import (
    BreakerReading,
    Frame,
    GaugeReading,
    LatencySeries,
    LogEntry,
    RatesReading,
    SLOReading,
    level_for,
)

SPEEDS = (1, 2, 5, 10, 50)
"""Sim seconds per wall second the player can choose."""
COVERED_SPEED = 1
"""While a dialog, help or the command palette covers the incident, the clock runs at most this fast:
typing a mitigation costs the real seconds it would cost on call, not fifty of them per second."""
BUDGET_CHUNK_TICKS = 5
"""Ticks stepped between checks of a frame's wall-time budget."""
NO_MEMORY_LIMIT_MB = 1e6
"""A memory limit this large means the drill does not model memory (the spec's default is 1e9)."""
SMOOTH_WINDOW_S = 5.0
"""The moving average shown beside each instant value."""
CHART_STEP_S = 1.0
CHART_WINDOW_S = 300.0
LOG_KEEP = 200
"""Entries carried by each frame; the log widget keeps its own scrollback."""

EVENT_TAGS = {
    "breaker": ("BREAKER", "crit"),
    "oom": ("OOM", "crit"),
    "worker_down": ("WORKER", "crit"),
    "worker_up": ("WORKER", "ok"),
    "action_applied": ("ACTION", "ok"),
    "action_pending": ("PENDING", "warn"),
    "action_refused": ("REFUSED", "crit"),
}
"""How engine events show in the log. Fault start/end are not shown: the
`SymptomWatch` reports what the operator can see instead."""


@attrs.frozen
class GaugeSample:
    """The gauge values kept for the moving averages."""

    t_s: float
    busy_slots: int
    queue_depth: int
    memory_mb: float
    live_workers: int
    pool_in_use: tuple[tuple[str, int], ...]


def recent_rows(sim: Simulation, name: str, count: int) -> np.ndarray:
    """The last `count` ticks of a history series (fewer at the start), oldest first, copied."""
    history = sim.history
    count = min(count, history.length)
    positions = np.arange(history.written - count, history.written) % history.capacity
    return history.buffer(name)[positions].copy()


@attrs.define
class LiveRun:
    """A drill being played: the simulation plus the trainee-facing bookkeeping."""

    drill: Drill
    sim: Simulation
    tracker: SLOTracker
    speed: int = 1
    paused: bool = True
    started_at: dt.datetime = attrs.Factory(lambda: dt.datetime.now(dt.timezone.utc))
    tick_debt: float = 0.0
    """Fractional ticks owed by the timer, carried to the next frame."""
    speed_cap: int | None = None
    """A bound on `speed` for as long as it is set (the incident screen sets COVERED_SPEED while covered).
    Plain assignment from the UI thread, no lock: a frame being stepped reads it between chunks."""
    log: collections.deque = attrs.Factory(lambda: collections.deque(maxlen=LOG_KEEP))
    log_total: int = 0
    events_seen: int = 0
    samples: collections.deque = attrs.Factory(collections.deque)
    next_sample_tick: int = 0
    hints: HintWatch = attrs.field(
        default=attrs.Factory(lambda self: HintWatch.for_hints(self.drill.hints), takes_self=True))
    """Which of the drill's hints fired and when."""
    symptoms: SymptomWatch = attrs.Factory(SymptomWatch)
    alerts: AlertWatch = attrs.Factory(AlertWatch)
    """Each SLO's alert state, judged on the gauge samples (see `sim.scoring.alerts`)."""
    lock: threading.RLock = attrs.Factory(threading.RLock)
    mode: Mode = DEFAULT_MODE
    """The difficulty mode: which hints show and when, whether the clock may pause or speed up."""
    hint_triggers: HintWatch = attrs.field(
        default=attrs.Factory(lambda self: HintWatch.for_hints(self.drill.hints), takes_self=True))
    """When a mode delays hints: when each would have fired (`hints` then holds when each was shown)."""
    shows_facilitator_moves: bool = False
    """Log a facilitator's injected faults and notes (a replay: the trainee never sees them live)."""

    @classmethod
    def start(cls, drill: Drill, seed: int | None = None, *, speed: int = 1, paused: bool = True,
              mode: Mode = DEFAULT_MODE) -> LiveRun:
        """A fresh run of `drill` at t=0 (seed defaults to the drill's)."""
        sim = Simulation.from_drill(drill, seed)
        run = cls(drill=drill, sim=sim, tracker=SLOTracker.for_sim(drill, sim), speed=speed, paused=paused, mode=mode)
        run.sample_tick()
        return run

    # ------------------------------------------------------------------ clock

    @property
    def ticks_total(self) -> int:
        """Ticks in the whole drill."""
        return int(math.ceil(self.drill.duration_s / self.sim.dt_s - 1e-9))

    @property
    def finished(self) -> bool:
        return self.sim.tick >= self.ticks_total

    @property
    def speeds(self) -> tuple[int, ...]:
        """The speeds the mode allows (on call: 1x only)."""
        top = self.mode.max_speed
        return tuple(s for s in SPEEDS if top is None or s <= top)

    def set_speed(self, speed: int) -> None:
        """Choose one of the mode's speeds."""
        if speed not in self.speeds:
            raise ValueError(f"speed must be one of {self.speeds}, got {speed}")
        with self.lock:
            self.speed = speed
            self.tick_debt = 0.0

    def faster(self) -> int:
        """The next speed up (stays at the top)."""
        speeds = self.speeds
        index = min(speeds.index(self.speed) + 1, len(speeds) - 1)
        self.set_speed(speeds[index])
        return self.speed

    def slower(self) -> int:
        """The next speed down (stays at 1x)."""
        speeds = self.speeds
        index = max(speeds.index(self.speed) - 1, 0)
        self.set_speed(speeds[index])
        return self.speed

    @property
    def clock_speed(self) -> int:
        """The speed the clock runs at now: `speed`, bounded by `speed_cap`."""
        cap = self.speed_cap
        return self.speed if cap is None else min(self.speed, cap)

    def advance_wall(self, wall_s: float, budget_s: float | None = None) -> int:
        """Advance the sim time owed for `wall_s` of wall time at the clock speed; returns ticks run.

        With `budget_s`, stop stepping once that much wall time is spent: the
        rest is dropped, not owed, so a model too heavy for the chosen speed runs
        slower than asked (the clock bar shows the speed achieved) instead of
        making every later frame longer. A cap set while stepping also drops
        the rest, so a dialog opened mid-frame costs at most a chunk at speed.
        """
        with self.lock:
            if self.paused or self.finished:
                return 0
            speed = self.clock_speed
            owed = self.tick_debt + wall_s * speed / self.sim.dt_s
            ticks = int(owed + 1e-9)
            self.tick_debt = owed - ticks
            if budget_s is None:
                return self.advance_ticks(ticks)
            deadline = time.perf_counter() + budget_s
            done = 0
            while done < ticks and time.perf_counter() < deadline and self.clock_speed >= speed:
                stepped = self.advance_ticks(min(BUDGET_CHUNK_TICKS, ticks - done))
                if not stepped:
                    break
                done += stepped
            return done

    def step_once(self) -> None:
        """Advance the simulation one tick (a replay also applies its recorded actions)."""
        self.sim.step()

    def advance_ticks(self, ticks: int) -> int:
        """Step up to `ticks` ticks (never past the drill's end); returns ticks run."""
        with self.lock:
            ticks = max(0, min(ticks, self.ticks_total - self.sim.tick))
            for _ in range(ticks):
                self.step_once()
                if self.sim.tick >= self.next_sample_tick or self.sim.tick == self.ticks_total:
                    self.sample_tick()
            if ticks:
                self.tracker.update(self.sim)
                self._log_events()
            return ticks

    # ------------------------------------------------------------------ actions

    def submit(self, name: str, args: dict | tuple = ()) -> Action:
        """Queue an operator action for the next tick boundary."""
        with self.lock:
            action = Action(t_s=self.sim.t_s, name=name, args=args)
            self.sim.apply(action)
            return action

    # ------------------------------------------------------------------ bookkeeping

    def sample_tick(self) -> None:
        """Take a gauge sample: smoothing, hint conditions, fault symptoms and SLO alerts."""
        gauges = self.sim.gauges()
        self.next_sample_tick = self.sim.tick + sample_every_ticks(self.sim.dt_s)
        self.samples.append(
            GaugeSample(
                t_s=gauges.t_s,
                busy_slots=gauges.busy_slots,
                queue_depth=gauges.queue_depth,
                memory_mb=gauges.memory_mb,
                live_workers=gauges.live_workers,
                pool_in_use=tuple((p.name, p.in_use) for p in gauges.pools),
            )
        )
        while self.samples and self.samples[0].t_s < gauges.t_s - SMOOTH_WINDOW_S + 1e-9:
            self.samples.popleft()
        # Symptoms, hints, then alerts, on every sample: sim.records.replay's index pass judges them in
        # this order and at this cadence to know what the player was shown. The engine's events
        # so far go first, so the log stays in time order.
        self._log_events()
        self._check_symptoms(gauges)
        self._check_hints(gauges)
        self.tracker.update(self.sim)
        self._check_alerts()

    def _check_symptoms(self, gauges: Gauges) -> None:
        # The run's faults, a facilitator's injected ones included: the trainee sees their symptoms.
        for symptom in self.symptoms.sample(self.sim.faults.timeline, gauges):
            if self.mode.symptoms:  # still sampled on call, so the watch's state matches a replay's
                self.add_log(LogEntry(symptom.t_s, "SYMPTOM", symptom.level, symptom.text))

    @property
    def hints_fired(self) -> dict[int, float]:
        """Index into drill.hints -> sim time it was shown, in showing order (in guided mode when it
        fired; a minute later in standard; never on call)."""
        return self.hints.fired

    def _check_hints(self, gauges: Gauges) -> None:
        mode = self.mode
        if not mode.hints:
            return
        if not mode.hint_delay_s:
            new = self.hints.check(gauges)
        else:
            self.hint_triggers.check(gauges)
            new = hints_due(self.hint_triggers.fired, self.hints.fired, gauges.t_s, mode)
            for index in new:
                self.hints.fired[index] = gauges.t_s
        for index in new:
            self.add_log(LogEntry(gauges.t_s, "HINT", "warn", self.drill.hints[index].text))

    def _log_events(self) -> None:
        for event in self.sim.events_since(self.events_seen):
            self._log_event(event)
        self.events_seen = self.sim.events_total

    def _log_event(self, event: Event) -> None:
        if is_facilitator_action(event.subject) and event.kind == "action_applied":
            # The trainee sees a facilitator's message, never the faults or notes (their symptoms show);
            # a replay shows who did what.
            if event.subject == MESSAGE:
                self.add_log(LogEntry(event.t_s, "MESSAGE", "warn", event.message.removeprefix("facilitator message: ")))
            elif self.shows_facilitator_moves:
                self.add_log(LogEntry(event.t_s, "FACILITATOR", "warn", event.message.removeprefix("facilitator ")))
            return
        tag = EVENT_TAGS.get(event.kind)
        if tag is None:
            return
        kind, level = tag
        if event.kind == "breaker" and "CLOSED" in event.message:
            level = "ok"
        elif event.kind == "breaker" and "HALF" in event.message:
            level = "warn"
        self.add_log(LogEntry(event.t_s, kind, level, event.message))

    def _check_alerts(self) -> None:
        for alert in self.alerts.check(self.sim.t_s, self.tracker.status()):
            self._log_alert(alert)

    def _log_alert(self, alert: Alert) -> None:
        self.add_log(LogEntry(alert.t_s, alert.kind, alert.level, alert.text))

    def add_log(self, entry: LogEntry) -> None:
        """Append one entry to the incident log."""
        self.log.append(entry)
        self.log_total += 1

    @property
    def latest_hint(self) -> str | None:
        return self.drill.hints[next(reversed(self.hints_fired))].text if self.hints_fired else None

    # ------------------------------------------------------------------ publishing

    def frame(self) -> Frame:
        """An immutable snapshot of everything the incident screen shows."""
        with self.lock:
            gauges = self.sim.gauges()
            return Frame(
                # Beside the title, a mode other than guided (the trainee knows what help to expect).
                title=self.drill.title if self.mode is DEFAULT_MODE else f"{self.drill.title}  ·  {self.mode.name}",
                t_s=gauges.t_s,
                tick=gauges.tick,
                duration_s=self.drill.duration_s,
                speed=self.speed,
                speed_cap=self.speed_cap,
                paused=self.paused,
                finished=self.finished,
                slots=self._slots(gauges),
                queue=self._queue(gauges),
                memory=self._memory(gauges),
                workers=self._workers(gauges),
                pools=tuple(self._pool(gauges, i) for i in range(len(gauges.pools))),
                breakers=tuple(
                    BreakerReading(b.dependency, b.state, b.forced, b.failure_rate, b.calls_in_window)
                    for b in gauges.breakers
                ),
                rates=self._rates(gauges),
                latency=self._latency(),
                slos=self._slos(),
                log=tuple(self.log),
                log_total=self.log_total,
                hint=self.latest_hint,
            )

    def _average(self, value_of) -> float:
        values = [value_of(sample) for sample in self.samples]
        return sum(values) / len(values) if values else 0.0

    def _slots(self, gauges: Gauges) -> GaugeReading:
        total = gauges.total_slots
        average = self._average(lambda s: s.busy_slots)
        return GaugeReading(
            label="Slots", value=gauges.busy_slots, limit=total, average=average,
            level=level_for(gauges.busy_slots / total, 0.75, 0.95) if total else "crit",
            value_text=f"{gauges.busy_slots}/{total}", average_text=f"{average:.0f}",
        )

    def _workers(self, gauges: Gauges) -> GaugeReading:
        warming = sum(1 for w in gauges.workers if w.warming)
        down = sum(1 for w in gauges.workers if not w.up and not w.warming)
        notes = [f"{warming} warming"] if warming else []
        if down:
            notes.append(f"{down} down")
        target = max(gauges.target_workers, 1)
        average = self._average(lambda s: s.live_workers)
        missing = gauges.live_workers < gauges.target_workers
        return GaugeReading(
            label="Workers", value=gauges.live_workers, limit=target, average=average,
            level="crit" if down else ("warn" if missing else "ok"),
            value_text=f"{gauges.live_workers}/{gauges.target_workers}", average_text=f"{average:.1f}",
            note=" ".join(notes),
        )

    def _queue(self, gauges: Gauges) -> GaugeReading:
        depth, limit = gauges.queue_depth, gauges.queue_limit
        average = self._average(lambda s: s.queue_depth)
        if limit:
            level = level_for(depth / limit, 0.5, 0.8)
            text = f"{depth}/{limit}"
        else:
            # Unbounded: judge the backlog against what the workers can hold at once.
            slots = max(gauges.total_slots, 1)
            level = level_for(depth / slots, 0.25, 1.0)
            text = f"{depth}/∞"
        scale = max(gauges.total_slots * 2, depth, 1)
        return GaugeReading(
            label="Queue", value=depth, limit=limit or None, average=average, level=level,
            value_text=text, average_text=f"{average:.0f}", scale=scale,
        )

    def _memory(self, gauges: Gauges) -> GaugeReading:
        used, limit, pressure = gauges.memory_mb, gauges.memory_limit_mb, gauges.memory_pressure_mb
        average = self._average(lambda s: s.memory_mb)
        if limit >= NO_MEMORY_LIMIT_MB:
            # The drill does not model memory pressure: show usage without a meaningless limit.
            return GaugeReading(
                label="Memory", value=used, limit=None, average=average, level="ok",
                value_text=f"{used:.0f}MB/∞", average_text=f"{average:.0f}", scale=max(used * 2, 1.0),
            )
        level = "crit" if used >= (pressure + limit) / 2 else ("warn" if used >= pressure else "ok")
        return GaugeReading(
            label="Memory", value=used, limit=limit, average=average, level=level,
            value_text=f"{used:.0f}/{limit:.0f}MB", average_text=f"{average:.0f}",
            mark=pressure / limit if limit else None,
        )

    def _pool(self, gauges: Gauges, index: int) -> GaugeReading:
        pool = gauges.pools[index]
        average = self._average(lambda s: dict(s.pool_in_use).get(pool.name, 0))
        full = pool.in_use >= pool.size
        level = "crit" if full and pool.waiters else level_for(pool.in_use / max(pool.size, 1), 0.8, 1.0)
        notes = [f"{pool.waiters} wait"]
        if pool.target_size != pool.size:
            notes.append(f"→{pool.target_size}")
        return GaugeReading(
            label=pool.name, value=pool.in_use, limit=pool.size, average=average, level=level,
            value_text=f"{pool.in_use}/{pool.size}", average_text=f"{average:.0f}", note=" ".join(notes),
        )

    def _rates(self, gauges: Gauges) -> RatesReading:
        window = max(1, int(round(SMOOTH_WINDOW_S / self.sim.dt_s)))
        span_s = max(min(window, self.sim.history.length), 1) * self.sim.dt_s
        arrivals = float(recent_rows(self.sim, "arrivals", window).sum())
        failed = float(recent_rows(self.sim, "failed", window).sum())
        rejected = float(recent_rows(self.sim, "rejected", window).sum())
        completed = float(recent_rows(self.sim, "completed", window).sum())

        def ratio(part: float, whole: float) -> float:
            # Failures finishing now belong to arrivals from earlier seconds: cap at 100%.
            return min(part / whole, 1.0) if whole > 0 else 0.0

        return RatesReading(
            arrival_rps=gauges.arrival_rps,
            arrival_avg_rps=arrivals / span_s,
            retry_rps=gauges.retry_rps,
            goodput_rps=gauges.goodput_rps,
            goodput_avg_rps=completed / span_s,
            error_ratio=ratio(gauges.error_rps, gauges.arrival_rps),
            error_avg_ratio=ratio(failed, arrivals),
            reject_ratio=ratio(gauges.reject_rps, gauges.arrival_rps),
            reject_avg_ratio=ratio(rejected, arrivals),
        )

    def _latency(self) -> LatencySeries:
        per_sample = max(1, int(round(CHART_STEP_S / self.sim.dt_s)))
        held = self.sim.history.length
        samples = min(held // per_sample, int(CHART_WINDOW_S / CHART_STEP_S))
        # Sample at whole-second tick boundaries counted from t=0, so columns do not shift per frame.
        usable = samples * per_sample + held % per_sample if samples else 0

        def series(name: str) -> tuple[float, ...]:
            if not samples:
                return ()
            rows = recent_rows(self.sim, name, usable)
            ends = rows[per_sample - 1 : samples * per_sample : per_sample]
            return tuple(float(v) for v in ends)

        thresholds = [s.threshold_s for s in self.drill.slos if s.kind == "latency" and s.threshold_s]
        t_end_s = (self.sim.tick - held % per_sample) * self.sim.dt_s
        return LatencySeries(
            step_s=per_sample * self.sim.dt_s,
            t_end_s=t_end_s,
            p50_ms=series("p50_ms"),
            p95_ms=series("p95_ms"),
            p99_ms=series("p99_ms"),
            threshold_ms=min(thresholds) * 1000.0 if thresholds else None,
            # The trainee's own actions: a facilitator's moves are not marked on the trainee's chart.
            markers_s=tuple(a.t_s for a in self.sim.action_log if not is_facilitator_action(a.name)),
        )

    def _slos(self) -> tuple[SLOReading, ...]:
        readings = []
        warming_up = self.sim.t_s < ALERT_WARMUP_S
        for status in self.tracker.status():
            level, word = slo_state(status, self.alerts.words.get(status.name, "OK"))
            if warming_up:
                level, word = "ok", "OK"
            readings.append(
                SLOReading(
                    name=status.name, target=status.target,
                    attained=status.attained if status.valid else math.nan,
                    budget_remaining=status.budget_remaining, burn_rate=status.burn_rate_1m,
                    level=level, state_word=word,
                )
            )
        return tuple(readings)
