"""The replay viewer: the incident screen driven by a save's recorded actions.

Play/pause, speed, step and scrub (keys, or a click on the timeline); the
timeline marks every recorded action. A background pass checkpoints the whole
run (`Replay.build_index`) so a seek anywhere is fast, and reports whether the
re-simulation reproduced the saved digest. "Take the controls" forks a live run
from the moment shown; its save records where it forked.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import os
import time
from pathlib import Path

import attrs
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from sim.scoring.alerts import AlertWatch
from sim.model.errors import InputError
from sim.drill.hints import HintWatch
from sim.records.replay import Replay
from sim.records.saves import ForkPoint, printable
from sim.scoring.score import SLOTracker
from tui.commands import ScreenCommands
from tui.frame import Frame, LogEntry, format_clock
from tui.live import LiveRun
from tui.screens.incident import IncidentScreen
from tui.widgets.event_log import EventLog

MAX_FRAME_WALL_S = 0.25
"""Wall time one frame may catch up on (as in the live app)."""
SEEK_MAX_STEP_S = 10.0
"""A jump steps at most this much sim time past the furthest checkpoint: ahead of the index
pass a seek costs what playing that stretch costs, and it runs on the UI thread."""
SHORT_HEIGHT = 30
"""Below this many rows the event log shrinks to make room for the timeline."""


@attrs.define
class ReplayRun(LiveRun):
    """A LiveRun whose ticks come from a `Replay`: recorded actions are applied, not typed."""

    replay: Replay | None = None
    shows_facilitator_moves: bool = True
    """A replay of a facilitated run says who did what: the facilitator's faults and notes are logged."""
    symptoms_from_index: bool = False
    """Symptoms come from the index (known when this view was made), else from this view's gauges:
    a view never switches, or a symptom seen on its own gauges would be logged twice."""
    symptoms_logged: int = 0
    """How many of the replay's `symptoms_seen` this view has logged."""
    alerts_from_index: bool = False
    """SLO alerts come from the index (known when this view was made), else from this view's tracker."""
    alerts_logged: int = 0
    """How many of the replay's `alerts_seen` this view has logged."""

    @classmethod
    def view(cls, replay: Replay, *, speed: int = 1, paused: bool = True) -> ReplayRun:
        """The incident-screen view of a replay at its current moment (rebuilt after each seek)."""
        drill = replay.drill
        run = cls(
            drill=drill, sim=replay.sim, tracker=SLOTracker.for_sim(drill, replay.sim),
            speed=speed, paused=paused, replay=replay,
            started_at=replay.save.started_at, symptoms_from_index=replay.symptoms_seen is not None,
            alerts_from_index=replay.alerts_seen is not None,
        )
        # The run so far: SLIs from t=0 (the replay's history holds it all), the events the
        # engine still holds, the symptoms, hints and alerts shown by now (once the index knows
        # them), the moving averages rebuilt from the history, and the gauges as they are now.
        run.prime_samples()
        run.sample_tick()
        # Symptoms, hints and alerts shown before now were logged after the engine's events: put them in order.
        run.log = collections.deque(sorted(run.log, key=lambda entry: entry.t_s), maxlen=run.log.maxlen)
        return run

    def _check_symptoms(self, gauges) -> None:
        """Once the index knows the symptoms the player was shown, show them at those times."""
        seen = self.replay.symptoms_seen
        if not self.symptoms_from_index:
            super()._check_symptoms(gauges)
            return
        while self.symptoms_logged < len(seen) and seen[self.symptoms_logged].t_s <= gauges.t_s + 1e-9:
            symptom = seen[self.symptoms_logged]
            self.add_log(LogEntry(symptom.t_s, symptom.tag, symptom.level, symptom.text))
            self.symptoms_logged += 1

    def _check_alerts(self) -> None:
        """Once the index knows the alerts the player was shown, show them at those times."""
        if not self.alerts_from_index:
            super()._check_alerts()
            return
        seen = self.replay.alerts_seen
        while self.alerts_logged < len(seen) and seen[self.alerts_logged].t_s <= self.sim.t_s + 1e-9:
            alert = seen[self.alerts_logged]
            self.alerts.words[alert.slo] = alert.word
            self._log_alert(alert)
            self.alerts_logged += 1

    def _check_hints(self, gauges) -> None:
        """Once the index knows when each hint fired in the saved run, show them at those times."""
        times = self.replay.hint_times
        if times is None:
            super()._check_hints(gauges)
            return
        for index, t_s in times.items():
            if index not in self.hints.fired and t_s <= gauges.t_s + 1e-9:
                self.hints.fired[index] = t_s
                self.add_log(LogEntry(t_s, "HINT", "warn", self.drill.hints[index].text))

    @property
    def ticks_total(self) -> int:
        """A replay ends where the recorded run ended (an abandoned run ends early)."""
        return self.replay.end_tick

    def step_once(self) -> None:
        """One tick of the replay: recorded actions are applied at their exact tick."""
        self.replay.step()

    def frame(self) -> Frame:
        frame = super().frame()
        return attrs.evolve(frame, title=f"REPLAY {printable(self.replay.save.player)}: {frame.title}")


class ReplayFrameReady(Message):
    """A frame of the replay computed in a worker; `generation` drops frames from before a seek."""

    def __init__(self, frame: Frame, generation: int) -> None:
        super().__init__()
        self.frame = frame
        self.generation = generation

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReplayFrameReady)


class IndexProgress(Message):
    """The background checkpoint pass advanced (or finished)."""

    def __init__(self, fraction: float, done: bool = False) -> None:
        super().__init__()
        self.fraction = fraction
        self.done = done


@attrs.frozen
class TimelineState:
    """What the timeline shows."""

    t_s: float
    end_t_s: float
    action_times_s: tuple[float, ...]
    actions_applied: int
    index_fraction: float
    index_exact: bool | None
    fork: ForkPoint | None
    save_name: str


class ReplayTimeline(Widget):
    """Position in the recorded run, a mark per recorded action, and the exactness check.

    Click anywhere on the bar to jump there.
    """

    DEFAULT_CSS = """
    ReplayTimeline {
        height: 2;
        width: 1fr;
        padding: 0 1;
        background: $boost;
    }
    """

    state: TimelineState | None = None

    class Scrubbed(Message):
        """The player clicked the bar at `t_s`."""

        def __init__(self, t_s: float) -> None:
            super().__init__()
            self.t_s = t_s

    def show(self, state: TimelineState) -> None:
        if state != self.state:
            self.state = state
            self.refresh()

    def _bar_width(self) -> int:
        return max(self.content_size.width, 10)

    def _column_of(self, t_s: float, width: int) -> int:
        end = self.state.end_t_s if self.state and self.state.end_t_s > 0 else 1.0
        return min(int(t_s / end * (width - 1) + 0.5), width - 1)

    def render(self) -> Text:
        state = self.state
        if state is None:
            return Text("")
        width = self._bar_width()
        here = self._column_of(state.t_s, width)
        indexed = int(state.index_fraction * width)
        marks = {self._column_of(t_s, width) for t_s in state.action_times_s}
        # One line: played ━, checkpointed ─, not yet checkpointed ╌, ▲ an action, ● now.
        bar = Text(no_wrap=True)
        for column in range(width):
            if column == here:
                bar.append("●", style="bold")
            elif column in marks:
                bar.append("▲", style="bold")
            elif column < here:
                bar.append("━", style="bold")
            else:
                bar.append("─" if column < indexed else "╌", style="dim")
        if state.index_exact is None:
            check = f"checking {state.index_fraction:.0%}"
        elif state.index_exact:
            check = "exact ✓"
        else:
            check = "DIFFERS ✗"
        # The check first: at 80 columns a long save name is what gets cut, not the check.
        status = (
            f"{format_clock(state.t_s)}/{format_clock(state.end_t_s)}  replay {check}  "
            f"actions {state.actions_applied}/{len(state.action_times_s)}  {state.save_name}"
        )
        if state.fork is not None:
            status += f" (fork of {state.fork.save} at {format_clock(state.fork.t_s)})"
        info = Text(status, no_wrap=True, overflow="ellipsis")
        info.truncate(width, overflow="ellipsis")
        return Text("\n").join([bar, info])

    def on_click(self, event: events.Click) -> None:
        if self.state is None:
            return
        width = self._bar_width()
        column = min(max(event.x - self.styles.padding.left, 0), width - 1)
        self.post_message(self.Scrubbed(column / max(width - 1, 1) * self.state.end_t_s))


class ReplayScreen(IncidentScreen):
    """The incident screen showing a replay; mitigations are off until you take the controls."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("space", "toggle_pause", "Play/Pause", id="replay.play", tooltip="Play or pause the replay."),
        Binding("enter", "take_controls", "Take controls", id="replay.fork",
                tooltip="Play on live from this moment; the branch is saved as its own run."),
        Binding("q,escape", "close_replay", "Close", id="replay.close", tooltip="Leave the replay."),
        Binding("question_mark,f1", "replay_help", "Help", id="replay.help", tooltip="The replay viewer's keys."),
        Binding("full_stop,shift+right", "jump(10)", "+10s", id="replay.jump_forward", tooltip="Ten seconds forward."),
        Binding("comma,shift+left", "jump(-10)", "-10s", id="replay.jump_back", tooltip="Ten seconds back."),
        Binding("right_square_bracket", "next_action", "Next action", id="replay.next_action",
                tooltip="Jump to the next recorded action."),
        Binding("left_square_bracket", "previous_action", "Prev action", id="replay.previous_action",
                tooltip="Jump back to the previous recorded action."),
        Binding("right", "step(1)", "Step", id="replay.step", tooltip="One tick forward."),
        Binding("left", "step(-1)", "Back", id="replay.back", tooltip="One tick back."),
        Binding("plus,equals_sign", "faster", "Faster", show=False, id="replay.faster",
                tooltip="Next speed: 1x 2x 5x 10x 50x."),
        Binding("minus", "slower", "Slower", show=False, id="replay.slower", tooltip="Previous speed."),
        # Priority: a focused scrollable (the event log) would take home/end otherwise.
        Binding("home", "seek_fraction(0)", "Start", show=False, id="replay.start", tooltip="Back to the start.",
                priority=True),
        Binding("end", "seek_fraction(1)", "End", show=False, id="replay.end", tooltip="To the end of the run.",
                priority=True),
        *(
            Binding(str(digit), f"seek_fraction({digit / 10})", f"{digit * 10}%", show=False,
                    id=f"replay.seek_{digit}", tooltip=f"Jump to {digit * 10}% of the run.")
            for digit in range(10)
        ),
    ]

    def __init__(self, replay: Replay, *, index_in_background: bool = True) -> None:
        super().__init__()
        self.replay = replay
        self.run = ReplayRun.view(replay)
        self.generation = 0
        self.stepping = False
        self.last_wall: float | None = None
        self.index_fraction = 1.0 if replay.index_complete else 0.0
        self.index_in_background = index_in_background and not replay.index_complete
        self.closing = False
        self.replay_timer = None
        self.seek_ms: list[float] = []
        """Wall time of each seek, for the curious (and the tests)."""
        self.log_stale = False
        """The view was rebuilt: the event log shows the new view's entries from scratch."""

    # The incident screen reads its run from here.
    @property
    def live(self):
        return self.run

    def compose(self):
        yield from super().compose()
        yield ReplayTimeline(id="timeline")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#gauges").border_title = "Service (replay)"
        interval = getattr(self.app, "tick_interval", None)
        if interval is not None:
            self.replay_timer = self.set_interval(interval, self.on_replay_timer)
        if self.index_in_background:
            self.run_worker(self._build_index, thread=True, group="replay-index", name="replay-index")
        self.show_now()

    def on_unmount(self) -> None:
        self.closing = True

    def on_resize(self, event) -> None:
        super().on_resize(event)
        # The timeline takes two lines and the dependencies panel a few: on short terminals the event
        # log gives them up (one line shows; it scrolls, and every line is kept).
        self.query_one("#log").styles.height = 3 if event.size.height < SHORT_HEIGHT else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The recorded run plays itself: mitigations (and "end drill") belong to a live run.
        if action in ("mitigate", "end_run"):
            return False
        return True

    # ------------------------------------------------------------------ drawing

    def show_now(self) -> None:
        """Show the replay as it is (after a seek, a step or a pause)."""
        with self.replay._lock:
            frame = self.run.frame()
        self.show_frame(frame)

    def show_frame(self, frame: Frame) -> None:
        if self.log_stale and self.query(EventLog):
            self.query_one(EventLog).replace_all(frame.log, frame.log_total)
            self.log_stale = False
        super().show_frame(frame)
        replay = self.replay
        self.query_one(ReplayTimeline).show(
            TimelineState(
                t_s=replay.t_s,
                end_t_s=replay.end_t_s,
                action_times_s=replay.action_times_s,
                actions_applied=replay.actions_applied(),
                index_fraction=self.index_fraction,
                index_exact=replay.index_exact,
                fork=replay.save.forked_from,
                save_name=replay.save_path.name if replay.save_path else replay.save.drill_id,
            )
        )

    # ------------------------------------------------------------------ the clock

    def on_replay_timer(self) -> None:
        """Timer tick: step the owed ticks in a worker, unless one is still running."""
        now = time.perf_counter()
        wall_s = 0.0 if self.last_wall is None else now - self.last_wall
        self.last_wall = now
        if self.stepping or self.run.paused or self.run.finished:
            return
        self.stepping = True
        run, generation = self.run, self.generation
        self.run_worker(lambda: self._compute_frame(run, generation, min(wall_s, MAX_FRAME_WALL_S)),
                        thread=True, group="replay", name="replay-frame")

    def _compute_frame(self, run: ReplayRun, generation: int, wall_s: float) -> None:
        with self.replay._lock:
            if generation != self.generation:
                return
            run.advance_wall(wall_s)
            frame = run.frame()
        self.post_message(ReplayFrameReady(frame, generation))

    def on_replay_frame_ready(self, message: ReplayFrameReady) -> None:
        self.stepping = False
        if message.generation == self.generation:
            self.show_frame(message.frame)

    def advance(self, ticks: int) -> None:
        """Step the replay now, on this thread, and show it (tests drive the screen this way)."""
        with self.replay._lock:
            self.run.advance_ticks(ticks)
        self.show_now()

    def _build_index(self) -> None:
        """Worker thread: checkpoint the whole run on a separate simulation."""
        last = [0.0]

        def progress(fraction: float) -> None:
            if fraction - last[0] >= 0.02:
                last[0] = fraction
                self.post_message(IndexProgress(fraction))

        self.replay.build_index(progress=progress, cancelled=lambda: self.closing)
        if self.replay.index_complete:
            self.post_message(IndexProgress(1.0, done=True))

    def on_index_progress(self, message: IndexProgress) -> None:
        self.index_fraction = message.fraction
        if message.done and self.replay.index_exact is False:
            self.notify("The re-simulation does not match the saved digest: this replay is not exact.",
                        title="Replay differs", severity="error", timeout=10)
        if message.done and self.replay.alerts_seen is not None and not self.run.alerts_from_index:
            # A view made before the pass ended judged symptoms, hints and alerts from where it
            # started; now the pass knows what the player was shown, so the log can say it.
            self.rebuild_view()
        self.show_now()

    def rebuild_view(self) -> None:
        """Make the view of the moment shown afresh (after a seek, or once the index is known)."""
        with self.replay._lock:
            self.generation += 1
            self.run = ReplayRun.view(self.replay, speed=self.run.speed, paused=self.run.paused)
            self.log_stale = True

    # ------------------------------------------------------------------ controls

    def seek(self, t_s: float) -> None:
        """Jump to sim time t_s and rebuild the view there (no further than the index allows)."""
        started = time.perf_counter()
        with self.replay._lock:
            max_steps = max(1, int(round(SEEK_MAX_STEP_S / self.replay.sim.dt_s)))
            reached = self.replay.seek(t_s, max_steps=max_steps)
            self.rebuild_view()
        self.seek_ms.append((time.perf_counter() - started) * 1000)
        self.stepping = False
        wanted = min(max(t_s, 0.0), self.replay.end_t_s)
        if reached < wanted - self.replay.sim.dt_s / 2:
            self.notify(f"Still checking the run: jumped to {format_clock(reached)}, the furthest it can reach "
                        f"at once so far. Try again when the timeline says the replay is checked.",
                        title="Not indexed yet", timeout=4)
        self.show_now()

    def action_toggle_pause(self) -> None:
        with self.replay._lock:
            if self.run.finished:
                return
            self.run.paused = not self.run.paused
            self.run.tick_debt = 0.0
        self.last_wall = None
        self.show_now()

    def action_faster(self) -> None:
        self.notify(f"Speed {self.run.faster()}x", timeout=1.5)
        self.show_now()

    def action_slower(self) -> None:
        self.notify(f"Speed {self.run.slower()}x", timeout=1.5)
        self.show_now()

    def action_step(self, ticks: int) -> None:
        if ticks > 0:
            self.advance(ticks)
        else:
            self.seek(self.replay.t_s + ticks * self.replay.sim.dt_s)

    def action_jump(self, seconds: float) -> None:
        self.seek(self.replay.t_s + seconds)

    def action_seek_fraction(self, fraction: float) -> None:
        self.seek(fraction * self.replay.end_t_s)

    def action_next_action(self) -> None:
        later = [t for t in self.replay.action_times_s if t > self.replay.t_s + 1e-9]
        if later:
            self.seek(later[0])
        else:
            self.notify("No recorded action after this moment.", timeout=2)

    def action_previous_action(self) -> None:
        earlier = [t for t in self.replay.action_times_s if t < self.replay.t_s - 1e-9]
        if earlier:
            self.seek(earlier[-1])
        else:
            self.notify("No recorded action before this moment.", timeout=2)

    def on_replay_timeline_scrubbed(self, message: ReplayTimeline.Scrubbed) -> None:
        self.seek(message.t_s)

    def action_take_controls(self) -> None:
        """Fork a live run from this moment and switch to the live incident screen."""
        with self.replay._lock:
            sim, fork_point = self.replay.fork()
        live = fork_live_run(self.replay, sim, view=self.run)
        self.closing = True
        take_controls(self.app, live, fork_point)

    def action_replay_help(self) -> None:
        """Help with the replay viewer's own keys (the incident screen's do not apply here)."""
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(sections=(("Replay viewer", binding_rows(self.BINDINGS)),)))

    def action_close_replay(self) -> None:
        self.closing = True
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()


def fork_live_run(replay: Replay, sim, view: ReplayRun | None = None) -> LiveRun:
    """A live run of the replay's drill continuing from `sim` (a fork), paused.

    `view` is the replay view forked from: before the index pass knows what the player
    was shown, the fork goes on from what the view showed instead.
    """
    drill = replay.drill
    live = LiveRun(drill=drill, sim=sim, tracker=SLOTracker.for_sim(drill, sim), paused=True,
                   started_at=dt.datetime.now(dt.timezone.utc))
    # Hints, symptoms and alerts already shown in the replay are not shown again; the rest follow the new run.
    if replay.alerts_seen is None and view is not None:
        live.hints, live.symptoms, live.alerts = copy.deepcopy((view.hints, view.symptoms, view.alerts))
    else:
        live.hints = hints_shown_by(replay, sim.t_s)
        live.symptoms.started.update(s.fault_index for s in replay.symptoms_seen or () if s.t_s <= sim.t_s + 1e-9)
        live.alerts = AlertWatch.after(replay.alerts_seen or (), sim.t_s)
    live.sample_tick()
    live.add_log(LogEntry(sim.t_s, "FORK", "warn",
                          f"You have the controls: forked from {replay.save_path.name if replay.save_path else 'a replay'}"
                          f" at {format_clock(sim.t_s)}"))
    return live


def hints_shown_by(replay: Replay, t_s: float) -> HintWatch:
    """A hint watch holding the hints the saved run had shown by t_s (none until the index knows)."""
    watch = HintWatch.for_hints(replay.drill.hints)
    for index, fired_s in (replay.hint_times or {}).items():  # in firing order, i.e. by time
        if fired_s <= t_s + 1e-9:
            watch.fired[index] = fired_s
    return watch


def take_controls(app, live: LiveRun, fork_point: ForkPoint) -> None:
    """Hand a forked live run to the app: it becomes the app's incident, saved with its fork point."""
    app.start_fork(live, fork_point)


def open_replay(app, path: str | os.PathLike[str]) -> None:
    """Open a save in the replay viewer, or explain in a dialog why it cannot be replayed."""
    from tui.dialogs.message_dialog import MessageDialog

    try:
        replay = Replay.open(Path(path))
    except InputError as error:
        app.push_screen(MessageDialog(f"Cannot replay {Path(path).name}", str(error)))
        return
    app.push_screen(ReplayScreen(replay))
