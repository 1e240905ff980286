"""[debrief] (the lesson the debrief teaches, the wrong move in words) and the price of degraded answers."""

from __future__ import annotations

from sim.drill.loader.lines import join_path
from sim.drill.loader.problems import Context, is_invalid
from sim.drill.loader.tables import open_table
from sim.drill.loader.values import read_float, read_str

DEBRIEF_KEYS = ("lesson", "wrong_move")


def read_debrief(ctx: Context, raw) -> tuple[str, str]:
    """(lesson, wrong move in words) from [debrief]; empty strings when the drill has none."""
    table = open_table(ctx, "debrief", raw, DEBRIEF_KEYS, required=False)
    if table is None:
        return "", ""
    table.check_keys()
    lesson = table.get("lesson", read_str, default="")
    wrong_move = table.get("wrong_move", read_str, default="")
    return ("" if is_invalid(lesson) else lesson.strip()), ("" if is_invalid(wrong_move) else wrong_move.strip())


def read_degraded_costs(ctx: Context, raw) -> tuple[tuple[str, float], ...]:
    """(dependency, degraded_cost) for every [dependencies.NAME] that prices its fallback answers
    (bad events one degraded answer costs, 0-1; `sim.scoring.score` says what the others cost)."""
    costs = []
    if isinstance(raw, dict):
        for name, body in raw.items():
            if isinstance(body, dict) and "degraded_cost" in body:
                cost = read_float(ctx, join_path("dependencies", name, "degraded_cost"), body["degraded_cost"],
                                  low=0.0, high=1.0)
                if not is_invalid(cost):
                    costs.append((name, cost))
    return tuple(costs)
