"""Measuring one rep: onsets and ends of knee and hip extension, the knees' share, the lean,
the pattern, and the dropout marks (``docs/domain.md``'s definitions).

- onsets/ends are the first/last times, within [start_s, lockout_s], at which an extension
  velocity reaches ``onset_fraction`` of its peak in that window (linear interpolation
  between frames, so timing is finer than the frame period), on velocities low-passed
  without lag over a window the rep itself fixes (so the live detector, which has exactly
  those frames when it emits the rep, gets the same numbers);
- the pattern follows from the trunk lean change and the knee-done share at hip onset.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from processing.reps.model import Rep, RepThresholds, classify

# Extension velocities are low-passed (zero lag) at FILTER_HZ over the rep's frames from
# FILTER_PAD_S before its start; windows of fewer than MIN_FILTER_FRAMES frames are not.
FILTER_HZ = 6.0
FILTER_ORDER = 4
FILTER_PAD_S = 0.5
FILTER_EDGE_S = 0.25  # odd-reflection padding at each end of the window
MIN_FILTER_FRAMES = 30
# Hip flexion slower than this (deg/s) is standing still at the top (offline end_s).
END_REST_DEG_S = 3.0
# A sample (or frame) interval this many times the median interval is a dropout.
GAP_FACTOR = 3.0


def _crossings(t: np.ndarray, v: np.ndarray, thr: float) -> tuple[float, float]:
    """First up-crossing and last down-crossing of ``thr`` by ``v``, interpolated linearly.

    If ``v`` is already at or above ``thr`` at the window's first (last) frame, that frame's
    time is the onset (end): the window bounds the rep.
    """
    above = v >= thr
    i = int(np.argmax(above))
    if i == 0:
        first = float(t[0])
    else:
        first = float(t[i - 1] + (thr - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))
    j = len(v) - 1 - int(np.argmax(above[::-1]))
    if j == len(v) - 1:
        last = float(t[-1])
    else:
        last = float(t[j] + (v[j] - thr) / (v[j] - v[j + 1]) * (t[j + 1] - t[j]))
    return first, last


def _zero_lag_lowpass(x: np.ndarray, dt: float) -> np.ndarray:
    """Low-pass with the magnitude response of a Butterworth filter of order ``FILTER_ORDER``
    at ``FILTER_HZ`` run forwards and backwards (|H|^2 = 1 / (1 + (f/fc)^(2n)), no phase lag),
    applied in the frequency domain. The ends are extended by odd reflection (as ``filtfilt``
    does) and the straight line joining the padded ends is taken out before the FFT, so the
    FFT's wrap-around sees no jump. numpy only: scipy.signal alone takes longer to import
    than a whole hour-long analysis may."""
    n = len(x)
    pad = min(n - 1, round(FILTER_EDGE_S / dt))
    y = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]])
    ramp = np.linspace(y[0], y[-1], len(y))
    n_fft = 1 << (len(y) - 1).bit_length()  # zeros after the detrended signal: no jump either
    f = np.fft.rfftfreq(n_fft, dt)
    gain = 1.0 / (1.0 + (f / FILTER_HZ) ** (2 * FILTER_ORDER))
    smooth = np.fft.irfft(np.fft.rfft(y - ramp, n_fft) * gain, n_fft)[: len(y)] + ramp
    return smooth[pad : pad + n]


def _smoothed_velocities(a: dict[str, np.ndarray], s: int, lo: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Knee and hip extension velocities over [s, lo], low-passed without lag.

    A gyroscope on the skin also measures the soft tissue ringing at 7-20 Hz after every jolt
    (the bar breaking off the floor, the lockout): several deg/s, enough to move a 10 %
    threshold crossing by tens of ms. Lifting movement lives below ~3 Hz, so, as usual for
    kinematics in biomechanics, a zero-lag Butterworth-type low-pass (``_zero_lag_lowpass``,
    sharp enough to take out ringing from 7 Hz up while bending a minimum-jerk onset by
    < 0.5 ms) is applied. It runs over a window fixed by the rep itself, ``FILTER_PAD_S``
    before the start to the lockout confirmation ``end``, so the live detector (which has
    exactly those frames at emission) gets the same numbers.
    """
    t = a["t"]
    w0 = int(np.searchsorted(t, t[s] - FILTER_PAD_S))
    w1 = max(end, lo) + 1
    kv, hv = a["knee_ext_deg_s"][w0:w1], a["hip_ext_deg_s"][w0:w1]
    dt = float(np.median(np.diff(t[w0:w1]))) if w1 - w0 > 1 else 0.0
    if dt > 0 and 0.5 / dt > FILTER_HZ * 1.5 and w1 - w0 >= MIN_FILTER_FRAMES:
        kv, hv = _zero_lag_lowpass(kv, dt), _zero_lag_lowpass(hv, dt)
    return kv[s - w0 : lo - w0 + 1], hv[s - w0 : lo - w0 + 1]


def measure_rep(
    a: dict[str, np.ndarray],
    s: int,
    lo: int,
    th: RepThresholds,
    end: int | None = None,
    index: int = 0,
    set_no: int = 0,
) -> Rep:
    """All of one rep's metrics from the frames ``a`` (column -> array) between the start
    index ``s`` and the lockout index ``lo`` (inclusive); ``end`` is the frame at which the
    rep is known to be over (the lockout confirmation), the provisional ``end_s``."""
    w = slice(s, lo + 1)
    t = a["t"][w]
    trunk, thigh = a["trunk_deg"][w], a["thigh_deg"][w]
    kv, hv = _smoothed_velocities(a, s, lo, lo if end is None else end)
    peak_k, peak_h = float(kv.max()), float(hv.max())
    knee_on, knee_end = _crossings(t, kv, th.onset_fraction * peak_k)
    hip_on, hip_end = _crossings(t, hv, th.onset_fraction * peak_h)

    thigh_travel = float(thigh[0] - thigh[-1])
    thigh_at_hip_on = float(np.interp(hip_on, t, thigh))
    knee_done = 100.0 * (thigh[0] - thigh_at_hip_on) / thigh_travel if abs(thigh_travel) > 1e-9 else math.nan
    upto = t <= hip_on
    lean_max = max(float(trunk[upto].max()), float(np.interp(hip_on, t, trunk)))
    lean = lean_max - float(trunk[0])
    pattern = classify(lean, knee_done, th)

    dt = np.diff(t)
    gap = bool(len(dt) and dt.max() > GAP_FACTOR * np.median(dt))
    return Rep(
        index=index,
        set=set_no,
        start_s=float(t[0]),
        lockout_s=float(t[-1]),
        end_s=float(a["t"][lo if end is None else end]),
        knee_onset_s=knee_on,
        knee_end_s=knee_end,
        hip_onset_s=hip_on,
        hip_end_s=hip_end,
        hip_lag_ms=1000.0 * (hip_on - knee_on),
        knee_done_at_hip_onset_pct=float(knee_done),
        trunk_lean_change_deg=lean,
        peak_knee_ext_deg_s=peak_k,
        peak_hip_ext_deg_s=peak_h,
        trunk_start_deg=float(trunk[0]),
        thigh_start_deg=float(thigh[0]),
        hip_start_deg=float(a["hip_deg"][s]),
        concentric_s=float(t[-1] - t[0]),
        pattern=pattern,
        cue=pattern.cue,
        gap=gap,
    )


def refine_ends(a: dict[str, np.ndarray], reps: list[Rep]) -> None:
    """Offline, a rep followed by another in the same set gets its true ``end_s``: when the
    lifter leaves the top, i.e. the last time before the next descent's fastest point at which
    hip flexion (``-(knee_ext + hip_ext)``) was still slower than ``END_REST_DEG_S``. The live
    detector cannot wait for that (it emits at the lockout confirmation), nor can anyone see
    from the angles when a rest begins after a set's last rep: those keep the confirmation
    time (docs/analysis-json.md)."""
    t = a["t"]
    for rep, nxt in itertools.pairwise(reps):
        if nxt.set != rep.set:
            continue
        i0, i1 = np.searchsorted(t, [rep.end_s, nxt.start_s])
        if i1 - i0 < 2:
            continue
        flex = -(a["knee_ext_deg_s"][i0:i1] + a["hip_ext_deg_s"][i0:i1])
        p = int(np.argmax(flex))
        still = np.nonzero(flex[: p + 1] < END_REST_DEG_S)[0]
        if not len(still) or still[-1] == p:
            continue
        k = i0 + still[-1]
        f0, f1 = (
            -(a["knee_ext_deg_s"][k] + a["hip_ext_deg_s"][k]),
            -(a["knee_ext_deg_s"][k + 1] + a["hip_ext_deg_s"][k + 1]),
        )
        rep.end_s = float(t[k] + (END_REST_DEG_S - f0) / (f1 - f0) * (t[k + 1] - t[k]))


def sample_gaps(t: np.ndarray) -> list[tuple[float, float]]:
    """Dropouts in one sensor's sample times: (last sample before, first sample after) for
    every interval longer than ``GAP_FACTOR`` times the median interval. Short dropouts are
    bridged in the angle frames, so a rep's ``gap`` flag must come from the samples."""
    t = np.asarray(t, dtype=float)
    if len(t) < 3:
        return []
    dt = np.diff(t)
    big = np.nonzero(dt > GAP_FACTOR * np.median(dt))[0]
    return [(float(t[i]), float(t[i + 1])) for i in big]


def mark_gaps(reps: list[Rep], gaps: list[tuple[float, float]]) -> None:
    """Set ``gap`` on every rep whose [start_s, end_s] overlaps a dropout."""
    for rep in reps:
        if any(a < rep.end_s and b > rep.start_s for a, b in gaps):
            rep.gap = True
