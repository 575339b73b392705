"""A session's figures for the log: what a lifter compares across weeks, from its reps.

``hinge analyze`` summarises each set; across sessions a coach wants a few numbers per
session: how many reps were knee-first, the mean hip lag, knee-done % and lean change, and
the in-set drift — whether the knees stopped leading as the sets went on (the lower back
tiring first). They are computed once, when a session is added, and stored with it, so that
a trend over a thousand sessions reads one row per session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from processing.reps.model import Pattern, Rep
from processing.reps.trend_rules import MIN_TREND_REPS


def _share(reps: list[Rep]) -> float:
    return sum(r.pattern == Pattern.KNEE_FIRST for r in reps) / len(reps)


def knee_first_share(reps: list[Rep]) -> float | None:
    """Share (0-1) of the reps that were knee-first; None without reps."""
    return _share(reps) if reps else None


def drift_points(reps: list[Rep]) -> float | None:
    """In-set drift: the knee-first share of each set's later half minus that of its earlier
    half, in percentage points, averaged over the sets of at least ``MIN_TREND_REPS`` reps
    (those ``hinge analyze`` states a trend for; an odd set's middle rep counts in neither
    half). Negative: the knees led less as the set went on. None without such a set."""
    drifts = []
    for set_no in sorted({r.set for r in reps}):
        members = [r for r in reps if r.set == set_no]
        if len(members) < MIN_TREND_REPS:
            continue
        half = len(members) // 2
        early, late = _share(members[:half]), _share(members[-half:])
        drifts.append(100.0 * (late - early))
    return sum(drifts) / len(drifts) if drifts else None


class Figures(Protocol):
    """What a comparison reads of a session (``log.Session`` has it)."""

    @property
    def knee_first_share(self) -> float | None: ...

    @property
    def hip_lag_ms(self) -> float | None: ...


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def comparison(past: Sequence[Figures], share: float | None, hip_lag_ms: float | None) -> str:
    """Today against the last sessions, in one line: today's knee-first share (0-1) and mean
    hip lag against the means of ``past`` (the window's panel and the line after a live
    session's add)."""
    if not past:
        return "no earlier sessions in the training log yet"
    past_share = _mean([None if s.knee_first_share is None else 100 * s.knee_first_share for s in past])
    past_lag = _mean([s.hip_lag_ms for s in past])
    n = f"{len(past)} session{'s' if len(past) != 1 else ''}"
    if share is None:
        return f"last {n}: knee-first {_fmt(past_share)} %, hip lag {_fmt(past_lag)} ms"
    return (
        f"today knee-first {100 * share:.0f} % vs {_fmt(past_share)} % over the last {n}; "
        f"hip lag {_fmt(hip_lag_ms)} vs {_fmt(past_lag)} ms"
    )


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def session_figures(reps: list[Rep], summary: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``hinge_sessions`` that describe the session's reps."""
    return {
        "n_sets": len(summary["sets"]),
        "n_reps": len(reps),
        "knee_first_share": knee_first_share(reps),
        "hip_lag_ms": _finite(summary["hip_lag_ms"]["mean"]),
        "knee_done_pct": _finite(summary["knee_done_at_hip_onset_pct"]["mean"]),
        "lean_deg": _finite(summary["trunk_lean_change_deg"]["mean"]),
        "drift_pts": drift_points(reps),
    }


_SET_MEASURES = (
    ("hip_lag_ms", "hip_lag"),
    ("knee_done_at_hip_onset_pct", "knee_done"),
    ("trunk_lean_change_deg", "lean"),
    ("concentric_s", "concentric"),
)
_SET_PATTERNS = (("knee-first", "knee_first"), ("simultaneous", "simultaneous"), ("hips-rise-early", "hips_rise_early"))


def set_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``hinge_sets`` row per set of ``summarize``'s summary (without ``session_id``)."""
    rows = []
    for s in summary["sets"]:
        row = {
            "set_no": s["set"],
            "start_s": s["start_s"],
            "end_s": s["end_s"],
            "reps": s["reps"],
            **{col: s["patterns"][p] for p, col in _SET_PATTERNS},
            "reps_per_min": _finite(s["reps_per_min"]),
            "gaps": s["gaps"],
            "trend": s["trend"],
        }
        for key, col in _SET_MEASURES:
            row[f"{col}_mean"] = _finite(s[key]["mean"])
            row[f"{col}_sd"] = _finite(s[key]["sd"])
        rows.append(row)
    return rows


def set_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A ``hinge_sets`` row back in the shape of one of ``summarize``'s sets."""
    return {
        "set": row["set_no"],
        "start_s": row["start_s"],
        "end_s": row["end_s"],
        "reps": row["reps"],
        "patterns": {p: row[col] for p, col in _SET_PATTERNS},
        **{key: {"mean": row[f"{col}_mean"], "sd": row[f"{col}_sd"]} for key, col in _SET_MEASURES},
        "reps_per_min": row["reps_per_min"],
        "gaps": row["gaps"],
        "trend": row["trend"],
    }
