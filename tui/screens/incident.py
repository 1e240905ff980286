"""The live incident: gauges, breaker lights, latency chart, SLO budgets, event log, mitigations."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen

from tui.commands import MITIGATIONS, MitigationCommands
from tui.dialogs.action_dialog import ActionDialog
from tui.dialogs.forms import ActionForm, NotApplicable, action_args, applicable_actions, form_for
from tui.frame import Frame
from tui.live import COVERED_SPEED
from tui.widgets.clock_bar import ClockBar
from tui.widgets.dependency_row import DependencyRow
from tui.widgets.event_log import EventLog
from tui.widgets.fitted_footer import FittedFooter
from tui.widgets.gauge import GaugeBar
from tui.widgets.hint_line import HintLine
from tui.widgets.latency_chart import LatencyChart
from tui.widgets.rates import RatesPanel
from tui.widgets.slo_budget import SLOBudget


TALL_HEIGHT = 34
RUN_CONTROL_ACTIONS = ("toggle_pause", "faster", "slower")


class IncidentScreen(Screen):
    """Shows the app's live run; every mitigation is a key and a palette command."""

    COMMANDS = {MitigationCommands}
    BINDINGS = [
        # The footer shows whole entries in this order while they fit (FittedFooter): the run keys
        # first, so pause, help, palette and end show at every width; the mitigations the width holds
        # follow, and all of them are in help and the palette.
        Binding("space", "toggle_pause", "Pause", id="run.pause", tooltip="Pause or resume the simulation clock."),
        Binding("question_mark,f1", "app.help", "Help", id="run.help", tooltip="Every key of the app."),
        Binding("q", "end_run", "End", id="run.end", tooltip="End the drill (asks first)."),
        *(m.binding() for m in MITIGATIONS),
        Binding("plus,equals_sign", "faster", "Faster", id="run.faster", tooltip="Next speed: 1x 2x 5x 10x 50x."),
        Binding("minus", "slower", "Slower", id="run.slower", tooltip="Previous speed."),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.refused_seen = 0
        self.frame: Frame | None = None
        self._applicable: frozenset[str] | None = None

    @property
    def applicable(self) -> frozenset[str]:
        """The mitigations that can act on this drill (the rest are not offered: no key, no palette entry)."""
        if self._applicable is None:
            live = self.live
            if live is None:
                return frozenset(m.action for m in MITIGATIONS)
            with live.lock:
                gauges = live.sim.gauges()
            self._applicable = applicable_actions(live.drill.model, gauges)
        return self._applicable

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mitigate" and parameters and parameters[0] not in self.applicable:
            return False
        return True

    @property
    def live(self):
        return self.app.live

    def compose(self) -> ComposeResult:
        yield ClockBar(id="clock")
        with Horizontal(id="incident-main"):
            with Vertical(id="gauges"):
                yield GaugeBar(id="slots")
                yield GaugeBar(id="workers")
                yield GaugeBar(id="queue")
                yield GaugeBar(id="memory")
                yield Vertical(id="pools")
                yield RatesPanel(id="rates")
            yield LatencyChart(id="latency")
        yield Vertical(id="deps")
        yield SLOBudget(id="slos")
        yield HintLine(id="hint")
        yield EventLog(id="log")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#gauges").border_title = "Service"
        self.query_one("#latency").border_title = "Latency"
        self.query_one("#deps").border_title = "Dependencies"
        self.query_one("#slos").border_title = "Error budget"
        self.query_one("#log").border_title = "Events"
        if self.live is not None:
            self.live.speed_cap = None
            self.show_frame(self.live.frame())

    def on_screen_suspend(self) -> None:
        # A dialog, help or the palette went on top: the clock runs at real time until it closes.
        if self.live is not None:
            self.live.speed_cap = COVERED_SPEED

    def on_screen_resume(self) -> None:
        if self.live is not None:
            self.live.speed_cap = None

    def on_resize(self, event) -> None:
        # Tall terminals give the event log room; at 24 rows the gauges need it.
        self.set_class(event.size.height >= TALL_HEIGHT, "-tall")

    def show_frame(self, frame: Frame) -> None:
        """Hand one frame to every widget (cheap: widgets re-render only what changed)."""
        self.frame = frame
        if not self.query(ClockBar):
            return  # being taken down (the run ended, keys raced the switch): no widgets to show it
        self.query_one(ClockBar).frame = frame
        self.query_one("#slots", GaugeBar).reading = frame.slots
        self.query_one("#workers", GaugeBar).reading = frame.workers
        self.query_one("#queue", GaugeBar).reading = frame.queue
        memory = self.query_one("#memory", GaugeBar)
        memory.display = frame.memory is not None
        memory.reading = frame.memory
        self._sync_rows("#pools", GaugeBar, frame.pools)
        deps = self.query_one("#deps")
        deps.display = bool(frame.dependencies or frame.caches)
        self._sync_rows("#deps", DependencyRow, (*frame.dependencies, *frame.caches))
        self.query_one(RatesPanel).reading = frame.rates
        self.query_one(LatencyChart).series = frame.latency
        self.query_one(SLOBudget).readings = frame.slos
        self.query_one(HintLine).hint = frame.hint
        log = self.query_one(EventLog)
        new_entries = frame.log[max(len(frame.log) - (frame.log_total - log.entries_written), 0):]
        log.show(frame.log, frame.log_total)
        for entry in new_entries:
            if entry.kind == "REFUSED":
                self.notify(entry.text, title="Action refused", severity="error", timeout=6, markup=False)
        self.sub_title = f"{frame.t_s:.0f}s"

    def _sync_rows(self, container_id: str, widget_type, readings) -> None:
        """One widget per reading, created when the count changes (pools appear with bulkheads)."""
        container = self.query_one(container_id)
        rows = list(container.query_children(widget_type))
        if len(rows) != len(readings):
            container.remove_children()
            rows = [widget_type() for _ in readings]
            container.mount_all(rows)
        for row, reading in zip(rows, readings):
            row.reading = reading

    # ------------------------------------------------------------------ run controls

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The mode's limits: on call there is no pause key and no speed keys (hidden from the footer)."""
        live = self.live
        if live is not None and action in RUN_CONTROL_ACTIONS:
            if action == "toggle_pause" and not live.mode.pause:
                return False
            if action in ("faster", "slower") and len(live.speeds) == 1:
                return False
        return True

    def action_toggle_pause(self) -> None:
        self.app.toggle_pause()

    def action_faster(self) -> None:
        self.app.change_speed(+1)

    def action_slower(self) -> None:
        self.app.change_speed(-1)

    def action_end_run(self) -> None:
        self.app.request_end_run()

    # ------------------------------------------------------------------ mitigations

    def action_mitigate(self, action: str) -> None:
        self.mitigate(action)

    def mitigate(self, action: str) -> None:
        """Open the action's dialog (or apply at once when there is nothing to ask)."""
        live = self.live
        if live is None or live.finished:
            self.notify("The drill is over.", severity="warning")
            return
        # Slow the clock before waiting for the lock: a frame being stepped stops at its next chunk.
        live.speed_cap = COVERED_SPEED
        with live.lock:
            gauges = live.sim.gauges()
            applied = live.sim.action_log
        try:
            form = form_for(action, live.drill.model, gauges, applied)
        except NotApplicable as why:
            live.speed_cap = None
            self.notify(f"{action}: {why}", title="Not available", severity="warning", markup=False)
            return
        if not form.needs_input:
            live.speed_cap = None
            self.submit(form, form.defaults())
            return
        self.app.push_screen(ActionDialog(form), lambda values: self.submit(form, values))

    def submit(self, form: ActionForm, values: dict | None) -> None:
        """Queue the action with the dialog's values (None: cancelled)."""
        if values is None:
            return
        args = action_args(form, values)
        self.app.submit_action(form.action, args)
