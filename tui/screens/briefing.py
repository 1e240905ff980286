"""The briefing: the drill's story, its SLOs and the key map; choose the mode, start or go back.

A blind incident's briefing shows its neutral name and service description instead of
the drill's title and story, and no difficulty (the debrief reveals the drill).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from sim.drill.blind import BlindIncident, masked
from sim.drill.drill import Drill
from sim.drill.modes import DEFAULT_MODE, Mode, next_mode
from tui.commands import MITIGATIONS, ScreenCommands
from tui.frame import format_clock
from tui.screens.picker import describe_slo


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of a TOML briefing into paragraphs the screen can wrap.

    Blank lines end a paragraph; a line starting like a list item keeps its own line.
    """
    paragraphs: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        starts_item = stripped[:1] in ("-", "*", "•") or stripped.split(".")[0].isdigit()
        if not stripped:
            paragraphs.append("")
        elif paragraphs and paragraphs[-1] and not starts_item:
            paragraphs[-1] += " " + stripped
        else:
            paragraphs.append(stripped)
    return "\n".join(p if p else "" for p in paragraphs)


def key_map_text() -> str:
    """The incident keys, two per line."""
    rows = [f"{m.key:>5}  {m.label:<10}" for m in MITIGATIONS]
    rows += [f"{'space':>5}  {'Pause':<10}", f"{'+ -':>5}  {'Speed':<10}", f"{'?':>5}  {'Help':<10}", f"{'q':>5}  {'End drill':<10}"]
    return "\n".join("".join(rows[i : i + 2]) for i in range(0, len(rows), 2))


class BriefingScreen(Screen):
    """Read the situation, then Start (Enter) or go Back (Escape)."""

    COMMANDS = {ScreenCommands}
    AUTO_FOCUS = "#start"
    """Focus Start when the screen shows (a query in on_mount failed if it was left at once)."""
    BINDINGS = [
        Binding("enter", "start", "Start", id="briefing.start", tooltip="Start the drill (the clock runs)."),
        Binding("h", "host", "Host", id="briefing.host",
                tooltip="Start the drill hosted: a facilitator and spectators may join with a code."),
        Binding("escape", "back", "Back", id="briefing.back", tooltip="Back to the drill list."),
        Binding("m", "next_mode", "Mode", id="briefing.mode",
                tooltip="Next difficulty mode: guided, standard, on-call."),
        Binding("question_mark,f1", "app.help", "Help", id="briefing.help", tooltip="Every key of the app."),
    ]

    def __init__(self, drill: Drill, *, blind: BlindIncident | None = None, mode: Mode = DEFAULT_MODE) -> None:
        super().__init__()
        self.drill = drill
        """The drill itself (a blind briefing shows only its masked copy)."""
        self.blind = blind
        self.mode = mode

    def compose(self) -> ComposeResult:
        drill = masked(self.drill, self.blind) if self.blind else self.drill
        meta = ("blind incident" if self.blind else f"difficulty {drill.difficulty}/5")
        with Vertical(id="briefing"):
            yield Static(drill.title, id="briefing-title", markup=False)
            yield Static(f"{meta}  ·  {format_clock(drill.duration_s)}  ·  seed {drill.seed}", id="briefing-meta")
            yield Static(self._mode_text(), id="briefing-mode")
            with Horizontal(id="briefing-body"):
                with VerticalScroll(id="briefing-story"):
                    yield Static(reflow(drill.briefing), markup=False)
                    yield Static(self._slo_text(), id="briefing-slos", markup=False)
                with Vertical(id="briefing-keys"):
                    yield Static("Keys during the drill", classes="section-title")
                    yield Static(key_map_text(), markup=False)
            with Horizontal(id="briefing-buttons"):
                yield Button("Start (enter)", variant="success", id="start")
                yield Button("Back (esc)", id="back")
        yield Footer()

    def _slo_text(self) -> str:
        if not self.drill.slos:
            return "\nNo SLOs: play for understanding."
        lines = ["", "Your SLOs:"]
        for slo in self.drill.slos:
            scope = f" ({', '.join(slo.classes)})" if slo.classes else ""
            lines.append(f"  • {slo.name}: {describe_slo(slo)} of {slo.events} requests{scope}")
        return "\n".join(lines)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.action_back()

    def _mode_text(self) -> str:
        return f"Mode: {self.mode.name} — {self.mode.summary}  (m to change)"

    def action_next_mode(self) -> None:
        self.mode = next_mode(self.mode)
        self.query_one("#briefing-mode", Static).update(self._mode_text())

    def action_start(self) -> None:
        self.app.start_drill(self.drill, mode=self.mode, blind=self.blind)

    def action_host(self) -> None:
        self.app.host_drill(self.drill)

    def action_back(self) -> None:
        self.app.pop_screen()
