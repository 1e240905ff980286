"""Every mitigation, once: its key, its action, its words, and the command palette over them.

The incident screen builds its bindings from `MITIGATIONS`, the help screen lists
them, and `MitigationCommands` offers them in the command palette (only on the
incident screen, as posting does with screen-dependent providers). Every other
screen offers its own key bindings through `ScreenCommands`, so whatever a key does
can also be found by name.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import partial

import attrs
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


BREAKER_GROUP = Binding.Group("Brk", compact=True)
"""The three breaker keys share one footer entry, so every mitigation fits at 80 columns."""


@attrs.frozen
class Mitigation:
    """One operator action as the app offers it."""

    key: str
    action: str
    """The engine action name (sim.model.spec.ACTION_NAMES)."""
    label: str
    """Short footer text."""
    help: str
    """One sentence: what it does and what it costs."""
    footer: bool = True
    """Shown in the footer (the later ones live in help and the palette: the footer is full at 80 columns)."""

    @property
    def binding_id(self) -> str:
        return "mitigate." + self.action

    def binding(self) -> Binding:
        """The screen binding: runs `mitigate('<action>')` on the incident screen."""
        group = BREAKER_GROUP if self.action.startswith("breaker.") else None
        return Binding(self.key, f"mitigate('{self.action}')", self.label, id=self.binding_id, tooltip=self.help,
                       group=group, show=self.footer)


MITIGATIONS = (
    Mitigation("p", "pool.resize", "Pool", "Resize a connection pool (more connections add database contention)."),
    Mitigation("o", "breaker.force_open", "Open", "Force a circuit breaker open: calls fail fast or fall back."),
    Mitigation("c", "breaker.force_close", "Close", "Force a circuit breaker closed: calls always go through."),
    Mitigation("a", "breaker.auto", "Auto", "Return a circuit breaker to automatic."),
    Mitigation("s", "shed.set", "Shed", "Shed a fraction of arrivals (spends availability to save latency)."),
    Mitigation("l", "queue.set_limit", "Queue", "Bound the request queue: reject early instead of buffering."),
    Mitigation("t", "timeout.set", "T/O", "Set a dependency call timeout: bounds how long a call holds a worker."),
    Mitigation("r", "retry.set", "Retry", "Change clients' retries and backoff (ships a client config)."),
    Mitigation("g", "ratelimit.set", "Rate", "Rate-limit arrivals with a token bucket (0 turns it off)."),
    Mitigation("w", "workers.scale", "Wkrs", "Scale the worker count (new workers warm up first; costs capacity)."),
    Mitigation("b", "bulkhead.set", "Bulk", "Give a class its own connection pool (a bulkhead)."),
    Mitigation("f", "fallback.set", "Fback", "Fall back when a dependency call fails: a degraded answer, not an error."),
    Mitigation("x", "worker.restart", "Rst", "Restart a worker: frees its memory, drops what it serves."),
    Mitigation("d", "deploy.rollback", "Rollbk",
               "Roll back the deploy that broke things (takes its rollout).", footer=False),
    Mitigation("e", "flag.set", "Flag",
               "Turn an expensive feature off or on (lesser answers cost score).", footer=False),
    Mitigation("k", "cache.coalesce", "Coalsc",
               "Cache request coalescing: one database fetch per missing key.", footer=False),
    Mitigation("v", "cache.serve_stale", "Stale",
               "Serve stale cache copies on a miss (stale answers cost score).", footer=False),
)
"""Every action of sim.model.spec.ACTION_NAMES, in the order the footer and help show them."""

MITIGATION_BY_ACTION = {m.action: m for m in MITIGATIONS}


class _ListedCommands(Provider):
    """A provider over a list of (title, help, callback): all of it on discovery, fuzzy search by title."""

    @abstractmethod
    def _commands(self) -> list[tuple[str, str, object]]:
        """(title, help, callback) of each command, in the order discovery lists them."""

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class MitigationCommands(_ListedCommands):
    """Command palette entries for every mitigation and the run controls of the incident screen."""

    def _commands(self) -> list[tuple[str, str, object]]:
        screen = self.screen
        # Only what can act on this drill: the tutorial has no breaker to force.
        applicable = getattr(screen, "applicable", None)
        commands: list[tuple[str, str, object]] = [
            (f"{m.label}: {m.action}", m.help, partial(screen.mitigate, m.action)) for m in MITIGATIONS
            if applicable is None or m.action in applicable
        ]
        commands += [
            ("Pause / resume", "Freeze or restart the simulation clock.", screen.action_toggle_pause),
            ("Faster", "Next simulation speed (1x, 2x, 5x, 10x, 50x).", screen.action_faster),
            ("Slower", "Previous simulation speed.", screen.action_slower),
            ("End the drill", "Stop now and see the debrief (asks first).", screen.action_end_run),
        ]
        # The mode's limits (no pause, no speed on call) hold in the palette as on the keys.
        names = {"Pause / resume": "toggle_pause", "Faster": "faster", "Slower": "slower"}
        return [c for c in commands if c[0] not in names or screen.check_action(names[c[0]], ()) is not False]


class ScreenCommands(_ListedCommands):
    """Command palette entries for the key bindings of the screen the palette was opened on."""

    def _commands(self) -> list[tuple[str, str, object]]:
        screen = self.screen
        commands: list[tuple[str, str, object]] = []
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            # The keys the screen declares (ours all carry an id): not Textual's own screen keys
            # (focus next, copy), not the focused table's cursor keys, not the app's quit keys
            # (the palette has its own Quit), and not what the screen has switched off.
            if active.node is not screen or binding.id is None or not active.enabled or not binding.description:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            commands.append((binding.description, binding.tooltip or binding.description,
                             partial(screen.run_action, binding.action)))
        return commands
