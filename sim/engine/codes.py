"""The engine's shared codes: request phases, failure reasons, worker and breaker states.

Every component stores these small integers in its arrays; they are the one
vocabulary the components share, so they live apart from all of them.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.observe import BREAKER_CLOSED, BREAKER_HALF_OPEN, BREAKER_OPEN

# Request phases.
FREE, QUEUED, RUNNING, POOL_WAIT, QUERY = 0, 1, 2, 3, 4
# What happens when a running segment ends.
END_CONTINUE, END_FAIL = 0, 1
# Failure reasons, as indices into FAIL_REASONS.
R_TIMEOUT, R_DEPENDENCY, R_BREAKER, R_OOM, R_POOL_TIMEOUT, R_WORKER_LOST = range(6)
# Rejection reasons, as indices into REJECT_REASONS.
J_RATELIMIT, J_SHED, J_QUEUE_FULL = range(3)
# Worker states.
W_OFF, W_WARMING, W_UP, W_DOWN, W_DRAINING = 0, 1, 2, 3, 4
# Breaker codes as stored in history.
B_CLOSED, B_OPEN, B_HALF = 0, 1, 2
BREAKER_NAMES = {B_CLOSED: BREAKER_CLOSED, B_OPEN: BREAKER_OPEN, B_HALF: BREAKER_HALF_OPEN}
# Forced breaker modes (operator kill switches).
FORCE_NONE, FORCE_OPEN, FORCE_CLOSED = 0, 1, 2

INF = math.inf

any_set = np.count_nonzero
"""Truthy iff any element is set: a third of the cost of ndarray.any() on the small arrays of a tick."""


def count(mask: np.ndarray) -> int:
    """How many elements are set, as a Python int (numpy's int64 must not leak into gauges or JSON)."""
    return int(np.count_nonzero(mask))
