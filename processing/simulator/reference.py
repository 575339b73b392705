"""The independent reference: every simulated rep's truth, the definitions of
``docs/domain.md`` applied to the simulator's exact angles.

It shares no code with the rep detector (``processing.reps``): its own threshold crossings,
its own pattern rule, its own constants, on the dense analytic trajectory instead of angles
estimated from sensors. That is what makes it a reference: the tests hold the detector
against it, so a mistake in the detector cannot pass by being made twice. Change a
definition here only when ``docs/domain.md`` changes.

The simulator knows roughly where each rep is (its schedule); everything reported is then
measured on the dense analytic angle trajectory exactly as the rep detector must measure it
from the sensors, so the truth and the detector share one meaning. Threshold crossings are
interpolated linearly between grid points (the grid is 1 kHz or finer, the trajectories are
smooth, so the error is far below a millisecond).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from processing.simulator.motion import RepPlan

ONSET_FRACTION = 0.10
LEAN_DEG = 5.0
KNEE_DONE_PCT = 50.0


def _crossings(t: np.ndarray, v: np.ndarray, lo: int, hi: int) -> tuple[float, float, float]:
    """(first time v reaches 10 % of its peak, last time it is still there, peak) over
    indices [lo, hi]."""
    seg = v[lo : hi + 1]
    peak = float(seg.max())
    thr = ONSET_FRACTION * peak
    above = np.nonzero(seg >= thr)[0]
    i, j = lo + above[0], lo + above[-1]

    def cross(a: int, b: int) -> float:  # between grid points a and b, v goes through thr
        if v[b] == v[a]:
            return float(t[a])
        return float(t[a] + (thr - v[a]) / (v[b] - v[a]) * (t[b] - t[a]))

    first = cross(i - 1, i) if i > lo else float(t[i])
    last = cross(j, j + 1) if j < hi else float(t[j])
    return first, last, peak


def classify(trunk_lean_change_deg: float, knee_done_pct: float) -> str:
    if trunk_lean_change_deg >= LEAN_DEG:
        return "hips-rise-early"
    return "knee-first" if knee_done_pct >= KNEE_DONE_PCT else "simultaneous"


def truth_reps(
    t: np.ndarray,
    trunk: np.ndarray,
    thigh: np.ndarray,
    knee_ext: np.ndarray,
    hip_ext: np.ndarray,
    plans: list[RepPlan],
    gaps: list[tuple[float, float]],
) -> list[dict[str, Any]]:
    """Every rep's fields (names of ``processing.reps.Rep``) from the dense truth.

    ``start_s``: last time of the bottom maximum of hip_deg between arriving at the bottom
    and the top; ``lockout_s``: first time of the top minimum before the lifter leaves the
    top; ``end_s``: when the lifter leaves the top (next descent or rest starts), from the
    schedule; ``gap``: a dropout of either sensor overlaps [start_s, end_s].
    """
    hip = trunk + thigh
    reps = []
    for k, plan in enumerate(plans):
        lo, top, hi = np.searchsorted(t, [plan.bottom_s, plan.concentric_end_s, plan.end_s])
        hi = min(hi, len(t) - 1)
        w = hip[lo : top + 1]
        i0 = lo + len(w) - 1 - int(np.argmax(w[::-1]))  # last maximum
        i1 = i0 + int(np.argmin(hip[i0 : hi + 1]))  # first minimum
        t0, t1 = float(t[i0]), float(t[i1])
        k_on, k_end, k_peak = _crossings(t, knee_ext, i0, i1)
        h_on, h_end, h_peak = _crossings(t, hip_ext, i0, i1)
        th0, th1 = float(thigh[i0]), float(thigh[i1])
        th_h = float(np.interp(h_on, t, thigh))
        knee_done = 100.0 * (th0 - th_h) / (th0 - th1)
        upto = np.searchsorted(t, h_on, side="right")
        lean_window = np.append(trunk[i0:upto], np.interp(h_on, t, trunk))
        lean = float(lean_window.max() - trunk[i0])
        reps.append(
            {
                "index": k + 1,
                "set": plan.set + 1,
                "start_s": t0,
                "lockout_s": t1,
                "end_s": float(plan.end_s),
                "knee_onset_s": k_on,
                "knee_end_s": k_end,
                "hip_onset_s": h_on,
                "hip_end_s": h_end,
                "hip_lag_ms": 1000.0 * (h_on - k_on),
                "knee_done_at_hip_onset_pct": knee_done,
                "trunk_lean_change_deg": lean,
                "peak_knee_ext_deg_s": k_peak,
                "peak_hip_ext_deg_s": h_peak,
                "trunk_start_deg": float(trunk[i0]),
                "thigh_start_deg": th0,
                "hip_start_deg": float(hip[i0]),
                "concentric_s": t1 - t0,
                "pattern": classify(lean, knee_done),
                "gap": any(a < plan.end_s and b > t0 for a, b in gaps),
            }
        )
    return reps
