"""`brownout bench --app`: the app's achieved speed beside the engine alone (kept short here)."""

from __future__ import annotations

from drill_factory import slow_llm_drill

from tui.bench_app import AppBenchRow, bench_app, format_rows


def test_bench_app_measures_the_app_and_the_engine_on_the_same_stretch():
    drill = slow_llm_drill(duration_s=120.0)
    row = bench_app(drill, speed=10, wall_s=1.0, warmup_s=0.3)
    assert row.drill_id == drill.id and row.asked == 10
    assert row.sim_s > 0 and 0 < row.app_speed <= 10 * 1.2  # never much past the speed asked
    assert row.engine_speed > 0 and row.ui_lag_max_ms >= row.ui_lag_p95_ms >= 0
    assert row.engine_cpu_speed > 0 and (row.app_cpu_speed is None or row.app_cpu_speed > 0)
    table = format_rows([row])
    assert "APP/TARGET" in table and drill.id in table


def test_share_is_against_the_lower_of_asked_and_engine_speed():
    fast_engine = AppBenchRow("d", 50.0, 10.0, app_speed=46.0, engine_speed=80.0, ui_lag_p95_ms=5, ui_lag_max_ms=40)
    slow_engine = AppBenchRow("d", 50.0, 10.0, app_speed=20.0, engine_speed=30.0, ui_lag_p95_ms=5, ui_lag_max_ms=40)
    assert fast_engine.share == 46.0 / 50.0 and fast_engine.ok
    assert slow_engine.share == 20.0 / 30.0 and not slow_engine.ok
    laggy = AppBenchRow("d", 50.0, 10.0, app_speed=49.0, engine_speed=80.0, ui_lag_p95_ms=5, ui_lag_max_ms=300)
    assert not laggy.ok
