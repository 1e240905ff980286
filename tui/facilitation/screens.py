"""What peers see: the trainee's screen read-only (spectators), or it with the hidden facts
and the facilitator's controls."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.commands import ScreenCommands
from tui.dialogs.action_dialog import ActionDialog
from tui.facilitation import forms
from tui.facilitation import protocol as p
from tui.facilitation.dialogs import TextDialog
from tui.frame import Frame
from tui.screens.incident import TALL_HEIGHT, IncidentScreen
from tui.widgets.clock_bar import ClockBar
from tui.widgets.event_log import EventLog
from tui.widgets.gauge import GaugeBar
from tui.widgets.hint_line import HintLine
from tui.widgets.latency_chart import LatencyChart
from tui.widgets.rates import RatesPanel
from tui.widgets.slo_budget import SLOBudget


class WatchScreen(Screen):
    """The trainee's incident screen as frames from the host show it; no key acts on the run."""

    COMMANDS = {ScreenCommands}
    BINDINGS = [Binding("q", "app.quit", "Quit", id="watch.quit", tooltip="Stop watching.")]

    # The incident screen's own drawing of a frame, on the same widgets (no run behind them here).
    show_frame = IncidentScreen.show_frame
    _sync_rows = IncidentScreen._sync_rows

    def __init__(self) -> None:
        super().__init__()
        self.frame: Frame | None = None

    def compose(self) -> ComposeResult:
        yield Static("Connecting…", id="peer-status", markup=False)
        yield ClockBar(id="clock")
        with Horizontal(id="incident-main"):
            yield from self._gauges()
            yield LatencyChart(id="latency")
        yield from self._bottom()

    def _gauges(self) -> ComposeResult:
        with Vertical(id="gauges"):
            yield GaugeBar(id="slots")
            yield GaugeBar(id="workers")
            yield GaugeBar(id="queue")
            yield GaugeBar(id="memory")
            yield Vertical(id="pools")
            yield RatesPanel(id="rates")

    def _bottom(self) -> ComposeResult:
        yield Vertical(id="deps")
        yield SLOBudget(id="slos")
        yield HintLine(id="hint")
        yield EventLog(id="log")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#gauges").border_title = "Service"
        self.query_one("#latency").border_title = "Latency"
        self.query_one("#deps").border_title = "Dependencies"
        self.query_one("#slos").border_title = "Error budget"
        self.query_one("#log").border_title = "Events"

    def on_resize(self, event) -> None:
        self.set_class(event.size.height >= TALL_HEIGHT, "-tall")

    def set_status(self, text: str) -> None:
        """The connection line: who we are, connected or not, the last goodbye."""
        self.query_one("#peer-status", Static).update(text)


class FacilitatorScreen(WatchScreen):
    """The live gauges, the hidden facts, and the facilitator's controls."""

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", id="fac.pause", tooltip="Pause or resume the clock for everyone."),
        Binding("plus,equals_sign", "faster", "Faster", id="fac.faster", tooltip="Next speed, for everyone."),
        Binding("minus", "slower", "Slower", id="fac.slower", tooltip="Previous speed, for everyone."),
        Binding("i", "inject", "Inject", id="fac.inject", tooltip="Inject a fault of any kind on a target of this drill."),
        Binding("c", "cancel_fault", "Cancel", id="fac.cancel", tooltip="Cancel a scripted or injected fault."),
        Binding("m", "message", "Message", id="fac.message", tooltip="Pop a message up on the trainee's screen."),
        Binding("n", "note", "Note", id="fac.note", tooltip="Add a note to the run's timeline (the trainee does not see it)."),
        Binding("q", "app.quit", "Quit", id="fac.quit", tooltip="Leave (rejoin with the same code)."),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict = {}

    def compose(self) -> ComposeResult:
        yield Static("Connecting…", id="peer-status", markup=False)
        yield ClockBar(id="clock")
        with Horizontal(id="incident-main"):
            yield from self._gauges()
            with Vertical(id="fac-side"):
                with VerticalScroll(id="facts"):
                    yield Static("Waiting for the host…", id="facts-text", markup=False)
                yield LatencyChart(id="latency")
        yield from self._bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#facts").border_title = "Hidden facts"

    def show_facts(self, facts: dict) -> None:
        """New facts from the host (faults, par, moves)."""
        self.facts = facts
        self._render_facts()

    def show_frame(self, frame: Frame) -> None:
        super().show_frame(frame)
        self._render_facts()

    def _render_facts(self) -> None:
        if not self.facts or not self.query("#facts-text"):
            return
        t_s = self.frame.t_s if self.frame is not None else 0.0
        try:
            text = forms.facts_text(self.facts, t_s)
        except forms.FactsError as error:
            text = str(error)
        self.query_one("#facts-text", Static).update(text)

    # ------------------------------------------------------------------ controls

    def _send(self, message: p.PeerMessage) -> None:
        self.app.send(message)

    def action_toggle_pause(self) -> None:
        paused = self.frame is not None and self.frame.paused
        self._send(p.Resume() if paused else p.Pause())

    def _step_speed(self, step: int) -> None:
        speed = self.frame.speed if self.frame is not None else 1
        index = p.SPEEDS.index(speed) if speed in p.SPEEDS else 0
        self._send(p.Speed(p.SPEEDS[max(0, min(len(p.SPEEDS) - 1, index + step))]))

    def action_faster(self) -> None:
        self._step_speed(+1)

    def action_slower(self) -> None:
        self._step_speed(-1)

    def action_inject(self) -> None:
        try:
            form = forms.kind_form(self.facts)
        except forms.FactsError as why:
            self.notify(str(why), severity="warning", markup=False)
            return
        self.app.push_screen(ActionDialog(form), self._kind_chosen)

    def _kind_chosen(self, values: dict | None) -> None:
        if values is None:
            return
        kind = values["kind"]
        try:
            form = forms.fault_form(self.facts, kind)
        except forms.FactsError as why:
            self.notify(str(why), severity="warning", markup=False)
            return
        # After the first dialog has gone: its callback runs while it is still on the stack.
        self.app.call_after_refresh(
            self.app.push_screen, ActionDialog(form),
            lambda filled: filled is not None and self._send(forms.inject_message(kind, filled)))

    def action_cancel_fault(self) -> None:
        t_s = self.frame.t_s if self.frame is not None else 0.0
        try:
            form = forms.cancel_form(self.facts, t_s)
        except forms.FactsError as why:
            self.notify(str(why), severity="warning", markup=False)
            return

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._send(p.Cancel(int(str(values["fault"]).split(":")[0])))

        self.app.push_screen(ActionDialog(form), chosen)

    def action_message(self) -> None:
        self.app.push_screen(TextDialog("Message the trainee", "It pops up on their screen and is saved with the run.",
                                        "The VP of sales asks for an ETA"),
                             lambda text: text is not None and self._send(p.Message(text)))

    def action_note(self) -> None:
        self.app.push_screen(TextDialog("Note on the timeline", "Saved with the run for the debrief; the trainee does not see it."),
                             lambda text: text is not None and self._send(p.Note(text)))
