"""The app's pure parts: dialog fields, symptoms, frames, chart and text helpers."""

from __future__ import annotations

import math

import attrs
import pytest
from drill_factory import slow_llm_drill

from sim.scoring.alerts import ALERT_WARMUP_S
from tui.dialogs.forms import FieldError, FormField, NotApplicable, action_args, form_for
from tui.frame import LatencySeries
from tui.live import LiveRun
from tui.screens.briefing import reflow
from tui.widgets.rates import rate_text
from tui.widgets.latency_chart import chart_scale_ms, plot_rows


def test_form_field_parse_names_field_and_range():
    field = FormField("size", "Size", "int", "10", minimum=1, maximum=40)
    assert field.parse(" 12 ") == 12
    with pytest.raises(FieldError, match=r"Size: expected a whole number 1 – 40, got '1.5'"):
        field.parse("1.5")
    with pytest.raises(FieldError, match="Size: 41 is outside"):
        field.parse("41")
    choice = FormField("mode", "Mode", "choice", "random", choices=("random", "priority"))
    with pytest.raises(FieldError, match="choose one of random, priority"):
        choice.parse("lifo")


def test_forms_start_from_current_values_and_convert_zero():
    drill = slow_llm_drill()
    run = LiveRun.start(drill)
    gauges = run.sim.gauges()
    pool_form = form_for("pool.resize", drill.model, gauges)
    assert [f.current for f in pool_form.fields] == ["main", "10"]
    queue_form = form_for("queue.set_limit", drill.model, gauges)
    assert action_args(queue_form, queue_form.parse({"limit": "0"})) == {"limit": None}
    timeout_form = form_for("timeout.set", drill.model, gauges)
    # Called dependencies first, then the databases behind the pools (queries can be timed too);
    # the explanation gives each one's timeout now and its usual p99 (lognormal p99 400 ms and 20 ms).
    assert timeout_form.fields[0].choices == ("llm", "db")
    assert "Now: llm none (normal p99 400ms); db none (normal p99 20ms)." in timeout_form.explanation
    assert action_args(timeout_form, timeout_form.parse({"dependency": "llm", "timeout_s": "0"}))["timeout_s"] is None
    breaker_form = form_for("breaker.force_open", drill.model, gauges)
    assert not breaker_form.needs_input and breaker_form.defaults() == {"dependency": "llm"}


def test_breaker_actions_not_applicable_without_breakers():
    import attrs

    drill = slow_llm_drill()
    model = attrs.evolve(drill.model, dependencies=tuple(attrs.evolve(d, breaker=None) for d in drill.model.dependencies))
    run = LiveRun.start(attrs.evolve(drill, model=model))
    with pytest.raises(NotApplicable, match="no circuit breakers"):
        form_for("breaker.force_open", model, run.sim.gauges())


def test_fault_is_logged_as_a_symptom_once_visible_not_at_its_start():
    drill = slow_llm_drill()  # the LLM slows 12x at t=10 s
    run = LiveRun.start(drill)
    run.advance_ticks(int(10.05 / drill.dt_s))
    assert not [e for e in run.log if e.kind == "SYMPTOM"]
    run.advance_ticks(int(5 / drill.dt_s))
    symptoms = [e for e in run.log if e.kind == "SYMPTOM"]
    assert len(symptoms) == 1
    assert symptoms[0].t_s > 10.0 and "llm" in symptoms[0].text and "slow" in symptoms[0].text
    assert "fault" not in symptoms[0].text


def test_frame_values_follow_the_engine():
    drill = slow_llm_drill()
    run = LiveRun.start(drill)
    run.advance_ticks(300)
    frame = run.frame()
    gauges = run.sim.gauges()
    assert (frame.tick, frame.t_s) == (300, gauges.t_s)
    assert frame.slots.value == gauges.busy_slots and frame.slots.limit == gauges.total_slots
    assert frame.queue.value_text.endswith("/∞")
    assert frame.pools[0].label == "main" and frame.pools[0].limit == 10
    assert frame.breakers[0].dependency == "llm"
    # One latency sample per simulated second, the newest equal to the engine's rolling p95.
    assert len(frame.latency.p95_ms) == 15
    assert frame.latency.p95_ms[-1] == pytest.approx(gauges.p95_ms, nan_ok=True)
    assert frame.latency.threshold_ms == 500.0
    assert [s.name for s in frame.slos] == ["availability", "latency"]


def test_no_slo_alerts_during_warmup():
    drill = slow_llm_drill()
    run = LiveRun.start(drill)
    run.advance_ticks(int((ALERT_WARMUP_S - 0.5) / drill.dt_s))
    assert not [e for e in run.log if e.kind == "ALERT"]


def test_hints_fire_at_their_time_and_condition():
    drill = slow_llm_drill()
    run = LiveRun.start(drill)
    run.advance_ticks(int(4.9 / drill.dt_s))
    assert run.hints_fired == {}
    run.advance_ticks(int(0.5 / drill.dt_s))
    assert list(run.hints_fired) == [0]
    run.advance_ticks(int(15 / drill.dt_s))
    assert list(run.hints_fired) == [0, 1]
    assert run.frame().hint == drill.hints[1].text


def test_plot_rows_draws_threshold_and_newest_sample_at_the_right():
    series = LatencySeries(step_s=1.0, t_end_s=3.0, p50_ms=(10.0, 10.0, math.nan), p95_ms=(20.0, 400.0, math.nan),
                           p99_ms=(30.0, 450.0, math.nan), threshold_ms=100.0)
    rows = plot_rows(series, width=5, height=6)
    assert any(all(glyph == "╌" for glyph, _ in row[:2]) for row in rows)
    column = [rows[r][3] for r in range(6)]  # the second sample sits two from the right
    assert ("●", "crit") in column
    assert all(rows[r][4][0] in (" ", "╌") for r in range(6))  # NaN: nothing drawn


def test_the_chart_scale_fits_the_samples_drawn_not_a_spike_scrolled_off():
    # A 5.6 s spike long past, then recovery at 100-400 ms against a 500 ms SLO: with the
    # spike off the chart, the axis must let 100 ms and 400 ms sit on different rows.
    spike, calm = [5600.0] * 10, [100.0, 400.0] * 10
    series = LatencySeries(step_s=1.0, t_end_s=30.0, p50_ms=tuple([50.0] * 30), p95_ms=tuple(spike + calm),
                           p99_ms=tuple(spike + calm), threshold_ms=500.0)
    assert chart_scale_ms(series) > 5600.0  # the whole window
    assert chart_scale_ms(series, 20) == 750.0  # the 20 drawn: room for the SLO line
    rows = plot_rows(series, width=20, height=10)
    row_of = {glyph_row: [c for c, (glyph, _) in enumerate(row) if glyph == "●"] for glyph_row, row in enumerate(rows)}
    low, high = [r for r, cols in row_of.items() if 0 in cols], [r for r, cols in row_of.items() if 1 in cols]
    assert low and high and high[0] < low[0]  # 400 ms drawn above 100 ms


def test_reflow_joins_wrapped_lines_and_keeps_paragraphs_and_items():
    text = "You run the\nsearch API.\n\n- one\n- two\nSecond para"
    assert reflow(text) == "You run the search API.\n\n- one\n- two Second para"


def test_saves_list_grades_finished_runs_only():
    from pathlib import Path

    from sim.records.saves import SaveSummary
    from tui.screens.saves import summary_row

    finished = SaveSummary(Path("a.toml"), drill_id="tutorial", ended="finished", end_t_s=480.0, score=88.4, grade="B")
    abandoned = SaveSummary(Path("b.toml"), drill_id="tutorial", ended="abandoned", end_t_s=10.0, score=100.0, grade="A")
    assert summary_row(finished)[-1] == "88 B"
    assert summary_row(abandoned)[-2:] == ("00:10", "(100)")
    assert summary_row(SaveSummary(Path("c.toml"), error="bad"))[3] == "unreadable"


def test_comparison_text_gives_the_months_budget_spent_beside_doing_nothing_and_par():
    from types import SimpleNamespace as Report

    from sim.scoring.score import SpentLine
    from tui.screens.debrief import comparison_text

    verdict = Report(spent=(SpentLine("availability", 0.0123, 0.91, 0.004), SpentLine("latency", 0.2, 0.5, 0.1)),
                     avoided=0.6)
    you = Report(verdict=verdict, degraded=0)
    assert comparison_text(you, None, None).splitlines() == [
        "This incident spent 1.23% of the month's availability budget (do nothing 91.0%, par 0.40%).",
        "This incident spent 20.0% of the month's latency budget (do nothing 50.0%, par 10.0%).",
        "You avoided 60% of the damage par avoids.",
    ]
    better = Report(verdict=attrs_evolve(verdict, avoided=1.2), degraded=40)
    assert comparison_text(better, None, None).splitlines()[-2:] == [
        "You did better than par.",
        "40 degraded answers were counted at their cost in the budgets.",
    ]


def attrs_evolve(namespace, **changes):
    from types import SimpleNamespace

    return SimpleNamespace(**{**vars(namespace), **changes})


def test_the_timeline_puts_the_first_page_your_actions_and_pars_side_by_side():
    from types import SimpleNamespace

    from sim.model.spec import Action
    from tui.screens.debrief import timeline_text

    verdict = SimpleNamespace(first_page_s=67.0, acted_at_s=113.0, par_acted_at_s=80.0)
    yours = (Action(t_s=100.0, name="shed.set", args={"fraction": 0.1}), Action(t_s=113.0, name="workers.scale", args={"workers": 7}))
    par = (Action(t_s=80.0, name="workers.scale", args={"workers": 7}),)
    assert timeline_text(verdict, yours, par).splitlines() == [
        "first page 01:07 · you acted 01:53 · par 01:20",
        "You: 01:40 shed.set, 01:53 workers.scale",
        "Par: 01:20 workers.scale",
    ]


async def test_a_gauge_short_of_room_shrinks_its_bar_not_its_level_word():
    from textual.app import App

    from tui.frame import GaugeReading
    from tui.widgets.gauge import GaugeBar

    reading = GaugeReading(label="main", value=20, limit=20, average=20, level="crit",
                           value_text="20/20", average_text="20", note="180 wait")

    class TwoGauges(App):
        CSS = "#roomy { width: 36; } #cramped { width: 30; }"

        def compose(self):
            yield GaugeBar(reading, id="roomy")
            # No room for a bar at all (and a pressure mark to draw on it): the numbers still show.
            yield GaugeBar(attrs.evolve(reading, mark=0.8), id="cramped")

    async with TwoGauges().run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = str(pilot.app.query_one("#roomy", GaugeBar).render())
        assert line.endswith(" 20/20 ~20 180 wait CRIT"), line
        assert len(line) == 36 and "█" in line, line
        line = str(pilot.app.query_one("#cramped", GaugeBar).render())
        assert line.startswith("main     20/20 ~20 180 wait"), line


def _alerts_in_frames(drill, frame_ticks: int) -> list:
    run = LiveRun.start(drill)
    while run.advance_ticks(frame_ticks):
        pass
    return [(e.t_s, e.kind, e.text) for e in run.log if e.kind in ("ALERT", "CLEAR")]


def test_slo_alerts_do_not_depend_on_frame_sizes():
    # Frames follow wall time and speed; the log a run shows must follow the run alone,
    # or a replay could not show the alerts the player saw.
    drill = slow_llm_drill()
    one_tick = _alerts_in_frames(drill, 1)
    assert [kind for _, kind, _ in one_tick].count("ALERT") >= 1, one_tick
    assert _alerts_in_frames(drill, 37) == one_tick
    assert _alerts_in_frames(drill, 1000) == one_tick


def test_rate_text_fits_four_characters():
    assert [rate_text(x) for x in (0.0, 41.4, 999.4, 999.6, 2253.0, 9949.0, 9951.0, 123456.0)] == [
        "0", "41", "999", "1.0k", "2.3k", "9.9k", "10k", "123k"]


async def test_rates_panel_keeps_the_error_line_when_rates_are_large():
    # A retry storm at 80 columns: the first line must be cut, not wrapped over the Err line.
    from textual.app import App

    from tui.frame import RatesReading
    from tui.widgets.rates import RatesPanel

    class One(App):
        def compose(self):
            yield RatesPanel()

    app = One()
    async with app.run_test(size=(30, 4)) as pilot:
        panel = app.query_one(RatesPanel)
        panel.reading = RatesReading(22530.0, 22930.0, 16840.0, 0.0, 0.0, 1.0, 0.97, 0.0, 0.0, error_level="crit")
        await pilot.pause()
        rows = [line.text for line in panel.render_lines(panel.region.reset_offset)]
    assert rows[0].startswith("Req 23k/s ~23k retry 17k") and rows[0].rstrip().endswith("…")
    assert rows[1].startswith("Err 100% ~97% CRIT"), rows


async def test_slo_budget_keeps_a_row_per_slo_when_a_line_is_too_long():
    # A 99.9 % SLO burns at up to 1000x; in a narrow panel that line must be cut, not wrapped
    # over the next SLO's row (the widget is one row per SLO).
    from textual.app import App

    from tui.frame import SLOReading
    from tui.widgets.slo_budget import SLOBudget

    class One(App):
        def compose(self):
            yield SLOBudget()

    readings = tuple(SLOReading(name, 0.999, 0.7, -2.0, 1000.0, "crit", "BREACHED")
                     for name in ("orders-availability", "orders-latency", "pipeline-freshness"))
    app = One()
    async with app.run_test(size=(60, 5)) as pilot:
        widget = app.query_one(SLOBudget)
        widget.readings = readings
        await pilot.pause()
        rows = [line.text.rstrip() for line in widget.render_lines(widget.region.reset_offset)]
    assert [row.split()[0] for row in rows[:3]] == ["orders-a", "orders-l", "pipeline"], rows
    assert all(row.endswith("…") for row in rows[:3]), rows
