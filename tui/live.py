"""The live run behind the incident screen: the simulation, its clock and what it publishes.

`LiveRun` is the one mutable object of a played drill. In `brownout` itself it lives
in a simulation process (`tui.sim_process`), whose loop calls `advance_wall`; without
that process the app's timer does, from a thread worker. `advance_wall(frame_s)` at
speed S advances S x frame_s of sim time in whole ticks (fractions carry over). While stepping it samples the gauges every
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
from tui import level_bands
from tui.frame import (
    BreakerReading,
    CacheReading,
    DependencyReading,
    Frame,
    GaugeReading,
    LatencySeries,
    LogEntry,
    RatesReading,
    SLOReading,
    worst_level,
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
HINT_SHOWN_S = 60.0
"""A timed hint stays on the hint line this long (it says something about that moment)."""
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
    "deploy": ("DEPLOY", "warn"),
}
"""How engine events show in the log. Fault start/end are not shown: the
`SymptomWatch` reports what the operator can see instead; a deploy is seen (the
deploy log), so it shows when it goes out."""


@attrs.frozen
class GaugeSample:
    """The gauge values kept for the moving averages."""

    t_s: float
    busy_slots: int
    queue_depth: int
    memory_mb: float
    live_workers: int
    pool_in_use: tuple[tuple[str, int], ...]
    pool_waiters: tuple[tuple[str, int], ...] = ()


def pool_value(pairs: tuple[tuple[str, int], ...], name: str) -> int:
    """A pool's value in a sample's (name, value) pairs (0 for a pool the sample does not hold), as
    `dict(pairs).get(name, 0)` says without building the dict: the last pair of that name."""
    for pool, value in reversed(pairs):
        if pool == name:
            return value
    return 0


def recent_rows(sim: Simulation, name: str, count: int) -> np.ndarray:
    """The last `count` ticks of a history series (fewer at the start), oldest first, copied."""
    return sim.history.buffer(name)[recent_positions(sim, count)].copy()


def recent_positions(sim: Simulation, count: int) -> np.ndarray:
    """Where the last `count` ticks (fewer at the start) sit in the history ring, oldest first."""
    history = sim.history
    count = min(count, history.length)
    return np.arange(history.written - count, history.written) % history.capacity


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
    levels: dict[str, str] = attrs.Factory(dict)
    """Each gauge's level word, judged at every sample on smoothed values with hysteresis."""
    hint_now: str | None = None
    """The hint the hint line shows: the latest one, while what it says still holds."""
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

    def set_paused(self, paused: bool) -> None:
        """Stop or start the clock (what was owed while it ran is dropped)."""
        with self.lock:
            self.paused = paused
            self.tick_debt = 0.0

    def stop_and_report(self):
        """Stop the clock and score the run as it stands (the run ends, or is saved as it is)."""
        with self.lock:
            self.paused = True
            self.tracker.update(self.sim)
            return self.tracker.report()

    # ------------------------------------------------------------------ actions

    def submit(self, name: str, args: dict | tuple = ()) -> Action:
        """Queue an operator action for the next tick boundary."""
        with self.lock:
            action = Action(t_s=self.sim.t_s, name=name, args=args)
            self.sim.apply(action)
            return action

    def queue(self, name: str, args: dict | tuple = ()) -> Action:
        """The trainee's action: submitted, and a QUEUED line in the log saying when it applies."""
        with self.lock:
            action = self.submit(name, args)
            detail = ", ".join(f"{k}={v}" for k, v in action.args)
            when = "at the next tick" if not self.paused else "when the clock runs"
            self.add_log(LogEntry(action.t_s, "QUEUED", "dim", f"{name}({detail}) applies {when}"))
            return action

    # ------------------------------------------------------------------ bookkeeping

    def prime_samples(self) -> None:
        """Rebuild the moving averages' samples from the history (a replay view made after a seek),
        as the live app took them over the last SMOOTH_WINDOW_S; the next `sample_tick` adds now."""
        sim = self.sim
        every = sample_every_ticks(sim.dt_s)
        held = sim.history.length
        count = min(held, int(round(SMOOTH_WINDOW_S / sim.dt_s)) + 1)
        if count <= 1:
            return
        columns = {name: recent_rows(sim, name, count) for name in
                   ("t_s", "busy_slots", "queue_depth", "memory_mb", "live_workers")}
        pools = [sim.pools.pool(pi).name for pi in range(len(sim.pools))]
        in_use = recent_rows(sim, "pool_in_use", count) if pools else None
        waiters = recent_rows(sim, "pool_waiters", count) if pools else None
        self.samples.clear()
        # Every `every` ticks back from the newest row, oldest first; the newest is the sample now.
        for row in range(count - 1 - every, -1, -every)[::-1]:
            self.samples.append(GaugeSample(
                t_s=float(columns["t_s"][row]),
                busy_slots=int(columns["busy_slots"][row]),
                queue_depth=int(columns["queue_depth"][row]),
                memory_mb=float(columns["memory_mb"][row]),
                live_workers=int(columns["live_workers"][row]),
                pool_in_use=tuple((name, int(in_use[row][i])) for i, name in enumerate(pools)),
                pool_waiters=tuple((name, int(waiters[row][i])) for i, name in enumerate(pools)),
            ))

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
                pool_waiters=tuple((p.name, p.waiters) for p in gauges.pools),
            )
        )
        while self.samples and self.samples[0].t_s < gauges.t_s - SMOOTH_WINDOW_S + 1e-9:
            self.samples.popleft()
        self._judge_levels(gauges)
        # Symptoms, hints, then alerts, on every sample: sim.records.replay's index pass judges them in
        # this order and at this cadence to know what the player was shown. The engine's events
        # so far go first, so the log stays in time order.
        self._log_events()
        self._check_symptoms(gauges)
        self._check_hints(gauges)
        self.tracker.update(self.sim)
        self._check_alerts()
        self.hint_now = self._current_hint(gauges)

    def _judge(self, key: str, value: float, band: level_bands.Band) -> str:
        level = level_bands.judge(self.levels.get(key, "ok"), value, band)
        self.levels[key] = level
        return level

    def _judge_levels(self, gauges: Gauges) -> None:
        """Move each level word on the smoothed values of this sample (see `tui.level_bands`)."""
        total = gauges.total_slots
        self._judge("slots", self._average(lambda s: s.busy_slots) / total if total else 1.0, level_bands.SLOTS)
        depth = self._average(lambda s: s.queue_depth)
        if gauges.queue_limit:
            self._judge("queue", depth / gauges.queue_limit, level_bands.QUEUE_LIMITED)
        else:
            self._judge("queue", depth / max(total, 1), level_bands.QUEUE_UNBOUNDED)
        memory = self.drill.model.service.memory
        if memory.limit_mb < NO_MEMORY_LIMIT_MB:
            self._judge("memory", self._average(lambda s: s.memory_mb) / memory.limit_mb,
                        level_bands.memory_band(memory.pressure_fraction))
        for pool in gauges.pools:
            in_use = self._average(lambda s: pool_value(s.pool_in_use, pool.name))
            waiting = self._average(lambda s: pool_value(s.pool_waiters, pool.name))
            self._judge(f"pool:{pool.name}:in_use", in_use / max(pool.size, 1), level_bands.POOL_IN_USE)
            self._judge(f"pool:{pool.name}:waiters", waiting, level_bands.pool_waiters_band(pool.size))
        rates = self._rates(gauges)
        self._judge("errors", rates.error_avg_ratio, level_bands.ERRORS)
        self._judge("rejects", rates.reject_avg_ratio, level_bands.ERRORS)
        for dep in gauges.dependencies:
            # Already windowed over seconds by the engine's call statistics.
            slowdown = dep.p95_ms / dep.normal_p95_ms if dep.normal_p95_ms > 0 else math.nan
            self._judge(f"dep:{dep.name}:slow", slowdown, level_bands.DEPENDENCY_SLOWDOWN)
            self._judge(f"dep:{dep.name}:errors", dep.error_ratio if dep.calls_per_s > 0 else math.nan,
                        level_bands.DEPENDENCY_ERRORS)
        for cache in gauges.caches:
            deficit = (cache.normal_hit_ratio - cache.hit_ratio) / cache.normal_hit_ratio if cache.normal_hit_ratio > 0 else 0.0
            self._judge(f"cache:{cache.name}", deficit, level_bands.CACHE_DEFICIT)

    def level(self, key: str) -> str:
        """The level word of a gauge as last judged (OK before its first judgement)."""
        return self.levels.get(key, "ok")

    def _current_hint(self, gauges: Gauges) -> str | None:
        """The latest hint while it is still true: a conditional hint while its condition holds,
        a timed one for HINT_SHOWN_S. The log keeps every hint with its time."""
        if not self.hints_fired:
            return None
        index = next(reversed(self.hints_fired))
        hint = self.drill.hints[index]
        tracker = self.hints.trackers.get(index)
        if tracker is not None:
            return hint.text if tracker.condition.holds(gauges) else None
        return hint.text if gauges.t_s - self.hints_fired[index] < HINT_SHOWN_S else None

    def _check_symptoms(self, gauges: Gauges) -> None:
        # The run's faults, a facilitator's injected ones included: the trainee sees their symptoms.
        for symptom in self.symptoms.sample(self.sim.faults.timeline, gauges):
            if self.mode.symptoms:  # still sampled on call, so the watch's state matches a replay's
                self.add_log(LogEntry(symptom.t_s, symptom.tag, symptom.level, symptom.text))

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
                hint=self.hint_now,
                dependencies=self._dependencies(gauges),
                caches=tuple(
                    CacheReading(c.name, c.hit_ratio, c.normal_hit_ratio, c.warming, self.level(f"cache:{c.name}"))
                    for c in gauges.caches
                ),
            )

    def _average(self, value_of) -> float:
        values = [value_of(sample) for sample in self.samples]
        return sum(values) / len(values) if values else 0.0

    def _slots(self, gauges: Gauges) -> GaugeReading:
        total = gauges.total_slots
        average = self._average(lambda s: s.busy_slots)
        return GaugeReading(
            label="Slots", value=gauges.busy_slots, limit=total, average=average,
            level=self.level("slots") if total else "crit",
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
        # Unbounded: the level judges the backlog against what the workers can hold at once.
        level = self.level("queue")
        text = f"{depth}/{limit}" if limit else f"{depth}/∞"
        scale = max(gauges.total_slots * 2, depth, 1)
        return GaugeReading(
            label="Queue", value=depth, limit=limit or None, average=average, level=level,
            value_text=text, average_text=f"{average:.0f}", scale=scale,
        )

    def _memory(self, gauges: Gauges) -> GaugeReading | None:
        used, limit, pressure = gauges.memory_mb, gauges.memory_limit_mb, gauges.memory_pressure_mb
        if limit >= NO_MEMORY_LIMIT_MB:
            return None  # the drill does not model memory: no row, rather than "0MB/∞"
        average = self._average(lambda s: s.memory_mb)
        level = self.level("memory")
        return GaugeReading(
            label="Memory", value=used, limit=limit, average=average, level=level,
            value_text=f"{used:.0f}/{limit:.0f}MB", average_text=f"{average:.0f}",
            mark=pressure / limit if limit else None,
        )

    def _pool(self, gauges: Gauges, index: int) -> GaugeReading:
        pool = gauges.pools[index]
        average = self._average(lambda s: pool_value(s.pool_in_use, pool.name))
        level = worst_level(self.level(f"pool:{pool.name}:in_use"), self.level(f"pool:{pool.name}:waiters"))
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
        positions = recent_positions(self.sim, window)
        arrivals, failed, rejected, completed = (float(self.sim.history.buffer(name)[positions].sum())
                                                 for name in ("arrivals", "failed", "rejected", "completed"))

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
            error_level=self.level("errors"),
            reject_level=self.level("rejects"),
        )

    def _dependencies(self, gauges: Gauges) -> tuple[DependencyReading, ...]:
        breakers = {b.dependency: b for b in gauges.breakers}
        rows = []
        for dep in gauges.dependencies:
            b = breakers.get(dep.name)
            breaker = None if b is None else BreakerReading(b.dependency, b.state, b.forced, b.failure_rate,
                                                            b.calls_in_window)
            level = worst_level(self.level(f"dep:{dep.name}:slow"), self.level(f"dep:{dep.name}:errors"),
                                breaker.level if breaker else "ok")
            rows.append(DependencyReading(
                name=dep.name, kind=dep.kind, calls_per_s=dep.calls_per_s, p95_ms=dep.p95_ms,
                normal_p95_ms=dep.normal_p95_ms, error_ratio=dep.error_ratio, in_flight=dep.active,
                timeout_s=dep.timeout_s, breaker=breaker, level=level,
                slow_level=self.level(f"dep:{dep.name}:slow"), error_level=self.level(f"dep:{dep.name}:errors"),
            ))
        return tuple(rows)

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
