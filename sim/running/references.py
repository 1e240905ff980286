"""Do nothing and par on one seed, computed ahead: in a separate process while the trainee plays.

Neither reference run depends on the player, so the app starts a `ReferenceJob` at
the drill's start and the debrief finds the comparison ready when the drill ends.
The job is a spawned process (spawn is safe beside the UI's threads and the same on
every platform), at most one per spare core, killed when cancelled and ending itself
if its parent dies. `References` is what comes back: each run's report and tracker,
small enough to pickle (the engine itself is not sent), so the debrief can still cut
them at the moment a run ended early.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time

import attrs

from sim.drill.drill import Drill
from sim.running.headless import ladder
from sim.scoring.score import ScoreReport, SLOTracker

POLL_PARENT_EVERY = 0.05
"""Share of the work between checks that the parent is still alive."""


@attrs.frozen
class ReferenceRun:
    """One reference run's facts: its report over the whole drill and the tracker to cut it earlier."""

    policy: str
    report: ScoreReport
    tracker: SLOTracker = attrs.field(eq=False, repr=False)

    def report_until(self, t_s: float) -> ScoreReport:
        """The run's facts over [0, t_s] (ungraded), as `HeadlessRun.report_until`."""
        if t_s >= self.report.duration_s - 1e-9:
            return attrs.evolve(self.report, verdict=None)
        return self.tracker.report(until_s=t_s)


@attrs.frozen
class References:
    """Do nothing and par on one seed of one drill."""

    drill_id: str
    seed: int
    none: ReferenceRun
    par: ReferenceRun


def compute_references(drill: Drill, seed: int, injected=(), progress=None) -> References:
    """Simulate do nothing and par (par forks from do nothing at its first action), both with
    a facilitator's `injected` faults at their times."""
    none_run, par_run, _ = ladder(drill, seed, (), injected=tuple(injected), progress=progress)
    return References(
        drill_id=drill.id, seed=seed,
        none=ReferenceRun("none", none_run.report, none_run.tracker),
        par=ReferenceRun("par", par_run.report, par_run.tracker),
    )


def spare_cores() -> int:
    """Cores this process may use beyond the one the app itself runs on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(cores - 1, 0)


def _work(drill: Drill, seed: int, conn, parent_pid: int) -> None:
    """The job's process: progress messages, then ("done", References) or ("failed", text)."""
    # Ctrl+C in the terminal reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    last = [0.0]

    def progress(share: float) -> None:
        if os.getppid() != parent_pid:
            raise SystemExit(0)  # the app died without cancelling: nobody will read the result
        if share - last[0] >= POLL_PARENT_EVERY or share >= 1.0:
            last[0] = share
            conn.send(("progress", share))

    try:
        result = compute_references(drill, seed, progress=progress)
    except Exception as error:  # reported to the app, which falls back to simulating itself
        conn.send(("failed", f"{type(error).__name__}: {error}"))
    else:
        conn.send(("done", result))
    finally:
        conn.close()


def ensure_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with the real stderr.

    Spawning starts it on first use and hands it `sys.stderr.fileno()`; under a Textual
    app sys.stderr is the app's capture, whose descriptor is -1, and the spawn fails.
    """
    from multiprocessing import resource_tracker

    captured = sys.stderr
    try:
        if sys.__stderr__ is not None:
            sys.stderr = sys.__stderr__
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


class ReferenceJob:
    """Do nothing and par for one drill and seed, in a spawned process.

    `poll()` reads what the process sent so far (never blocks); `result` is the
    References once done, `error` a line when the process failed or died, and
    `progress` the share done. `cancel()` kills the process and waits for it.
    """

    def __init__(self, drill: Drill, seed: int) -> None:
        self.drill = drill
        self.seed = seed
        self.progress = 0.0
        self.result: References | None = None
        self.error: str | None = None
        self.process = None
        self.conn = None

    @classmethod
    def start(cls, drill: Drill, seed: int, *, max_jobs: int | None = None) -> ReferenceJob | None:
        """Start the job, or None when no core is spare (the caller simulates when it needs them)."""
        limit = spare_cores() if max_jobs is None else max_jobs
        if limit < 1:
            return None
        job = cls(drill, seed)
        ensure_resource_tracker()
        context = multiprocessing.get_context("spawn")
        job.conn, child = context.Pipe(duplex=False)
        job.process = context.Process(target=_work, args=(drill, seed, child, os.getpid()),
                                      name=f"brownout-references-{drill.id}", daemon=True)
        job.process.start()
        child.close()  # the child holds its own copy: EOF here means the child is gone
        return job

    @property
    def running(self) -> bool:
        return self.result is None and self.error is None and self.process is not None

    def poll(self) -> References | None:
        """Take in every message waiting; the References once they have come."""
        conn = self.conn
        if conn is None or not self.running:
            return self.result
        try:
            while conn.poll():
                kind, value = conn.recv()
                if kind == "progress":
                    self.progress = value
                elif kind == "done":
                    self.result, self.progress = value, 1.0
                else:
                    self.error = value
        except (EOFError, OSError):
            code = self.process.exitcode if self.process is not None else None
            self.error = f"the reference process ended without a result (exit code {code})"
        if not self.running:
            self._reap()
        return self.result

    def wait(self, timeout_s: float | None = None) -> References | None:
        """Block until the result, a failure or `timeout_s`; returns the References if they came."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.running:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            try:
                self.conn.poll(remaining)
            except (EOFError, OSError):
                pass  # poll() below records the process as gone
            self.poll()
        return self.result

    def cancel(self) -> None:
        """Stop the process (if still running) and release it; the job then reports nothing new."""
        if self.running:
            self.error = "cancelled"
        self._reap()

    def _reap(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(timeout=5)
            process.close()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
