"""The live run stepped in a simulation process, so drawing and stepping do not share one interpreter.

Measured before choosing (issue 14): stepping in a thread of the UI's process, the app reached
37-65 % of the engine's speed at 50x, because Textual's drawing holds the GIL for about half of
every second and the stepping thread waits for it. A spawned process owns the `LiveRun` (the
simulation and everything watching it), steps it at the asked speed in wall time and sends one
`RunState` (the frame plus what saves and the debrief read) whenever the app has taken the
previous one: a slow UI gets the newest state, never a queue of stale ones. The app sends
commands (speed, pause, the speed cap, actions) and never waits on the process, except once when
the run ends, for the final score.

Determinism: an action is applied at the sim time the process is at when it receives it, and
that is the time its action log (and so the save) records; a replay of the save is exact.

The process exits with the app: it is killed and joined by `ProcessRun.close`, and on its own it
stops when the pipe to the app closes or its parent changes (the app crashed or was killed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import threading
import time

import attrs

from sim.drill.drill import Drill
from sim.drill.modes import Mode, mode_named
from sim.model.observe import Gauges
from sim.model.spec import Action
from sim.running.references import ensure_resource_tracker
from tui.frame import Frame, LogEntry
from tui.live import SPEEDS, LiveRun

SIM_NICENESS = 10
"""How much lower the simulation process's CPU priority is than the app's."""
STEP_BUDGET_S = 0.05
"""Wall time the process steps between looks at the pipe: a pause, a speed change or a dialog's
speed cap takes hold within this (at 50x, 2.5 sim seconds)."""
MAX_CATCH_UP_S = 0.25
"""Wall time one step may catch up on: after a stall the run skips ahead at most this much."""
SEND_EVERY_S = 0.05
"""At most this often a state goes to the app (and only once it took the previous one)."""
IDLE_WAIT_S = 0.1
"""While paused the process sleeps on the pipe this long at a time (and checks its parent)."""
FINAL_WAIT_S = 10.0
"""How long the app waits for the final score when the run ends before giving up on the process."""


@attrs.frozen
class RunState:
    """What the app reads of the run, as of one moment of the process."""

    frame: Frame
    seed: int
    tick: int
    t_s: float
    digest: str
    action_log: tuple[Action, ...]
    hints_fired: dict
    gauges: Gauges
    finished: bool
    report: object = None
    """The score, only in the final state (`ScoreReport`)."""

    @classmethod
    def of(cls, live: LiveRun, report=None) -> RunState:
        sim = live.sim
        return cls(frame=live.frame(), seed=int(sim.seed), tick=int(sim.tick), t_s=float(sim.t_s),
                   digest=sim.digest(), action_log=tuple(sim.action_log), hints_fired=dict(live.hints_fired),
                   gauges=sim.gauges(), finished=live.finished, report=report)


# --------------------------------------------------------------------------- the process


def _serve(drill: Drill, seed: int | None, mode_name: str, speed: int, paused: bool, conn, parent_pid: int) -> None:
    """The simulation process: step in wall time, take commands, send states when the app is ready."""
    # Ctrl+C in the terminal reaches the whole process group: the app decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        # The UI comes first: when both want the CPU (a loaded machine, one core), a key press
        # must not wait behind stepping. On an idle machine each has a core and this changes nothing.
        os.nice(SIM_NICENESS)
    live = LiveRun.start(drill, seed, speed=speed, paused=paused, mode=mode_named(mode_name))
    ready, changed = True, True  # the app holds no state from this process yet
    last_step = last_sent = time.perf_counter()
    try:
        while os.getppid() == parent_pid:
            wait_s = 0.0
            if live.paused or live.finished:
                # Nothing to step: sleep on the pipe until a command, or until a changed state may go.
                due_s = SEND_EVERY_S - (time.perf_counter() - last_sent)
                wait_s = max(due_s, 0.0) if changed and ready else IDLE_WAIT_S
            while conn.poll(wait_s):
                wait_s = 0.0
                command = conn.recv()
                if command[0] == "ready":
                    ready = True
                elif command[0] == "final":
                    conn.send(("final", RunState.of(live, live.stop_and_report())))
                    return
                elif command[0] == "stop":
                    return
                else:
                    _obey(live, command)
                    changed = True
            now = time.perf_counter()
            if not (live.paused or live.finished):
                changed |= live.advance_wall(min(now - last_step, MAX_CATCH_UP_S), budget_s=STEP_BUDGET_S) > 0
            else:
                live.tick_debt = 0.0
            last_step = now
            now = time.perf_counter()
            if ready and changed and now - last_sent >= SEND_EVERY_S:
                conn.send(("state", RunState.of(live)))
                ready, changed, last_sent = False, False, now
    except (EOFError, OSError, BrokenPipeError):
        pass  # the app is gone
    finally:
        conn.close()


def _obey(live: LiveRun, command: tuple) -> None:
    """One command from the app."""
    kind, *args = command
    if kind == "speed":
        live.set_speed(args[0])
    elif kind == "paused":
        live.set_paused(args[0])
    elif kind == "speed_cap":
        live.speed_cap = args[0]
    elif kind == "queue":
        try:
            live.queue(*args)
        except (ValueError, TypeError) as error:
            # An action the engine cannot even take is the trainee's to read, not the run's end.
            live.add_log(LogEntry(live.sim.t_s, "REFUSED", "crit", f"{args[0]}: {error}"))


# --------------------------------------------------------------------------- the app's side


@attrs.define
class SimView:
    """The simulation as of the last state the process sent: what saves and screens read of `sim`."""

    state: RunState

    @property
    def seed(self) -> int:
        return self.state.seed

    @property
    def tick(self) -> int:
        return self.state.tick

    @property
    def t_s(self) -> float:
        return self.state.t_s

    @property
    def action_log(self) -> tuple[Action, ...]:
        return self.state.action_log

    def digest(self) -> str:
        return self.state.digest

    def gauges(self) -> Gauges:
        return self.state.gauges


class ProcessRun:
    """The app's handle on a live run stepped in a simulation process; reads like a `LiveRun`.

    `poll()` (never blocks) takes in the newest state; `frame()` is that state's frame with the
    clock settings as the app last set them. `lost` holds a line once the process died.
    """

    def __init__(self, drill: Drill, first: RunState, *, mode: Mode, speed: int, paused: bool) -> None:
        self.drill = drill
        self.mode = mode
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self.speed = speed
        self.paused = paused
        self._speed_cap: int | None = None
        self.state = first
        self.sim = SimView(first)
        self.lock = threading.RLock()
        """Held by nobody else: `with live.lock` in the app's code reads a state that cannot change under it."""
        self.report = None
        self.lost: str | None = None
        self.process = None
        self.conn = None
        self.exitcode: int | None = None
        """The process's exit code once closed (negative: the signal that killed it)."""

    @classmethod
    def start(cls, drill: Drill, seed: int | None = None, *, speed: int = 1, paused: bool = True,
              mode: Mode) -> ProcessRun:
        """Start the process on a fresh run of `drill`; the t=0 state is built here, so the screen has it at once."""
        first = RunState.of(LiveRun.start(drill, seed, speed=speed, paused=paused, mode=mode))
        run = cls(drill, first, mode=mode, speed=speed, paused=paused)
        ensure_resource_tracker()
        context = multiprocessing.get_context("spawn")
        run.conn, child = context.Pipe(duplex=True)
        run.process = context.Process(target=_serve, args=(drill, first.seed, mode.name, speed, paused, child,
                                                          os.getpid()),
                                      name=f"brownout-sim-{drill.id}", daemon=True)
        run.process.start()
        child.close()  # the child holds its own copy: EOF here means the child is gone
        return run

    # ------------------------------------------------------------------ reading

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def hints_fired(self) -> dict:
        return self.state.hints_fired

    @property
    def speeds(self) -> tuple[int, ...]:
        top = self.mode.max_speed
        return tuple(s for s in SPEEDS if top is None or s <= top)

    @property
    def clock_speed(self) -> int:
        cap = self._speed_cap
        return self.speed if cap is None else min(self.speed, cap)

    def frame(self) -> Frame:
        """The newest frame, with the clock as the app has set it (the process may not have heard yet)."""
        return attrs.evolve(self.state.frame, paused=self.paused, speed=self.speed, speed_cap=self._speed_cap)

    def poll(self) -> bool:
        """Take in what the process sent; True when a new state came. Sets `lost` if the process died."""
        if self.conn is None:
            return False
        fresh = False
        try:
            while self.conn.poll():
                kind, state = self.conn.recv()
                if kind == "state":
                    self._take(state)
                    fresh = True
            if fresh:
                self.conn.send(("ready",))
        except (EOFError, OSError, BrokenPipeError):
            self._lose()
        if self.lost is None and self.process is not None and self.process.exitcode is not None:
            self._lose()
        return fresh

    def _take(self, state: RunState) -> None:
        self.state = state
        self.sim = SimView(state)

    def _lose(self) -> None:
        code = self.process.exitcode if self.process is not None else None
        self.lost = f"The simulation process stopped (exit code {code}); the run stands as last shown."
        self.close()

    # ------------------------------------------------------------------ commands

    def _send(self, *command) -> None:
        if self.conn is None:
            return
        try:
            self.conn.send(command)
        except (EOFError, OSError, BrokenPipeError):
            self._lose()

    def set_speed(self, speed: int) -> None:
        if speed not in self.speeds:
            raise ValueError(f"speed must be one of {self.speeds}, got {speed}")
        self.speed = speed
        self._send("speed", speed)

    def faster(self) -> int:
        speeds = self.speeds
        self.set_speed(speeds[min(speeds.index(self.speed) + 1, len(speeds) - 1)])
        return self.speed

    def slower(self) -> int:
        speeds = self.speeds
        self.set_speed(speeds[max(speeds.index(self.speed) - 1, 0)])
        return self.speed

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._send("paused", paused)

    @property
    def speed_cap(self) -> int | None:
        return self._speed_cap

    @speed_cap.setter
    def speed_cap(self, cap: int | None) -> None:
        if cap != self._speed_cap:
            self._speed_cap = cap
            self._send("speed_cap", cap)

    def queue(self, name: str, args: dict | tuple = ()) -> Action:
        """Send the trainee's action; the process applies it (and logs it) at the sim time it is at."""
        self._send("queue", name, args)
        return Action(t_s=self.state.t_s, name=name, args=args)

    # ------------------------------------------------------------------ ending

    def stop_and_report(self, timeout_s: float = FINAL_WAIT_S):
        """Stop the run and take its final state and score (the one wait on the process); None if it is gone."""
        self.paused = True
        if self.report is not None or self.conn is None:
            return self.report
        deadline = time.monotonic() + timeout_s
        try:
            self.conn.send(("final",))
            while (remaining := deadline - time.monotonic()) > 0:
                if not self.conn.poll(remaining):
                    break
                kind, state = self.conn.recv()
                if kind == "final":
                    self._take(state)
                    self.report = state.report
                    break
        except (EOFError, OSError, BrokenPipeError):
            pass
        self.close()
        return self.report

    def close(self) -> None:
        """Stop the process and wait for it (killed if it does not stop at once)."""
        process, self.process = self.process, None
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.send(("stop",))
            except (EOFError, OSError, BrokenPipeError):
                pass
        if process is not None:
            process.join(timeout=0.5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
            self.exitcode = process.exitcode
            process.close()
        if conn is not None:
            conn.close()
