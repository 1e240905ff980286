"""The actions an SRE reaches for first, each shown by its effect on a running simulation
(the same model and seed with and without it) and by its refusal; and action delays.

deploy.rollback ends the faults a deploy caused once the previous version has rolled out;
flag.set skips a feature's calls at a product cost; cache.coalesce and cache.serve_stale
take a cache stampede off the database.
"""

from __future__ import annotations

import attrs
import pytest

from model_factory import (
    act,
    api_model,
    cache_model,
    db_model,
    const,
    cpu_model,
    events_of,
    instant,
    mean_latency_ms,
    run,
    window,
    with_faults,
)
from sim.model.delays import ACTION_DELAYS_S, CLIENT_RETRY_DELAY_S
from sim.engine.pools import POOL_RESIZE_DELAY_S
from sim.model.spec import ACTION_NAMES, BreakerSpec, CallStep, Fault, FeatureFlag

SEED = 5


def _deploy_model(**fault):
    """The api slows 20x from 0.5 s on, caused by deploy "api v2" (rollback after 1 s here)."""
    spec = with_faults(api_model(60, latency=const(0.02), workers=4, concurrency=8),
                       Fault(at_s=0.5, target="api", kind="slow", factor=20.0, **fault))
    return attrs.evolve(spec, action_delays=(("deploy.rollback", 1.0),))


def test_every_action_has_a_delay():
    assert set(ACTION_DELAYS_S) == set(ACTION_NAMES)
    assert ACTION_DELAYS_S["deploy.rollback"] > ACTION_DELAYS_S["flag.set"] > 0
    # Only the actions whose own physics is the delay (warm-up, restart) take hold at once.
    assert {n for n, s in ACTION_DELAYS_S.items() if s == 0} == {"workers.scale", "worker.restart"}


# ---------------------------------------------------------------- deploy.rollback


def test_rollback_ends_the_deploys_fault_after_the_rollout():
    base = run(_deploy_model(deploy="api v2"), 5, seed=SEED)
    sim = run(_deploy_model(deploy="api v2"), 5, seed=SEED, actions=[act(1.5, "deploy.rollback")])
    assert [e.message for e in events_of(sim, "deploy")] == ["deploy api v2 rolled out"]
    pending = [e for e in events_of(sim, "action_pending") if e.subject == "deploy.rollback"]
    assert pending[0].t_s == 1.5 and "takes effect in ~1 s" in pending[0].message
    done = [e for e in events_of(sim, "action_applied") if e.subject == "deploy.rollback"]
    assert [e.t_s for e in done] == [2.5] and "previous version is serving" in done[0].message
    assert [e.t_s for e in events_of(sim, "fault_end")] == [2.5]
    # While it rolls out nothing changes; once out, calls are fast again.
    assert mean_latency_ms(sim, 0.6, 2.5) == mean_latency_ms(base, 0.6, 2.5)
    assert mean_latency_ms(sim, 3.5, 5) < 0.2 * mean_latency_ms(base, 3.5, 5)


@pytest.mark.parametrize("fault, at, words", [
    ({}, 1.5, "no deploy is involved in this incident"),
    ({"deploy": "api v2"}, 0.2, "no deploy has gone out"),
])
def test_rollback_is_refused_with_a_reason(fault, at, words):
    sim = run(_deploy_model(**fault), 2, seed=SEED, actions=[act(at, "deploy.rollback")])
    refused = events_of(sim, "action_refused")
    assert len(refused) == 1 and words in refused[0].message
    assert events_of(sim, "action_pending") == []


def test_a_second_rollback_while_one_rolls_out_is_refused():
    sim = run(_deploy_model(deploy="api v2"), 3, seed=SEED,
              actions=[act(1.0, "deploy.rollback"), act(1.5, "deploy.rollback")])
    refused = events_of(sim, "action_refused")
    assert len(refused) == 1 and "already rolling out" in refused[0].message


# ---------------------------------------------------------------- flag.set


def _flag_model():
    spec = api_model(60, latency=const(0.2), workers=4, concurrency=8)
    web = spec.classes[0]
    plan = (web.plan[0], attrs.evolve(web.plan[1], feature="recs"))
    return instant(attrs.evolve(spec, classes=(attrs.evolve(web, plan=plan),),
                                flags=(FeatureFlag("recs", cost=0.1),)))


def test_flag_off_skips_the_feature_and_degrades_its_answers():
    base = run(_flag_model(), 3, seed=SEED)
    sim = run(_flag_model(), 3, seed=SEED, actions=[act(1, "flag.set", flag="recs", enabled=False),
                                                   act(2, "flag.set", flag="recs", enabled=True)])
    assert window(sim, "dep_active", 1.3, 2)[:, 0].max() == 0
    # Calls already under way (0.2 s) still finish with full answers.
    assert window(sim, "degraded", 1.25, 2).sum() == window(sim, "completed", 1.25, 2).sum() > 30
    assert mean_latency_ms(sim, 1.25, 2) < 0.2 * mean_latency_ms(base, 1.25, 2)
    # Back on: the calls and full answers come back.
    assert window(sim, "degraded", 2.05, 3).sum() < window(sim, "completed", 2.05, 3).sum() / 5
    assert window(sim, "degraded", 2.5, 3).sum() == 0
    assert window(sim, "dep_active", 2.3, 3)[:, 0].max() > 0


@pytest.mark.parametrize("args, words", [
    ({"flag": "nope", "enabled": False}, "unknown feature flag 'nope' (known: recs)"),
    ({"flag": "recs", "enabled": "off"}, "enabled must be true or false"),
    ({}, "needs flag"),
])
def test_flag_set_refusals(args, words):
    sim = run(_flag_model(), 1.5, seed=SEED, actions=[act(1, "flag.set", **args)])
    assert words in events_of(sim, "action_refused")[0].message
    assert window(sim, "degraded", 0, 1.5).sum() == 0


def test_flag_set_is_refused_where_there_is_no_flag():
    sim = run(cpu_model(20), 1.5, seed=SEED, actions=[act(1, "flag.set", flag="x", enabled=False)])
    assert "this service has no feature flags" in events_of(sim, "action_refused")[0].message


# ---------------------------------------------------------------- cache.coalesce, cache.serve_stale


def _stampede(**cache):
    """A cold cache ("pages" flushed at 0.5 s) in front of a 2-connection pool: the misses swamp it."""
    spec = cache_model(200, hit_ratio=0.95, warm_requests=1e6, pool_size=2)
    pages = attrs.evolve(spec.caches[0], **cache)
    spec = attrs.evolve(spec, caches=(pages,))
    return instant(with_faults(spec, Fault(at_s=0.5, target="pages", kind="cache_flush", hit_ratio=0.0)))


def test_coalescing_sends_one_fetch_per_key_and_drains_the_pool():
    spec = _stampede(duplicate_misses=0.8)
    base = run(spec, 4, seed=SEED)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "cache.coalesce", cache="pages")])
    # Without it every slot waits on the pool and the queue grows; with it the pool keeps up.
    assert window(base, "pool_waiters", 3, 4)[:, 0].mean() > 5
    assert window(base, "queue_depth", 3, 4).mean() > 100
    assert window(sim, "pool_waiters", 3, 4)[:, 0].mean() < 1
    assert window(sim, "queue_depth", 3, 4).mean() < 5
    assert mean_latency_ms(sim, 3, 4) < 0.1 * mean_latency_ms(base, 3, 4)
    # Coalesced answers are the real thing, not degraded.
    assert window(sim, "degraded", 1, 4).sum() == 0


def test_serve_stale_answers_misses_with_stale_copies_at_a_price():
    spec = _stampede(stale_ratio=0.7, stale_cost=0.05)
    base = run(spec, 4, seed=SEED)
    sim = run(spec, 4, seed=SEED, actions=[act(1, "cache.serve_stale", cache="pages")])
    share = window(sim, "degraded", 1.5, 4).sum() / window(sim, "completed", 1.5, 4).sum()
    assert 0.5 < share < 0.9
    assert mean_latency_ms(sim, 3, 4) < 0.5 * mean_latency_ms(base, 3, 4)


@pytest.mark.parametrize("name, args, words", [
    ("cache.serve_stale", {"cache": "pages"}, "holds no stale copies"),
    ("cache.coalesce", {"cache": "page"}, "unknown cache 'page' (known: pages)"),
    ("cache.coalesce", {"cache": "pages", "enabled": 1}, "enabled must be true or false"),
])
def test_cache_actions_refusals(name, args, words):
    sim = run(_stampede(), 1.5, seed=SEED, actions=[act(1, name, **args)])
    assert words in events_of(sim, "action_refused")[0].message


def test_cache_actions_are_refused_without_a_cache():
    sim = run(cpu_model(20), 1.5, seed=SEED, actions=[act(1, "cache.coalesce", cache="x")])
    assert "this service has no cache" in events_of(sim, "action_refused")[0].message


# ---------------------------------------------------------------- delays


def test_a_delayed_action_is_checked_at_once_and_lands_after_its_delay():
    spec = attrs.evolve(cpu_model(100), action_delays=(("shed.set", 2.0),))
    sim = run(spec, 4, seed=SEED, actions=[act(1, "shed.set", fraction=0.5), act(1, "shed.set", fraction=2)])
    assert [e.t_s for e in events_of(sim, "action_refused")] == [1.0]
    assert [e.t_s for e in events_of(sim, "action_pending")] == [1.0]
    assert [e.t_s for e in events_of(sim, "action_applied")] == [3.0]
    assert window(sim, "rejected_shed", 1, 3).sum() == 0
    assert window(sim, "rejected_shed", 3.05, 4).sum() > 20


def test_client_retries_take_a_client_config_release():
    spec = api_model(50, latency=const(0.02), error_rate=0.5, workers=4)
    sim = run(spec, 2, seed=SEED, actions=[act(1, "retry.set", cls="web", retries=2)])
    pending = events_of(sim, "action_pending")
    assert f"takes effect in ~{CLIENT_RETRY_DELAY_S:g} s" in pending[0].message
    assert window(sim, "retry_arrivals", 0, 2).sum() == 0
    assert sim.pending_actions.waiting()[0][0] == 1 + CLIENT_RETRY_DELAY_S


def test_a_fork_carries_the_actions_on_their_way():
    spec = attrs.evolve(cpu_model(100), action_delays=(("shed.set", 1.0),))
    sim = run(spec, 1.5, seed=SEED, actions=[act(1, "shed.set", fraction=0.5)])
    fork = sim.fork()
    fork.run_until(3)
    sim.run_until(3)
    assert fork.digest() == sim.digest()
    assert window(fork, "rejected_shed", 2.05, 3).sum() > 20


# ---------------------------------------------------------------- the older actions' delays
# The factory's models take the older actions at once (their physics tests); here the
# table's delays (`action_delays=()`) hold them for a config push, a breaker override or a
# load-balancer rule.


def _table(spec):
    return attrs.evolve(spec, action_delays=())


_BREAKER = BreakerSpec(window_s=1.0, failure_threshold=0.5, min_calls=10, open_s=1.0, half_open_probes=3)
OLDER = [
    ("pool.resize", db_model(), {"pool": "main", "size": 8}),
    ("bulkhead.set", db_model(), {"cls": "search", "pool": "main", "size": 2}),
    ("breaker.force_open", api_model(20, breaker=_BREAKER), {"dependency": "api"}),
    ("breaker.force_close", api_model(20, breaker=_BREAKER), {"dependency": "api"}),
    ("breaker.auto", api_model(20, breaker=_BREAKER), {"dependency": "api"}),
    ("shed.set", cpu_model(20), {"fraction": 0.5}),
    ("queue.set_limit", cpu_model(20), {"limit": 10}),
    ("timeout.set", api_model(20), {"dependency": "api", "timeout_s": 0.1}),
    ("retry.set", api_model(20), {"dependency": "api", "retries": 1}),
    ("fallback.set", api_model(20), {"dependency": "api", "enabled": True}),
]


@pytest.mark.parametrize("name, spec, args", OLDER, ids=[o[0] for o in OLDER])
def test_an_older_action_is_pending_for_its_delay(name, spec, args):
    delay = ACTION_DELAYS_S[name]
    assert delay >= 5
    sim = run(_table(spec), 1 + delay + 0.5, seed=SEED, actions=[act(1, name, **args)])
    pending = [e for e in events_of(sim, "action_pending") if e.subject == name]
    assert [e.t_s for e in pending] == [1.0] and f"takes effect in ~{delay:g} s" in pending[0].message
    assert [e.t_s for e in events_of(sim, "action_applied") if e.subject == name] == [1 + delay]


def test_a_timeout_push_cuts_calls_only_once_it_lands():
    spec = _table(api_model(40, latency=const(0.5), workers=8))
    sim = run(spec, 14, seed=SEED, actions=[act(1, "timeout.set", dependency="api", timeout_s=0.1)])
    lands = 1 + ACTION_DELAYS_S["timeout.set"]
    assert window(sim, "failed_dependency", 0, lands).sum() == 0
    assert window(sim, "failed_dependency", lands + 0.2, 14).sum() > 50


def test_a_breaker_override_opens_it_only_once_it_lands():
    spec = _table(api_model(50, latency=const(0.1), breaker=_BREAKER, workers=4))
    sim = run(spec, 8, seed=SEED, actions=[act(1, "breaker.force_open", dependency="api")])
    lands = 1 + ACTION_DELAYS_S["breaker.force_open"]
    assert window(sim, "failed_breaker", 0, lands).sum() == 0
    assert set(window(sim, "breaker_state", 0, lands)[:, 0]) == {0}
    assert window(sim, "failed_breaker", lands, 8).sum() > 50


def test_a_shed_rule_rejects_only_once_it_lands():
    sim = run(_table(cpu_model(100)), 8, seed=SEED, actions=[act(1, "shed.set", fraction=0.5)])
    lands = 1 + ACTION_DELAYS_S["shed.set"]
    assert window(sim, "rejected_shed", 0, lands).sum() == 0
    assert window(sim, "rejected_shed", lands, 8).sum() > 50


def test_a_pool_resize_is_a_push_then_new_connections():
    spec = _table(db_model(search_rps=40, ingest_rps=40, pool_size=2, workers=8, concurrency=8,
                           acquire_timeout_s=0.5))
    sim = run(spec, 16, seed=SEED, actions=[act(1, "pool.resize", pool="main", size=8)])
    opened = 1 + ACTION_DELAYS_S["pool.resize"] + POOL_RESIZE_DELAY_S
    size = sim.history.series("pool_size")[:, 0]
    t = sim.history.series("t_s")
    assert set(size[t <= opened + 1e-9]) == {2}
    assert set(size[t > opened + 1e-9]) == {8}
