"""The dialogs of the actions an SRE reaches for first (rollback, feature flags, cache fixes),
and the delay line every dialog ends with.

Kept apart from `tui.dialogs.forms` (which registers these builders) so the forms of the
older mitigations stay as they were.
"""

from __future__ import annotations

from sim.model.delays import WHAT_TAKES_THE_TIME, action_delay_s
from sim.model.observe import Gauges
from sim.model.spec import Action, CacheStep, ModelSpec
from sim.model.units import format_duration


def delay_text(name: str, model: ModelSpec, args: dict | None = None) -> str:
    """'Takes effect in ~30s (config push).' for action `name` in this drill."""
    client = name == "retry.set" and (args is None or "class" in args)
    seconds = action_delay_s(model.action_delays, name, client=client)
    what = WHAT_TAKES_THE_TIME.get(name, "")
    if client:
        return (f"This stands for shipping a new client config (no server setting changes client "
                f"retries): it reaches the clients in ~{format_duration(seconds)}.")
    if seconds <= 0:
        return "Takes effect at once." if name not in ("pool.resize", "bulkhead.set", "workers.scale") else ""
    return f"Takes effect in ~{format_duration(seconds)} ({what})."


def _last(applied: tuple[Action, ...], name: str, key: str, value) -> dict:
    for action in reversed(applied):
        if action.name == name and action.arg(key) == value:
            return action.kwargs
    return {}


def deploy_rollback(model: ModelSpec, gauges: Gauges, applied: tuple[Action, ...], field, form, not_applicable):
    deploys = [f for f in model.faults if f.deploy]
    if not deploys:
        # The trainee still learns why: a rollback is the first reflex and here it cannot help.
        raise not_applicable("no deploy is involved in this incident: the running version is not what broke")
    out = tuple(dict.fromkeys(f.deploy for f in sorted(deploys, key=lambda f: -f.at_s) if f.at_s <= gauges.t_s))
    if not out:
        raise not_applicable("no deploy has gone out yet")
    rolled = [a.arg("deploy") for a in applied if a.name == "deploy.rollback"]
    now = f"Now serving: {out[0]}" + (" (a rollback was sent)" if rolled else "") + "."
    return form(
        "deploy.rollback", "Roll back a deploy",
        f"{now} Rolls the previous version out again; whatever the deploy broke ends once it has rolled out.",
        (field("deploy", "Deploy", "choice", out[0], choices=out),),
        confirm=True,
    )


def applies_later(name: str, model: ModelSpec) -> bool:
    """Whether action `name`, not applicable now, will be in this drill: a rollback once its deploy goes out."""
    return name == "deploy.rollback" and any(f.deploy for f in model.faults)


def flag_set(model: ModelSpec, gauges: Gauges, applied: tuple[Action, ...], field, form, not_applicable):
    if not model.flags:
        raise not_applicable("this service has no feature flags")
    names = tuple(f.name for f in model.flags)
    states = {n: _last(applied, "flag.set", "flag", n).get("enabled", True) for n in names}
    first = model.flags[0]
    now = ", ".join(f"{n} {'on' if on else 'off'}" for n, on in states.items())
    about = f" ({first.description})" if first.description else ""
    return form(
        "flag.set", "Turn a feature on or off",
        f"Now: {now}. Off: the feature{about} is skipped and each answer is a lesser one, costing "
        f"{first.cost:g} of a bad event in the score.",
        (
            field("flag", "Feature", "choice", first.name, choices=names),
            field("enabled", "State", "choice", "on" if states[first.name] else "off", choices=("on", "off")),
        ),
    )


def _cached(model: ModelSpec) -> tuple[str, ...]:
    used = {st.cache for cls in model.classes for st in cls.plan if isinstance(st, CacheStep)}
    return tuple(c.name for c in model.caches if c.name in used) or tuple(c.name for c in model.caches)


def _cache_switch(action: str, title: str, what: str):
    def build(model, gauges, applied, field, form, not_applicable):
        names = _cached(model)
        if not names:
            raise not_applicable("this service has no cache")
        on = _last(applied, action, "cache", names[0]).get("enabled", False)
        return form(
            action, title,
            f"Now: {'on' if on else 'off'} for {names[0]}. {what}",
            (
                field("cache", "Cache", "choice", names[0], choices=names),
                field("enabled", title.split(":")[0], "choice", "on" if on else "off", choices=("on", "off")),
            ),
        )

    return build


BUILDERS = {
    "deploy.rollback": deploy_rollback,
    "flag.set": flag_set,
    "cache.coalesce": _cache_switch(
        "cache.coalesce", "Coalescing: one fetch per key",
        "On: a miss for a key another request is already fetching waits for that fetch instead of "
        "querying again, so a stampede sends the database one query per key."),
    "cache.serve_stale": _cache_switch(
        "cache.serve_stale", "Serve-stale",
        "On: a miss for which the cache still holds an expired or previous-version copy is answered "
        "with it at once (a stale answer counts in the score at the drill's price)."),
}
"""Builders called as builder(model, gauges, applied, FormField, ActionForm, NotApplicable)."""
