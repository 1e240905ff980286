"""The pool hand-out: the vectorised pairing must equal the plain one-by-one walk.

`scan_grants` pairs the k-th waiter with the k-th free connection in one step and
walks one by one only past a waiter whose acquire timeout runs out first. The
walk below is its specification: waiters in FCFS order, each gets the next free
connection at max(its wait start, the connection's free time, the tick start),
unless that is past its patience (it is passed over) or past the tick's end (stop).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.pools import scan_grants


def _walk(wait_all, order, free, patience, t0, t1):
    take, start = [], []
    fi = 0
    for i in order.tolist():
        if fi >= len(free):
            return take, start, True
        s = max(wait_all[i], free[fi], t0)
        if s >= t1:
            return take, start, True
        if s > wait_all[i] + patience:
            continue
        take.append(i)
        start.append(s)
        fi += 1
    return take, start, fi >= len(free)


times = st.floats(min_value=0.0, max_value=2.0, allow_nan=False).map(lambda x: round(x, 3))


@settings(max_examples=400, deadline=None)
@given(
    waits=st.lists(times, min_size=1, max_size=40),
    free=st.lists(st.one_of(times, st.just(-math.inf)), min_size=1, max_size=30),
    patience=st.one_of(st.just(math.inf), st.floats(min_value=0.0, max_value=1.0, allow_nan=False)),
    t0=st.sampled_from([0.0, 0.5, 1.0]),
    dt=st.sampled_from([0.05, 0.25, 1.0]),
)
def test_vectorised_grants_equal_the_one_by_one_walk(waits, free, patience, t0, dt):
    wait_all = np.array(waits)
    order = np.argsort(wait_all, kind="stable")
    free = sorted(free)
    expected = _walk(wait_all, order, free, patience, t0, t0 + dt)
    take, start, complete = scan_grants(wait_all, order, free, patience, t0, t0 + dt)
    assert (take, start, complete) == expected


def test_a_timed_out_waiter_is_passed_over_and_the_next_one_gets_the_connection():
    # 0.2 s patience: waiter 0 (since 0.0) gives up before the first connection frees at 0.3.
    wait_all = np.array([0.0, 0.25, 0.26])
    order = np.arange(3)
    take, start, complete = scan_grants(wait_all, order, [0.3, 0.4], 0.2, 0.2, 0.45)
    assert take == [1, 2]
    assert start == [0.3, 0.4]
    assert complete is True
