"""The set summary: per set and overall, reps per pattern, means and SDs, tempo, and each
set's trend in words when the data support one (a small Welch t-test and a regression,
numpy only: scipy.stats would cost seconds of import time); and the rep table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from processing.reps.model import PATTERNS, REP_FIELDS, Pattern, Rep
from processing.reps.trend_rules import MIN_CHANGE, MIN_RUN_REPS, MIN_TREND_REPS, TREND_ALPHA, t_two_sided_p

if TYPE_CHECKING:
    import pandas as pd


def reps_dataframe(reps: list[Rep]) -> pd.DataFrame:
    """The rep table, one row per rep, columns in ``REP_FIELDS`` order (pandas is imported
    here: the summary alone, as the training log's trend reads it, needs only numpy)."""
    import pandas as pd

    return pd.DataFrame([r.to_dict() for r in reps], columns=list(REP_FIELDS))


# -- set summary ----------------------------------------------------------------------
# A trend is only stated when it is both statistically clear (Bonferroni-corrected Welch
# t-test over the candidate change points, or a regression slope, p < TREND_ALPHA) and big
# enough to matter to a coach (MIN_CHANGE, in the metric's unit): ``trend_rules``.
_TREND_WORDS = {  # metric -> (phrase when it rises, phrase when it falls, format of values)
    "trunk_lean_change_deg": (
        "hips rose early",
        "the chest stayed up better",
        "chest dropped {b:.0f}° → {a:.0f}°",
    ),
    "knee_done_at_hip_onset_pct": (
        "the knees did more of the early work",
        "the knees did less of the early work",
        "knees {b:.0f} % → {a:.0f} % done at hip onset",
    ),
    "hip_lag_ms": (
        "the torso waited longer for the knees",
        "the torso started rising earlier",
        "hip lag {b:.0f} → {a:.0f} ms",
    ),
}


def _mean_sd(x: np.ndarray) -> dict[str, float | None]:
    x = x[np.isfinite(x)]
    if not len(x):
        return {"mean": None, "sd": None}
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0}


def _change_point(y: np.ndarray) -> tuple[int, float, float] | None:
    """The split (first rep of the later part, 0-based) whose before/after means differ most
    clearly, if that difference survives a Bonferroni-corrected Welch t-test."""
    n = len(y)
    splits = range(2, n - 1)
    best = None
    for k in splits:
        b, a = y[:k], y[k:]
        vb, va = b.var(ddof=1) / len(b), a.var(ddof=1) / len(a)
        se = math.sqrt(vb + va)
        d = a.mean() - b.mean()
        if se <= 1e-9 * max(1.0, abs(d)):  # (near-)identical reps on each side
            p = 0.0 if abs(d) > 1e-9 else 1.0
        else:  # Welch's t-test
            dof = (vb + va) ** 2 / (vb**2 / (len(b) - 1) + va**2 / (len(a) - 1))
            p = t_two_sided_p(d / se, dof)
        if best is None or p < best[0] or (p == best[0] and abs(d) > abs(best[3])):
            best = (p, k, b.mean(), d)
    if best is None or best[0] * len(splits) >= TREND_ALPHA:
        return None
    p, k, before, d = best
    return k, float(before), float(before + d)


def _linear_trend(y: np.ndarray) -> tuple[float, float, float] | None:
    """Least-squares line over the reps: (value at the first rep, change over the set,
    p-value of the slope), or None for constant data."""
    n = len(y)
    x = np.arange(n, dtype=float)
    sxx = float(((x - x.mean()) ** 2).sum())
    syy = float(((y - y.mean()) ** 2).sum())
    if syy == 0.0 or n < 3:
        return None
    slope = float(((x - x.mean()) * (y - y.mean())).sum()) / sxx
    intercept = float(y.mean() - slope * x.mean())
    r2 = min(1.0, slope * slope * sxx / syy)
    p = 0.0 if r2 >= 1.0 else t_two_sided_p(math.sqrt(r2 * (n - 2) / (1.0 - r2)), n - 2)
    return intercept, slope * (n - 1), p


_FAULT_WORDS = {
    Pattern.SIMULTANEOUS: "hips and knees together",
    Pattern.HIPS_RISE_EARLY: "hips rose early",
}


def _pattern_break(reps: list[Rep]) -> str | None:
    """The set splits into clean reps then faulty ones (or the reverse): at least
    ``MIN_RUN_REPS`` knee-first reps, then at least as many reps all of them faults, with
    no exception on either side. This is the coach's "hips rose early from rep 4 on", read
    straight off the per-rep classification, so it needs no statistics."""
    clean = [r.pattern == Pattern.KNEE_FIRST for r in reps]
    for k in range(MIN_RUN_REPS, len(reps) - MIN_RUN_REPS + 1):
        before, after = clean[:k], clean[k:]
        if all(before) and not any(after):
            faults = {r.pattern for r in reps[k:]}
            if faults == {Pattern.HIPS_RISE_EARLY}:
                lean = [r.trunk_lean_change_deg for r in reps]
                b, a = float(np.mean(lean[:k])), float(np.mean(lean[k:]))
                return f"hips rose early from rep {k + 1} on (chest dropped {b:.0f}° → {a:.0f}°)"
            if faults == {Pattern.SIMULTANEOUS}:
                knee = [r.knee_done_at_hip_onset_pct for r in reps]
                b, a = float(np.nanmean(knee[:k])), float(np.nanmean(knee[k:]))
                return (
                    f"hips and knees moved together from rep {k + 1} on (knees {b:.0f} % → {a:.0f} % done at hip onset)"
                )
            order = list(dict.fromkeys(r.pattern for r in reps[k:]))  # first appearance
            seen = ", then ".join(_FAULT_WORDS[p] for p in order)
            return f"knee drive broke down from rep {k + 1} on ({seen})"
        if not any(before) and all(after):
            return f"knees led again from rep {k + 1} on"
    return None


def _set_trend(reps: list[Rep]) -> str | None:
    """Words for the clearest change across one set's reps, or None when the data don't
    support one (fewer than MIN_TREND_REPS reps, no clear pattern break, no significant and
    sizeable change of a metric).

    First the patterns: clean reps then faulty ones (``_pattern_break``). Then the metrics,
    in the order a coach looks at them: the chest dropping (the fault itself), then the
    knees' share of the early work, then the hip lag; the first that changed is the trend (a
    chest that drops also makes the knees' share look larger, which is not an improvement
    worth reporting)."""
    if len(reps) < MIN_TREND_REPS:
        return None
    words = _pattern_break(reps)
    if words:
        return words
    for metric, (up, down, values) in _TREND_WORDS.items():
        y = np.array([getattr(r, metric) for r in reps], dtype=float)
        if not np.isfinite(y).all():
            continue
        cp = _change_point(y)
        if cp is not None and abs(cp[2] - cp[1]) >= MIN_CHANGE[metric]:
            k, b, a = cp
            return f"{up if a > b else down} from rep {k + 1} on ({values.format(b=b, a=a)})"
        fit = _linear_trend(y)
        if fit is None:
            continue
        intercept, change, p = fit
        if p < TREND_ALPHA and abs(change) >= MIN_CHANGE[metric]:
            b, a = intercept, intercept + change
            return f"{up if change > 0 else down} steadily across the set ({values.format(b=b, a=a)})"
    return None


_SUMMARY_FIELDS = (
    "hip_lag_ms",
    "knee_done_at_hip_onset_pct",
    "trunk_lean_change_deg",
    "concentric_s",
)


def _group_summary(reps: list[Rep]) -> dict[str, Any]:
    starts = [r.start_s for r in reps]
    rate = 60.0 * (len(reps) - 1) / (starts[-1] - starts[0]) if len(reps) > 1 else None
    return {
        "reps": len(reps),
        "patterns": {p: sum(r.pattern == p for r in reps) for p in PATTERNS},
        **{f: _mean_sd(np.array([getattr(r, f) for r in reps], dtype=float)) for f in _SUMMARY_FIELDS},
        "reps_per_min": rate,
        "gaps": sum(r.gap for r in reps),
    }


def summarize(reps: list[Rep]) -> dict[str, Any]:
    """Set summary: per set and overall, reps per pattern, mean and SD of hip lag, knee-done %
    and trunk lean change, tempo (concentric duration, reps per minute within the set), and
    the trend across each set in words (``None`` when the data don't support one)."""
    if not reps:
        none = {"mean": None, "sd": None}
        return {
            "reps": 0,
            "patterns": dict.fromkeys(PATTERNS, 0),
            **{f: dict(none) for f in _SUMMARY_FIELDS},
            "reps_per_min": None,
            "gaps": 0,
            "sets": [],
        }
    sets = []
    for set_no in sorted({r.set for r in reps}):
        members = [r for r in reps if r.set == set_no]
        sets.append(
            {
                "set": set_no,
                "start_s": members[0].start_s,
                "end_s": members[-1].end_s,
                **_group_summary(members),
                "trend": _set_trend(members),
            }
        )
    overall = _group_summary(reps)
    overall["reps_per_min"] = None  # across rests it means nothing; see each set
    return {**overall, "sets": sets}
