"""Small messages between the sim worker, the app and the screens."""

from __future__ import annotations

from textual.message import Message

from tui.frame import Frame


class FrameReady(Message):
    """A new frame of the live run. Only the newest matters: a pending one is replaced."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameReady)


class RunFinished(Message):
    """The live run reached the end of the drill."""
