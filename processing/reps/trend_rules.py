"""When a change is a trend: the thresholds and the test the set summary and the training log share.

A trend is only stated when it is both statistically clear (p < ``TREND_ALPHA``: a
Bonferroni-corrected Welch t-test or a regression slope, whose p-values come from
``t_two_sided_p``) and big enough to matter to a coach (``MIN_CHANGE``, in the metric's unit).
The set summary (``sets.py``) applies them to the reps of a set, the training log's trend to
the sessions of a training block. Standard library only (scipy.stats would cost seconds of
import time, numpy a tenth of one for a command that only reads the log).
"""

from __future__ import annotations

import math

TREND_ALPHA = 0.05
MIN_TREND_REPS = 4  # a set's trend needs this many reps
MIN_RUN_REPS = 2  # reps on each side of a pattern break
MIN_CHANGE = {
    "trunk_lean_change_deg": 3.0,
    "knee_done_at_hip_onset_pct": 15.0,
    "hip_lag_ms": 60.0,
}


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) (continued fraction, modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - betainc(b, a, 1.0 - x)
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return math.exp(ln_front) * h / a


def t_two_sided_p(t_stat: float, dof: float) -> float:
    """Two-sided p-value of Student's t (scipy.stats would cost seconds of import time)."""
    return betainc(dof / 2.0, 0.5, dof / (dof + t_stat * t_stat))
