"""Snapshots of the facilitator's and a spectator's screens (80x24, the minimum, and 120x40).

The peer apps are fed what a host sends (a frame of the test drill at a fixed tick, and
the host's own facts with one injected fault and a few moves), without a socket.
"""

from __future__ import annotations

import json

import pytest
from drill_factory import slow_llm_drill

from sim.model.spec import Action
from tui.facilitation import protocol as p
from tui.facilitation.frames import decode_frame, encode_frame
from tui.facilitation.host import Host, Move
from tui.facilitation.peer_app import PeerApp
from tui.live import LiveRun

SIZES = [(80, 24), (120, 40)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]
CODE = "K7QM-3XWD-9TAB-HF2R"


class _App:
    """The one thing the host reads of the trainee's app to build its facts."""

    def __init__(self, live):
        self.live = live


def host_messages():
    """A frame and the facts 20 s into the test drill, after an injected fault, as the host sends them."""
    live = LiveRun.start(slow_llm_drill())
    live.advance_ticks(100)
    live.sim.apply(Action(live.sim.t_s, "fault.inject", {"kind": "errors", "target": "db", "rate": 0.2,
                                                         "duration_s": 30.0}))
    live.advance_ticks(300)
    host = Host(_App(live), code=CODE)
    host.moves = [Move(3.0, "resumed the clock"), Move(5.0, "injected errors on db"),
                  Move(12.0, "message: The VP of sales asks for an ETA")]
    facts = json.loads(host._facts_line())
    frame = decode_frame(json.loads(p.encode("frame", frame=encode_frame(live.frame())))["frame"])
    return frame, facts


def _run_before(role: str):
    frame, facts = host_messages()

    async def feed(pilot):
        app = pilot.app
        app.handle({"v": 1, "type": "welcome", "role": role, "drill_id": "test-slow-llm",
                    "title": "Test: the LLM slows down"})
        if role == "facilitator":
            app.handle(facts)
        app.view.show_frame(frame)
        await pilot.pause()

    return feed


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("role", ["facilitator", "spectator"])
def test_peer_screen(snap_compare, role, size):
    app = PeerApp(None, CODE, role, name="snap", connect=False)
    assert snap_compare(app, terminal_size=size, run_before=_run_before(role))
