"""The dependency panel's statistics (`sim.engine.call_stats`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.call_stats import KEEP_LATENCIES, percentile_95


@pytest.mark.parametrize("count", [1, 2, 3, 19, 20, 21, 39, 40, 41, 100, 101, 997, KEEP_LATENCIES - 1, KEEP_LATENCIES])
@pytest.mark.parametrize("kind", ["lognormal", "ties", "constant", "uniform"])
def test_percentile_95_is_numpys_bit_for_bit(count, kind):
    rng = np.random.default_rng(count)
    for _ in range(20):
        values = {
            "lognormal": rng.lognormal(-3.0, 1.5, count),
            "ties": rng.integers(0, 4, count) * 0.05,
            "constant": np.full(count, 0.012),
            "uniform": rng.random(count),
        }[kind]
        assert percentile_95(values.copy()) == float(np.percentile(values, 95))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=120.0, allow_nan=False), min_size=1, max_size=300))
def test_percentile_95_matches_numpy_on_any_latencies(latencies):
    values = np.array(latencies, dtype=np.float64)
    assert percentile_95(values.copy()) == float(np.percentile(values, 95))
