"""The help screen: every key of every screen, with what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.commands import MITIGATIONS

RUN_KEYS = (
    ("space", "Pause / resume the simulation clock"),
    ("+ / =", "Faster: 1x → 2x → 5x → 10x → 50x"),
    ("-", "Slower"),
    ("ctrl+p", "Command palette: every mitigation by name"),
    ("q / ctrl+c", "End the drill (asks first), then the debrief"),
)
GENERAL_KEYS = (
    ("? / f1", "This help"),
    ("enter", "Picker: open the briefing · Briefing: start · Dialog: apply"),
    ("escape", "Back / cancel a dialog"),
    ("q", "Picker and debrief: quit Brownout"),
    ("ctrl+q", "Quit at once (asks during a drill)"),
)


def help_text() -> str:
    """The help body as plain lines."""
    lines = ["MITIGATIONS (incident screen; each opens a dialog with the current value)"]
    lines += [f"  {m.key:<10} {m.action:<20} {m.help}" for m in MITIGATIONS]
    lines += ["", "RUN"]
    lines += [f"  {key:<10} {text}" for key, text in RUN_KEYS]
    lines += ["", "EVERYWHERE"]
    lines += [f"  {key:<10} {text}" for key, text in GENERAL_KEYS]
    lines += [
        "",
        "READING THE SCREEN",
        "  Bars: instant value, ~ moving average (5 s), then OK / WARN / CRIT.",
        "  Breakers: CLOSED / OPEN / HALF_OPEN, '(forced)' when you hold them.",
        "  Latency: · p50  ● p95  ▴ p99 per second; ╌ is the SLO threshold; ▲ marks your actions.",
        "  SLOs: budget left and 1-minute burn rate; AT RISK at 2x, BURNING at 10x, BREACHED when spent.",
    ]
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close", tooltip="Close help.")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("Brownout — keys", id="help-title")
            yield Static(help_text(), markup=False, id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
