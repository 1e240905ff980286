"""Level words judged on smoothed values with hysteresis: they hold still while the value does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui import level_bands
from tui.frame import LEVELS
from tui.level_bands import Band, judge

BANDS = (
    level_bands.SLOTS, level_bands.QUEUE_LIMITED, level_bands.QUEUE_UNBOUNDED, level_bands.POOL_IN_USE,
    level_bands.ERRORS, level_bands.DEPENDENCY_SLOWDOWN, level_bands.DEPENDENCY_ERRORS, level_bands.CACHE_DEFICIT,
    level_bands.pool_waiters_band(20), level_bands.pool_waiters_band(3), level_bands.memory_band(0.8),
)


@st.composite
def wandering(draw):
    """A band, a starting level, and smoothed values wandering inside a window narrower than its gap."""
    band = draw(st.sampled_from(BANDS))
    start = draw(st.sampled_from(LEVELS))
    low = draw(st.floats(min_value=-1.0, max_value=band.crit_at * 1.5 + 1.0, allow_nan=False))
    width = draw(st.floats(min_value=0.0, max_value=0.999)) * band.gap
    values = draw(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=200))
    return band, start, [low + v * width for v in values]


@given(wandering())
def test_a_level_changes_at_most_once_while_the_smoothed_value_stays_in_its_band(case):
    band, level, values = case
    changes = 0
    for value in values:
        new = judge(level, value, band)
        changes += new != level
        level = new
    assert changes <= 1


def test_a_level_rises_at_once_and_falls_only_clear_of_the_threshold():
    band = Band(0.5, 0.8, 0.1)
    assert judge("ok", 0.5, band) == "warn"
    assert judge("warn", 0.45, band) == "warn"  # within the gap: holds
    assert judge("warn", 0.39, band) == "ok"
    assert judge("ok", 0.9, band) == "crit"
    assert judge("crit", 0.75, band) == "crit"
    assert judge("crit", 0.65, band) == "warn"
    assert judge("crit", 0.1, band) == "ok"
    assert judge("warn", float("nan"), band) == "warn"


def test_a_gap_wider_than_the_band_is_refused():
    with pytest.raises(ValueError, match="gap"):
        Band(0.5, 0.6, 0.2)
