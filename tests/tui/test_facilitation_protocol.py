"""The facilitation protocol and the host's handling of lines, without sockets: codes, parsing,
and hypothesis-fuzzed lines that must never raise in the host (nor reach the run unvalidated)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from drill_factory import slow_llm_drill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.facilitation import FACILITATOR_ACTION_NAMES
from tui.facilitation import protocol as p
from tui.facilitation.frames import decode_frame, encode_frame
from tui.facilitation.host import Host, Peer
from tui.facilitation.joining import (
    Address,
    CODE_ALPHABET,
    CODE_BITS,
    JoinError,
    check_code_shape,
    code_matches,
    new_code,
    parse_host_port,
    socket_path,
)
from tui.live import SPEEDS, LiveRun


class FakeWriter:
    """Stands in for a peer's socket: the host only writes and closes."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class FakeApp:
    """What the host uses of the trainee's app."""

    def __init__(self, live: LiveRun) -> None:
        self.live = live
        self.notices: list[str] = []

    def set_paused(self, paused: bool) -> None:
        self.live.paused = paused

    def refresh_frame(self) -> None:
        pass

    def notify(self, message: str, **kwargs) -> None:
        self.notices.append(message)


def test_codes_are_random_80_bit_and_compared_forgivingly():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and CODE_BITS >= 64
    code = codes.pop()
    assert len(code) == 19 and all(ch in CODE_ALPHABET for ch in code.replace("-", ""))
    assert code_matches(code.lower().replace("-", " "), code)
    assert not code_matches(code[:-1] + ("0" if code[-1] != "0" else "1"), code)
    assert not code_matches("", code)
    with pytest.raises(JoinError, match="not a join code"):
        check_code_shape("1234")
    # The socket is named after a hash: listing the folder does not show the code.
    assert code not in str(socket_path(code, Path("/x"))) and socket_path(code, Path("/x")) == socket_path(code.lower(), Path("/x"))


def test_host_port_parsing():
    assert parse_host_port("127.0.0.1:4555").port == 4555
    assert parse_host_port("[::1]:80").host == "::1"
    assert parse_host_port("127.0.0.1:0", allow_zero=True).port == 0
    for bad in ("4555", "host:", "host:port", "h:70000", ":80"):
        with pytest.raises(JoinError):
            parse_host_port(bad)


def test_protocol_round_trips_and_rejects():
    assert p.SPEEDS == SPEEDS
    inject = p.Inject("slow", "llm", 30.0, (("factor", 4.0),))
    assert p.parse_peer_line(p.peer_line(inject)) == inject
    assert p.parse_peer_line(p.peer_line(p.Hello("K7QM-3XWD-9TAB-HF2R", "spectator", "bo"))).role == "spectator"
    for bad, words in (
        (b"{", "not a JSON line"),
        (b'{"v": 2, "type": "pause"}', "version"),
        (b'{"v": 1, "type": "explode"}', "unknown message type"),
        (b'{"v": 1, "type": "speed", "speed": 3}', "speed"),
        (b'{"v": 1, "type": "speed", "speed": true}', "speed"),
        (b'{"v": 1, "type": "pause", "extra": 1}', "unknown field"),
        (b'{"v": 1, "type": "message", "text": "a\\nb"}', "control"),
        (b'{"v": 1, "type": "inject", "kind": "slow", "target": "x", "params": {"factor": NaN}}', "finite"),
        (b'{"v": 1, "type": "inject", "kind": "slow", "target": "x", "params": {"evil": 1}}', "unknown parameter"),
        (b"x" * (p.PEER_LINE_MAX + 1), "limit"),
        (json.dumps({"v": 1, "type": "note", "text": "é" * 300}).encode(), "characters"),
    ):
        with pytest.raises(p.ProtocolError, match=words):
            p.parse_peer_line(bad)


def test_frames_cross_as_json_with_nan_as_null():
    live = LiveRun.start(slow_llm_drill())
    live.advance_ticks(30)
    frame = live.frame()
    line = p.encode("frame", frame=encode_frame(frame))
    assert b"NaN" not in line
    back = decode_frame(json.loads(line)["frame"])
    assert back.tick == frame.tick and back.slots == frame.slots and back.log == frame.log
    assert math.isnan(back.latency.p95_ms[0]) == math.isnan(frame.latency.p95_ms[0]) if frame.latency.p95_ms else True
    with pytest.raises(p.ProtocolError, match="frame.tick"):
        decode_frame({**json.loads(line)["frame"], "tick": "soon"})


def _host(role: str):
    live = LiveRun.start(slow_llm_drill(duration_s=20.0), paused=True)
    app = FakeApp(live)
    host = Host(app, code="K7QM-3XWD-9TAB-HF2R")
    peer = Peer(writer=FakeWriter(), role=role, name="fuzz")
    host.peers.append(peer)
    if role == "facilitator":
        host.facilitator = peer
    return host, live, peer


_WORDS = st.sampled_from(["hello", "pause", "resume", "speed", "inject", "cancel", "message", "note", "bye", "frame"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.dictionaries(
    st.sampled_from(["code", "role", "name", "speed", "kind", "target", "duration_s", "params", "fault", "text", "x"]),
    _JSON | st.sampled_from(["slow", "down", "llm", "db", "service", "facilitator", 5, 0.5, -1, 1e308]),
    max_size=6,
)
_MESSAGES = st.builds(lambda v, t, f: json.dumps({"v": v, "type": t, **f}).encode(),
                      st.sampled_from([1, 1, 1, 2, "1", None]), _WORDS, _FIELDS)
_LINES = _MESSAGES | st.binary(max_size=200) | st.builds(
    lambda kind, target, params: p.peer_line(p.Inject(kind, target, None, tuple(sorted(params.items())))),
    st.sampled_from(["slow", "errors", "down", "lose_workers", "memory_leak", "traffic", "cache_flush", "nope"]),
    st.sampled_from(["llm", "db", "ask", "service", "main", "x"]),
    st.dictionaries(st.sampled_from(p.PARAM_NAMES), st.floats(-10, 2000, allow_nan=False), max_size=3))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINES, min_size=1, max_size=5))
def test_fuzzed_lines_never_raise_in_the_host_and_never_reach_the_run_invalid(lines):
    host, live, peer = _host("facilitator")
    for line in lines:
        host.handle_line(peer, line)
        live.advance_ticks(1)
    refused = [e for e in live.sim.events if e.kind == "action_refused"]
    assert not refused, "the host validates before the engine sees a facilitator's action"
    assert all(a.name in FACILITATOR_ACTION_NAMES for a in live.sim.action_log)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINES, min_size=1, max_size=4))
def test_a_spectator_never_changes_the_run(lines):
    host, live, peer = _host("spectator")
    for line in lines:
        host.handle_line(peer, line)
    assert live.paused and live.speed == 1 and not live.sim._pending_actions


def test_the_trainee_sees_messages_and_symptoms_a_replay_also_the_facilitators_moves():
    for replaying in (False, True):
        live = LiveRun.start(slow_llm_drill())
        live.shows_facilitator_moves = replaying
        live.submit("fault.inject", {"kind": "errors", "target": "db", "rate": 0.5})
        live.submit("facilitator.message", {"text": "ETA?"})
        live.submit("facilitator.note", {"text": "slow to look at the database"})
        live.advance_ticks(120)
        kinds = [e.kind for e in live.log]
        assert "MESSAGE" in kinds and any(e.kind == "SYMPTOM" and "db" in e.text for e in live.log)
        assert ("FACILITATOR" in kinds) is replaying
        assert kinds.count("FACILITATOR") == (2 if replaying else 0)
        assert live.frame().latency.markers_s == (), "the trainee's chart marks only the trainee's actions"


def test_the_debrief_marks_injected_faults():
    from sim.model.spec import Action
    from tui.screens.debrief import timeline_text

    class Verdict:
        first_page_s, acted_at_s, par_acted_at_s = 12.0, 20.0, 14.0

    actions = (Action(5.0, "fault.inject", {"kind": "down", "target": "db"}),
               Action(9.0, "facilitator.message", {"text": "ETA?"}),
               Action(20.0, "pool.resize", {"pool": "main", "size": 20}),
               Action(30.0, "fault.cancel", {"fault": 0}))
    text = timeline_text(Verdict(), actions, ())
    assert "You: 00:20 pool.resize" in text
    assert "Injected by the facilitator (also in do nothing and par): 00:05 down on db, 00:30 cancelled fault 0" in text


def test_cli_refuses_bad_codes_hosts_and_addresses_in_one_line(capsys, tmp_path, monkeypatch):
    from tui.cli import run_cli
    from tui.facilitation.cli import listen_warning

    monkeypatch.setenv("BROWNOUT_RUNTIME_DIR", str(tmp_path / "r"))
    monkeypatch.delenv("BROWNOUT_JOIN_CODE", raising=False)
    for argv, words in ((["facilitate", "1234"], "not a join code"),
                        (["watch", "K7QM-3XWD-9TAB-HF2R"], "no drill is hosted with code K7QM-3XWD-9TAB-HF2R"),
                        (["watch"], "give the join code"),
                        (["watch", "K7QM-3XWD-9TAB-HF2R", "--connect", "nowhere"], "expected HOST:PORT"),
                        (["play", "tutorial", "--listen", "4555"], "--listen")):
        assert run_cli(argv) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert listen_warning(Address(host="0.0.0.0", port=4555)).startswith("warning:")
    assert "SSH port forwarding" in listen_warning(Address(host="127.0.0.1", port=4555))


def test_serve_watch_runs_brownout_watch_per_browser_without_the_code_on_its_command_line(monkeypatch, capsys):
    import sys
    import types

    from tui.cli import run_cli

    served = {}

    class FakeServer:
        def __init__(self, command, host="localhost", port=8000, title=None):
            served.update(command=command, host=host, port=port)

        def serve(self):
            served["served"] = True

    monkeypatch.delenv("BROWNOUT_JOIN_CODE", raising=False)
    monkeypatch.setitem(sys.modules, "textual_serve", types.ModuleType("textual_serve"))
    monkeypatch.setitem(sys.modules, "textual_serve.server", types.SimpleNamespace(Server=FakeServer))
    code = "K7QM-3XWD-9TAB-HF2R"
    assert run_cli(["serve", "watch", code, "--connect", "127.0.0.1:4555", "--port", "8123"]) == 0
    assert served["served"] and served["port"] == 8123 and served["host"] == "localhost"
    assert served["command"].endswith("-m tui.cli watch --connect 127.0.0.1:4555") and code not in served["command"]
    import os

    assert os.environ.pop("BROWNOUT_JOIN_CODE") == code

    # Without the optional extra: one line saying how to get it.
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert run_cli(["serve", "watch", code, "--connect", "127.0.0.1:4555"]) == 2
    assert "pip install 'brownout[serve]'" in capsys.readouterr().err
