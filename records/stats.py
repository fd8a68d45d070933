"""Rates with their uncertainty: the 95 % Wilson score interval and the four honest labels.

The procedure's rule stays as written — a rate below the target (85 %) opens a corrective action — and
beside it every rate carries a label read from its interval, so a manager can tell a real shortfall
from the noise of a small sample:

* ``met``            the whole interval is at or above the target;
* ``met_uncertain``  the estimate is at or above the target, the interval reaches below it;
* ``below_noise``    the estimate is below the target, the interval reaches it;
* ``below``          the whole interval is below the target.

Fewer than :data:`SMALL_SAMPLE` forms is flagged as a small sample whatever the label. Known answers
(target 85 %): 173/200 → 86.5 %, 81.1–90.6 %, met_uncertain; 168/200 → 84.0 %, 78.3–88.4 %,
below_noise; 150/200 → 75.0 %, 68.6–80.5 %, below; 26/28 → 92.9 %, 77.4–98.0 %, met_uncertain and small.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from webapp.i18n import _l

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Below this many answers a rate is flagged as a small sample.
SMALL_SAMPLE = 30
LABELS = ("met", "met_uncertain", "below_noise", "below")
#: What each label says, on every page, print and export that shows a rate.
LABEL_TEXTS = {"met": _l("Met"), "met_uncertain": _l("Met, not yet certain"),
               "below_noise": _l("Below, within the noise"), "below": _l("Below target")}
SMALL_SAMPLE_TEXT = _l("Small sample")


@dataclass(frozen=True)
class Rate:
    """``successes`` of ``n`` with its Wilson interval and label against ``target`` (ratios, 0.85 = 85 %)."""

    successes: int
    n: int
    target: float
    value: float | None
    low: float | None
    high: float | None
    label: str | None
    small_sample: bool

    @property
    def below_target(self) -> bool:
        """The procedure's own rule: the estimate is below the target."""
        return self.value is not None and self.value < self.target


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` of ``successes`` out of ``n`` (n > 0)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # Exactly 0 or 1 at the ends (rounding would leave 3e-18 below none of 0 answers).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def label(value: float, low: float, high: float, target: float) -> str:
    """One of :data:`LABELS` for an estimate and its interval against ``target``."""
    if value >= target:
        return "met" if low >= target else "met_uncertain"
    return "below" if high < target else "below_noise"


def rate(successes: int, n: int, target: float) -> Rate:
    """The rate, its interval and label; ``value`` etc. are None when there is nothing to divide."""
    if n <= 0:
        return Rate(successes, n, target, None, None, None, None, True)
    low, high = wilson(successes, n)
    value = successes / n
    return Rate(successes, n, target, value, low, high, label(value, low, high, target), n < SMALL_SAMPLE)
