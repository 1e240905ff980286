"""Join codes, where a hosted drill listens, and how a peer finds it.

A code is 80 random bits (`secrets`) written as 16 Crockford base-32 characters in
groups of four, e.g. `K7QM-3XWD-9TAB-HF2R`. By default the host listens on a Unix
socket named after a hash of the code, in an owner-only folder of the user's
runtime directory, so only the same user on the same machine can even connect,
and a peer given the code finds the socket without being told a path.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import stat
import warnings
from pathlib import Path

import attrs

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base 32: no I, L, O or U to misread."""
CODE_CHARS = 16
CODE_BITS = CODE_CHARS * 5
RUNTIME_ENV = "BROWNOUT_RUNTIME_DIR"
"""Overrides the folder of host sockets (tests; a system without a runtime directory)."""
_READ_AS = {"I": "1", "L": "1", "O": "0", "U": "V"}


class JoinError(Exception):
    """A code, address or socket that cannot be used; the message is one line."""


def new_code() -> str:
    """A fresh random join code (CODE_BITS bits from the system's CSPRNG)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(text: str) -> str:
    """A typed code in its canonical form (case, dashes, spaces and look-alikes forgiven)."""
    raw = "".join(_READ_AS.get(ch, ch) for ch in text.upper() if ch not in "- ")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def code_matches(given: str, code: str) -> bool:
    """Constant-time comparison of a peer's code with the host's (hmac.compare_digest)."""
    return hmac.compare_digest(normalise_code(given).encode("utf-8"), code.encode("utf-8"))


def check_code_shape(text: str) -> str:
    """The normalised code, or JoinError when it cannot be a join code (before connecting)."""
    code = normalise_code(text)
    raw = code.replace("-", "")
    if len(raw) != CODE_CHARS or any(ch not in CODE_ALPHABET for ch in raw):
        raise JoinError(f"{text!r} is not a join code (expected {CODE_CHARS} letters and digits like K7QM-3XWD-9TAB-HF2R)")
    return code


def runtime_dir() -> Path:
    """The owner-only folder host sockets live in (created 0700 when missing)."""
    override = os.environ.get(RUNTIME_ENV)
    if override:
        base = Path(override)
    else:
        import platformdirs

        with warnings.catch_warnings():
            # Without $XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID and says so on stderr.
            warnings.simplefilter("ignore")
            base = Path(platformdirs.user_runtime_dir("brownout", appauthor=False))
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = base.lstat()
        # In a shared /tmp someone else could have made the folder first (or a link to theirs).
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise JoinError(f"{base} is not a folder of yours: remove it, or set {RUNTIME_ENV} to one that is")
        os.chmod(base, 0o700)
    except OSError as error:
        raise JoinError(f"cannot use {base} for host sockets: {error.strerror or error}") from None
    return base


def socket_path(code: str, folder: Path | None = None) -> Path:
    """Where the host of `code` listens: the name is a hash, so the folder listing shows no code."""
    digest = hashlib.sha256(b"brownout-host:" + normalise_code(code).encode("utf-8")).hexdigest()[:20]
    return (folder or runtime_dir()) / f"host-{digest}.sock"


@attrs.frozen
class Address:
    """Where a host listens or a peer connects: a Unix socket path, or a TCP host and port."""

    path: Path | None = None
    host: str | None = None
    port: int | None = None

    @property
    def is_tcp(self) -> bool:
        return self.path is None

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else f"{self.host}:{self.port}"


def parse_host_port(text: str, *, allow_zero: bool = False) -> Address:
    """`127.0.0.1:4555`, `[::1]:4555` or `localhost:4555` as an Address; JoinError otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise JoinError(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:4555")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        port = int(port_text)
    except ValueError:
        raise JoinError(f"{text!r}: the port must be a number, got {port_text!r}") from None
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise JoinError(f"{text!r}: the port must be from {0 if allow_zero else 1} to 65535")
    return Address(host=host, port=port)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
