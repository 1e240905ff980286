"""How long each operator action takes to take hold: the one table of delays.

Real mitigations are not instant: a config push has to reach every instance, a
feature flag has to propagate, a rollback has to roll the old version out, a
client config has to reach the clients. The engine holds an action for its
delay (validating it at once, so a refusal is immediate) and applies it when
the delay is over. A drill may override any delay in `[action_delays]`.

Drills compress an incident into minutes (a ten-minute provider outage plays in
150 s), so these are on the same compressed scale. The README's table under
"Actions take time" shows this one (tests/packaging/test_docs_references.py keeps
them the same).

A config push (a pool size, a queue limit, a timeout, a dependency's retries, a
bulkhead, a fallback) takes 10 s to reach every instance; a breaker override or a
load-balancer rule (shedding) 5 s, being one switch each instance polls. Two
actions have no delay of their own, because their own physics already is the
delay a real operation takes: `workers.scale` starts workers that warm for the
service's `warmup_s` before they serve, and `worker.restart` leaves the worker
down for `memory.restart_s`. A resized pool (or a bulkhead's new pool) also opens
its connections in `sim.engine.pools.POOL_RESIZE_DELAY_S` after its push lands.
"""

from __future__ import annotations

ACTION_DELAYS_S: dict[str, float] = {
    "pool.resize": 10.0,
    "breaker.force_open": 5.0,
    "breaker.force_close": 5.0,
    "breaker.auto": 5.0,
    "shed.set": 5.0,
    "queue.set_limit": 10.0,
    "timeout.set": 10.0,
    "retry.set": 10.0,
    "ratelimit.set": 10.0,
    "workers.scale": 0.0,
    "bulkhead.set": 10.0,
    "fallback.set": 10.0,
    "worker.restart": 0.0,
    "deploy.rollback": 60.0,
    "flag.set": 10.0,
    "cache.coalesce": 15.0,
    "cache.serve_stale": 15.0,
}
"""Seconds of simulated time from an action to its effect, by action name."""

CLIENT_RETRY_DELAY_S = 60.0
"""retry.set on a traffic class stands for shipping a new client config: it reaches
the clients this long after it is sent (retry.set on a dependency is the service's
own config, ACTION_DELAYS_S["retry.set"])."""

WHAT_TAKES_THE_TIME = {
    "pool.resize": "config push; the pool then opens its connections",
    "breaker.force_open": "breaker override on every instance",
    "breaker.force_close": "breaker override on every instance",
    "breaker.auto": "breaker override on every instance",
    "shed.set": "load-balancer rule",
    "queue.set_limit": "config push",
    "timeout.set": "config push",
    "retry.set": "config push (a class's client retries: a client config release)",
    "ratelimit.set": "rate-limit change at the edge",
    "workers.scale": "workers start, then warm up",
    "bulkhead.set": "config push; the new pool then opens its connections",
    "fallback.set": "config push",
    "worker.restart": "the worker restarts",
    "deploy.rollback": "rollout of the previous version",
    "flag.set": "feature-flag propagation",
    "cache.coalesce": "config push to the cache client",
    "cache.serve_stale": "config push to the cache client",
}
"""What the delay of each action stands for (the README table and the dialogs)."""


def action_delay_s(overrides: tuple[tuple[str, float], ...], name: str, *, client: bool = False) -> float:
    """The delay of action `name`: the drill's override, else the table's.

    client: retry.set on a traffic class (a client config release, CLIENT_RETRY_DELAY_S
    unless the drill overrides "retry.client")."""
    key = "retry.client" if client else name
    for k, seconds in overrides:
        if k == key:
            return float(seconds)
    if client:
        return CLIENT_RETRY_DELAY_S
    return ACTION_DELAYS_S.get(name, 0.0)
