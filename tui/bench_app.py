"""`brownout bench --app`: the speed the app achieves at 50x beside the engine alone, per drill.

For each drill a headless app (`App.run_test`, no terminal) plays the drill at the
asked speed for a fixed wall time, stepping in its simulation process as `brownout`
does (`tui.sim_process`) and drawing every frame as it would on screen; then
the engine alone simulates the same stretch of the same drill and seed. While the
app plays, a probe measures how late the UI's event loop answers (what a key
press would wait). The app cannot beat the speed asked, so it is judged against
the lower of the asked speed and the engine's own.

Wall-clock speeds depend on what else the machine runs, so beside them the table
gives sim seconds per CPU second: of the simulation process (read from /proc, so
Linux only) and of the engine alone. Their ratio is the stepping's own cost in the
app (the live run samples its gauges, judges hints, symptoms and alerts, and
builds frames), whatever the load.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import attrs

from sim.drill.drill import Drill
from sim.engine.simulation import Simulation

APP_SPEED = 50
WALL_S = 6.0
"""Wall seconds each drill plays in the app (after WARMUP_S)."""
WARMUP_S = 1.0
"""Wall seconds played first and not counted: imports, first layout, the first frames."""
SPAWN_WAIT_S = 30.0
"""Longest wait for the simulation process's first state (a loaded machine imports slowly)."""
PROBE_EVERY_S = 0.02
TARGET_SHARE = 0.9
"""The app should reach this share of min(asked speed, engine speed)."""


@attrs.frozen
class AppBenchRow:
    """One drill: the app's achieved speed beside the engine alone over the same stretch."""

    drill_id: str
    asked: float
    sim_s: float
    """Sim seconds the app played in the measured window (from where the warm-up left it)."""
    app_speed: float
    engine_speed: float
    ui_lag_p95_ms: float
    ui_lag_max_ms: float
    app_cpu_speed: float | None = None
    """Sim seconds per CPU second of the simulation process (None where /proc cannot say)."""
    engine_cpu_speed: float | None = None
    """Sim seconds per CPU second of the engine alone."""

    @property
    def share(self) -> float:
        """App speed over min(asked, engine speed)."""
        return self.app_speed / max(min(self.asked, self.engine_speed), 1e-9)

    @property
    def ok(self) -> bool:
        return self.share >= TARGET_SHARE and self.ui_lag_max_ms <= 100.0


async def _probe_loop(lags: list[float], stop: asyncio.Event) -> None:
    """How late the event loop wakes up: the wait a key press would see on top of its own work."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(PROBE_EVERY_S)
        lags.append(max(time.perf_counter() - started - PROBE_EVERY_S, 0.0))


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def app_speed(drill: Drill, *, speed: int = APP_SPEED, wall_s: float = WALL_S,
                    warmup_s: float = WARMUP_S) -> tuple[float, float, float, list[float], float | None]:
    """Play `drill` in a headless app at `speed`: (start sim s, end sim s, wall s, loop lags in s,
    CPU s of the simulation process over the stretch)."""
    import tempfile

    from tui.app import BrownoutApp

    lags: list[float] = []
    with tempfile.TemporaryDirectory(prefix="brownout-bench-") as saves_dir:
        app = BrownoutApp(drills=[drill], saves_dir=saves_dir, player="bench", sim_process=True)
        start_t_s, end_t_s, wall, cpu = await _play(app, drill, speed, wall_s, warmup_s, lags)
    return start_t_s, end_t_s, wall, lags, cpu


async def _play(app, drill: Drill, speed: int, wall_s: float, warmup_s: float, lags: list[float]):
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_drill(drill)
        await pilot.pause()
        app.live.set_speed(speed)
        spawned = time.perf_counter()
        while app.live.sim.t_s == 0 and time.perf_counter() - spawned < SPAWN_WAIT_S:
            await asyncio.sleep(0.05)  # the process starting (imports) is not part of the speed
        await asyncio.sleep(warmup_s)
        pid = app.live.process.pid
        start_t_s, started, cpu_before = app.live.sim.t_s, time.perf_counter(), process_cpu_s(pid)
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe_loop(lags, stop))
        while time.perf_counter() - started < wall_s and not app.live.finished:
            await asyncio.sleep(0.05)
        end_t_s, wall, cpu_after = app.live.sim.t_s, time.perf_counter() - started, process_cpu_s(pid)
        stop.set()
        await probe
        app.live.set_paused(True)
    # The state shown lags the process by up to a frame at both ends: the CPU count is as close as it gets.
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return start_t_s, end_t_s, wall, cpu


def engine_speed(drill: Drill, start_t_s: float, end_t_s: float) -> tuple[float, float]:
    """Sim seconds per wall second and per CPU second of the engine alone over [start_t_s, end_t_s]."""
    sim = Simulation.from_drill(drill)
    sim.run_until(start_t_s)
    started, cpu = time.perf_counter(), time.process_time()
    sim.run_until(end_t_s)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return ((sim.t_s - start_t_s) / wall if wall else float("inf"),
            (sim.t_s - start_t_s) / cpu if cpu else float("inf"))


def bench_app(drill: Drill, **options) -> AppBenchRow:
    """Measure one drill in the app, then the engine alone on the same stretch."""
    start_t_s, end_t_s, wall, lags, cpu = asyncio.run(app_speed(drill, **options))
    lags_ms = sorted(lag * 1000 for lag in lags) or [0.0]
    engine_wall, engine_cpu = engine_speed(drill, start_t_s, end_t_s)
    sim_s = end_t_s - start_t_s
    return AppBenchRow(
        drill_id=drill.id, asked=float(options.get("speed", APP_SPEED)), sim_s=sim_s,
        app_speed=sim_s / wall, engine_speed=engine_wall,
        ui_lag_p95_ms=lags_ms[min(int(0.95 * len(lags_ms)), len(lags_ms) - 1)], ui_lag_max_ms=lags_ms[-1],
        app_cpu_speed=sim_s / cpu if cpu else None, engine_cpu_speed=engine_cpu,
    )


def format_rows(rows: list[AppBenchRow]) -> str:
    """The `brownout bench --app` table."""
    header = ("DRILL", "ASKED", "SIM S", "APP x", "ENGINE x", "APP/TARGET", "UI LAG p95 ms", "UI LAG max ms", "",
              "APP x/CPU", "ENGINE x/CPU", "CPU RATIO")
    lines = [header]
    for row in rows:
        cpu_known = row.app_cpu_speed is not None and row.engine_cpu_speed
        lines.append((row.drill_id, f"{row.asked:g}x", f"{row.sim_s:.1f}", f"{row.app_speed:.1f}",
                      f"{row.engine_speed:.1f}", f"{row.share:.0%}", f"{row.ui_lag_p95_ms:.0f}",
                      f"{row.ui_lag_max_ms:.0f}", "ok" if row.ok else "SHORT",
                      f"{row.app_cpu_speed:.1f}" if cpu_known else "-",
                      f"{row.engine_cpu_speed:.1f}" if cpu_known else "-",
                      f"{row.app_cpu_speed / row.engine_cpu_speed:.0%}" if cpu_known else "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
            for line in lines]
    text.append(f"APP/TARGET: the app's speed over the lower of the asked speed and the engine's own "
                f"(target {TARGET_SHARE:.0%}); UI LAG: how late the app's event loop answered (target <= 100 ms);\n"
                f"x/CPU: sim seconds per CPU second of the simulation process and of the engine alone "
                f"(CPU RATIO: their ratio, the live run's own cost, independent of the machine's load).")
    return "\n".join(text)
