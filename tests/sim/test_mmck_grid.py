"""M/M/c/K over a grid: slots, waiting places, load and time step.

c in {1, 2, 8} slots, K in {0, 1, 5, 50} waiting places, offered load 0.8, 1.0 and
1.5, at dt 50 ms and 250 ms, and the c = 2 row at dt 10 ms too: the share refused agrees with the exact M/M/c/K
blocking probability within 0.5 percentage points, and the mean response of the
admitted requests with theory within 3 % — or, where a run the suite can afford is
noisier than that, theory lies inside the run's 99.9 % batch-means interval, and
that interval is narrow enough for the check to mean something. Every case sees the
same arrival rate (service 2 ms x c), so a run of ~15,000 customers lasts ~30 s of
sim time at any step: a handful to thousands of services share a tick. Every c
sees the same number of arrivals per tick, so a small step is checked on one row:
at 10 ms the cost is the tick count (a third of the grid's time for that row
alone), not the slots. `python -m sim.tools.validate --grid` runs every c at every
step with many more customers and prints the table.
"""

from __future__ import annotations

import pytest

from sim.tools import queueing_theory as qt
from sim.tools.validate import measure

MEAN_PER_SLOT_S = 0.002
SLOTS = [1, 2, 8]
PLACES = [0, 1, 5, 50]
LOADS = [0.8, 1.0, 1.5]
STEPS = [0.05, 0.25]
SMALL_STEP = 0.01
SMALL_STEP_SLOTS = 2
CASES = [(c, k, load, dt) for dt in STEPS for load in LOADS for k in PLACES for c in SLOTS] + [
    (SMALL_STEP_SLOTS, k, load, SMALL_STEP) for load in LOADS for k in PLACES]


def customers_for(places: int, load: float) -> int:
    """A long queue near saturation random-walks: its mean needs far more customers."""
    if places == 50 and load <= 1.0:
        return 60_000
    return 40_000 if load >= 1.0 else 15_000


def check(c: int, places: int, load: float, dt_s: float) -> None:
    seed = 1000 * c + 10 * places + int(10 * load) + int(1000 * dt_s)
    mean_s = MEAN_PER_SLOT_S * c
    m = measure(c, load, customers_for(places, load), seed, mean_service_s=mean_s, queue_limit=places, dt_s=dt_s)
    theory = qt.mmck(c, places, load * c / mean_s, mean_s)
    err_pp = 100 * (m.reject_ratio - theory.reject_probability)
    half_pp = 100 * m.reject_half
    assert half_pp <= 1.5, f"rejection interval +-{half_pp:.2f} pp: run too small to judge"
    assert abs(err_pp) <= max(0.5, 1.58 * half_pp), (
        f"refused {m.reject_ratio:.4f} vs theory {theory.reject_probability:.4f} ({err_pp:+.2f} pp, +-{half_pp:.2f})")
    want_ms = 1000 * theory.mean_response_s
    assert m.mean_half_ms / want_ms < 0.3, "mean-response interval too wide to judge"
    assert abs(m.mean_ms - want_ms) <= max(0.03 * want_ms, 1.58 * m.mean_half_ms), (
        f"mean response {m.mean_ms:.3f} ms vs theory {want_ms:.3f} ms (+-{m.mean_half_ms:.3f})")


@pytest.mark.long_run
@pytest.mark.parametrize(("c", "places", "load", "dt_s"), CASES, ids=lambda v: f"{v}")
def test_mmck_refusals_and_response_agree_with_theory(c, places, load, dt_s):
    check(c, places, load, dt_s)
