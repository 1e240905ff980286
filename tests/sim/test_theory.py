"""The engine against queueing theory: Erlang C (M/M/c), M/M/c/K blocking, Little's law.

Expected values come from closed-form formulas (sim.tools.queueing_theory, itself
checked here against textbook values), never from the engine. Each case runs a
fixed seed with 20 batches: the engine must be within 3 % of theory, or — near
saturation, where a run the suite can afford is noisier than 3 % — theory must
lie inside the run's 99.9 % batch-means confidence interval, and that interval
must be narrow enough for the check to mean something. `python -m sim.tools.validate`
shows the 3 % agreement with millions of customers.
"""

import math

import attrs

import pytest

from sim.tools import queueing_theory as qt
from sim.tools.validate import measure

MEAN_S = 0.001


def test_formulas_match_textbook_values():
    assert qt.erlang_b(1, 1.0) == pytest.approx(0.5)
    assert qt.erlang_b(2, 1.0) == pytest.approx(0.2)
    assert qt.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: response time is exponential with rate mu - lambda.
    m = qt.mmc(1, 800.0, MEAN_S)
    assert m.mean_response_s == pytest.approx(MEAN_S / 0.2)
    assert m.p95_response_s == pytest.approx(-math.log(0.05) * MEAN_S / 0.2, rel=1e-6)
    # M/M/1/K blocking: (1 - rho) rho^K / (1 - rho^(K+1)).
    rho, k = 0.9, 5
    assert qt.mmck(1, k - 1, rho / MEAN_S, MEAN_S).reject_probability == pytest.approx(
        (1 - rho) * rho**k / (1 - rho ** (k + 1)))
    # M/M/c/c is Erlang B.
    assert qt.mmck(4, 0, 3000.0, MEAN_S).reject_probability == pytest.approx(qt.erlang_b(4, 3.0))


def _agrees(got: float, half: float, want: float) -> None:
    assert half / want < 0.15, "run too small for the check to mean anything"
    tolerance = max(0.03 * want, 1.58 * half)  # 95 % -> 99.9 % interval: x 3.29 / 2.09
    assert abs(got - want) <= tolerance, f"engine {got:.4g} vs theory {want:.4g} (tolerance {tolerance:.3g})"


# Customers per case: near saturation a single queue needs far more of them for a
# confidence interval narrow enough to test (README, "The simulator": `sim.tools.validate`).
CUSTOMERS = {0.5: 60_000, 0.8: 60_000, 0.9: 250_000, 0.95: 300_000}


@pytest.mark.parametrize("c", [1, 4, 20])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9, 0.95])
def test_mmc_agrees_with_erlang_c(c, rho):
    # One server gets a 0.1 ms service (hundreds of services inside each 50 ms tick,
    # which also exercises in-tick exactness) so it can afford the customers it needs.
    mean_s = 0.0001 if c == 1 else MEAN_S
    customers = CUSTOMERS[rho] * (4 if c == 1 and rho > 0.8 else 1)
    m = measure(c, rho, customers, seed=100 + c, mean_service_s=mean_s)
    theory = qt.mmc(c, rho * c / mean_s, mean_s)
    _agrees(m.mean_ms, m.mean_half_ms, 1000 * theory.mean_response_s)
    _agrees(m.p95_ms, m.p95_half_ms, 1000 * theory.p95_response_s)
    if c > 1:
        # Little's law L = lambda W, with L sampled at every tick end (the one-server
        # runs above last too few ticks for that sample to be precise).
        _agrees(m.little_ms, m.little_half_ms, m.mean_ms)


@pytest.mark.parametrize("c", [1, 4, 20])
@pytest.mark.parametrize("rho", [0.8, 1.2])
def test_mmck_rejection_ratio_agrees_with_theory(c, rho):
    m = measure(c, rho, 80_000, seed=7, mean_service_s=MEAN_S, queue_limit=c)
    theory = qt.mmck(c, c, rho * c / MEAN_S, MEAN_S)
    assert abs(m.reject_ratio - theory.reject_probability) <= 0.005
    _agrees(m.mean_ms, m.mean_half_ms, 1000 * theory.mean_response_s)
    _agrees(m.little_ms, m.little_half_ms, m.mean_ms)


@pytest.mark.parametrize(("mean_service_s", "customers"), [(0.002, 40_000), (0.05, 20_000), (0.2, 16_000)])
def test_statistics_do_not_depend_on_the_time_step(mean_service_s, customers):
    """Exact in-tick times: service far shorter than, equal to and longer than dt."""
    c, rho = 20, 0.8
    theory = qt.mmc(c, rho * c / mean_service_s, mean_service_s)
    m = measure(c, rho, customers, seed=3, mean_service_s=mean_service_s)
    _agrees(m.mean_ms, m.mean_half_ms, 1000 * theory.mean_response_s)
    _agrees(m.p95_ms, m.p95_half_ms, 1000 * theory.p95_response_s)


def test_littles_law_holds_on_a_full_request_plan():
    """Cache, DB pool and an LLM call, no faults: L (time-average in flight) = lambda W."""
    from sim.tools.bench import reference_model
    from sim.engine.simulation import Simulation

    model = attrs.evolve(reference_model(rate_rps=400), faults=())
    sim = Simulation(model, 21)
    sim.run_until(10.0)
    start = sim.result()
    sim.run_until(310.0)
    end = sim.result()
    in_flight = sim.history.series("in_flight")[-6000:]
    done = end.completed - start.completed
    assert end.failed_total == start.failed_total, "the check needs a run without failures"
    mean_s = (end.latency_mean_ms * end.completed - start.latency_mean_ms * start.completed) / 1000 / done
    throughput = done / 300.0
    batches = in_flight.reshape(20, -1).mean(axis=1)
    half = 2.093 * batches.std(ddof=1) / math.sqrt(20) / throughput
    assert abs(in_flight.mean() / throughput - mean_s) <= max(0.03 * mean_s, 1.58 * half)


def test_validation_verdict_separates_agreement_noise_and_disagreement():
    from sim.tools.validate import AGREEMENT, Figure, verdict

    agree = Figure("c=1 rho=0.5 mean", 0.0017, 0.0042, AGREEMENT)
    noisy = Figure("c=4 rho=0.95 p95", 0.0845, 0.1043, AGREEMENT)  # off by 8 %, but its interval is 10 %
    wrong = Figure("c=20 rho=0.9 mean", -0.05, 0.009, AGREEMENT)
    rejection = Figure("c=20 rho=1.2 rejection", 0.295, 0.0, 0.5, in_pp=True)
    lines, ok = verdict([agree, noisy, rejection])
    assert ok and lines[0].startswith("2 of 3 figures agree")
    assert "c=4 rho=0.95 p95 +8.45% +-10.43%" in lines[1] and lines[-1].endswith("none.")
    lines, ok = verdict([agree, noisy, wrong, attrs.evolve(rejection, error=0.7)])
    assert not ok
    assert lines[-1] == ("Disagreeing beyond tolerance and noise: c=20 rho=0.9 mean -5.00% +-0.90%; "
                         "c=20 rho=1.2 rejection +0.700 pp +-0.000.")
    # Noise means twice the 95 % half-width: 5 % off with +-2.6 % is still "not yet judged".
    _, ok = verdict([attrs.evolve(wrong, half=0.026)])
    assert ok
