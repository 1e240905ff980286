"""The help screen: every key of every screen, with what it does."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from tui.textual_fixes import DismissOnce

from tui.commands import MITIGATIONS

RUN_KEYS = (
    ("space", "Pause / resume the simulation clock"),
    ("+ / =", "Faster: 1x → 2x → 5x → 10x → 50x"),
    ("-", "Slower (while a dialog, this help or the palette is open, the clock runs at 1x)"),
    ("ctrl+p", "Command palette: every mitigation, and every key of every screen, by name"),
    ("q / ctrl+c", "End the drill (asks first), then the debrief"),
)
GENERAL_KEYS = (
    ("? / f1", "This help"),
    ("enter", "Picker: open the briefing · Briefing: start · Dialog: apply"),
    ("escape", "Back / cancel a dialog"),
    ("v", "Picker: saved runs (replay one, or take the controls from any moment)"),
    ("e", "Debrief: write a postmortem draft of the run (Markdown, charts, HTML) beside its save"),
    ("s / p", "Picker: surprise me (a blind incident) / your progress (e exports it as CSV)"),
    ("m", "Briefing: the mode: guided, standard (hints a minute late), on-call (no hints, pause or speed)"),
    ("h", "Briefing: host the drill: a facilitator (brownout facilitate) and spectators (brownout watch) join "
          "with the code it shows"),
    ("q", "Picker and debrief: quit Brownout"),
    ("ctrl+q", "Quit at once (asks during a drill)"),
)


READING = (
    ("Bars", "instant value, ~ moving average over 5 s, then OK / WARN / CRIT"),
    ("Breakers", "CLOSED / OPEN / HALF_OPEN, '(forced)' while you hold one"),
    ("Latency", "· p50  ● p95  ▴ p99 each second; ╌ is the SLO threshold; ▲ marks your actions"),
    ("SLOs", "the month's error budget spent and the 1-minute burn rate; pages as on-call gets them: "
             "FAST BURN (14.4x over 60s and 5s), SLOW BURN (6x over 360s and 30s), TICKET (1x)"),
)


def _table(title: str, rows) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, show_header=False,
                  expand=True, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for key, text in rows:
        table.add_row(key, text)
    return table


def binding_rows(bindings) -> tuple[tuple[str, str], ...]:
    """(keys, what it does) for a screen's bindings, e.g. the replay viewer's."""
    rows = []
    for binding in bindings:
        keys = " / ".join(k.replace("question_mark", "?").replace("full_stop", ".").replace("comma", ",")
                          .replace("right_square_bracket", "]").replace("left_square_bracket", "[")
                          .replace("equals_sign", "=").replace("plus", "+").replace("minus", "-")
                          for k in binding.key.split(","))
        rows.append((keys, binding.tooltip or binding.description))
    return tuple(rows)


def help_tables(applicable: frozenset[str] | None = None) -> Group:
    """Every key, grouped, as tables that wrap inside their columns (mitigations: those in
    `applicable`, when given: the ones the drill being played offers)."""
    mitigations = [(m.key, f"{m.action}: {m.help}") for m in MITIGATIONS
                   if applicable is None or m.action in applicable]
    return Group(
        _table("Mitigations (incident screen; each opens a dialog with the current value)", mitigations),
        _table("\nRun", RUN_KEYS),
        _table("\nEverywhere", GENERAL_KEYS),
        _table("\nReading the screen", READING),
    )


class HelpScreen(DismissOnce, ModalScreen[None]):
    """Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close", tooltip="Close help.")]

    def __init__(self, sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] | None = None,
                 applicable: frozenset[str] | None = None) -> None:
        super().__init__()
        self.sections = sections
        self.applicable = applicable
        """(title, rows) to show instead of every key of the app (a screen with keys of its own)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("Brownout — keys", id="help-title")
            if self.sections is None:
                yield Static(help_tables(self.applicable), id="help-body")
            else:
                tables = [_table(("\n" if i else "") + title, rows) for i, (title, rows) in enumerate(self.sections)]
                yield Static(Group(*tables, _table("\nReading the screen", READING)), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
