"""Closed-form M/M/c and M/M/c/K results (Erlang C, Erlang B family).

Pure math, independent of the engine: the validation command and the tests
compare the engine against these.
"""

from __future__ import annotations

import math

import attrs


@attrs.frozen
class QueueTheory:
    """Steady-state figures of a multi-server queue. Times in seconds."""

    mean_response_s: float
    p95_response_s: float
    wait_probability: float
    reject_probability: float
    mean_in_system: float


def _term(a: float, n: int) -> float:
    return math.exp(n * math.log(a) - math.lgamma(n + 1)) if a > 0 else float(n == 0)


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in M/M/c with offered load a = lambda/mu (a < c)."""
    top = _term(a, c) * c / (c - a)
    return top / (sum(_term(a, k) for k in range(c)) + top)


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (recursive form, numerically stable)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def _quantile(survival, q: float, hi: float) -> float:
    lo = 0.0
    while survival(hi) > 1 - q:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if survival(mid) > 1 - q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mmc(c: int, arrival_rps: float, mean_service_s: float) -> QueueTheory:
    """M/M/c with an unbounded FCFS queue."""
    mu = 1.0 / mean_service_s
    a = arrival_rps / mu
    if a >= c:
        raise ValueError(f"unstable: offered load {a:g} >= {c} servers")
    pw = erlang_c(c, a)
    theta = c * mu - arrival_rps
    mean = pw / theta + 1.0 / mu

    def survival(t: float) -> float:
        # Response = wait + service; the wait is 0 w.p. 1 - pw, else Exp(theta).
        service_only = math.exp(-mu * t)
        if abs(theta - mu) < 1e-12 * mu:
            both = math.exp(-mu * t) * (1 + mu * t)
        else:
            both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - pw) * service_only + pw * both

    return QueueTheory(
        mean_response_s=mean,
        p95_response_s=_quantile(survival, 0.95, 10 * mean),
        wait_probability=pw,
        reject_probability=0.0,
        mean_in_system=arrival_rps * mean,
    )


def mmck(c: int, queue_limit: int, arrival_rps: float, mean_service_s: float) -> QueueTheory:
    """M/M/c/K with K = c + queue_limit places; arrivals finding it full are rejected."""
    mu = 1.0 / mean_service_s
    a = arrival_rps / mu
    k_max = c + queue_limit
    weights = [_term(a, n) if n <= c else _term(a, c) * (a / c) ** (n - c) for n in range(k_max + 1)]
    total = sum(weights)
    p = [w / total for w in weights]
    blocked = p[k_max]
    in_system = sum(n * pn for n, pn in enumerate(p))
    admitted_rps = arrival_rps * (1 - blocked)
    mean = in_system / admitted_rps

    def survival(t: float) -> float:
        # An admitted arrival that finds n in system waits for n - c + 1 completions
        # at rate c*mu (Erlang distributed) before its own exponential service.
        s = 0.0
        norm = 1 - blocked
        for n in range(k_max):
            pn = p[n] / norm
            if n < c:
                s += pn * math.exp(-mu * t)
            else:
                s += pn * _erlang_plus_exp_survival(n - c + 1, c * mu, mu, t)
        return s

    return QueueTheory(
        mean_response_s=mean,
        p95_response_s=_quantile(survival, 0.95, 10 * mean),
        wait_probability=sum(p[c:k_max]) / (1 - blocked),
        reject_probability=blocked,
        mean_in_system=in_system,
    )


def _erlang_plus_exp_survival(k: int, rate: float, mu: float, t: float, steps: int = 400) -> float:
    """P(Erlang(k, rate) + Exp(mu) > t) by numerical integration over the Erlang part."""
    # P(E + X > t) = P(E > t) + integral_0^t f_E(x) exp(-mu (t - x)) dx
    tail = sum(math.exp(-rate * t + j * math.log(rate * t) - math.lgamma(j + 1)) for j in range(k)) if t > 0 else 1.0
    if t <= 0:
        return 1.0
    h = t / steps
    acc = 0.0
    for i in range(steps + 1):
        x = i * h
        if x == 0:
            dens = rate if k == 1 else 0.0
        else:
            dens = math.exp(k * math.log(rate) + (k - 1) * math.log(x) - rate * x - math.lgamma(k))
        w = 0.5 if i in (0, steps) else 1.0
        acc += w * dens * math.exp(-mu * (t - x))
    return tail + acc * h
