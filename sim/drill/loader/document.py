"""The whole document: every section read in order, then the `Drill` built from them."""

from __future__ import annotations

from sim.drill.drill import Drill, SLOSpec
from sim.drill.loader.classes import read_class
from sim.drill.loader.debrief import read_debrief, read_degraded_costs
from sim.drill.loader.dependencies import read_cache, read_dependency
from sim.drill.loader.faults import read_fault
from sim.drill.loader.flags import read_action_delays, read_flag
from sim.drill.loader.header import DrillHeader, incident_start, read_drill_header
from sim.drill.loader.hints import read_hint
from sim.drill.loader.names import collect_names
from sim.drill.loader.par import check_par_capacity, read_action
from sim.drill.loader.pools import read_pool
from sim.drill.loader.problems import INVALID, Context, Invalid, build, is_invalid, suggest
from sim.drill.loader.service import read_service
from sim.drill.loader.slos import read_slo
from sim.drill.loader.tables import array_of_tables, named_tables, read_each
from sim.model.spec import Action, ModelSpec

_TOP_LEVEL_KEYS = ("drill", "service", "classes", "dependencies", "pools", "caches", "faults", "slo", "par", "hints",
                   "wrong_move", "debrief", "flags", "action_delays")


def read_document(ctx: Context, document: dict) -> Drill | Invalid:
    """Build the Drill from a parsed (and range-drawn) document, reporting every problem."""
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            ctx.report(key, f'unknown section "{key}"{suggest(key, _TOP_LEVEL_KEYS)}')
    names = collect_names(ctx, document)
    header = read_drill_header(ctx, document.get("drill"))
    duration_s = header.duration_s if isinstance(header, DrillHeader) else INVALID
    service = read_service(ctx, document.get("service"))

    def section(name: str, reader, *extra) -> tuple:
        entries = (named_tables if name in ("dependencies", "pools", "caches", "flags") else array_of_tables)(ctx, name, document.get(name))
        return read_each([(ctx, *entry) for entry in entries], reader, *extra)

    dependencies = section("dependencies", read_dependency)
    pools = section("pools", read_pool, names)
    caches = section("caches", read_cache)
    flags = section("flags", read_flag)
    action_delays = read_action_delays(ctx, document.get("action_delays"))
    if document.get("classes") in (None, []):
        ctx.report("classes", 'a drill needs at least one traffic class ([[classes]] with name, arrivals and plan)')
    classes = section("classes", read_class, names)
    faults = section("faults", read_fault, names, duration_s)
    incident_start_s = incident_start(ctx, header, faults)
    if document.get("slo") in (None, []):
        # Without one the run cannot be judged: every score would be a meaningless 100.
        ctx.report("slo", "a drill needs at least one [[slo]] (name, kind, target): runs are scored against them")
    slos = section("slo", read_slo, names)
    slo_names = [slo.name for slo in slos if isinstance(slo, SLOSpec)]
    for index, name in enumerate(slo_names):
        if name in slo_names[:index]:
            ctx.report("slo", f'SLO "{name}" is defined twice')
    timing = (incident_start_s, duration_s)
    par = section("par", read_action, names, service, *timing)
    # A wrong move may well be refused by the engine (that is part of the lesson): no capacity check.
    wrong_move = section("wrong_move", read_action, names, service, *timing)
    hints = section("hints", read_hint, names, *timing)
    lesson, wrong_move_text = read_debrief(ctx, document.get("debrief"))
    degraded_costs = read_degraded_costs(ctx, document.get("dependencies"))
    if not isinstance(header, DrillHeader):
        return INVALID
    model = build(
        ctx, "", ModelSpec,
        service=service, classes=classes, dependencies=dependencies, pools=pools, caches=caches, faults=faults, dt_s=header.dt_s,
        flags=flags, action_delays=action_delays,
    )
    if isinstance(model, ModelSpec):
        actions = [(f"par[{index}]", action) for index, action in enumerate(par) if isinstance(action, Action)]
        check_par_capacity(ctx, actions, model)
    return build(
        ctx, "drill", Drill,
        id=header.id, title=header.title, difficulty=header.difficulty, briefing=header.briefing,
        service_name=header.service_name, service_description=header.service_description,
        duration_s=header.duration_s, seed=header.seed, model=model, slos=slos,
        # Stable sort: same-time actions keep the order the file gives them.
        par=tuple(sorted(par, key=lambda action: action.t_s)) if not is_invalid(par) else INVALID,
        hints=hints, incident_start_s=incident_start_s,
        debrief=lesson, degraded_costs=degraded_costs, wrong_move_text=wrong_move_text,
        wrong_move=tuple(sorted(wrong_move, key=lambda action: action.t_s)) if not is_invalid(wrong_move) else INVALID,
    )
