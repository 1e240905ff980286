"""Operator actions: validate, then change the running simulation.

`apply_action(sim, action, t0)` returns None when the action took hold (or was
scheduled with its realistic delay) and a reason string when it was refused.
It never raises for a bad action: a refusal is logged, the run goes on.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.spec import RetryPolicy

W_OFF, W_WARMING, W_UP, W_DOWN, W_DRAINING = 0, 1, 2, 3, 4


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
    if name not in sim._dep_index:
        known = ", ".join(sim._dep_index) or "none"
        raise Refused(f"unknown dependency {name!r} (known: {known})")
    return sim._dep_index[name]


def _class(sim, action) -> int:
    name = action.arg("class")
    if name not in sim._cls_index:
        raise Refused(f"unknown class {name!r} (known: {', '.join(sim._cls_index)})")
    return sim._cls_index[name]


def _connections_on(sim, di: int, changing: int, new_size: int) -> int:
    """Connections the database would be asked for if pool `changing` had new_size."""
    total = 0
    for i, p in enumerate(sim._pools):
        if p.database == di:
            size = p.target_size or p.size
            total += new_size if i == changing else size
    return total


def _pool_resize(sim, action, t0):
    name = action.arg("pool")
    if name not in sim._pool_index or sim._pools[sim._pool_index[name]].bulkhead_class >= 0:
        # Bulkhead pools are sized with bulkhead.set, which also routes their class.
        raise Refused(f"unknown pool {name!r} (known: {', '.join(p.name for p in sim._pools if p.bulkhead_class < 0)})")
    pi = sim._pool_index[name]
    size = _number(action, "size", lo=1, integer=True)
    pool = sim._pools[pi]
    dep = sim._deps[pool.database]
    wanted = _connections_on(sim, pool.database, pi, size)
    if wanted > dep.max_connections:
        raise Refused(
            f"{dep.name} allows {dep.max_connections} connections; pools on it would need {wanted}"
        )
    pool.target_size = size
    sim._schedule(t0 + sim_delay(), "pool_size", (pi, size))
    return f"pool {name} resizing {pool.size} -> {size} (takes {sim_delay():g}s)"


def sim_delay() -> float:
    from sim.engine.simulation import POOL_RESIZE_DELAY_S

    return POOL_RESIZE_DELAY_S


def _breaker(mode: int):
    def act(sim, action, t0):
        # A forced breaker is a kill switch: allowed even where no automatic breaker exists.
        di = _dependency(sim, action)
        ds = sim._dep_state[di]
        ds.forced = mode
        if mode == 0 and sim._deps[di].breaker is not None:
            ds.state = 0
            ds.open_until = 0.0
        words = {0: "back to automatic", 1: "forced OPEN", 2: "forced CLOSED"}[mode]
        return f"breaker {sim._deps[di].name} {words}"

    return act


def _shed_set(sim, action, t0):
    fraction = _number(action, "fraction", lo=0, hi=1)
    mode = action.arg("mode", sim._shed_mode)
    if mode not in ("random", "priority"):
        raise Refused(f"mode must be 'random' or 'priority', got {mode!r}")
    sim._shed_fraction = float(fraction)
    sim._shed_mode = mode
    return f"shedding {fraction:.0%} of arrivals ({mode})"


def _queue_set_limit(sim, action, t0):
    limit = action.arg("limit")
    if limit in (None, "unbounded", -1):
        sim._queue_limit = None
        return "queue unbounded"
    limit = _number(action, "limit", lo=0, integer=True)
    sim._queue_limit = limit
    return f"queue limited to {limit}"


def _timeout_set(sim, action, t0):
    di = _dependency(sim, action)
    value = action.arg("timeout_s")
    if value in (None, "none"):
        had = sim._effective_timeout(di, sim._plan_timeouts[di])
        sim._dep_state[di].timeout_s = math.inf
        if had is None:
            # Said plainly: a player who meant to set one must not read "removed" as done.
            return f"{sim._deps[di].name} still has no timeout (it had none to remove)"
        return f"timeout on {sim._deps[di].name} removed"
    seconds = _number(action, "timeout_s", lo=0.001, hi=3600)
    sim._dep_state[di].timeout_s = float(seconds)
    return f"timeout on {sim._deps[di].name} set to {seconds * 1000:g} ms"


def _retry_set(sim, action, t0):
    # Everything is validated before anything changes: a refused action changes nothing.
    retries = _number(action, "retries", lo=0, hi=10, integer=True)
    if action.arg("class") is not None:
        ci = _class(sim, action)
        old = sim._client_retry[ci]
        backoff = _number(action, "backoff_s", lo=0, hi=600, default=old.backoff_s)
        jitter = _number(action, "jitter", lo=0, hi=1, default=old.jitter)
        policies = list(sim._client_retry)
        policies[ci] = RetryPolicy(retries=retries, backoff_s=backoff, multiplier=old.multiplier, jitter=jitter)
        sim._set_retry_table(policies)
        return f"clients of {sim._classes[ci].name} retry {retries}x, backoff {backoff:g}s"
    di = _dependency(sim, action)
    ds = sim._dep_state[di]
    backoff = _number(action, "backoff_s", lo=0, hi=600, default=ds.backoff_s or 0.0)
    ds.retries, ds.backoff_s = retries, backoff
    return f"calls to {sim._deps[di].name} retry {retries}x"


def _ratelimit_set(sim, action, t0):
    rate = _number(action, "rate_rps", lo=0)
    if rate == 0:
        sim._rate = None
        return "rate limit off"
    burst = _number(action, "burst", lo=1, default=max(1.0, rate / 10))
    sim._rate, sim._burst = float(rate), float(burst)
    sim._tokens, sim._tokens_t = float(burst), t0
    return f"rate limit {rate:g} rps (burst {burst:g})"


def _workers_scale(sim, action, t0):
    n = _number(action, "workers", lo=1, hi=sim._max_workers, integer=True)
    states = sim._worker_state
    serving = np.nonzero(np.isin(states, (W_UP, W_WARMING, W_DOWN)))[0]
    if n > serving.size:
        spare = np.nonzero(np.isin(states, (W_OFF, W_DRAINING)))[0][: n - serving.size]
        warmup = sim.model.service.warmup_s
        for w in spare.tolist():
            if states[w] == W_DRAINING:
                states[w] = W_UP
            else:
                states[w] = W_WARMING
                sim._worker_until[w] = t0 + warmup
        msg = f"scaling to {n} workers (new ones warm for {warmup:g}s)"
    else:
        # Drain the newest workers: they finish what they hold, take nothing new.
        for w in serving[n:].tolist():
            states[w] = W_DRAINING if states[w] == W_UP else W_OFF
        msg = f"scaling down to {n} workers (draining)"
    sim._target_workers = n
    return msg


def _bulkhead_set(sim, action, t0):
    ci = _class(sim, action)
    name = action.arg("pool")
    if name not in sim._pool_index or sim._pools[sim._pool_index[name]].bulkhead_class >= 0:
        raise Refused(f"unknown pool {name!r}")
    shared = sim._pool_index[name]
    if (ci, shared) not in sim._bulkhead_of:
        raise Refused(f"class {sim._classes[ci].name} does not use pool {name}")
    bi = sim._bulkhead_of[(ci, shared)]
    size = _number(action, "size", lo=0, integer=True)
    bulk = sim._pools[bi]
    dep = sim._deps[bulk.database]
    wanted = _connections_on(sim, bulk.database, bi, size)
    if wanted > dep.max_connections:
        raise Refused(f"{dep.name} allows {dep.max_connections} connections; pools on it would need {wanted}")
    bulk.target_size = size
    delay = sim_delay()
    sim._schedule(t0 + delay, "pool_size", (bi, size))
    sim._schedule(t0 + delay, "bulkhead_route", (ci, shared, bi if size > 0 else None))
    if size == 0:
        return f"bulkhead for {sim._classes[ci].name} removed"
    return f"bulkhead: {sim._classes[ci].name} gets its own {size}-connection pool (in {delay:g}s)"


def _fallback_set(sim, action, t0):
    di = _dependency(sim, action)
    enabled = action.arg("enabled", True)
    if not isinstance(enabled, bool):
        raise Refused(f"enabled must be true or false, got {enabled!r}")
    if enabled and sim._deps[di].authenticates:
        raise Refused(f"{sim._deps[di].name} authenticates requests and fails closed: "
                      "serving without it would let anyone in")
    sim._dep_state[di].fallback = enabled
    return f"fallback for {sim._deps[di].name} {'ON: serving degraded' if enabled else 'off'}"


def _worker_restart(sim, action, t0):
    w = _number(action, "worker", lo=0, hi=sim._max_workers - 1, integer=True, default=0)
    if sim._worker_state[w] != W_UP:
        raise Refused(f"worker {w} is not running")
    restart = sim.model.service.memory.restart_s
    from sim.engine.simulation import R_WORKER_LOST

    sim._kill_worker(w, t0, R_WORKER_LOST, t0 + restart, "restarted by operator")
    return f"worker {w} restarting (back in {restart:g}s)"


HANDLERS = {
    "pool.resize": _pool_resize,
    "breaker.force_open": _breaker(1),
    "breaker.force_close": _breaker(2),
    "breaker.auto": _breaker(0),
    "shed.set": _shed_set,
    "queue.set_limit": _queue_set_limit,
    "timeout.set": _timeout_set,
    "retry.set": _retry_set,
    "ratelimit.set": _ratelimit_set,
    "workers.scale": _workers_scale,
    "bulkhead.set": _bulkhead_set,
    "fallback.set": _fallback_set,
    "worker.restart": _worker_restart,
}


def apply_action(sim, action, t0: float) -> str | None:
    """Apply one action at tick boundary t0. Returns None, or the reason it was refused."""
    handler = HANDLERS.get(action.name)
    if handler is None:
        return f"unknown action {action.name!r}"
    try:
        message = handler(sim, action, t0)
    except Refused as refusal:
        return str(refusal)
    sim._event(t0, "action_applied", message, action.name)
    return None
