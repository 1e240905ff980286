"""The Brownout app: drill picker → briefing → live incident → debrief.

The app owns time: a paused-by-default `set_interval` timer advances the live
run. In `brownout` itself the run steps in a simulation process (`tui.sim_process`)
and the timer only takes in its newest state, so drawing and stepping do not share
one interpreter. Without that process (tests, hosted drills, forks of a replay)
stepping happens in a thread worker and comes back as a `FrameReady` message, the
only thread-safe way in; a frame still being computed makes the timer skip rather
than queue up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import getpass
import os
import random
import signal
import time
from pathlib import Path
from typing import Sequence

import attrs

from textual.app import App
from textual.binding import Binding
from textual.events import Resize

from sim.drill.blind import BlindIncident, masked
from sim.drill.drill import Drill
from sim.drill.modes import DEFAULT_MODE, Mode, mode_named
from sim.model.errors import InputError
from sim.scoring.score import ScoreReport
from tui.live import LiveRun
from tui.sim_process import ProcessRun
from tui.messages import FrameReady
from tui.screens.briefing import BriefingScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.debrief import DebriefScreen
from tui.screens.help import HelpScreen
from tui.screens.incident import IncidentScreen
from tui.screens.picker import DrillEntry, PickerScreen, discover_entries
from tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from tui.dialogs.message_dialog import MessageDialog
from tui.textual_fixes import open_command_palette
from tui.training import RunContext, record_progress, surprise_me

DEFAULT_TICK_INTERVAL_S = 0.1
MAX_FRAME_WALL_S = 0.25
"""Wall time one frame may catch up on: after a stall the sim skips ahead at most this much."""
FRAME_BUDGET_FRACTION = 0.8
"""Share of the wall time since the last frame (at least one timer interval) the worker may spend
stepping. A model too heavy for the chosen speed runs slower instead of stalling the screen; and
since a frame also has to be drawn, a budget of the interval alone would leave the sim stepping
well under half the time (frame cycles stretch past the interval), so it follows the cycle."""
AUTOSAVE_EVERY_S = 15.0
"""Wall seconds between saves of a run in progress, so even a killed process leaves what was played."""
UI_DUTY = 0.35
"""With a simulation process, the share of its CPU the UI may spend drawing frames: a new state is
shown only once the CPU the last frames cost, divided by this, has passed in wall time. Drawing a
frame of the incident screen costs tens of milliseconds; at ten a second the UI would be busy half
the time, so keys would wait and, on a loaded machine, the simulation process would get less CPU."""
ACHIEVED_WINDOW_S = 2.0
"""Wall time over which the achieved speed is measured."""
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM") if hasattr(signal, name))
"""The terminal closed (SIGHUP) or the system asked the process to stop (SIGTERM): the run in
progress is saved before the app exits, rather than losing what was played since the last autosave."""


class BrownoutApp(App):
    """The incident trainer.

    drills: Drill values to offer instead of the shipped/user drill files;
    saves_dir: where runs are saved (default: sim.records.saves.default_saves_dir());
    start_paused: the clock starts paused when a drill begins (tests, snapshots);
    tick_interval: seconds between frames, None for no timer (tests drive `advance_sim`);
    drill: a Drill (or a DrillEntry) to open the briefing of straight away;
    mode: the difficulty mode the briefings start on (sim.drill.modes; the trainee may change it);
    blind: open a blind incident straight away ("Surprise me"), of `blind_difficulty` if given;
    rng: where blind draws come from (default: seeded by the system, so never twice the same).
    background_references: simulate do nothing and par in a spawned process from the drill's start,
    so the debrief is ready when the drill ends (`brownout` itself; off by default so tests that
    drive the sim by hand start no processes).
    sim_process: step a drill started from its briefing in a simulation process (`brownout` itself;
    off by default, so tests step in this process, deterministically).
    """

    CSS_PATH = [
        "styles/app.tcss",
        "styles/picker.tcss",
        "styles/briefing.tcss",
        "styles/incident.tcss",
        "styles/debrief.tcss",
        "styles/dialogs.tcss",
        "styles/saves.tcss",
        "styles/progress.tcss",
    ]
    TITLE = "Brownout"
    BINDINGS = [
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True, id="app.ctrl_c",
                tooltip="Quit (asks first during a drill)."),
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True, id="app.quit",
                tooltip="Quit (asks first during a drill)."),
    ]

    def __init__(
        self,
        drills: Sequence[Drill] | None = None,
        saves_dir: str | os.PathLike | None = None,
        *,
        start_paused: bool = False,
        tick_interval: float | None = DEFAULT_TICK_INTERVAL_S,
        drill: Drill | DrillEntry | None = None,
        player: str | None = None,
        replay: str | os.PathLike | None = None,
        mode: str | Mode = DEFAULT_MODE,
        blind: bool = False,
        blind_difficulty: int | None = None,
        rng: random.Random | None = None,
        host: bool = False,
        listen=None,
        background_references: bool = False,
        sim_process: bool = False,
    ) -> None:
        super().__init__()
        self.mode = mode if isinstance(mode, Mode) else mode_named(mode)
        """The mode the next briefing offers first: the last one chosen."""
        self.initial_blind = blind
        self.blind_difficulty = blind_difficulty
        self.rng = rng or random.Random()
        self.run_context: RunContext | None = None
        """The live run's real drill, mode and blind presentation (for saves, debrief, progress)."""
        self.background_references = background_references
        self.sim_process = sim_process
        self.reference_job = None
        """The live run's do nothing and par, computing in another process (sim.running.references)."""
        self.given_drills = tuple(drills) if drills is not None else None
        self.saves_dir = Path(saves_dir) if saves_dir is not None else None
        self.start_paused = start_paused
        self.tick_interval = tick_interval
        self.initial_drill = drill
        self.player = player or _player_name()
        self.initial_replay = replay
        self.host_requested = host
        """Host the drill when it starts (`brownout play --host`): see tui.facilitation.hosting."""
        self.host_listen = listen
        """A TCP address (tui.facilitation.joining.Address) to host on instead of a Unix socket."""
        self.hosting = None
        """The facilitation host of the live run, while there is one."""
        """A save to open in the replay viewer at start-up (`brownout replay SAVE`)."""
        self.forked_from = None
        """Set when the live run was forked from a replay ("take the controls"); saved with it."""
        self.live: LiveRun | ProcessRun | None = None
        self.save_path: Path | None = None
        self.sim_timer = None
        self.stepping = False
        self.last_advance_wall: float | None = None
        self.last_autosave_wall: float | None = None
        self.frame_compute_ms: collections.deque[float] = collections.deque(maxlen=200)
        """Wall time of the last frames' stepping + snapshot (in the worker)."""
        self.speed_samples: collections.deque[tuple[float, float]] = collections.deque()
        """(wall time, sim time) of recent frames, for the achieved speed."""
        self.frame_show_ms: collections.deque[float] = collections.deque(maxlen=200)
        """Wall time of the last frames' hand-over to the widgets (on the UI thread)."""
        self.next_show_wall = 0.0
        self.last_show_cpu: float | None = None
        """This process's CPU time when the last state from the simulation process was shown."""

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        from sim.records.saves import remove_stale_temp_files

        remove_stale_temp_files(self.saves_dir)  # what writes killed mid-way left behind
        self._install_stop_handlers()
        self.push_screen(PickerScreen(self.drill_entries(), self.best_scores()))
        if self.tick_interval is not None:
            self.sim_timer = self.set_interval(self.tick_interval, self.on_sim_timer, pause=True)
        if self.initial_drill is not None:
            entry = self.initial_drill if isinstance(self.initial_drill, DrillEntry) else DrillEntry.of_drill(self.initial_drill)
            self.open_briefing(entry)
        if self.initial_replay is not None:
            from tui.screens.replay import open_replay

            open_replay(self, self.initial_replay)
        if self.initial_blind:
            surprise_me(self, self.blind_difficulty)

    def on_ready(self) -> None:
        self.check_size(self.size.width, self.size.height)

    def _install_stop_handlers(self) -> None:
        self._stop_handlers: list[int] = []
        try:
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, self.on_stop_signal, signum)
                self._stop_handlers.append(signum)
        except (RuntimeError, NotImplementedError, ValueError):
            pass  # not the main thread, or Windows: the autosave still bounds what is lost

    def on_unmount(self) -> None:
        if self.hosting is not None:
            self.hosting.close_now()
        self.cancel_references()
        if isinstance(self.live, ProcessRun):
            # The app is going (quit, an error): take the final state for save_unfinished, stop the process.
            self.live.stop_and_report(timeout_s=2.0)
        with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
            loop = asyncio.get_running_loop()
            for signum in getattr(self, "_stop_handlers", ()):
                loop.remove_signal_handler(signum)

    def on_stop_signal(self, signum: int) -> None:
        """SIGHUP / SIGTERM: save the run in progress as it stands ("abandoned"), then exit 128+signum.

        The save comes first: after a hangup the terminal is gone and restoring it may fail.
        """
        live = self.live
        if live is not None and not live.finished:
            self.save_run(live, "abandoned", live.stop_and_report())
            self.live = None
        self.exit(return_code=128 + signum)

    def drill_entries(self) -> tuple[DrillEntry, ...]:
        """The drills the picker offers."""
        if self.given_drills is not None:
            return tuple(DrillEntry.of_drill(d) for d in self.given_drills)
        return discover_entries()

    def best_scores(self) -> dict[str, float]:
        """Best finished score per drill id from the saves folder (unreadable saves are skipped)."""
        from sim.records.saves import best_scores

        return best_scores(self.saves_dir)

    # ------------------------------------------------------------------ navigation

    def open_briefing(self, entry: DrillEntry) -> None:
        """Load the drill (reporting a bad file in a dialog) and show its briefing."""
        try:
            drill = entry.load()
        except InputError as error:
            self.push_screen(MessageDialog(f"Cannot load drill {entry.id}", str(error)))
            return
        self.push_screen(BriefingScreen(drill, mode=self.mode))

    def start_drill(self, drill: Drill, seed: int | None = None, *, mode: Mode | None = None,
                    blind: BlindIncident | None = None) -> None:
        """Begin a live run and show the incident screen (a blind one plays a masked copy of the drill)."""
        self.mode = mode = mode or self.mode
        self.close_live()
        played = masked(drill, blind) if blind else drill
        if self.sim_process and not self.host_requested:
            self.live = ProcessRun.start(played, seed, paused=self.start_paused, mode=mode)
        else:
            # A hosted drill's facilitator acts on the simulation itself: it steps here.
            self.live = LiveRun.start(played, seed, paused=self.start_paused, mode=mode)
        self.run_context = RunContext(drill, mode.name, blind)
        self.start_references(self.live)
        self.save_path = None
        self.forked_from = None
        self.stepping = False
        self.last_advance_wall = None
        self.last_autosave_wall = time.perf_counter()
        self.switch_screen(IncidentScreen())
        if self.sim_timer is not None:
            self.sim_timer.resume()
        if self.host_requested and self.hosting is None:
            from tui.facilitation.hosting import begin_hosting

            begin_hosting(self)

    def host_drill(self, drill: Drill) -> None:
        """Start a drill that a facilitator and spectators may join (the briefing's Host key)."""
        self.host_requested = True
        self.start_drill(drill)

    def start_fork(self, live: LiveRun, forked_from) -> None:
        """Take the controls of a replay: play `live` on as the incident; its save records the fork."""
        live.paused = True  # a branch starts paused: the trainee reads the moment before the clock runs
        self.live = live
        self.run_context = RunContext(live.drill, live.mode.name, None, branch=True)
        self.start_references(live)
        self.save_path = None
        self.forked_from = forked_from
        self.stepping = False
        self.last_advance_wall = None
        self.last_autosave_wall = time.perf_counter()
        self.switch_screen(IncidentScreen())
        if self.sim_timer is not None:
            self.sim_timer.resume()

    def save_unfinished(self) -> None:
        """After the app stopped: a run still in progress (a crash) is saved as "crashed"."""
        live = self.live
        if live is None:
            return
        self.save_run(live, "crashed", live.stop_and_report())
        self.live = None

    def start_references(self, live: LiveRun) -> None:
        """Start simulating do nothing and par for this run's drill and seed (when enabled and a core is spare)."""
        self.cancel_references()
        if self.background_references:
            from sim.running.references import ReferenceJob

            self.reference_job = ReferenceJob.start(live.drill, live.sim.seed)

    def cancel_references(self) -> None:
        """Stop the reference process, if any (a new drill, back to the picker, quit)."""
        job, self.reference_job = self.reference_job, None
        if job is not None:
            job.cancel()

    def close_live(self) -> None:
        """Let go of the live run (its process, if it has one, stops)."""
        live, self.live = self.live, None
        if isinstance(live, ProcessRun):
            live.close()

    def action_back_to_picker(self) -> None:
        """From the debrief: a fresh picker (best scores may have changed), on the drill just played."""
        self.close_live()
        self.cancel_references()
        played = self.screen.drill.id if isinstance(self.screen, DebriefScreen) else None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(PickerScreen(self.drill_entries(), self.best_scores(), selected_id=played))

    def action_show_saves(self) -> None:
        """The saves list (from the picker): replay or verify a saved run."""
        from tui.screens.saves import SavesScreen

        self.push_screen(SavesScreen(self.saves_dir))

    def action_surprise_me(self) -> None:
        """A blind incident (from the picker): a random drill on a fresh seed, under a neutral name."""
        surprise_me(self)

    def action_show_progress(self) -> None:
        """The player's progress (from the picker)."""
        from tui.screens.progress import ProgressScreen

        self.push_screen(ProgressScreen(self.player, self.drill_entries()))

    def action_command_palette(self) -> None:
        # Textual's own opens a palette with a fixed id, which clashes with one still closing.
        open_command_palette(self)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            # On the incident screen, help lists the mitigations this drill offers.
            self.push_screen(HelpScreen(applicable=getattr(self.screen, "applicable", None)))

    # ------------------------------------------------------------------ the clock

    def on_sim_timer(self) -> None:
        """Timer tick: start a worker for the next frame unless one is still running."""
        live = self.live
        if isinstance(live, ProcessRun):
            self.take_process_state(live)
            return
        if live is None or self.stepping:
            return
        now = time.perf_counter()
        wall_s = self.tick_interval if self.last_advance_wall is None else now - self.last_advance_wall
        self.last_advance_wall = now
        if live.paused or live.finished:
            return
        self.stepping = True
        self.run_worker(lambda: self._compute_frame(live, min(wall_s, MAX_FRAME_WALL_S)), thread=True,
                        group="sim", name="sim-frame")

    def _compute_frame(self, live: LiveRun, wall_s: float) -> None:
        """Worker thread: step the owed ticks (within the frame budget) and publish one frame."""
        started = time.perf_counter()
        live.advance_wall(wall_s, budget_s=max(self.tick_interval, wall_s) * FRAME_BUDGET_FRACTION)
        frame = live.frame()
        self.frame_compute_ms.append((time.perf_counter() - started) * 1000)
        self.post_message(FrameReady(frame))

    def take_process_state(self, live: ProcessRun) -> None:
        """Timer tick with a simulation process: show its newest state, if a new one came (never waits).

        Paced by UI_DUTY: until the pause is over the state waits in the pipe (the process steps on
        and sends a newer one once this one is taken)."""
        now = time.perf_counter()
        if now < self.next_show_wall and live.process is not None and live.process.is_alive():
            return
        fresh = live.poll()
        if live.lost is not None:
            self.lose_live(live)
        elif fresh:
            frame = live.frame()
            self.show_frame(attrs.evolve(frame, achieved_speed=self.achieved_speed(frame)))
            cpu = time.process_time()
            if self.last_show_cpu is not None:
                spent = cpu - self.last_show_cpu  # drawing the last frame, and whatever else the UI did
                self.next_show_wall = now + spent / UI_DUTY
            self.last_show_cpu = cpu

    def lose_live(self, live: ProcessRun) -> None:
        """The simulation process died: save the run as last shown, say so, back to the picker."""
        if self.sim_timer is not None:
            self.sim_timer.pause()
        save_note = self.save_run(live, "crashed", None)
        self.live = None
        self.cancel_references()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(PickerScreen(self.drill_entries(), self.best_scores(), selected_id=live.drill.id))
        self.push_screen(MessageDialog("The simulation stopped", f"{live.lost}\n{save_note}"))

    def on_frame_ready(self, message: FrameReady) -> None:
        self.stepping = False
        frame, live = message.frame, self.live
        if live is not None and (frame.paused, frame.speed, frame.speed_cap) != (live.paused, live.speed, live.speed_cap):
            # Paused, re-sped or covered while the worker was stepping: show the state as it is now.
            frame = attrs.evolve(frame, paused=live.paused, speed=live.speed, speed_cap=live.speed_cap)
        frame = attrs.evolve(frame, achieved_speed=self.achieved_speed(frame))
        self.show_frame(frame)

    def achieved_speed(self, frame) -> float | None:
        """Sim seconds per wall second over the last ACHIEVED_WINDOW_S (None until measurable)."""
        now = time.perf_counter()
        if frame.paused or frame.speed_cap is not None or (
                self.speed_samples and self.speed_samples[-1][1] > frame.t_s):
            self.speed_samples.clear()
            return None
        self.speed_samples.append((now, frame.t_s))
        while len(self.speed_samples) > 2 and now - self.speed_samples[0][0] > ACHIEVED_WINDOW_S:
            self.speed_samples.popleft()
        (wall0, sim0), (wall1, sim1) = self.speed_samples[0], self.speed_samples[-1]
        return (sim1 - sim0) / (wall1 - wall0) if wall1 - wall0 >= 0.5 else None

    def show_frame(self, frame) -> None:
        """Give a frame to the incident screen; end the run when the drill is over."""
        started = time.perf_counter()
        if self.reference_job is not None:
            # Take in the reference process's messages as they come: its result is megabytes, and a
            # child blocked writing it until the debrief reads would make the debrief wait after all.
            self.reference_job.poll()
        screen = self.incident_screen()
        if screen is not None:
            screen.show_frame(frame)
        if self.hosting is not None:
            self.hosting.publish(frame)
        self.frame_show_ms.append((time.perf_counter() - started) * 1000)
        if frame.finished and self.live is not None and self.live.finished:
            self.end_run("finished")
        else:
            self.autosave_if_due()

    def autosave_if_due(self) -> None:
        """Every AUTOSAVE_EVERY_S, save the run in progress (atomically, over the same file).

        It is marked "crashed": if the process dies before the run ends, that is what
        happened; ending the run normally overwrites it with the real outcome.
        """
        live = self.live
        if live is None or live.finished or self.last_autosave_wall is None:
            return
        now = time.perf_counter()
        if now - self.last_autosave_wall < AUTOSAVE_EVERY_S:
            return
        self.last_autosave_wall = now
        with live.lock:
            self.save_run(live, "crashed", None)

    def incident_screen(self) -> IncidentScreen | None:
        """The incident screen if it is in the stack (a dialog may be on top)."""
        return next((s for s in self.screen_stack if isinstance(s, IncidentScreen)), None)

    def advance_sim(self, ticks: int) -> None:
        """Step the live run now, on this thread, and show the frame (tests, no timer)."""
        if self.live is None:
            return
        self.live.advance_ticks(ticks)
        self.show_frame(self.live.frame())

    def refresh_frame(self) -> None:
        """Show the live run as it is (after a pause, speed change or action)."""
        if self.live is not None:
            screen = self.incident_screen()
            frame = self.live.frame()
            if screen is not None:
                screen.show_frame(frame)
            if self.hosting is not None:
                self.hosting.publish(frame)

    def toggle_pause(self) -> None:
        """Pause or resume the live run's clock."""
        if self.live is None or self.live.finished:
            return
        if not self.live.mode.pause:
            self.notify("On call there is no pause: the incident does not wait.", timeout=2)
            return
        self.set_paused(not self.live.paused)

    def set_paused(self, paused: bool) -> None:
        """Stop or start the live run's clock and show the new state at once."""
        self.live.set_paused(paused)
        self.last_advance_wall = None
        self.refresh_frame()

    def change_speed(self, step: int) -> None:
        """One speed up (+1) or down (-1)."""
        if self.live is None:
            return
        if len(self.live.speeds) == 1:
            self.notify(f"{self.live.mode.name}: the clock runs at {self.live.speed}x, real time.", timeout=2)
            return
        speed = self.live.faster() if step > 0 else self.live.slower()
        self.notify(f"Speed {speed}x", timeout=1.5)
        self.refresh_frame()

    def submit_action(self, name: str, args: dict) -> None:
        """Queue a mitigation on the live run and say so in the log."""
        if self.live is None or self.live.finished:
            return
        self.live.queue(name, args)
        self.refresh_frame()

    # ------------------------------------------------------------------ ending

    def request_end_run(self) -> None:
        """Ask, then end the drill early and show the debrief."""
        live = self.live
        if live is None or live.finished:
            return
        # The clock stops while the trainee decides: the question must not cost budget. On call it
        # runs on (at real time, as under any dialog), as it would at work.
        was_paused = live.paused
        if live.mode.pause:
            self.set_paused(True)

        def answered(yes: bool | None) -> None:
            if yes:
                self.end_run("abandoned")
            elif self.live is live and live.mode.pause:
                self.set_paused(was_paused)

        self.push_screen(
            ConfirmScreen("End this drill now?", "The run is saved and scored as it stands.", yes="End drill", no="Keep playing"),
            answered,
        )

    def action_request_quit(self) -> None:
        """Ctrl+C / Ctrl+Q: during a drill ask first (and end it properly); otherwise quit."""
        if self.live is not None and not self.live.finished and self.incident_screen() is not None:
            if not any(isinstance(s, ConfirmScreen) for s in self.screen_stack):
                self.request_end_run()
            return
        self.exit()

    def end_run(self, ended: str) -> None:
        """Stop the clock, score and save the run, and show the debrief."""
        live = self.live
        if live is None:
            return
        if self.sim_timer is not None:
            self.sim_timer.pause()
        report = live.stop_and_report()
        if report is None:  # the process died as the run ended
            self.lose_live(live)
            return
        save_note = self.save_run(live, ended, report)
        self.live = None
        if self.hosting is not None:
            from tui.facilitation.hosting import end_hosting

            end_hosting(self, live.frame())
        self.switch_to_debrief(live, report, ended, save_note)

    def switch_to_debrief(self, live: LiveRun, report: ScoreReport, ended: str, save_note: str) -> None:
        """Replace the incident screen (and anything over it) with the debrief.

        The run is saved ungraded first (grading plays do nothing and par, which takes seconds);
        once the debrief has graded it, the save is written again with the score.
        """
        while not isinstance(self.screen, IncidentScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        save_path, forked_from = self.save_path, self.forked_from
        context = self.run_context or RunContext(live.drill, live.mode.name, None, forked_from is not None)

        def record_grade(graded: ScoreReport) -> None:
            if save_path is not None:
                from sim.records.saves import save_run

                try:
                    save_run(live.drill, live.sim, player=self.player, started_at=live.started_at,
                             ended_at=dt.datetime.now(dt.timezone.utc), ended=ended, report=graded,
                             saves_dir=self.saves_dir, path=save_path, forked_from=forked_from,
                             mode=context.mode, blind=context.blind is not None)
                except (ValueError, OSError):
                    pass  # the ungraded save stands
            record_progress(self, context, live.sim.seed, graded, ended=ended, started_at=live.started_at,
                            save_path=save_path)

        # The debrief reveals a blind run's drill: it shows the drill itself, not the masked copy.
        self.switch_screen(
            DebriefScreen(context.drill, live.sim.seed, report, live.sim.action_log, ended=ended,
                          hints_fired=dict(live.hints_fired), save_note=save_note,
                          branch=forked_from is not None, on_graded=record_grade, save_path=save_path,
                          mode=context.mode, blind=context.blind, references=self.reference_job)
        )

    def save_run(self, live: LiveRun, ended: str, report: ScoreReport | None) -> str:
        """Save the run (sim.records.saves.save_run, atomic); returns a line for the debrief."""
        from sim.records.saves import save_run

        try:
            self.save_path = save_run(
                live.drill, live.sim, player=self.player, started_at=live.started_at,
                ended_at=dt.datetime.now(dt.timezone.utc), ended=ended, report=report,
                saves_dir=self.saves_dir, path=self.save_path, forked_from=self.forked_from,
                mode=live.mode.name, blind=self.run_context is not None and self.run_context.blind is not None,
            )
        except (ValueError, OSError) as error:
            return f"Not saved: {error}"
        return f"Saved to {self.save_path}"

    # ------------------------------------------------------------------ size

    def on_resize(self, event: Resize) -> None:
        self.check_size(event.size.width, event.size.height)

    def check_size(self, width: int, height: int) -> None:
        """Below the minimum size show a message instead of the screens (and pause the drill)."""
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        current = self.screen if self.screen_stack else None
        if too_small:
            if isinstance(current, TooSmallScreen):
                current.update_size(width, height)
                return
            if self.live is not None and not self.live.paused and self.live.mode.pause:
                self.toggle_pause()
            self.push_screen(TooSmallScreen())
        elif isinstance(current, TooSmallScreen):
            self.pop_screen()


def _player_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "player"


def run_app(
    saves_dir: str | os.PathLike | None = None,
    drill: str | Drill | None = None,
    *,
    player: str | None = None,
    replay: str | os.PathLike | None = None,
    mode: str = DEFAULT_MODE.name,
    blind: bool = False,
    blind_difficulty: int | None = None,
    host: bool = False,
    listen=None,
) -> int:
    """Run the app; `drill` (an id, a path or a Drill) skips the picker straight to its briefing.

    Returns the exit code: 0, 1 when the app stopped on an error, 128+N after signal N.
    """
    entry: Drill | DrillEntry | None = None
    if isinstance(drill, str):
        from sim.drill.loader import find_drill

        path = find_drill(drill)
        entry = DrillEntry(drill, drill, 0, 0.0, (), "cli", path)
    elif drill is not None:
        entry = drill
    app = BrownoutApp(saves_dir=saves_dir, drill=entry, player=player, replay=replay, mode=mode, blind=blind,
                      blind_difficulty=blind_difficulty, host=host, listen=listen, background_references=True,
                      sim_process=True)
    try:
        app.run()
    finally:
        # A crash (or an exception out of run) mid-drill still leaves a complete save.
        app.save_unfinished()
        app.cancel_references()  # no reference process outlives the app, whatever ended it
        app.close_live()
    return app.return_code or 0
