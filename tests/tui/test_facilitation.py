"""Facilitator mode end to end: the trainee's app hosts, a facilitator and spectators join over a
real Unix socket (or TCP on port 0), all in this process with `run_test`."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from tui.app import BrownoutApp

from sim.drill.loader import load_drill
from sim.records.replay import verify_save
from sim.records.saves import load_save
from tui.dialogs.action_dialog import ActionDialog
from tui.dialogs.message_dialog import MessageDialog
from tui.facilitation import host as host_module
from tui.facilitation import peer_app
from tui.facilitation import protocol as p
from tui.facilitation.joining import RUNTIME_ENV, Address
from tui.facilitation.peer_app import PeerApp
from tui.facilitation.screens import FacilitatorScreen
from tui.screens.incident import IncidentScreen

DRILL_FILE = Path(__file__).resolve().parent.parent / "data" / "saves" / "drills" / "replay-check.toml"


@pytest.fixture(autouse=True)
def runtime_folder(tmp_path, monkeypatch):
    """Host sockets under this test's tmp_path (a short name: Unix socket paths are limited)."""
    folder = tmp_path / "r"
    monkeypatch.setenv(RUNTIME_ENV, str(folder))
    monkeypatch.setattr(peer_app, "RECONNECT_S", 0.1)
    return folder


@pytest.fixture
def drill(tmp_path):
    """The replay-check drill cut to 30 s, from a file of its own (saves need one)."""
    path = tmp_path / "short.toml"
    text = DRILL_FILE.read_text().replace('duration = "40s"', 'duration = "30s"').replace('at = "30s"', 'at = "15s"')
    path.write_text(text)
    return load_drill(path)


async def wait_for(pilots, predicate, timeout_s: float = 10.0) -> None:
    """Let every app run until `predicate()` holds."""
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        for pilot in pilots:
            await pilot.pause(0.025)
    raise AssertionError("condition not reached in time")


async def host_from_briefing(pilot, app) -> None:
    """The briefing's `h`: the drill starts hosted, paused; close the join dialog."""
    await pilot.press("h")
    await wait_for((pilot,), lambda: isinstance(app.screen, MessageDialog) and app.hosting is not None)
    assert "Join code: " + app.hosting.code in app.screen.body
    await pilot.press("enter")
    await wait_for((pilot,), lambda: isinstance(app.screen, IncidentScreen))


def hosted_app(drill, **kwargs) -> BrownoutApp:
    """The trainee's app on the drill's briefing, paused."""
    return BrownoutApp(drills=[drill], saves_dir=None, start_paused=True, drill=drill, **kwargs)


def peer(app, role: str, *, code: str | None = None, name: str = "ada") -> PeerApp:
    host = app.hosting
    return PeerApp(host.address, code or host.code, role, name=name)


async def test_a_facilitated_drill_with_spectators_over_a_unix_socket(drill):
    trainee = hosted_app(drill, tick_interval=0.05)
    async with trainee.run_test(size=(100, 30)) as tp:
        await host_from_briefing(tp, trainee)
        host = trainee.hosting
        assert trainee.live.paused, "a hosted drill waits for the facilitator"
        assert stat.S_IMODE(host.address.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(host.address.path.parent.stat().st_mode) == 0o700
        facilitator, spectator = peer(trainee, "facilitator"), peer(trainee, "spectator", name="bo")
        wrong = peer(trainee, "spectator", code="0000-0000-0000-0000", name="mallory")
        async with facilitator.run_test(size=(100, 30)) as fp, spectator.run_test() as sp, wrong.run_test() as wp:
            apps = (tp, fp, sp, wp)
            await wait_for(apps, lambda: isinstance(facilitator.screen, FacilitatorScreen) and facilitator.view.facts
                           and spectator.frames_seen and wrong.final_reason)
            # A wrong code is refused and sees nothing.
            assert wrong.final_reason == "wrong code" and wrong.frames_seen == 0 and host.failed_attempts == 1
            assert "slow on llm" in str(facilitator.view.query_one("#facts-text").render())

            # Resume and change the speed for everyone.
            await fp.press("space", "plus")
            await wait_for(apps, lambda: not trainee.live.paused and trainee.live.speed == 2)
            await fp.press("minus")
            await wait_for(apps, lambda: trainee.live.speed == 1 and trainee.live.sim.t_s >= 1.0)
            assert trainee.incident_screen().frame.rates.error_ratio < 0.05

            # Inject "down" on the database through the facilitator's form.
            await fp.press("i")
            await wait_for(apps, lambda: isinstance(facilitator.screen, ActionDialog))
            facilitator.screen.query_one("#field-kind").value = "down"
            with facilitator._context():  # several apps run here: a dialog dismisses in its own app
                facilitator.screen.submit()
            await wait_for(apps, lambda: isinstance(facilitator.screen, ActionDialog)
                           and facilitator.screen.form.title.endswith("down"))
            facilitator.screen.query_one("#field-target").value = "postgres"
            facilitator.screen.query_one("#field-duration_s").value = "0"
            with facilitator._context():
                facilitator.screen.submit()
            await wait_for(apps, lambda: any(a.name == "fault.inject" for a in trainee.live.sim.action_log))
            injected_at = next(a.t_s for a in trainee.live.sim.action_log if a.name == "fault.inject")
            # The trainee's gauges show it (every cache miss fails), as symptoms, never as the injection.
            await wait_for(apps, lambda: trainee.live.sim.t_s >= injected_at + 2.0)

            # Pause stops every clock.
            await fp.press("space")
            await wait_for(apps, lambda: trainee.live.paused and not trainee.stepping and facilitator.view.frame.paused
                           and spectator.view.frame.paused)
            trainee_frame = trainee.incident_screen().frame
            assert trainee_frame.rates.error_ratio > 0.3
            assert any(e.kind == "SYMPTOM" and "postgres" in e.text for e in trainee_frame.log)
            assert not any("inject" in e.text for e in trainee_frame.log)
            held = trainee.live.sim.tick
            await asyncio.sleep(0.3)
            await wait_for(apps, lambda: facilitator.view.frame.tick == spectator.view.frame.tick == held)
            assert trainee.live.sim.tick == held

            # A spectator's keys do nothing and its requests are refused; a second facilitator too.
            await sp.press("space", "i", "s")
            spectator.send(p.Resume())
            spectator.send(p.Inject("down", "llm", None, ()))
            second = peer(trainee, "facilitator", name="eve")
            async with second.run_test() as ep:
                await wait_for(apps + (ep,), lambda: host.dropped_lines >= 2 and second.final_reason is not None)
                assert second.final_reason == "a facilitator is already connected"
            assert trainee.live.paused and not trainee.live.sim._pending_actions

            # A message pops up on the trainee's screen and lands in the log; a note stays hidden.
            facilitator.send(p.Message("The VP of sales asks for an ETA"))
            facilitator.send(p.Note("asked for the ETA before the fix"))
            await wait_for(apps, lambda: len(host.moves) >= 5 and host.moves[-1].text.startswith("note"))
            assert any("VP of sales" in n.message for n in trainee._notifications)
            trainee.advance_sim(1)
            assert [e.kind for e in trainee.live.log if e.kind in ("MESSAGE", "NOTE")] == ["MESSAGE"]

            trainee.end_run("abandoned")
            await wait_for(apps, lambda: facilitator.final_reason == spectator.final_reason == "the drill is over")
        save = load_save(trainee.save_path)
    assert [a.name for a in save.actions] == ["fault.inject", "facilitator.message", "facilitator.note"]
    assert not host.address.path.exists(), "the socket goes with the host"
    result = verify_save(trainee.save_path)
    assert result.ok and result.kind == "exact", result.message


async def test_a_dropped_peer_rejoins_a_stalled_one_is_dropped_and_wrong_codes_close_joining(drill):
    trainee = hosted_app(drill, tick_interval=None)
    async with trainee.run_test(size=(100, 30)) as tp:
        await host_from_briefing(tp, trainee)
        host = trainee.hosting
        watcher = peer(trainee, "spectator")
        async with watcher.run_test() as wp:
            await wait_for((tp, wp), lambda: watcher.frames_seen)
            (joined,) = host.peers
            host._drop(joined, "test: the network went away")
            trainee.advance_sim(60)  # the run goes on while the peer is away
            await wait_for((tp, wp), lambda: watcher.view.frame is not None and watcher.view.frame.tick == 60)
            assert len(host.peers) == 1 and host.peers[0] is not joined

            # A peer that joins and then reads nothing: its queue fills and it is dropped; publishing never waits.
            reader, writer = await asyncio.open_unix_connection(str(host.address.path))
            writer.write(p.peer_line(p.Hello(code=host.code, role="spectator", name="stuck")))
            await writer.drain()
            await wait_for((tp, wp), lambda: any(peer.name == "stuck" for peer in host.peers))
            stuck = next(peer for peer in host.peers if peer.name == "stuck")
            frame = trainee.live.frame()
            for _ in range(stuck.queue.maxsize + 5):
                host.publish(frame)
            assert stuck.closed and stuck not in host.peers
            writer.close()

            # Five wrong codes and joining closes: the socket goes, those already in stay.
            async def guess(code: str) -> bytes:
                guess_reader, guess_writer = await asyncio.open_unix_connection(str(host.address.path))
                guess_writer.write(p.peer_line(p.Hello(code=code, role="spectator", name="guess")))
                await guess_writer.drain()
                return await guess_reader.readline()

            answers = await asyncio.gather(*(guess(f"0000-0000-0000-000{i}") for i in range(host_module.MAX_FAILED_ATTEMPTS)))
            assert all(b"wrong code" in answer for answer in answers)
            await wait_for((tp, wp), lambda: not host.address.path.exists())
            assert host.failed_attempts == host_module.MAX_FAILED_ATTEMPTS and watcher.connection is not None
            assert any("Joining closed" in n.message for n in trainee._notifications)


async def test_listen_on_tcp_port_zero(drill):
    trainee = hosted_app(drill, tick_interval=None, host=True,
                       listen=Address(host="127.0.0.1", port=0))
    async with trainee.run_test(size=(100, 30)) as tp:
        await tp.press("enter")
        await wait_for((tp,), lambda: trainee.hosting is not None and isinstance(trainee.screen, MessageDialog))
        host = trainee.hosting
        assert host.address.is_tcp and host.address.port > 0
        assert f"--connect 127.0.0.1:{host.address.port}" in host.join_lines()[1]
        watcher = PeerApp(host.address, host.code, "spectator", name="tcp")
        async with watcher.run_test() as wp:
            await wait_for((tp, wp), lambda: watcher.frames_seen)
