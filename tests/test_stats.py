"""The Wilson interval and the four labels, on the issue's known answers and as properties."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from records.stats import SMALL_SAMPLE, rate, wilson


@pytest.mark.parametrize(("k", "n", "pct", "low", "high", "label", "small"), [
    (173, 200, 86.5, 81.1, 90.6, "met_uncertain", False),
    (168, 200, 84.0, 78.3, 88.4, "below_noise", False),
    (150, 200, 75.0, 68.6, 80.5, "below", False),
    (26, 28, 92.9, 77.4, 98.0, "met_uncertain", True),
    (195, 200, 97.5, 94.3, 98.9, "met", False),
])
def test_known_answers(k, n, pct, low, high, label, small):
    r = rate(k, n, 0.85)
    assert (round(r.value * 100, 1), round(r.low * 100, 1), round(r.high * 100, 1)) == (pct, low, high)
    assert r.label == label and r.small_sample is small
    assert r.below_target is (r.value < 0.85)


def test_nothing_to_divide():
    r = rate(0, 0, 0.85)
    assert r.value is None and r.label is None and r.small_sample


@given(st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_estimate_and_stays_in_0_1(kn):
    k, n = kn
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert rate(k, n, 0.85).small_sample is (n < SMALL_SAMPLE)
