"""Exact replays of saved runs: re-simulate drill + seed + recorded actions.

A `Replay` drives a fresh `Simulation` of the saved drill and applies every
recorded action right before the tick that starts at its logged time, which is
exactly what the engine did when the run was played (`Simulation.apply` queues
an action and `step()` applies it at the tick's start, logging that start
time). It keeps engine checkpoints as it plays forward, so `seek(t_s)` restores
the nearest checkpoint at or before `t_s` and steps the rest of the way.

`verify_save(path)` is the headless proof: replay to the end and compare the
metric digest (and the score) with the save.
"""

from __future__ import annotations

import copy
import io
import math
import os
import pickle
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from sim import ENGINE_VERSION
from sim.scoring.alerts import Alert, AlertWatch
from sim.model.errors import InputError, Problem
from sim.drill.modes import hint_times_under, mode_named
from sim.model.facilitation import injected_faults
from sim.drill.hints import HintWatch, sample_every_ticks
from sim.records.index_cache import CacheRejected, IndexData, load_state, read_cache, write_cache
from sim.records.saves import ForkPoint, Save, file_sha256, load_save, write_atomic
from sim.scoring.score import SLOTracker
from sim.drill.symptoms import Symptom, SymptomWatch

if TYPE_CHECKING:
    from sim.drill.drill import Drill
    from sim.engine.simulation import Simulation

CHECKPOINT_EVERY_S = 2.0
"""Sim seconds between replay checkpoints: a seek steps at most this far. A packed
checkpoint is ~30 KB, so a 15-minute drill keeps ~450 of them in ~15 MB."""

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 50.0)
"""Replay speeds offered by the viewer (sim seconds per wall second)."""

MAX_STEPS_PER_ADVANCE = 2000
"""A single `advance` never simulates more ticks than this, so one timer callback stays short."""

TRACKER_CHUNK_TICKS = 20
"""Verify feeds the score tracker this often, as the app does every frame, so no
event falls out of the engine's bounded event log before it is counted."""

SCORE_TOLERANCE = 1e-9
"""Scores are compared to this tolerance; the digest is the exact proof of the replay."""


@attrs.frozen
class VerifyResult:
    """The outcome of `brownout replay SAVE --verify`."""

    ok: bool
    message: str
    """One line for the terminal, naming the save and what matched or differed."""
    kind: str = "exact"
    """exact | bad_save | drill_missing | drill_changed | digest_differs | score_differs | result_differs"""
    digest: str | None = None
    """The re-simulated digest (None when the replay could not run)."""
    score: float | None = None

    @property
    def exit_code(self) -> int:
        """0 exact, 2 when the save file itself is invalid, 1 for every other mismatch."""
        if self.ok:
            return 0
        return 2 if self.kind == "bad_save" else 1


def resolve_drill_path(save: Save) -> Path:
    """The drill file to replay on: the recorded path if it still exists, else the drill id."""
    if save.drill_path:
        recorded = Path(save.drill_path)
        if recorded.is_file():
            return recorded
    from sim.drill.loader import find_drill

    return find_drill(save.drill_id)


def load_drill_for(save: Save, save_file: str = "save") -> Drill:
    """Load the drill a save was played on, with the save's seed.

    Raises InputError (naming the save file) when the drill cannot be found or
    its file changed since the run was recorded: replaying a different drill
    would silently produce a different incident.
    """
    from sim.drill.loader import load_drill

    try:
        path = resolve_drill_path(save)
    except InputError as exc:
        raise InputError.single(
            save_file, f"drill {save.drill_id!r} not found ({exc.first_line()})", path="save.drill_id"
        ) from None
    try:
        current_sha256 = file_sha256(path)
    except OSError as exc:
        raise InputError.single(save_file, f"cannot read drill file {path}: {exc.strerror or exc}") from None
    if current_sha256 != save.drill_sha256:
        raise InputError.single(
            save_file,
            f"drill file {path} changed since this run was recorded (SHA-256 {save.drill_sha256[:12]}... "
            f"then, {current_sha256[:12]}... now): the replay would not be the run that was played",
            path="save.drill_sha256",
        )
    drill = load_drill(path, seed=save.seed)
    _check_run_fits_drill(save, drill, save_file)
    _check_actions_name_the_drill(save, drill, save_file)
    return drill


_NAMED_ARGS = {"pool": "pools", "dependency": "dependencies", "class": "classes"}
"""Action arguments that name a part of the drill, and the ModelSpec field listing those parts."""


def _check_actions_name_the_drill(save: Save, drill: Drill, save_file: str) -> None:
    """Every pool, dependency and class an action names is one the drill has.

    The app only offers the drill's own, and actions files and runbooks are checked
    against the drill, so another name is a hand edit: an invalid save (exit 2), not a
    run whose digest differs because the engine refused the action.
    """
    model = drill.model
    problems = []
    for index, action in enumerate(save.actions):
        for key, value in action.args:
            field = _NAMED_ARGS.get(key)
            if field is None or value is None:
                continue
            known = [part.name for part in getattr(model, field)]
            if key == "pool" and isinstance(value, str) and "/" in value:
                # A bulkhead pool the engine made: "<shared pool>/<class>" (the app offers them once they exist).
                shared, _, cls = value.partition("/")
                if shared in known and cls in {c.name for c in model.classes}:
                    continue
            if value not in known:
                problems.append(Problem(
                    file=save_file, path=f"actions[{index}].args.{key}",
                    message=f"drill {drill.id!r} has no {key} {value!r} (it has {', '.join(known) or 'none'})",
                ))
    if problems:
        raise InputError(problems)


def _check_run_fits_drill(save: Save, drill: Drill, save_file: str) -> None:
    """The recorded run must lie inside the drill: no replaying past its end."""
    dt_s = drill.model.dt_s
    drill_ticks = int(math.ceil(drill.duration_s / dt_s - 1e-9))
    if save.end_tick > drill_ticks:
        raise InputError.single(
            save_file, f"the run ends at tick {save.end_tick}, after the drill's end ({drill_ticks} ticks of "
            f"{dt_s:g} s)", path="save.end_tick",
        )
    if abs(save.end_tick * dt_s - save.end_t_s) > dt_s / 2:
        raise InputError.single(
            save_file, f"end_tick {save.end_tick} x {dt_s:g} s does not match end_t_s {save.end_t_s:g}",
            path="save.end_tick",
        )


class _CheckpointPickler(pickle.Pickler):
    """Pickles an engine checkpoint, keeping hash objects (not picklable) out of band."""

    def __init__(self, file, side: list):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.side = side

    def persistent_id(self, obj):
        if type(obj).__module__ == "_hashlib" or type(obj).__name__ == "HASH":
            self.side.append(obj.copy())
            return len(self.side) - 1
        return None


class _CheckpointUnpickler(pickle.Unpickler):
    def __init__(self, file, side: tuple):
        super().__init__(file)
        self.side = side

    def persistent_load(self, pid):
        # A copy, so the stored hash state is never advanced by the restored run.
        return self.side[pid].copy()


@attrs.frozen
class PackedCheckpoint:
    """An engine checkpoint compressed for keeping (the raw one is mostly an empty latency ring)."""

    tick: int
    packed: bytes
    side: tuple
    """Objects kept out of the pickle (hash states)."""
    rows: dict
    """History rows of the ticks since the previous checkpoint, by series name, so a
    simulation that never ran this far can be restored here with its history complete."""
    first_row: int
    cached: bool = False
    """Read from a replay index cache (a file anyone could have written): unpickled with an allow-list."""

    @classmethod
    def of(cls, sim: Simulation, first_row: int) -> PackedCheckpoint:
        """Checkpoint `sim` now, with its history rows since `first_row`."""
        side: list = []
        buffer = io.BytesIO()
        _CheckpointPickler(buffer, side).dump(sim.checkpoint())
        history = sim.history
        rows = {name: history.buffer(name)[first_row : sim.tick].copy() for name in history.names}
        return cls(tick=sim.tick, packed=zlib.compress(buffer.getvalue(), 1), side=tuple(side), rows=rows,
                   first_row=first_row)

    def state(self) -> object:
        """The engine checkpoint, ready for `Simulation.restore`."""
        if self.cached:
            return load_state(self)
        return _CheckpointUnpickler(io.BytesIO(zlib.decompress(self.packed)), self.side).load()


@attrs.define
class ShownWatch:
    """What the app showed the player from its gauge samples: fault symptoms, hints and SLO alerts."""

    drill: Drill
    hints: HintWatch
    symptoms: SymptomWatch
    tracker: SLOTracker
    every_ticks: int
    drill_end_tick: int
    alerts: AlertWatch = attrs.Factory(AlertWatch)
    symptoms_seen: list[Symptom] = attrs.Factory(list)
    alerts_seen: list[Alert] = attrs.Factory(list)
    next_sample_tick: int = 0

    @classmethod
    def for_run(cls, drill: Drill, sim: Simulation) -> ShownWatch:
        """A watch over `sim`, a run of `drill` at tick 0."""
        return cls(drill, HintWatch.for_hints(drill.hints), SymptomWatch(), SLOTracker.for_sim(drill, sim),
                   sample_every_ticks(sim.dt_s), int(math.ceil(drill.duration_s / sim.dt_s - 1e-9)))

    def observe(self, sim: Simulation) -> None:
        """Call at tick 0 and after every step: samples where the app did (also at the drill's
        last tick, but not where a player ended the run early)."""
        if sim.tick < self.next_sample_tick and sim.tick != self.drill_end_tick:
            return
        self.next_sample_tick = sim.tick + self.every_ticks
        gauges = sim.gauges()
        # The app judges symptoms, hints, then alerts on each sample; none changes the run.
        self.symptoms_seen.extend(self.symptoms.sample(sim.faults.timeline, gauges))
        self.hints.check(gauges)
        self.tracker.update(sim)
        self.alerts_seen.extend(self.alerts.check(sim.t_s, self.tracker.status()))


@attrs.define
class Replay:
    """A saved run being re-simulated, with play/pause, speed, step and seek.

    The state at time t is the service after every tick ending at or before t;
    actions recorded at exactly t are applied when the next tick runs.
    Checkpoints come from an index pass (`build_index`, which a viewer runs in a
    background thread on its own simulation) and from playing forward.
    """

    save: Save
    drill: Drill
    sim: Simulation
    save_path: Path | None = None
    checkpoint_every_ticks: int = 40
    playing: bool = False
    speed: float = 1.0
    history_ticks: int = 32768
    index_digest: str | None = None
    """The digest the index pass reached at the end of the run (None until it finishes)."""
    hint_times: dict[int, float] | None = None
    """When each of the drill's hints fired in the saved run (hint index -> sim time), as the
    player saw them; None until the index pass finishes."""
    symptoms_seen: tuple[Symptom, ...] | None = None
    """The fault symptoms the player was shown, in order; None until the index pass finishes."""
    alerts_seen: tuple[Alert, ...] | None = None
    """The SLO alerts (raised and cleared) the player was shown, in order; None until the index
    pass finishes."""
    save_sha256: str | None = None
    """The save file's SHA-256 when it was opened: the key of its index cache."""
    index_from_cache: bool = False
    """The index came from the cache beside the save (sim.records.index_cache), not a pass."""
    index_cache_note: str = ""
    """Why the cache was not used, when it was not."""
    _actions_by_tick: dict[int, list[Any]] = attrs.Factory(dict)
    _checkpoints: dict[int, PackedCheckpoint] = attrs.Factory(dict)
    _rows_valid_to: int = 0
    """History rows [0, this) of `sim` hold the run's true values (deterministic, so they stay valid)."""
    _tick_debt: float = 0.0
    _lock: threading.RLock = attrs.Factory(threading.RLock)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, checkpoint_every_s: float = CHECKPOINT_EVERY_S) -> Replay:
        """Load a save and its drill (InputError on a bad save or a changed drill)."""
        save = load_save(path)
        drill = load_drill_for(save, str(path))
        replay = cls.start(save, drill, save_path=Path(path), checkpoint_every_s=checkpoint_every_s)
        try:
            replay.save_sha256 = file_sha256(path)
        except OSError:
            return replay
        replay.load_index_cache()
        return replay

    @classmethod
    def start(
        cls, save: Save, drill: Drill, *, save_path: Path | None = None, checkpoint_every_s: float = CHECKPOINT_EVERY_S
    ) -> Replay:
        """A replay at t=0 of `save` on an already loaded `drill` (hash not checked here)."""
        dt_s = drill.model.dt_s
        run_ticks = max(save.end_tick, int(math.ceil(drill.duration_s / dt_s - 1e-9)))
        # The history must hold the whole run (and a fork played on to the drill's end)
        # without wrapping: restored checkpoints rely on the rows before them, and a fork
        # is scored from tick 0.
        history_ticks = max(32768, run_ticks + 16)
        replay = cls(
            save=save,
            drill=drill,
            sim=cls._new_sim(drill, save.seed, history_ticks),
            save_path=save_path,
            checkpoint_every_ticks=(
                max(1, int(round(checkpoint_every_s / dt_s))) if math.isfinite(checkpoint_every_s) else run_ticks + 1
            ),
            history_ticks=history_ticks,
        )
        for action in save.actions:
            replay._actions_by_tick.setdefault(replay.tick_of(action.t_s), []).append(action)
        replay._checkpoints[0] = PackedCheckpoint.of(replay.sim, 0)
        return replay

    @staticmethod
    def _new_sim(drill: Drill, seed: int, history_ticks: int) -> Simulation:
        from sim.engine.simulation import Simulation

        return Simulation.from_drill(drill, seed, history_ticks=history_ticks)

    # -- where we are ----------------------------------------------------------------

    def tick_of(self, t_s: float) -> int:
        """The tick index that starts at sim time t_s (nearest whole tick)."""
        return int(round(t_s / self.sim.dt_s))

    @property
    def tick(self) -> int:
        """Ticks simulated so far."""
        return self.sim.tick

    @property
    def t_s(self) -> float:
        """Sim time now."""
        return self.sim.t_s

    @property
    def end_tick(self) -> int:
        """The tick the recorded run ended at."""
        return self.save.end_tick

    @property
    def end_t_s(self) -> float:
        """The sim time the recorded run ended at."""
        return self.save.end_tick * self.sim.dt_s

    @property
    def at_end(self) -> bool:
        """Whether the replay reached the end of the recorded run."""
        return self.sim.tick >= self.save.end_tick

    @property
    def action_times_s(self) -> tuple[float, ...]:
        """Tick times of the recorded actions, for the timeline marks."""
        return tuple(action.t_s for action in self.save.actions)

    def actions_applied(self) -> int:
        """How many recorded actions the run has applied so far."""
        return sum(len(actions) for at, actions in self._actions_by_tick.items() if at < self.sim.tick)

    @property
    def checkpoint_ticks(self) -> tuple[int, ...]:
        """Ticks that have a checkpoint, in order."""
        with self._lock:
            return tuple(sorted(self._checkpoints))

    @property
    def indexed_tick(self) -> int:
        """The furthest tick a seek can restore directly."""
        with self._lock:
            return max(self._checkpoints)

    @property
    def index_complete(self) -> bool:
        """Whether the index pass reached the end of the run."""
        return self.index_digest is not None

    @property
    def index_exact(self) -> bool | None:
        """Whether the index pass reproduced the saved digest (None until it finished)."""
        return None if self.index_digest is None else self.index_digest == self.save.digest

    # -- moving ------------------------------------------------------------------------

    def _step(self, sim: Simulation) -> None:
        for action in self._actions_by_tick.get(sim.tick, ()):
            sim.apply(action)
        sim.step()

    def step(self) -> bool:
        """Advance one tick, applying the actions recorded for it; False at the end."""
        with self._lock:
            if self.at_end:
                self.playing = False
                return False
            self._step(self.sim)
            self._rows_valid_to = max(self._rows_valid_to, self.sim.tick)
            tick = self.sim.tick
            if tick % self.checkpoint_every_ticks == 0 and tick not in self._checkpoints:
                previous = max(t for t in self._checkpoints if t < tick)
                self._checkpoints[tick] = PackedCheckpoint.of(self.sim, previous)
            return True

    def run_to_tick(self, tick: int) -> None:
        """Step forward until `tick` (or the end of the run)."""
        while self.sim.tick < min(tick, self.save.end_tick):
            self.step()

    def run_to_end(self) -> None:
        """Step to the end of the recorded run."""
        self.run_to_tick(self.save.end_tick)

    def build_index(self, progress=None, cancelled=None) -> None:
        """Checkpoint the whole run on a separate simulation, so any seek is fast.

        Safe to run in a background thread while the viewer plays `sim`.
        `progress(fraction)` is called after each checkpoint; `cancelled()` returning
        True stops the pass early.
        """
        indexer = self._new_sim(self.drill, self.save.seed, self.history_ticks)
        previous = 0
        # Symptoms, hints and alerts are judged on the same gauge samples the live app took, so
        # the pass can say what the player was shown and when. That needs the run from its
        # start, so the pass starts at tick 0 even where the viewer has played further.
        shown = ShownWatch.for_run(self.drill, indexer)
        shown.observe(indexer)
        while indexer.tick < self.save.end_tick:
            if cancelled is not None and cancelled():
                return
            self._step(indexer)
            shown.observe(indexer)
            tick = indexer.tick
            if tick % self.checkpoint_every_ticks == 0 or tick == self.save.end_tick:
                with self._lock:
                    if tick not in self._checkpoints:
                        self._checkpoints[tick] = PackedCheckpoint.of(indexer, previous)
                previous = tick
                if progress is not None:
                    progress(tick / max(self.save.end_tick, 1))
        # What the player was shown depended on the mode they played in: hints late or never, no symptoms on call.
        mode = mode_named(self.save.mode)
        self.hint_times = hint_times_under(mode, shown.hints.fired, self.save.end_t_s)
        self.symptoms_seen = tuple(shown.symptoms_seen) if mode.symptoms else ()
        self.alerts_seen = tuple(shown.alerts_seen)
        self.index_digest = indexer.digest()
        self.write_index_cache()

    def load_index_cache(self) -> bool:
        """Take the index from the cache beside the save if it is there, fresh and sound."""
        if self.save_path is None or self.save_sha256 is None:
            return False
        try:
            data = read_cache(self.save_path, self.save_sha256, self.checkpoint_every_ticks, self.save.end_tick)
        except CacheRejected as why:
            self.index_cache_note = str(why)
            return False
        with self._lock:
            for tick, checkpoint in data.checkpoints.items():
                self._checkpoints.setdefault(tick, checkpoint)
        self.hint_times = dict(data.hint_times)
        self.symptoms_seen = tuple(data.symptoms_seen)
        self.alerts_seen = tuple(data.alerts_seen)
        self.index_digest = data.index_digest
        self.index_from_cache = True
        return True

    def write_index_cache(self) -> bool:
        """Keep the finished index beside the save for the next open (False when it cannot be)."""
        if self.save_path is None or self.save_sha256 is None or self.index_digest is None or self.index_from_cache:
            return False
        with self._lock:
            checkpoints = dict(self._checkpoints)
        data = IndexData(
            checkpoint_every_ticks=self.checkpoint_every_ticks, end_tick=self.save.end_tick,
            index_digest=self.index_digest, checkpoints=checkpoints, hint_times=dict(self.hint_times),
            symptoms_seen=self.symptoms_seen, alerts_seen=self.alerts_seen,
        )
        return write_cache(self.save_path, self.save_sha256, data, write_atomic)

    def _restore_into(self, sim: Simulation, tick: int) -> None:
        """Put `sim` in the state of the checkpoint at `tick`, filling its history rows first."""
        with self._lock:
            checkpoint = self._checkpoints[tick]
            valid_to = self._rows_valid_to if sim is self.sim else 0
            if tick > valid_to:
                history = sim.history
                for at in sorted(t for t in self._checkpoints if valid_to < t <= tick):
                    block = self._checkpoints[at]
                    for name, rows in block.rows.items():
                        history.buffer(name)[block.first_row : block.tick] = rows
            sim.restore(checkpoint.state())
            if sim is self.sim:
                self._rows_valid_to = max(self._rows_valid_to, tick)

    def seek(self, t_s: float, max_steps: int | None = None) -> float:
        """Jump to sim time t_s (clamped to the run): restore a checkpoint, then step.

        With `max_steps`, a jump that would step further than that from the nearest
        checkpoint (or from where the replay is) stops there instead: ahead of the
        index pass, a seek costs as much as playing that stretch. Returns the time reached.
        """
        with self._lock:
            target = min(max(self.tick_of(t_s), 0), self.save.end_tick)
            self._tick_debt = 0.0
            if target == self.sim.tick:
                return self.t_s
            best = max(tick for tick in self._checkpoints if tick <= target)
            # Stepping on from where we are beats restoring when we are already closer.
            from_here = self.sim.tick < target and best <= self.sim.tick
            if max_steps is not None:
                target = min(target, (self.sim.tick if from_here else best) + max_steps)
            if not from_here:
                self._restore_into(self.sim, best)
            self.run_to_tick(target)
            return self.t_s

    def seek_by(self, delta_s: float) -> None:
        """Jump relative to now (negative: back)."""
        self.seek(self.sim.t_s + delta_s)

    # -- play / pause / speed --------------------------------------------------------------

    def play(self) -> None:
        """Start playing (from the start again when at the end)."""
        if self.at_end:
            self.seek(0.0)
        self.playing = True

    def pause(self) -> None:
        """Stop playing."""
        self.playing = False
        self._tick_debt = 0.0

    def toggle(self) -> None:
        """Pause when playing, play when paused."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        """Sim seconds per wall second (> 0)."""
        if not speed > 0:
            raise ValueError(f"replay speed must be > 0, got {speed!r}")
        self.speed = float(speed)

    def faster(self) -> float:
        """The next speed up in SPEEDS (stays at the top)."""
        self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])
        return self.speed

    def slower(self) -> float:
        """The next speed down in SPEEDS (stays at the bottom)."""
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
        return self.speed

    def advance(self, wall_s: float) -> int:
        """While playing, simulate `speed * wall_s` sim seconds (whole ticks; fractions carry over).

        Returns the ticks simulated. At the end of the run playing stops.
        """
        if not self.playing:
            return 0
        self._tick_debt += self.speed * wall_s / self.sim.dt_s
        due = int(self._tick_debt + 1e-9)
        # Ticks beyond the cap are dropped rather than owed: a slow frame slows the replay down.
        self._tick_debt -= due
        done = 0
        for _ in range(min(due, MAX_STEPS_PER_ADVANCE)):
            if not self.step():
                break
            done += 1
        return done

    # -- branching -----------------------------------------------------------------------

    def fork(self) -> tuple[Simulation, ForkPoint]:
        """An independent live Simulation from this moment, and the fork point to record.

        The returned simulation carries the run so far (history, action log) so a
        save of the branch replays from t=0 like any other run.
        """
        name = self.save_path.name if self.save_path is not None else f"{self.save.drill_id}.toml"
        with self._lock:
            sim = self.sim
            # hashlib objects cannot be deep-copied; the memo hands deepcopy a .copy() instead.
            memo = {id(obj): obj.copy() for obj in vars(sim).values() if type(obj).__name__ == "HASH"}
            return copy.deepcopy(sim, memo), ForkPoint(save=name, t_s=sim.t_s)

    def new_tracker(self) -> SLOTracker:
        """A fresh `sim.scoring.score.SLOTracker` for this replay's simulation (feed it with update)."""
        return SLOTracker.for_sim(self.drill, self.sim)


def _same_fraction(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=0.0, abs_tol=SCORE_TOLERANCE)


def _derived_mismatch(save: Save, report: Any) -> tuple[str, str] | None:
    """The first stored derived value (score, grade, each SLO's name, target and attainment)
    that the re-simulated run does not reproduce: (kind, what differs), or None."""
    from sim.records.saves import slis_from_report

    if save.score is not None and not _same_fraction(float(report.score), save.score):
        return "score_differs", f"the score is {report.score:.2f}, saved {save.score:.2f}"
    graded = save.ended == "finished" and save.score is not None
    expected_grade = str(report.grade) if graded else None
    if save.grade != expected_grade:
        if not graded:
            return "result_differs", (
                f"result.grade: saved {save.grade!r}, but a run that was not played to the end "
                f"({save.ended}) gets no grade"
            )
        return "result_differs", f"result.grade: saved {save.grade!r}, the replay grades {expected_grade!r}"
    if save.score is None and not save.slis:
        return None
    replayed = slis_from_report(report)
    if len(replayed) != len(save.slis):
        return "result_differs", f"result.slis: saved {len(save.slis)} SLOs, the drill has {len(replayed)}"
    for index, (saved, now) in enumerate(zip(save.slis, replayed)):
        where = f"result.slis[{index}]"
        if saved.name != now.name:
            return "result_differs", f"{where}.name: saved {saved.name!r}, the drill's SLO is {now.name!r}"
        if not _same_fraction(saved.target, now.target):
            return "result_differs", f"{where}.target: saved {saved.target:g}, the drill's is {now.target:g}"
        if not _same_fraction(saved.attained, now.attained):
            return "result_differs", (
                f"{where}.attained: saved {saved.attained:.6f}, the replay attains {now.attained:.6f}"
            )
    return None


def verify_save(path: str | os.PathLike[str], references=None) -> VerifyResult:
    """Re-simulate a save headless and check that it reproduces the recorded run exactly.

    The score is a grade against do nothing and par on the same seed: it is checked when
    `references(drill, seed)` is given (`sim.running.headless.compare`, which this layer
    cannot import), else only the metrics are.
    """
    file = str(path)
    try:
        save = load_save(path)
    except InputError as exc:
        return VerifyResult(ok=False, kind="bad_save", message=exc.first_line())
    try:
        drill = load_drill_for(save, file)
    except InputError as exc:
        paths = {p.path for p in exc.problems}
        if "save.drill_sha256" in paths:
            kind = "drill_changed"
        elif "save.end_tick" in paths or any(path.startswith("actions[") for path in paths):
            kind = "bad_save"
        else:
            kind = "drill_missing"
        return VerifyResult(ok=False, kind=kind, message=exc.first_line())
    replay = Replay.start(save, drill, save_path=Path(path), checkpoint_every_s=math.inf)
    has_results = save.score is not None or save.grade is not None or bool(save.slis)
    tracker = replay.new_tracker() if has_results and references is not None else None
    while not replay.at_end:
        replay.run_to_tick(replay.tick + TRACKER_CHUNK_TICKS)
        if tracker is not None:
            tracker.update(replay.sim)
    digest = replay.sim.digest()
    engine_note = ""
    if save.engine_version != ENGINE_VERSION:
        engine_note = f" (recorded with engine {save.engine_version}, this is engine {ENGINE_VERSION})"
    if digest != save.digest:
        return VerifyResult(
            ok=False,
            kind="digest_differs",
            digest=digest,
            message=(
                f"{file}: replay differs from the recording{engine_note}: metric digest "
                f"{digest[:12]}... after {replay.tick} ticks, saved {save.digest[:12]}..."
            ),
        )
    score = None
    if tracker is not None:
        # The grade is against do nothing and par on the same seed, over the same span.
        from sim.scoring.score import judge

        report = tracker.report()
        injected = injected_faults(save.actions)
        # A facilitated run is judged against do nothing and par with the same injected faults.
        none_run, par_run = references(drill, save.seed, injected) if injected else references(drill, save.seed)
        span = report.duration_s
        report = judge(report, none_run.report_until(span), par_run.report_until(span),
                       branch=save.forked_from is not None)
        score = float(report.score)
        mismatch = _derived_mismatch(save, report)
        if mismatch is not None:
            kind, what = mismatch
            return VerifyResult(
                ok=False,
                kind=kind,
                digest=digest,
                score=score,
                message=f"{file}: metrics replay exactly but {what}{engine_note} (edited by hand, or scoring changed?)",
            )
    if score is None:
        score_text = ""
    elif save.ended == "finished":
        score_text = f", score {score:.1f} {save.grade or ''}".rstrip()
    else:
        # Only a run played to the end is graded: the score covers the time played.
        score_text = f", partial score ({score:.1f}), not graded: {save.ended} at {replay.t_s:g} s"
    return VerifyResult(
        ok=True,
        kind="exact",
        digest=digest,
        score=score,
        message=(
            f"{file}: exact replay of {save.drill_id} (seed {save.seed}, {len(save.actions)} "
            f"action{'' if len(save.actions) == 1 else 's'}, "
            f"{replay.t_s:g} s): digest {digest[:12]}... matches{score_text}"
        ),
    )
