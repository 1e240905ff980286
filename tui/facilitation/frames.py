"""`tui.frame.Frame` to and from plain JSON values, checked field by field on the way in.

The decoder walks the attrs classes' annotations (str, int, float, bool, X | None,
tuple[X, ...], nested frozen classes), so a frame grows a field in one place only.
A float sent as null (the protocol writes NaN as null) comes back as NaN.
"""

from __future__ import annotations

import functools
import math
import types
import typing

import attrs

from tui.facilitation.protocol import ProtocolError
from tui.frame import Frame

MAX_ITEMS = 2000
"""No tuple in a frame is longer (the log keeps 200 entries, the chart 300 points)."""
MAX_TEXT = 2000


def encode_frame(frame: Frame) -> dict:
    """The frame as JSON-ready values."""
    return attrs.asdict(frame)


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _decode(tp, value, path: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _decode(inner, value, path)
    if origin is tuple:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise ProtocolError(f"{path}: expected a list")
        (inner, _ellipsis) = typing.get_args(tp)
        return tuple(_decode(inner, item, f"{path}[{i}]") for i, item in enumerate(value))
    if attrs.has(tp):
        return decode_object(tp, value, path)
    if tp is float:
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"{path}: expected a number")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(f"{path}: expected a whole number")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ProtocolError(f"{path}: expected true or false")
        return value
    if tp is str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ProtocolError(f"{path}: expected text")
        return value
    raise ProtocolError(f"{path}: cannot decode {tp!r}")


def decode_object(cls, value, path: str = "frame"):
    """An attrs value of `cls` from its JSON form; ProtocolError naming the first bad field."""
    if not isinstance(value, dict):
        raise ProtocolError(f"{path}: expected an object")
    hints = _hints(cls)
    fields = {}
    for field in attrs.fields(cls):
        if field.name not in value:
            if field.default is attrs.NOTHING:
                raise ProtocolError(f"{path}.{field.name}: missing")
            continue
        fields[field.name] = _decode(hints[field.name], value[field.name], f"{path}.{field.name}")
    try:
        return cls(**fields)
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"{path}: {error}") from None


def decode_frame(value) -> Frame:
    """A Frame from a `frame` message's field."""
    return decode_object(Frame, value)
