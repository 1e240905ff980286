"""Client retries: a failed or rejected attempt comes back as a new arrival after its backoff."""

from __future__ import annotations

import numpy as np

from sim.engine.codes import INF, any_set
from sim.model.spec import RetryPolicy


class ClientRetries:
    """Each class's client retry policy, and the retries scheduled but not yet arrived."""

    def __init__(self, policies, rng: np.random.Generator):
        self._rng_retry = rng
        self._set_retry_table(policies)
        self._retry_t = np.empty(0)
        self._retry_cls = np.empty(0, dtype=np.int64)
        self._retry_att = np.empty(0, dtype=np.int64)
        self._retry_new: list = []
        """Retries scheduled since the last admission, (times, classes, attempts) in order:
        folded into the arrays once per tick, not concatenated on every failure."""

    def policy(self, ci: int) -> RetryPolicy:
        """The retry policy clients of class ci follow now."""
        return self._client_retry[ci]

    def set_policy(self, ci: int, policy: RetryPolicy) -> None:
        """Clients of class ci retry by `policy` from now on."""
        policies = list(self._client_retry)
        policies[ci] = policy
        self._set_retry_table(policies)

    def _set_retry_table(self, policies) -> None:
        self._client_retry = list(policies)
        self._retry_table = (
            np.array([p.retries for p in policies], dtype=np.int64),
            np.array([p.backoff_s for p in policies], dtype=float),
            np.array([p.multiplier for p in policies], dtype=float),
            np.array([p.jitter for p in policies], dtype=float),
        )

    @property
    def attempts_left(self) -> np.ndarray:
        """By class: how many retries a client makes after its first attempt."""
        return self._retry_table[0]

    def retry_gaps(self, c: np.ndarray, a: np.ndarray) -> np.ndarray:
        """For attempts `a` of classes `c` that fail: the least time until the client's retry
        arrives (its backoff at the most jitter), inf where the client does not retry."""
        retries, base, mult, jitter = self._retry_table
        gap = base[c] * mult[c] ** a * (1.0 - jitter[c])
        return np.where(a < retries[c], gap, INF)

    def schedule(self, t: np.ndarray, c: np.ndarray, a: np.ndarray) -> None:
        """A failed or rejected attempt comes back as a new arrival after its backoff,
        at its own time (inside this tick too: the tick admits it before it ends)."""
        policy = self._retry_table
        go = a < policy[0][c]
        if not any_set(go):
            return
        t, c, a = t[go], c[go], a[go]
        base, mult, jitter = policy[1][c], policy[2][c], policy[3][c]
        wait = base * mult ** a
        if any_set(jitter):
            wait = wait * (1.0 - jitter * self._rng_retry.random(t.size))
        self._retry_new.append((t + wait, c, a + 1))

    def due_before(self, t1: float) -> bool:
        """Whether a retry scheduled since the last `take_due` falls due before t1."""
        return any(any_set(times < t1) for times, _, _ in self._retry_new)

    def earliest(self, not_before: float) -> float:
        """When the first retry not yet arrived arrives (not before `not_before`; inf if none)."""
        times = [float(x[0].min()) for x in self._retry_new if x[0].size]
        if self._retry_t.size:
            times.append(float(self._retry_t.min()))
        return max(min(times), not_before) if times else INF

    def take_due(self, t1: float, not_before: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The retries that arrive before t1 (times, classes, attempts), no longer pending.

        One due before `not_before` (the point up to which this tick's queue decisions
        are taken) arrives then: it cannot change them.
        """
        if self._retry_new:
            new, self._retry_new = self._retry_new, []
            self._retry_t = np.concatenate((self._retry_t, *(x[0] for x in new)))
            self._retry_cls = np.concatenate((self._retry_cls, *(x[1] for x in new)))
            self._retry_att = np.concatenate((self._retry_att, *(x[2] for x in new)))
        when = np.maximum(self._retry_t, not_before)
        due = when < t1
        if not any_set(due):
            return None
        taken = when[due], self._retry_cls[due], self._retry_att[due]
        keep = ~due
        self._retry_t, self._retry_cls, self._retry_att = self._retry_t[keep], self._retry_cls[keep], self._retry_att[keep]
        return taken
