"""The trainee's side of a hosted drill: a server inside the app's asyncio event loop.

The app stays in charge of its run: the host only reads frames it is handed
(`publish`) and turns a facilitator's validated requests into the app's own
controls and into actions on the live run (recorded in the save like any action).
Nothing a peer sends can block or crash the app: lines are size-limited and
validated, each peer has a bounded send queue and a writer task of its own, and a
peer whose queue fills or whose socket stalls is dropped. A peer that drops can
join again with the code and gets the current state at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
from pathlib import Path
from typing import Protocol

import attrs

from sim.engine.injection import check_injection
from sim.model.facilitation import FAULT_ARGS, FAULT_CANCEL, FAULT_INJECT, MESSAGE, NOTE, fault_targets
from tui.facilitation import protocol as p
from tui.facilitation.frames import encode_frame
from tui.facilitation.joining import Address, JoinError, code_matches, new_code, runtime_dir, socket_path
from tui.frame import Frame

log = logging.getLogger("brownout.facilitation")

SEND_QUEUE_MAX = 32
"""Lines waiting for one peer; a peer this far behind is dropped (ten frames a second: ~3 s)."""
SEND_TIMEOUT_S = 5.0
"""A peer whose socket accepts nothing for this long is dropped."""
HELLO_TIMEOUT_S = 5.0
MAX_FAILED_ATTEMPTS = 5
"""Wrong codes before the host stops accepting anyone: guessing needs ~2**79 tries, so a handful
of failures means a typo repeated or someone guessing, and joining closes."""
FAILED_DELAY_S = 0.5
MAX_PEERS = 32
MAX_BAD_LINES = 100
"""Invalid or refused messages one peer may send before it is dropped (a broken or hostile client)."""


class HostedApp(Protocol):
    """What the host needs of the trainee's app (tui.app.BrownoutApp)."""

    live: object

    def set_paused(self, paused: bool) -> None: ...
    def refresh_frame(self) -> None: ...
    def notify(self, message: str, **kwargs) -> None: ...


@attrs.define(eq=False)
class Peer:
    """One connection: its role once it said hello, its send queue and writer task."""

    writer: asyncio.StreamWriter
    role: str | None = None
    name: str = ""
    queue: asyncio.Queue = attrs.Factory(lambda: asyncio.Queue(maxsize=SEND_QUEUE_MAX))
    sender: asyncio.Task | None = None
    closed: bool = False
    bad_lines: int = 0


@attrs.frozen
class Move:
    """One facilitator move, for the facilitator's own list."""

    t_s: float
    text: str


class Host:
    """Listens for a facilitator and spectators of the app's live run."""

    def __init__(self, app: HostedApp, *, code: str | None = None, listen: Address | None = None,
                 folder: Path | None = None) -> None:
        self.app = app
        self.code = code or new_code()
        self.listen = listen
        self.folder = folder
        self.address: Address | None = None
        self.peers: list[Peer] = []
        self.facilitator: Peer | None = None
        self.failed_attempts = 0
        self.dropped_lines = 0
        self.moves: list[Move] = []
        self.cancelled: set[int] = set()
        self.last_frame: Frame | None = None
        self._sock: socket.socket | None = None
        self._server: asyncio.AbstractServer | None = None
        self._facts_key: object = None
        self._closing = False

    # ------------------------------------------------------------------ listening

    def bind(self) -> Address:
        """Create the listening socket now (so a bad address is reported before the drill starts)."""
        try:
            if self.listen is not None:
                infos = socket.getaddrinfo(self.listen.host, self.listen.port, type=socket.SOCK_STREAM)
                family, kind, proto, _, sockaddr = infos[0]
                sock = socket.socket(family, kind, proto)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(sockaddr)
                host, port = sock.getsockname()[:2]
                self.address = Address(host=host, port=port)
            else:
                path = socket_path(self.code, self.folder or runtime_dir())
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISSOCK(path.lstat().st_mode):
                        path.unlink()  # a host that died left it: the code is new, so it is not in use
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                # Owner-only from the first instant: the umask covers the gap before chmod.
                old_umask = os.umask(0o177)
                try:
                    sock.bind(str(path))
                finally:
                    os.umask(old_umask)
                os.chmod(path, 0o600)
                self.address = Address(path=path)
            sock.listen(16)
            sock.setblocking(False)
        except (OSError, socket.gaierror) as error:
            raise JoinError(f"cannot listen on {self.listen or 'a Unix socket'}: {error.strerror or error}") from None
        self._sock = sock
        return self.address

    async def serve(self) -> None:
        """Accept connections until `close` (run as a task in the app's loop)."""
        if self._sock is None:
            self.bind()
        if self.address.is_tcp:
            self._server = await asyncio.start_server(self._connected, sock=self._sock, limit=p.PEER_LINE_MAX)
        else:
            self._server = await asyncio.start_unix_server(self._connected, sock=self._sock, limit=p.PEER_LINE_MAX)

    def join_lines(self) -> list[str]:
        """What the trainee reads out to the team: the code and the commands to join."""
        where = ""
        if self.address is not None and self.address.is_tcp:
            where = f" --connect {self._connect_host()}:{self.address.port}"
        return [
            f"Join code: {self.code}",
            f"Facilitator:  brownout facilitate {self.code}{where}",
            f"Spectators:   brownout watch {self.code}{where}",
            f"Projector:    brownout serve watch {self.code}{where}",
        ]

    def _connect_host(self) -> str:
        host = self.address.host
        if host in ("0.0.0.0", "::"):
            return "THIS-MACHINE"
        return f"[{host}]" if ":" in host else host

    async def close(self, reason: str = "the host closed the drill") -> None:
        """Say goodbye to every peer and stop listening (the socket file goes too)."""
        self._closing = True
        self._stop_listening()
        bye = p.encode("bye", reason=reason)
        for peer in list(self.peers):
            # What is queued, then the goodbye, straight to the socket: the writer task stops here.
            if peer.sender is not None:
                peer.sender.cancel()
            with contextlib.suppress(Exception):
                while not peer.queue.empty():
                    peer.writer.write(peer.queue.get_nowait())
                peer.writer.write(bye)
                await asyncio.wait_for(peer.writer.drain(), 1.0)
            self._drop(peer, None)

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        elif self._sock is not None:
            self._sock.close()
        self._sock = None
        if self.address is not None and self.address.path is not None:
            with contextlib.suppress(OSError):
                self.address.path.unlink()

    # ------------------------------------------------------------------ publishing

    def publish(self, frame: Frame) -> None:
        """Send a frame to every peer that joined (encoded once); never blocks."""
        self.last_frame = frame
        joined = [peer for peer in self.peers if peer.role is not None]
        if not joined:
            return
        line = p.encode("frame", frame=encode_frame(frame))
        for peer in joined:
            self._enqueue(peer, line)
        if self.facilitator is not None and self._facts_changed():
            self._enqueue(self.facilitator, self._facts_line())

    def _enqueue(self, peer: Peer, line: bytes) -> None:
        if peer.closed:
            return
        try:
            peer.queue.put_nowait(line)
        except asyncio.QueueFull:
            self._drop(peer, "too slow: its send queue is full")

    async def _send_loop(self, peer: Peer) -> None:
        try:
            while True:
                line = await peer.queue.get()
                peer.writer.write(line)
                await asyncio.wait_for(peer.writer.drain(), SEND_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except (asyncio.TimeoutError, ConnectionError, OSError, RuntimeError):
            self._drop(peer, "stalled or gone")

    def _drop(self, peer: Peer, why: str | None) -> None:
        if peer.closed:
            return
        peer.closed = True
        if why is not None:
            log.info("dropping %s peer %r: %s", peer.role or "unjoined", peer.name, why)
        if peer in self.peers:
            self.peers.remove(peer)
        if self.facilitator is peer:
            self.facilitator = None
            if not self._closing:
                self._tell_trainee("The facilitator left (they can rejoin with the code).")
        if peer.sender is not None and peer.sender is not asyncio.current_task():
            peer.sender.cancel()
        with contextlib.suppress(Exception):
            peer.writer.close()

    # ------------------------------------------------------------------ a connection

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(writer=writer)
        if len(self.peers) >= MAX_PEERS or self._closing:
            writer.write(p.encode("bye", reason="the host takes no more peers"))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), 1.0)
            writer.close()
            return
        self.peers.append(peer)
        peer.sender = asyncio.create_task(self._send_loop(peer))
        try:
            if await self._hello(peer, reader):
                while not peer.closed:
                    try:
                        line = await reader.readline()
                    except ValueError:
                        self._dropped(peer, f"line over {p.PEER_LINE_MAX} bytes")
                        continue
                    if not line:
                        break
                    self.handle_line(peer, line)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._drop(peer, None)

    async def _hello(self, peer: Peer, reader: asyncio.StreamReader) -> bool:
        try:
            line = await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT_S)
            hello = p.parse_peer_line(line)
        except asyncio.TimeoutError:
            return await self._refuse(peer, "no hello in time")
        except (ValueError, p.ProtocolError) as error:
            return await self._refuse(peer, f"bad hello: {error}")
        if not isinstance(hello, p.Hello):
            return await self._refuse(peer, "the first message must be hello")
        if not code_matches(hello.code, self.code):
            self.failed_attempts += 1
            log.warning("wrong join code from %r (%d of %d)", hello.name, self.failed_attempts, MAX_FAILED_ATTEMPTS)
            await asyncio.sleep(FAILED_DELAY_S)
            if self.failed_attempts >= MAX_FAILED_ATTEMPTS:
                self._stop_listening()
                self._tell_trainee(f"Joining closed after {MAX_FAILED_ATTEMPTS} wrong codes.", "error")
            return await self._refuse(peer, "wrong code")
        if hello.role == "facilitator" and self.facilitator is not None:
            return await self._refuse(peer, "a facilitator is already connected")
        peer.role, peer.name = hello.role, hello.name
        if hello.role == "facilitator":
            self.facilitator = peer
        live = self.app.live
        drill = getattr(live, "drill", None)
        self._enqueue(peer, p.encode("welcome", role=peer.role, drill_id=getattr(drill, "id", ""),
                                     title=getattr(drill, "title", "")))
        if peer.role == "facilitator":
            self._enqueue(peer, self._facts_line())
        frame = self._current_frame()
        if frame is not None:
            self._enqueue(peer, p.encode("frame", frame=encode_frame(frame)))
        self._tell_trainee(f"{peer.name} joined as {peer.role}.")
        return True

    async def _refuse(self, peer: Peer, reason: str) -> bool:
        log.info("refused a peer: %s", reason)
        if peer.sender is not None:
            peer.sender.cancel()
        with contextlib.suppress(Exception):
            peer.writer.write(p.encode("bye", reason=reason))
            await asyncio.wait_for(peer.writer.drain(), 1.0)
        return False

    def _current_frame(self) -> Frame | None:
        live = self.app.live
        if live is not None:
            return live.frame()
        return self.last_frame

    def _dropped(self, peer: Peer, why: str) -> None:
        self.dropped_lines += 1
        peer.bad_lines += 1
        log.warning("dropped a message from %s %r: %s", peer.role, peer.name, why)
        if peer.bad_lines > MAX_BAD_LINES:
            self._drop(peer, f"over {MAX_BAD_LINES} invalid or refused messages")

    # ------------------------------------------------------------------ requests

    def handle_line(self, peer: Peer, line: bytes) -> None:
        """One line from a joined peer: validate, check the role, act. Never raises."""
        try:
            message = p.parse_peer_line(line)
        except p.ProtocolError as error:
            self._dropped(peer, str(error))
            return
        try:
            self._handle(peer, message)
        except Exception as error:  # noqa: BLE001 - a peer must never take the trainee's app down
            log.exception("request from %r failed", peer.name)
            self._dropped(peer, f"failed: {error}")

    def _handle(self, peer: Peer, message: p.PeerMessage) -> None:
        if isinstance(message, p.Hello):
            self._dropped(peer, "hello after joining")
            return
        if peer is not self.facilitator:
            self._dropped(peer, "spectators cannot act")
            self._enqueue(peer, p.encode("notice", text="Spectators cannot act.", level="warn"))
            return
        live = self.app.live
        if live is None or live.finished:
            self._enqueue(peer, p.encode("notice", text="The drill is over.", level="warn"))
            return
        if isinstance(message, (p.Pause, p.Resume)):
            self.app.set_paused(isinstance(message, p.Pause))
            word = "paused" if isinstance(message, p.Pause) else "resumed"
            self._tell_trainee(f"The facilitator {word} the clock.")
            self._move(live, f"{word} the clock")
        elif isinstance(message, p.Speed):
            live.set_speed(message.speed)
            self.app.refresh_frame()
            self._move(live, f"speed {message.speed}x")
        elif isinstance(message, p.Inject):
            self._act(peer, live, FAULT_INJECT, message.action_args(),
                      f"injected {message.kind} on {message.target}")
        elif isinstance(message, p.Cancel):
            if message.fault in self.cancelled:
                # Queued already: a second cancel would reach the engine as a refused action.
                self._enqueue(peer, p.encode("notice", text=f"Fault {message.fault} is already cancelled.", level="warn"))
            elif self._act(peer, live, FAULT_CANCEL, {"fault": message.fault}, f"cancelled fault {message.fault}"):
                self.cancelled.add(message.fault)
        elif isinstance(message, p.Message):
            if self._act(peer, live, MESSAGE, {"text": message.text}, f"message: {message.text}"):
                self.app.notify(message.text, title="Message from the facilitator", severity="warning",
                                timeout=12, markup=False)
        elif isinstance(message, p.Note):
            self._act(peer, live, NOTE, {"text": message.text}, f"note: {message.text}")
        self.publish(live.frame())

    def _act(self, peer: Peer, live, name: str, args: dict, text: str) -> bool:
        with live.lock:
            why = check_injection(live.drill.model, live.sim.faults.timeline, name, args, live.sim.t_s)
            if why is not None:
                self._enqueue(peer, p.encode("notice", text=f"Refused: {why}", level="crit"))
                return False
            live.submit(name, args)
        self._move(live, text)
        return True

    def _move(self, live, text: str) -> None:
        self.moves.append(Move(live.sim.t_s, text))
        self._facts_key = None  # the facilitator's list changed

    def _tell_trainee(self, text: str, severity: str = "information") -> None:
        with contextlib.suppress(Exception):
            self.app.notify(text, title="Hosted drill", severity=severity, timeout=5, markup=False)

    # ------------------------------------------------------------------ facts

    def _facts_changed(self) -> bool:
        live = self.app.live
        if live is None:
            return False
        key = (len(self.moves), tuple((f.at_s, f.end_s) for f in live.sim.faults.timeline))
        if key == self._facts_key:
            return False
        self._facts_key = key
        return True

    def _facts_line(self) -> bytes:
        live = self.app.live
        if live is None:
            return p.encode("facts", faults=[], par=[], kinds={}, params={}, moves=[])
        scripted = len(live.drill.model.faults)
        faults = []
        for index, fault in enumerate(live.sim.faults.timeline):
            params = {key: getattr(fault, key) for key in FAULT_ARGS[fault.kind]}
            faults.append({"index": index, "kind": fault.kind, "target": fault.target, "at_s": fault.at_s,
                           "end_s": fault.end_s, "injected": index >= scripted, "params": params})
        par = [{"t_s": a.t_s, "name": a.name, "args": {k: v for k, v in a.args}} for a in live.drill.par]
        kinds = {kind: list(fault_targets(live.drill.model, kind)) for kind in FAULT_ARGS}
        return p.encode("facts", faults=faults, par=par, kinds={k: v for k, v in kinds.items() if v},
                        params={k: list(v) for k, v in FAULT_ARGS.items()},
                        moves=[{"t_s": m.t_s, "text": m.text} for m in self.moves])

    def close_now(self) -> None:
        """Drop every peer and stop listening, without waiting (the app is going away)."""
        self._closing = True
        for peer in list(self.peers):
            with contextlib.suppress(Exception):
                peer.writer.write(p.encode("bye", reason="the host quit"))
            self._drop(peer, None)
        self._stop_listening()
