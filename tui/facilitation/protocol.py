"""The facilitation line protocol, version 1: one JSON object per line, UTF-8, newline-terminated.

Every message carries `"v": 1` and a `"type"`. A peer's first message is `hello`;
the host answers `welcome` (or `bye` with a reason, then closes).

Peer -> host (each line at most PEER_LINE_MAX bytes):

    hello    code (the join code), role ("facilitator" | "spectator"), name (<= 40 chars)
    pause    -                      facilitator only: stop the clock for everyone
    resume   -                      facilitator only
    speed    speed (1, 2, 5, 10, 50)
    inject   kind, target, duration_s (seconds or null: until the end), params {name: number}
    cancel   fault (index into the run's fault timeline, see `facts`)
    message  text (<= 280 chars): pops up on the trainee's screen
    note     text (<= 280 chars): a note on the run's timeline, not shown to the trainee

Host -> peer (each line at most HOST_LINE_MAX bytes):

    welcome  role, drill_id, title
    facts    faults [{index, kind, target, at_s, end_s, injected, params}], par [{t_s, name, args}],
             kinds {kind: [targets]}, params {kind: [names]}, moves [{t_s, text}]   (facilitator only)
    frame    frame (the trainee's screen: `tui.frame.Frame` as `tui.facilitation.frames` encodes it)
    notice   text, level ("ok" | "warn" | "crit")
    bye      reason; the host closes the connection

Anything else (unknown type, missing or mistyped field, out-of-range value, a line
too long, not JSON, not UTF-8, another version) is a `ProtocolError`: the host drops
the message with a log line and keeps the connection; only the hello is strict.
"""

from __future__ import annotations

import json
import math

import attrs

from sim.model.facilitation import TEXT_MAX_CHARS

VERSION = 1
PEER_LINE_MAX = 8 * 1024
"""A peer's messages are small: a longer line is dropped unread."""
HOST_LINE_MAX = 1024 * 1024
"""A frame with its log and latency chart is tens of kilobytes."""
NAME_MAX_CHARS = 40
ROLES = ("facilitator", "spectator")
SPEEDS = (1, 2, 5, 10, 50)
"""The same as `tui.live.SPEEDS` (kept here so the protocol stands alone; a test checks they agree)."""
PARAM_NAMES = ("factor", "add_s", "rate", "period_s", "width_s", "retransmit_s", "hit_ratio", "mb_per_s", "count")
IDENT_MAX_CHARS = 64
"""Fault kinds and target names are short identifiers."""


class ProtocolError(ValueError):
    """A line that is not a valid message; the text says what is wrong (for the log)."""


@attrs.frozen
class Hello:
    code: str
    role: str
    name: str


@attrs.frozen
class Pause:
    pass


@attrs.frozen
class Resume:
    pass


@attrs.frozen
class Speed:
    speed: int


@attrs.frozen
class Inject:
    kind: str
    target: str
    duration_s: float | None
    params: tuple[tuple[str, float], ...]

    def action_args(self) -> dict:
        """The fault.inject action's arguments."""
        args = {"kind": self.kind, "target": self.target, **dict(self.params)}
        if self.duration_s is not None:
            args["duration_s"] = self.duration_s
        return args


@attrs.frozen
class Cancel:
    fault: int


@attrs.frozen
class Message:
    text: str


@attrs.frozen
class Note:
    text: str


PeerMessage = Hello | Pause | Resume | Speed | Inject | Cancel | Message | Note
FACILITATOR_ONLY = (Pause, Resume, Speed, Inject, Cancel, Message, Note)


def _text(obj: dict, key: str, max_chars: int, *, single_line: bool = True) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"{key}: expected text, got {type(value).__name__}")
    if not value.strip() or len(value) > max_chars:
        raise ProtocolError(f"{key}: expected 1 to {max_chars} characters, got {len(value)}")
    if single_line and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ProtocolError(f"{key}: control characters are not allowed")
    return value


def _number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"{key}: expected a finite number, got {value!r:.40}")
    return value


def _keys(obj: dict, allowed: set[str]) -> None:
    extra = set(obj) - allowed - {"v", "type"}
    if extra:
        raise ProtocolError(f"unknown field(s) {', '.join(sorted(map(str, extra)))[:80]}")


def parse_peer_line(line: bytes) -> PeerMessage:
    """One line from a peer as a message; ProtocolError when it is not a valid one."""
    if len(line) > PEER_LINE_MAX:
        raise ProtocolError(f"line of {len(line)} bytes is over the {PEER_LINE_MAX}-byte limit")
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"not a JSON line: {str(error)[:80]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("expected a JSON object")
    if obj.get("v") != VERSION or isinstance(obj.get("v"), bool):
        raise ProtocolError(f"protocol version {obj.get('v')!r:.20} (this host speaks {VERSION})")
    kind = obj.get("type")
    if kind == "hello":
        _keys(obj, {"code", "role", "name"})
        role = obj.get("role")
        if role not in ROLES:
            raise ProtocolError(f"role: expected one of {', '.join(ROLES)}")
        return Hello(code=_text(obj, "code", 64), role=role, name=_text(obj, "name", NAME_MAX_CHARS))
    if kind == "pause":
        _keys(obj, set())
        return Pause()
    if kind == "resume":
        _keys(obj, set())
        return Resume()
    if kind == "speed":
        _keys(obj, {"speed"})
        speed = obj.get("speed")
        if isinstance(speed, bool) or speed not in SPEEDS:
            raise ProtocolError(f"speed: expected one of {SPEEDS}")
        return Speed(int(speed))
    if kind == "inject":
        _keys(obj, {"kind", "target", "duration_s", "params"})
        duration = obj.get("duration_s")
        if duration is not None:
            duration = _number(duration, "duration_s")
            if duration <= 0:
                raise ProtocolError("duration_s: expected a positive number of seconds or null")
        params = obj.get("params", {})
        if not isinstance(params, dict) or len(params) > len(PARAM_NAMES):
            raise ProtocolError("params: expected an object of fault parameters")
        checked = []
        for key, value in params.items():
            if key not in PARAM_NAMES:
                raise ProtocolError(f"params: unknown parameter {key!r:.40}")
            checked.append((key, _number(value, key)))
        return Inject(kind=_text(obj, "kind", IDENT_MAX_CHARS), target=_text(obj, "target", IDENT_MAX_CHARS),
                      duration_s=duration, params=tuple(sorted(checked)))
    if kind == "cancel":
        _keys(obj, {"fault"})
        fault = obj.get("fault")
        if isinstance(fault, bool) or not isinstance(fault, int) or not 0 <= fault < 10_000:
            raise ProtocolError("fault: expected a fault index")
        return Cancel(fault)
    if kind == "message":
        _keys(obj, {"text"})
        return Message(_text(obj, "text", TEXT_MAX_CHARS))
    if kind == "note":
        _keys(obj, {"text"})
        return Note(_text(obj, "text", TEXT_MAX_CHARS))
    raise ProtocolError(f"unknown message type {kind!r:.40}")


def encode(type_: str, **fields) -> bytes:
    """One message as a line (NaN and infinity as null: the line is standard JSON)."""
    return (json.dumps({"v": VERSION, "type": type_, **_finite(fields)}, separators=(",", ":"),
                       allow_nan=False) + "\n").encode("utf-8")


def peer_line(message: PeerMessage) -> bytes:
    """A peer's message as the line it sends."""
    name = type(message).__name__.lower()
    fields = attrs.asdict(message, recurse=False)
    if isinstance(message, Inject):
        fields["params"] = dict(message.params)
    return encode(name, **fields)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def parse_host_line(line: bytes) -> dict:
    """One line from the host as a dict with a known type; ProtocolError otherwise.

    Fields are checked where they are used (a frame by `tui.facilitation.frames.decode_frame`).
    """
    if len(line) > HOST_LINE_MAX:
        raise ProtocolError(f"line of {len(line)} bytes is over the {HOST_LINE_MAX}-byte limit")
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"not a JSON line: {str(error)[:80]}") from None
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise ProtocolError("not a version-1 message")
    if obj.get("type") not in ("welcome", "facts", "frame", "notice", "bye"):
        raise ProtocolError(f"unknown message type {obj.get('type')!r:.40}")
    return obj
