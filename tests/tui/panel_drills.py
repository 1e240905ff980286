"""Python-built drills that show the dependencies panel on each kind of dependency (snapshots, tests).

Built from `drill_factory.slow_llm_drill` so they stay small and do not follow the
tuning of the shipped drills: a slow database, a failing auth service, a slow LLM
behind a breaker, and a flushed cache in front of the database.
"""

from __future__ import annotations

import attrs
from drill_factory import slow_llm_drill

from sim.model.spec import CacheSpec, CacheStep, CallStep, CpuStep, DbStep, Dependency, Distribution, Fault


def database_drill():
    drill = slow_llm_drill()
    model = attrs.evolve(drill.model, faults=(Fault(at_s=10.0, target="db", kind="slow", factor=40.0),))
    return attrs.evolve(drill, id="panel-database", title="Panel: the database slows down", model=model)


def auth_drill():
    drill = slow_llm_drill()
    model = drill.model
    ask = model.classes[0]
    plan = (CpuStep(Distribution.exponential(0.005)), CallStep(dependency="auth", timeout_s=0.5, retries=2),
            DbStep(pool="main", queries=1))
    auth = Dependency(name="auth", kind="service", latency=Distribution.lognormal(0.015, 0.06), authenticates=True)
    model = attrs.evolve(
        model, classes=(attrs.evolve(ask, plan=plan),),
        dependencies=(model.dependencies[0], auth),
        faults=(Fault(at_s=10.0, target="auth", kind="errors", rate=0.5),),
    )
    return attrs.evolve(drill, id="panel-auth", title="Panel: auth starts failing", model=model, par=(), hints=())


def llm_drill():
    return attrs.evolve(slow_llm_drill(), id="panel-llm", title="Panel: the LLM slows down")


def cache_drill():
    drill = slow_llm_drill()
    model = drill.model
    ask = model.classes[0]
    plan = (CpuStep(Distribution.exponential(0.002)), CacheStep(cache="results"), DbStep(pool="main", queries=2))
    model = attrs.evolve(
        model, classes=(attrs.evolve(ask, plan=plan),),
        dependencies=(model.dependencies[0],),
        caches=(CacheSpec(name="results", hit_ratio=0.9, warm_requests=400.0),),
        faults=(Fault(at_s=10.0, target="results", kind="cache_flush", hit_ratio=0.0),),
    )
    return attrs.evolve(drill, id="panel-cache", title="Panel: the cache is flushed", model=model, par=(), hints=())
