"""Operator actions: validate, then change the running simulation.

Handlers change the run only through the public methods of its components
(`sim.pools`, `sim.deps`, `sim.ingress`, `sim.queue`, `sim.retries`, `sim.slots`,
`sim.workers`); this module imports nothing of the engine but its codes.

`apply_action(sim, action, t0)` returns None when the action took hold (or was
scheduled with its realistic delay) and a reason string when it was refused.
It never raises for a bad action: a refusal is logged, the run goes on.
"""

from __future__ import annotations

import math

from sim.engine.codes import FORCE_CLOSED, FORCE_NONE, FORCE_OPEN, W_UP
from sim.model.delays import action_delay_s
from sim.engine.injection import FACILITATOR_HANDLERS, InjectionRefused
from sim.model.spec import RetryPolicy


class Refused(Exception):
    """The action cannot apply; the message says why."""


def _number(action, key: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
            default=None):
    value = action.arg(key, default)
    if value is None:
        raise Refused(f"needs {key}")
    if isinstance(value, bool):
        raise Refused(f"{key} must be a number, got {value!r}")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise Refused(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise Refused(f"{key} must be finite, got {value!r}")
    if integer:
        if value != int(value):
            raise Refused(f"{key} must be a whole number, got {value!r}")
        value = int(value)
    if lo is not None and value < lo:
        raise Refused(f"{key} must be at least {lo:g}, got {value:g}")
    if hi is not None and value > hi:
        raise Refused(f"{key} must be at most {hi:g}, got {value:g}")
    return value


def _dependency(sim, action) -> int:
    name = action.arg("dependency")
    if name is None:
        raise Refused("needs dependency")
    di = sim.deps.index(name)
    if di is None:
        known = ", ".join(sim.deps.names) or "none"
        raise Refused(f"unknown dependency {name!r} (known: {known})")
    return di


def _class(sim, action) -> int:
    name = action.arg("class")
    ci = sim.class_index(name)
    if ci is None:
        raise Refused(f"unknown class {name!r} (known: {', '.join(c.name for c in sim.model.classes)})")
    return ci


def _pool_resize(sim, action, t0, dry=False):
    name = action.arg("pool")
    pools = sim.pools
    pi = pools.shared_index(name)
    if pi is None:
        # Bulkhead pools are sized with bulkhead.set, which also routes their class.
        raise Refused(f"unknown pool {name!r} (known: {', '.join(pools.shared_names())})")
    size = _number(action, "size", lo=1, integer=True)
    pool = pools.pool(pi)
    dep = sim.deps.spec(pool.database)
    wanted = pools.connections_on(pool.database, pi, size)
    if wanted > dep.max_connections:
        raise Refused(
            f"{dep.name} allows {dep.max_connections} connections; pools on it would need {wanted}"
        )
    old = pool.size
    if dry:
        return f"pool {name} to {size}"
    delay = pools.resize(pi, size, t0)
    return f"pool {name} resizing {old} -> {size} (takes {delay:g}s)"


def _breaker(mode: int):
    def act(sim, action, t0, dry=False):
        # A forced breaker is a kill switch: allowed even where no automatic breaker exists.
        di = _dependency(sim, action)
        words = {FORCE_NONE: "back to automatic", FORCE_OPEN: "forced OPEN", FORCE_CLOSED: "forced CLOSED"}[mode]
        if not dry:
            sim.deps.force_breaker(di, mode)
        return f"breaker {sim.deps.spec(di).name} {words}"

    return act


def _shed_set(sim, action, t0, dry=False):
    fraction = _number(action, "fraction", lo=0, hi=1)
    mode = action.arg("mode", sim.ingress.shed_mode)
    if mode not in ("random", "priority"):
        raise Refused(f"mode must be 'random' or 'priority', got {mode!r}")
    if dry:
        return f"shedding {fraction:.0%} of arrivals ({mode})"
    sim.ingress.set_shedding(float(fraction), mode)
    return f"shedding {fraction:.0%} of arrivals ({mode})"


def _queue_set_limit(sim, action, t0, dry=False):
    limit = action.arg("limit")
    if limit in (None, "unbounded", -1):
        if dry:
            return "queue unbounded"
        sim.queue.limit = None
        return "queue unbounded"
    limit = _number(action, "limit", lo=0, integer=True)
    if dry:
        return f"queue limited to {limit}"
    sim.queue.limit = limit
    return f"queue limited to {limit}"


def _timeout_set(sim, action, t0, dry=False):
    di = _dependency(sim, action)
    deps = sim.deps
    name = deps.spec(di).name
    value = action.arg("timeout_s")
    if value in (None, "none"):
        had = deps.shown_timeout(di)
        if dry:
            return f"timeout on {name} removed"
        deps.set_timeout(di, math.inf)
        if had is None:
            # Said plainly: a player who meant to set one must not read "removed" as done.
            return f"{name} still has no timeout (it had none to remove)"
        return f"timeout on {name} removed"
    seconds = _number(action, "timeout_s", lo=0.001, hi=3600)
    if dry:
        return f"timeout on {name} to {seconds * 1000:g} ms"
    deps.set_timeout(di, float(seconds))
    return f"timeout on {name} set to {seconds * 1000:g} ms"


def _retry_set(sim, action, t0, dry=False):
    # Everything is validated before anything changes: a refused action changes nothing.
    retries = _number(action, "retries", lo=0, hi=10, integer=True)
    if action.arg("class") is not None:
        ci = _class(sim, action)
        old = sim.retries.policy(ci)
        backoff = _number(action, "backoff_s", lo=0, hi=600, default=old.backoff_s)
        jitter = _number(action, "jitter", lo=0, hi=1, default=old.jitter)
        if dry:
            return f"client config for {sim.model.classes[ci].name}: retry {retries}x"
        sim.retries.set_policy(ci, RetryPolicy(retries=retries, backoff_s=backoff, multiplier=old.multiplier,
                                               jitter=jitter))
        return f"clients of {sim.model.classes[ci].name} retry {retries}x, backoff {backoff:g}s"
    di = _dependency(sim, action)
    backoff = _number(action, "backoff_s", lo=0, hi=600, default=sim.deps.state(di).backoff_s or 0.0)
    if dry:
        return f"calls to {sim.deps.spec(di).name} retry {retries}x"
    sim.deps.set_call_retries(di, retries, backoff)
    return f"calls to {sim.deps.spec(di).name} retry {retries}x"


def _ratelimit_set(sim, action, t0, dry=False):
    rate = _number(action, "rate_rps", lo=0)
    if rate == 0:
        if dry:
            return "rate limit off"
        sim.ingress.set_ratelimit(None, 0.0, t0)
        return "rate limit off"
    burst = _number(action, "burst", lo=1, default=max(1.0, rate / 10))
    if dry:
        return f"rate limit {rate:g} rps (burst {burst:g})"
    sim.ingress.set_ratelimit(rate, burst, t0)
    return f"rate limit {rate:g} rps (burst {burst:g})"


def _workers_scale(sim, action, t0, dry=False):
    n = _number(action, "workers", lo=1, hi=sim.slots.max_workers, integer=True)
    if dry:
        return f"scale to {n} workers"
    return sim.slots.scale(n, t0)


def _bulkhead_set(sim, action, t0, dry=False):
    ci = _class(sim, action)
    name = action.arg("pool")
    pools = sim.pools
    shared = pools.shared_index(name)
    if shared is None:
        raise Refused(f"unknown pool {name!r}")
    bi = pools.bulkhead_of(ci, shared)
    cls_name = sim.model.classes[ci].name
    if bi is None:
        raise Refused(f"class {cls_name} does not use pool {name}")
    size = _number(action, "size", lo=0, integer=True)
    bulk = pools.pool(bi)
    dep = sim.deps.spec(bulk.database)
    wanted = pools.connections_on(bulk.database, bi, size)
    if wanted > dep.max_connections:
        raise Refused(f"{dep.name} allows {dep.max_connections} connections; pools on it would need {wanted}")
    if dry:
        return f"bulkhead for {cls_name}: {size} connections"
    delay = pools.resize(bi, size, t0)
    pools.route_bulkhead(ci, shared, bi if size > 0 else None, t0)
    if size == 0:
        return f"bulkhead for {cls_name} removed"
    return f"bulkhead: {cls_name} gets its own {size}-connection pool (in {delay:g}s)"


def _fallback_set(sim, action, t0, dry=False):
    di = _dependency(sim, action)
    enabled = action.arg("enabled", True)
    if not isinstance(enabled, bool):
        raise Refused(f"enabled must be true or false, got {enabled!r}")
    if enabled and sim.deps.spec(di).authenticates:
        raise Refused(f"{sim.deps.spec(di).name} authenticates requests and fails closed: "
                      "serving without it would let anyone in")
    if dry:
        return f"fallback for {sim.deps.spec(di).name} {'on' if enabled else 'off'}"
    sim.deps.set_fallback(di, enabled)
    return f"fallback for {sim.deps.spec(di).name} {'ON: serving degraded' if enabled else 'off'}"


def _worker_restart(sim, action, t0, dry=False):
    w = _number(action, "worker", lo=0, hi=sim.slots.max_workers - 1, integer=True, default=0)
    if sim.slots.state(w) != W_UP:
        raise Refused(f"worker {w} is not running")
    if dry:
        return f"restart worker {w}"
    restart = sim.workers.restart(w, t0)
    return f"worker {w} restarting (back in {restart:g}s)"


def _enabled(action) -> bool:
    enabled = action.arg("enabled", True)
    if not isinstance(enabled, bool):
        raise Refused(f"enabled must be true or false, got {enabled!r}")
    return enabled


def _deploy_rollback(sim, action, t0, dry=False):
    faults = sim.faults
    if not faults.has_deploys():
        # Said plainly: a rollback is the first reflex, and here it would only cost a rollout.
        raise Refused("no deploy is involved in this incident: the running version is not what broke")
    if dry and sim.pending_actions.waiting_for("deploy.rollback"):
        raise Refused("a rollback is already rolling out")
    out = faults.deploys_out(t0)
    if not out:
        raise Refused("no deploy has gone out that a rollback would undo")
    wanted = action.arg("deploy")
    if wanted is not None and wanted not in out:
        raise Refused(f"deploy {wanted!r} is not out (out: {', '.join(out)})")
    deploy = wanted or out[0]
    if dry:
        return f"rolling back deploy {deploy}"
    faults.roll_back(deploy, t0)
    return f"deploy {deploy} rolled back: the previous version is serving"


def _flag_set(sim, action, t0, dry=False):
    flags = sim.flags
    if not flags.names:
        raise Refused("this service has no feature flags")
    name = action.arg("flag")
    if name is None:
        raise Refused("needs flag")
    if flags.spec(name) is None:
        raise Refused(f"unknown feature flag {name!r} (known: {', '.join(flags.names)})")
    enabled = _enabled(action)
    words = "on" if enabled else "off: its answers are degraded"
    if not dry:
        flags.set(name, enabled)
    return f"feature {name} {words}"


def _cache(sim, action) -> int:
    caches = sim.caches
    if not caches.names:
        raise Refused("this service has no cache")
    name = action.arg("cache")
    if name is None:
        raise Refused("needs cache")
    c = caches.find(name)
    if c is None:
        raise Refused(f"unknown cache {name!r} (known: {', '.join(caches.names)})")
    return c


def _cache_coalesce(sim, action, t0, dry=False):
    c = _cache(sim, action)
    enabled = _enabled(action)
    name = sim.caches.spec(c).name
    if not dry:
        sim.caches.set_coalescing(c, enabled)
    return f"cache {name}: request coalescing {'on' if enabled else 'off'}"


def _cache_serve_stale(sim, action, t0, dry=False):
    c = _cache(sim, action)
    enabled = _enabled(action)
    spec = sim.caches.spec(c)
    if enabled and spec.stale_ratio == 0:
        raise Refused(f"cache {spec.name} holds no stale copies to serve (a flush leaves nothing behind)")
    if not dry:
        sim.caches.set_serve_stale(c, enabled)
    return f"cache {spec.name}: serve-stale {'on' if enabled else 'off'}"


HANDLERS = {
    "pool.resize": _pool_resize,
    "breaker.force_open": _breaker(FORCE_OPEN),
    "breaker.force_close": _breaker(FORCE_CLOSED),
    "breaker.auto": _breaker(FORCE_NONE),
    "shed.set": _shed_set,
    "queue.set_limit": _queue_set_limit,
    "timeout.set": _timeout_set,
    "retry.set": _retry_set,
    "ratelimit.set": _ratelimit_set,
    "workers.scale": _workers_scale,
    "bulkhead.set": _bulkhead_set,
    "fallback.set": _fallback_set,
    "worker.restart": _worker_restart,
    "deploy.rollback": _deploy_rollback,
    "flag.set": _flag_set,
    "cache.coalesce": _cache_coalesce,
    "cache.serve_stale": _cache_serve_stale,
}


def action_delay(sim, action) -> float:
    """Seconds from sending `action` to its effect (the drill's override, else `sim.model.delays`)."""
    client = action.name == "retry.set" and action.arg("class") is not None
    return action_delay_s(sim.model.action_delays, action.name, client=client)

def _facilitator(handler):
    # A facilitator's move (sim.engine.injection) is refused like any action: logged, the run goes on.
    def act(sim, action, t0):
        try:
            return handler(sim, action, t0)
        except InjectionRefused as refusal:
            raise Refused(str(refusal)) from None

    return act


HANDLERS.update({name: _facilitator(handler) for name, handler in FACILITATOR_HANDLERS.items()})


def apply_action(sim, action, t0: float) -> str | None:
    """Send one action at tick boundary t0. Returns None, or the reason it was refused.

    An action with a delay is checked now (a refusal is immediate) and held in
    `sim.pending_actions`; `apply_due` applies it when its delay is over.
    """
    handler = HANDLERS.get(action.name)
    if handler is None:
        return f"unknown action {action.name!r}"
    delay = action_delay(sim, action)
    try:
        if delay > 0:
            what = handler(sim, action, t0, dry=True)
            sim.pending_actions.add(t0 + delay, action)
            sim.event_log.add(t0, "action_pending", f"{what}: takes effect in ~{delay:g} s", action.name)
            return None
        message = handler(sim, action, t0)
    except Refused as refusal:
        return str(refusal)
    sim.event_log.add(t0, "action_applied", message, action.name)
    return None


def apply_due(sim, action, t0: float) -> str | None:
    """Apply an action whose delay is over (checked again: the service may have changed meanwhile)."""
    try:
        message = HANDLERS[action.name](sim, action, t0)
    except Refused as refusal:
        return str(refusal)
    sim.event_log.add(t0, "action_applied", message, action.name)
    return None
