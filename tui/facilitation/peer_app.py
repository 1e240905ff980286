"""The facilitator's app (`brownout facilitate CODE`) and the spectators' (`brownout watch CODE`).

Both show frames from the host as they come; the facilitator's also sends the
controls. A lost connection is retried every RECONNECT_S with the same code and
the host sends the current state on joining, so a peer catches up at once. A
goodbye that will not change by retrying (a wrong code, the drill is over) ends
the retrying and stays on screen.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
from pathlib import Path

from textual.app import App

from tui.facilitation import protocol as p
from tui.facilitation.frames import decode_frame
from tui.facilitation.joining import Address
from tui.facilitation.peer import Connection
from tui.facilitation.screens import FacilitatorScreen, WatchScreen

log = logging.getLogger("brownout.facilitation")

RECONNECT_S = 2.0
FINAL_REASONS = ("wrong code", "a facilitator is already connected", "the drill is over", "bad hello")
"""Goodbyes that retrying will not change."""
STYLES = Path(__file__).resolve().parent.parent / "styles"


class PeerApp(App):
    """A facilitator's or spectator's view of a hosted drill.

    address: where the host listens; code: the join code; role: "facilitator" or
    "spectator"; connect: False to open without connecting (snapshot tests feed frames).
    """

    CSS_PATH = [STYLES / "app.tcss", STYLES / "incident.tcss", STYLES / "dialogs.tcss", STYLES / "facilitation.tcss"]
    TITLE = "Brownout"

    def __init__(self, address: Address | None, code: str, role: str, *, name: str | None = None,
                 connect: bool = True) -> None:
        super().__init__()
        self.address = address
        self.code = code
        self.role = role
        self.peer_name = name or _user()
        self.connect = connect
        self.connection: Connection | None = None
        self.welcome: dict | None = None
        self.final_reason: str | None = None
        self.frames_seen = 0
        self.dropped = 0
        self.connected = asyncio.Event()

    @property
    def view(self) -> WatchScreen:
        return self.screen if isinstance(self.screen, WatchScreen) else self.get_screen("view")

    def on_mount(self) -> None:
        self.install_screen(FacilitatorScreen() if self.role == "facilitator" else WatchScreen(), "view")
        self.push_screen("view")
        if self.connect:
            self.run_worker(self._keep_connected(), name="peer-connection", exit_on_error=False)

    def _status(self, text: str) -> None:
        view = self.get_screen("view")
        if view.is_mounted:
            view.set_status(text)

    async def _keep_connected(self) -> None:
        while self.final_reason is None:
            connection = Connection(self.address, self.code, self.role, self.peer_name)
            try:
                await connection.open()
            except (OSError, asyncio.TimeoutError) as error:
                self._status(f"Cannot reach the host at {self.address}: {error}. Retrying…")
                await asyncio.sleep(RECONNECT_S)
                continue
            self.connection = connection
            self._status(f"Connected to {self.address} as {self.role}; waiting for the host…")
            async for message in connection.messages():
                self.handle(message)
                if self.final_reason is not None:
                    break
            connection.close()
            self.connection = None
            self.connected.clear()
            if self.final_reason is None:
                self._status("Connection lost: rejoining with the code…")
                await asyncio.sleep(RECONNECT_S)

    def handle(self, message: dict) -> None:
        """One valid line from the host; a bad field is dropped with a log line."""
        kind = message["type"]
        try:
            if kind == "welcome":
                self.welcome = message
                self.connected.set()
                self._status(f"{self.role.capitalize()} of “{message.get('title', '')}” · code {self.code} · connected")
            elif kind == "frame":
                frame = decode_frame(message.get("frame"))
                self.frames_seen += 1
                self.view.show_frame(frame)
            elif kind == "facts" and isinstance(self.view, FacilitatorScreen):
                if not isinstance(message.get("faults"), list):
                    raise p.ProtocolError("facts without faults")
                self.view.show_facts(message)
            elif kind == "notice":
                text = str(message.get("text", ""))[:300]
                level = {"crit": "error", "warn": "warning"}.get(message.get("level"), "information")
                self.notify(text, severity=level, markup=False)
            elif kind == "bye":
                reason = str(message.get("reason", ""))[:200]
                if any(reason.startswith(final) for final in FINAL_REASONS) or "no more" in reason:
                    self.final_reason = reason
                self._status(f"The host said goodbye: {reason}")
        except p.ProtocolError as error:
            self.dropped += 1
            log.warning("dropped a %s message from the host: %s", kind, error)

    def send(self, message: p.PeerMessage) -> None:
        """Send a control to the host (facilitator); says so when not connected."""
        if self.connection is None:
            self.notify("Not connected to the host.", severity="warning")
            return
        self.run_worker(self.connection.send(message), group="send", exit_on_error=False)


def _user() -> str:
    try:
        return getpass.getuser()[:p.NAME_MAX_CHARS]
    except (KeyError, OSError):
        return "peer"
