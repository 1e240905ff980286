"""The [drill] table: id, title, difficulty, briefing, duration, dt, seed, incident start, neutral service words."""

from __future__ import annotations

import math
import re

import attrs

from sim.drill.loader.problems import INVALID, Context, Invalid, describe, is_invalid
from sim.drill.loader.tables import open_table
from sim.drill.loader.values import read_duration, read_int, read_str
from sim.model.limits import MAX_RUN_TICKS, MIN_DT_S
from sim.model.units import format_duration

_DRILL_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_DRILL_KEYS = ("id", "title", "difficulty", "briefing", "duration", "dt", "seed", "incident_start", "service_name",
               "service_description")


@attrs.frozen
class DrillHeader:
    """The [drill] table, read; the rest of the file is read against its duration and times."""

    id: str
    title: str
    difficulty: int
    briefing: str
    duration_s: float
    dt_s: float
    seed: int
    incident_start_s: float | None
    service_name: str = ""
    service_description: str = ""


def read_drill_header(ctx: Context, raw) -> DrillHeader | Invalid:
    """The [drill] table (required)."""
    table = open_table(ctx, "drill", raw, _DRILL_KEYS)
    if table is None:
        return INVALID
    table.check_keys()
    header = dict(
        id=table.get("id", read_str, pattern=_DRILL_ID, what="an id of lower-case letters, digits and '-'"),
        title=table.get("title", read_str),
        difficulty=table.get("difficulty", read_int, low=1, high=5),
        briefing=table.get("briefing", read_str),
        duration_s=table.get("duration", read_duration, positive=True, high=24 * 3600.0),
        dt_s=table.get("dt", _read_dt, default=0.05),
        seed=table.get("seed", read_int, low=0, high=2**63 - 1),
        incident_start_s=table.get("incident_start", read_duration, default=None),
        # Optional: a blind incident falls back to words drawn from the model (sim.drill.blind).
        service_name=table.get("service_name", read_str, default=""),
        service_description=table.get("service_description", read_str, default=""),
    )
    if any(is_invalid(value) for value in header.values()):
        return INVALID
    if header["dt_s"] > header["duration_s"]:
        return ctx.report("drill.dt", f"must not be longer than the drill ({header['duration_s']:g}s)")
    ticks = math.ceil(header["duration_s"] / header["dt_s"] - 1e-9)  # as the engine counts them
    if ticks > MAX_RUN_TICKS:
        # The smallest step that fits, rounded up to a tenth of a millisecond so that writing it works.
        fits_s = math.ceil(header["duration_s"] / MAX_RUN_TICKS * 1e4 - 1e-6) / 1e4
        duration, dt = format_duration(header["duration_s"]), format_duration(header["dt_s"])
        return ctx.report(
            "drill.dt",
            f"a {duration} drill in {dt} steps is {ticks} ticks, more than the engine runs ({MAX_RUN_TICKS}): "
            f"make dt at least {format_duration(fits_s)} or the drill shorter",
        )
    return DrillHeader(**header)


def _read_dt(ctx: Context, path: str, value):
    dt_s = read_duration(ctx, path, value, positive=True, high=1.0)
    if isinstance(dt_s, float) and dt_s < MIN_DT_S:
        # Every per-tick ring grows as 1/dt (see sim.model.limits).
        return ctx.report(path, f"must be >= {format_duration(MIN_DT_S)} (the smallest step the engine runs), got {describe(value)}")
    return dt_s


def incident_start(ctx: Context, header, faults) -> float | Invalid:
    """[drill].incident_start, else the first fault's time (0 without faults)."""
    if not isinstance(header, DrillHeader):
        return INVALID
    if header.incident_start_s is None:
        if is_invalid(faults):
            return INVALID
        return min((fault.at_s for fault in faults), default=0.0)
    if header.incident_start_s >= header.duration_s:
        return ctx.report("drill.incident_start", f"is at or after the end of the drill ({header.duration_s:g}s), got {header.incident_start_s:g}s")
    return header.incident_start_s
