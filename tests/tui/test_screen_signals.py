"""Issue 13's signals and texts: the dependencies panel, rows that apply, levels that hold,
hints and symptoms that are true when shown, the footer, and actions that apply to the drill."""

from __future__ import annotations

import re

import attrs
from app_driver import make_app, start_drill, step
from drill_factory import slow_llm_drill
from textual.widgets._footer import FooterKey

from sim.drill.drill import Hint
from sim.model.spec import Fault, MemorySpec
from tui.commands import MitigationCommands
from tui.dialogs.action_dialog import ActionDialog
from tui.live import LiveRun
from tui.screens.incident import IncidentScreen
from tui.widgets.clock_bar import ClockBar
from tui.widgets.dependency_row import DependencyRow
from tui.widgets.gauge import GaugeBar


def _drill(*, fault: Fault | None = None, memory: bool = True, breaker: bool = True, hints=None, **kwargs):
    drill = slow_llm_drill(**kwargs)
    model = drill.model
    if fault is not None:
        model = attrs.evolve(model, faults=(fault,))
    if not memory:
        model = attrs.evolve(model, service=attrs.evolve(model.service, memory=MemorySpec()))
    if not breaker:
        model = attrs.evolve(model, dependencies=tuple(attrs.evolve(d, breaker=None) for d in model.dependencies))
    drill = attrs.evolve(drill, model=model)
    return drill if hints is None else attrs.evolve(drill, hints=hints)


def _sample_ticks(drill, seconds: float) -> int:
    return int(round(seconds / drill.dt_s))


def test_a_healthy_service_reads_ok_at_every_sample():
    drill = _drill(fault=Fault(at_s=1000.0, target="llm", kind="slow", factor=12.0))
    run = LiveRun.start(drill)
    levels = []
    for _ in range(int(20 / 0.25)):
        run.advance_ticks(_sample_ticks(drill, 0.25))
        frame = run.frame()
        levels.append((frame.slots.level, frame.queue.level, frame.pools[0].level, frame.rates.error_level,
                       *(d.level for d in frame.dependencies)))
    assert {level for row in levels for level in row} == {"ok"}, levels


def test_pool_exhaustion_s_normal_afternoon_reads_ok():
    from sim.drill.loader import find_drill

    drill = find_drill("pool-exhaustion").load() if hasattr(find_drill("pool-exhaustion"), "load") else None
    if drill is None:
        from sim.drill.loader import load_drill
        from sim.drill.loader.finding import SHIPPED_DRILLS_DIR

        drill = load_drill(SHIPPED_DRILLS_DIR / "pool-exhaustion.toml")
    first_fault = min(f.at_s for f in drill.model.faults)
    run = LiveRun.start(drill)
    seen = set()
    while run.sim.t_s < min(first_fault, 40.0) - 1.0:
        run.advance_ticks(_sample_ticks(drill, 1.0))
        frame = run.frame()
        seen.add((frame.pools[0].level, frame.slots.level))
    assert seen == {("ok", "ok")}, seen


async def test_no_memory_row_without_a_memory_model(tmp_path):
    for memory, shown in ((False, False), (True, True)):
        app = make_app(_drill(memory=memory), tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await start_drill(pilot)
            await step(pilot, 20)
            row = app.screen.query_one("#memory", GaugeBar)
            assert row.display is shown
            assert (app.screen.frame.memory is not None) is shown


async def test_the_dependencies_panel_shows_each_dependency_s_own_numbers(tmp_path):
    drill = _drill()
    app = make_app(drill, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await step(pilot, _sample_ticks(drill, 16.0))
        frame = app.screen.frame
        rows = {r.name: r for r in frame.dependencies}
        gauges = app.live.sim.gauges()
        # A database's in-flight is its queries: the connections its pools have in use.
        assert rows["db"].in_flight == sum(p.in_use for p in gauges.pools)
        llm = rows["llm"]
        assert llm.calls_per_s > 5 and llm.p95_ms > 3 * llm.normal_p95_ms  # slowed twelvefold at 10 s
        assert llm.level != "ok" and llm.breaker is not None
        texts = [str(w.render()) for w in app.screen.query(DependencyRow)]
        assert len(texts) == 2
        llm_text = next(t for t in texts if t.startswith("llm"))
        assert "p95" in llm_text and "normal" in llm_text and "breaker" in llm_text
        assert llm_text.rstrip().endswith(("WARN", "CRIT"))


def test_a_slow_dependency_s_symptom_quotes_numbers_the_gauges_show():
    drill = _drill()
    run = LiveRun.start(drill)
    run.advance_ticks(_sample_ticks(drill, 20.0))
    symptoms = [e for e in run.log if e.kind == "SYMPTOM"]
    assert len(symptoms) == 1
    text = symptoms[0].text
    assert text.startswith("llm: calls slower than usual (p95 ") and "normally" in text, text
    assert not re.search(r"\b0 in flight|\b0% of", text), text


def test_a_failing_dependency_s_symptom_says_how_many_calls_fail():
    drill = _drill(fault=Fault(at_s=5.0, target="llm", kind="errors", rate=0.6, duration_s=10.0), breaker=False)
    run = LiveRun.start(drill)
    run.advance_ticks(_sample_ticks(drill, 12.0))
    symptoms = [e.text for e in run.log if e.kind == "SYMPTOM"]
    assert len(symptoms) == 1 and symptoms[0].startswith("llm: calls failing ("), symptoms
    share = int(re.search(r"(\d+)% of calls failing", symptoms[0]).group(1))
    assert 5 <= share <= 80  # the share over the last 5 s, as the panel shows it


def test_the_end_of_a_fault_is_announced_once_the_gauges_show_it():
    drill = _drill(fault=Fault(at_s=5.0, target="llm", kind="slow", factor=12.0, duration_s=10.0))
    run = LiveRun.start(drill)
    run.advance_ticks(_sample_ticks(drill, 30.0))
    recovered = [e for e in run.log if e.kind == "RECOVERED"]
    assert len(recovered) == 1, [(e.t_s, e.kind, e.text) for e in run.log]
    assert recovered[0].text.startswith("llm: latency back to normal (p95 ")
    assert 15.0 <= recovered[0].t_s <= 25.0 and recovered[0].level == "ok"


def test_the_hint_line_drops_a_hint_that_is_no_longer_true():
    hint = Hint(text="p95 is climbing: bound the LLM call with a timeout.", when="p95_ms > 500")
    drill = _drill(fault=Fault(at_s=5.0, target="llm", kind="slow", factor=12.0, duration_s=10.0), hints=(hint,))
    run = LiveRun.start(drill)
    run.advance_ticks(_sample_ticks(drill, 12.0))
    assert run.frame().hint == hint.text
    run.advance_ticks(_sample_ticks(drill, 25.0))
    assert run.frame().hint is None  # latency is back: the hint no longer holds
    assert [e.text for e in run.log if e.kind == "HINT"] == [hint.text]  # the log keeps it, with its time


async def test_the_footer_keeps_pause_help_palette_and_end_at_every_width(tmp_path):
    for size in ((80, 24), (120, 40), (100, 30)):
        app = make_app(_drill(), tmp_path)
        async with app.run_test(size=size) as pilot:
            await start_drill(pilot)
            await pilot.pause()
            keys = list(app.screen.query(FooterKey))
            shown = [k.description for k in keys]
            assert shown[:4] == ["Pause", "Help", "Palette", "End"], (size, shown)
            # Whole entries only: every key ends inside the screen.
            assert all(k.region.right <= size[0] for k in keys), (size, [(k.description, k.region) for k in keys])


async def test_only_actions_that_apply_to_the_drill_are_offered(tmp_path):
    app = make_app(_drill(breaker=False), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        screen = app.screen
        assert not {a for a in screen.applicable if a.startswith("breaker.")}
        titles = [title for title, _, _ in MitigationCommands(screen)._commands()]
        assert not [t for t in titles if "breaker." in t] and any("pool.resize" in t for t in titles)
        footer = [k.description for k in screen.query(FooterKey)]
        assert "Brk" not in footer and "Open" not in footer
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, IncidentScreen) and not isinstance(app.screen, ActionDialog)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)


async def test_the_clock_line_keeps_the_held_speed_apart_from_the_state(tmp_path):
    app = make_app(_drill(), tmp_path, start_paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        app.live.paused = False
        app.live.set_speed(5)
        await pilot.press("p")
        await pilot.pause()
        app.screen_stack[-2].show_frame(app.live.frame())
        await pilot.pause()
        text = str(app.screen_stack[-2].query_one(ClockBar).render())
        assert "1x  (5x once the dialog closes)  RUNNING" in text, text


def test_dialogs_say_now_in_plain_words_and_start_from_it():
    from tui.dialogs.forms import form_for

    drill = _drill()
    run = LiveRun.start(drill)
    run.advance_ticks(_sample_ticks(drill, 2.0))
    gauges = run.sim.gauges()
    model = drill.model

    queue = form_for("queue.set_limit", model, gauges)
    assert "Now: unbounded (" in queue.explanation and queue.fields[0].current == "0"
    assert queue.fields[0].range_text == "whole number 0 – 1,000,000"
    assert queue.fields[0].parse("1,000") == 1000

    pool = form_for("pool.resize", model, gauges)
    size = pool.fields[1]
    assert size.maximum == 40 and "db allows 40" in pool.explanation and "refused" in pool.explanation
    assert size.current == "10" and "Now: main 10." in pool.explanation

    timeout = form_for("timeout.set", model, gauges)
    # One latency style everywhere: milliseconds under a second, seconds from there (as the chart).
    assert "normal p99 400ms" in timeout.explanation and "000ms" not in timeout.explanation

    for action, words in (("shed.set", "Now: not shedding."), ("ratelimit.set", "Now: off."),
                          ("retry.set", "Now: ask 2 retries, backoff 200ms."),
                          ("bulkhead.set", "Now: ask shares main."),
                          ("breaker.force_open", "Now: llm CLOSED (automatic).")):
        assert words in form_for(action, model, gauges).explanation, action
    assert form_for("bulkhead.set", model, gauges).fields[2].current == "0"


def test_shipped_hints_that_say_nothing_failed_fire_only_while_nothing_fails():
    from sim.drill.loader import load_drill
    from sim.drill.loader.finding import SHIPPED_DRILLS_DIR

    claims = ("nothing has failed", "nothing is failing", "no errors")
    checked = 0
    for path in sorted(SHIPPED_DRILLS_DIR.glob("*.toml")):
        for hint in load_drill(path).hints:
            if any(claim in hint.text.lower() for claim in claims):
                checked += 1
                assert hint.when and "error_rate <" in hint.when, (path.name, hint.text, hint.when)
    assert checked >= 3


def test_the_tutorial_s_healthy_lunchtime_reads_ok_at_every_frame():
    # The sampling: the tutorial at 1x, a frame every 0.1 s, before the rush at 60 s.
    from sim.drill.loader import load_drill
    from sim.drill.loader.finding import SHIPPED_DRILLS_DIR

    drill = load_drill(SHIPPED_DRILLS_DIR / "tutorial.toml")
    run = LiveRun.start(drill, paused=False)
    words = set()
    while run.sim.t_s < 30.0:
        run.advance_wall(0.1)
        frame = run.frame()
        words.add((frame.slots.level, frame.queue.level, frame.rates.error_level))
    assert words == {("ok", "ok", "ok")}, words



async def test_help_on_the_incident_screen_lists_only_the_drill_s_mitigations(tmp_path):
    from textual.widgets import Static

    from tui.screens.help import HelpScreen

    app = make_app(_drill(breaker=False), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_drill(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body", Static)
        text = "".join(segment.text for segment in app.console.render(body.content))
        assert "pool.resize" in text and "breaker.force_open" not in text
