"""The facilitator's and the spectators' end of a connection to a hosted drill."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from tui.facilitation import protocol as p
from tui.facilitation.joining import Address, JoinError, socket_path

log = logging.getLogger("brownout.facilitation")

CONNECT_TIMEOUT_S = 5.0


def address_for(code: str, connect: Address | None = None, folder: Path | None = None) -> Address:
    """Where to reach the host of `code`: `connect` if given, else its Unix socket on this machine."""
    if connect is not None:
        return connect
    path = socket_path(code, folder)
    if not path.exists():
        raise JoinError(f"no drill is hosted with code {code} on this machine for this user "
                        f"(is the host running? for another machine use --connect HOST:PORT)")
    return Address(path=path)


class Connection:
    """One connection: hello on open, then host messages in and peer messages out."""

    def __init__(self, address: Address, code: str, role: str, name: str) -> None:
        self.address = address
        self.hello = p.Hello(code=code, role=role, name=name)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.dropped_lines = 0

    async def open(self) -> None:
        """Connect and say hello; OSError / TimeoutError when the host cannot be reached."""
        if self.address.is_tcp:
            opening = asyncio.open_connection(self.address.host, self.address.port, limit=p.HOST_LINE_MAX)
        else:
            opening = asyncio.open_unix_connection(str(self.address.path), limit=p.HOST_LINE_MAX)
        self.reader, self.writer = await asyncio.wait_for(opening, CONNECT_TIMEOUT_S)
        await self.send(self.hello)

    async def send(self, message: p.PeerMessage) -> bool:
        """Send one message; False when the connection is gone."""
        if self.writer is None or self.writer.is_closing():
            return False
        try:
            self.writer.write(p.peer_line(message))
            await asyncio.wait_for(self.writer.drain(), CONNECT_TIMEOUT_S)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            return False
        return True

    async def messages(self):
        """The host's messages until it closes; invalid lines are dropped with a log line."""
        while self.reader is not None:
            try:
                line = await self.reader.readline()
            except ValueError:
                self.dropped_lines += 1
                log.warning("dropped a line from the host: over %d bytes", p.HOST_LINE_MAX)
                continue
            except (ConnectionError, OSError):
                return
            if not line:
                return
            try:
                yield p.parse_host_line(line)
            except p.ProtocolError as error:
                self.dropped_lines += 1
                log.warning("dropped a line from the host: %s", error)

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        self.reader = None
