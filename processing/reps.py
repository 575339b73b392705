"""Deadlift reps from segment angles: when did the knees, and when did the hips, do the work.

Definitions are ``docs/domain.md``'s, word for word, so that the simulator's truth, the
offline analysis and the live detector agree by construction:

- a rep is a concentric rise in which ``hip_deg`` falls from a bottom of at least
  ``min_bottom_deg`` to within ``top_within_deg`` of upright;
- ``start_s`` is the last time before the rise at which ``hip_deg`` is at its bottom maximum,
  ``lockout_s`` the time ``hip_deg`` reaches its minimum at the top;
- onsets/ends are the first/last times, within [start_s, lockout_s], at which an extension
  velocity reaches ``onset_fraction`` of its peak in that window (linear interpolation
  between frames, so timing is finer than the frame period);
- the pattern follows from the trunk lean change and the knee-done share at hip onset.

Segmentation is one incremental scanner (:class:`RepScanner`) that the offline
:func:`detect_reps` runs over the whole recording in one push and the live
``StreamingRepDetector`` feeds chunk by chunk. Every decision uses only data up to a bounded
delay after the lockout, so on the same frames the live and offline reps are identical.

How the top of a rep is confirmed (the only place a causal rule is needed): after
``hip_deg`` enters the top zone, its running minimum is the lockout candidate; the lockout is
confirmed once ``hip_deg`` has risen ``LOCKOUT_RISE_DEG`` above that minimum, or once no
new minimum deeper than ``LOCKOUT_EPS_DEG`` has come for ``LOCKOUT_HOLD_S``. The lockout is
therefore known at most ``LOCKOUT_HOLD_S`` after it happened.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from processing.samples import ANGLE_COLUMNS, AngleFrames

PATTERNS = ("knee-first", "simultaneous", "hips-rise-early")

# Top-of-rep confirmation (see module docstring). 0.25 s of hold keeps the live emission
# well inside the 0.5 s promise even with the streaming angles' own delay; 3 deg of
# re-flexion is more than standing sway and less than the start of any descent.
LOCKOUT_HOLD_S = 0.25
LOCKOUT_EPS_DEG = 0.25
LOCKOUT_RISE_DEG = 3.0
# Not a lift, however far the hip flexes: a trunk leaning less than this at the bottom (hip
# flexion from the thigh alone: running, high knees, climbing a step), or a rise from the
# bottom to the top zone faster than this (a stride's swing takes ~0.2 s; the fastest
# deadlift concentric takes ~0.5 s).
MIN_LIFT_TRUNK_DEG = 15.0
MIN_LIFT_RISE_S = 0.3
# ... nor one where the trunk does not come at least this share of the way back up by the
# lockout: a lifter stands up (trunk from 15-80 deg to ~0), while running, stair climbing or
# walking uphill swing the thigh through the hip range under a trunk whose lean hardly
# changes (a few degrees per stride).
MIN_LIFT_TRUNK_RISE = 0.5
# The top of a rep is judged against the lifter, not only against one number (domain.md):
# in a continuous set lifters often stop short of standing tall, so a rise reaches the top
# when the hip comes within ``top_within_deg`` of upright *or* back to TOP_SHARE of the
# bottom's flexion (a 100 deg squat bottom: 25 deg). Looking for the top starts at
# TOP_ZONE_MAX_DEG.
TOP_SHARE = 0.25
TOP_ZONE_MAX_DEG = 30.0
# Not a lift: a rise from a seated posture (domain.md). Seated is the thigh near horizontal
# (>= SEATED_THIGH_DEG) under a trunk that does not lean forward (<= SEATED_TRUNK_DEG; a
# seated pelvis even tilts back), held SEATED_MIN_S within SEATED_LOOKBACK_S before the rise.
# Standing on the feet with the thighs that flexed, balance needs the trunk well forward.
SEATED_THIGH_DEG = 60.0
SEATED_TRUNK_DEG = 20.0
SEATED_MIN_S = 0.3
SEATED_LOOKBACK_S = 3.0
# Not a lift: a "top" with the thigh this far behind upright is a stride's push-off, where a
# forward-leaning trunk and a thigh swung back make a small hip angle; a lifter at lockout
# stands on both legs with the thigh near vertical.
STRIDE_THIGH_BEHIND_DEG = 12.0
# Searching back for the bottom stops where hip_deg is this far below the running maximum
# (the descent into the bottom, or the dip of a partial pull) ...
BOTTOM_REVERSAL_DEG = 10.0
# A dead stop's bottom is flat to within the angles' drift and noise (a few hundredths of a
# degree over seconds); a rounded touch-and-go bottom is not flat at that scale.
BOTTOM_PLATEAU_DEG = 0.25
# ... and never further back than the previous rep's lockout or this long before the rise.
MAX_BOTTOM_LOOKBACK_S = 30.0
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


@dataclass(frozen=True)
class RepThresholds:
    """User-changeable thresholds (domain.md defaults).

    ``set_break_s``: a new set starts when a rep starts more than this long after the
    previous rep's lockout. Within a set that time is the hold at the top, the descent and
    any dead-stop pause at the bottom: 2-5 s. Between sets the lifter rests, walks, reloads
    and sets up again: minutes in a real session, and more than 10 s even in the shortest
    rest the simulator makes. 8 s lies between the two.
    """

    onset_fraction: float = 0.10
    lean_deg: float = 5.0
    knee_done_pct: float = 50.0
    min_bottom_deg: float = 45.0
    top_within_deg: float = 15.0
    set_break_s: float = 8.0


@dataclass
class Rep:
    """One rep's timings and metrics (seconds on the session clock, degrees, deg/s)."""

    index: int  # 1-based over the whole recording
    set: int  # 1-based
    start_s: float
    lockout_s: float
    end_s: float
    knee_onset_s: float
    knee_end_s: float
    hip_onset_s: float
    hip_end_s: float
    hip_lag_ms: float
    knee_done_at_hip_onset_pct: float
    trunk_lean_change_deg: float
    peak_knee_ext_deg_s: float
    peak_hip_ext_deg_s: float
    trunk_start_deg: float
    thigh_start_deg: float
    hip_start_deg: float
    concentric_s: float
    pattern: str
    cue: str
    gap: bool = False

    def to_dict(self) -> dict:
        """JSON-ready: plain Python numbers, NaN as None."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        return out


REP_FIELDS = tuple(f.name for f in fields(Rep))
DEFAULT_THRESHOLDS = RepThresholds()


def classify(
    trunk_lean_change_deg: float, knee_done_pct: float, th: RepThresholds
) -> str:
    """domain.md: lean first (the torso tipping forward is the fault whatever the knees do)."""
    if trunk_lean_change_deg >= th.lean_deg:
        return "hips-rise-early"
    if knee_done_pct >= th.knee_done_pct:
        return "knee-first"
    return "simultaneous"


CUES = {
    "knee-first": "Knees first — good: legs broke the floor, then the hips drove through",
    "simultaneous": "Hips and knees together — push the floor away with the legs before the chest rises",
    "hips-rise-early": "Hips rose early — keep the chest up and lead with the knees off the floor",
}


def coach_cue(pattern: str) -> str:
    """One line a coach would say after the rep (the numbers are in the rep's other fields)."""
    return CUES[pattern]


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
        first = float(
            t[i - 1] + (thr - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1])
        )
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
    n_fft = (
        1 << (len(y) - 1).bit_length()
    )  # zeros after the detrended signal: no jump either
    f = np.fft.rfftfreq(n_fft, dt)
    gain = 1.0 / (1.0 + (f / FILTER_HZ) ** (2 * FILTER_ORDER))
    smooth = np.fft.irfft(np.fft.rfft(y - ramp, n_fft) * gain, n_fft)[: len(y)] + ramp
    return smooth[pad : pad + n]


def _smoothed_velocities(
    a: dict[str, np.ndarray], s: int, lo: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
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
    knee_done = (
        100.0 * (thigh[0] - thigh_at_hip_on) / thigh_travel
        if abs(thigh_travel) > 1e-9
        else math.nan
    )
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
        cue=coach_cue(pattern),
        gap=gap,
    )


def _as_arrays(frames: pd.DataFrame | AngleFrames | dict) -> dict[str, np.ndarray]:
    """Column arrays with rows holding any NaN dropped: a missing frame is a time gap,
    which the rep that spans it reports as ``gap``."""
    if isinstance(frames, dict):
        cols = {c: np.asarray(frames[c], dtype=float) for c in ANGLE_COLUMNS}
    elif isinstance(frames, pd.DataFrame):
        missing = [c for c in ANGLE_COLUMNS if c not in frames.columns]
        if missing:
            raise ValueError(f"angle frames lack columns {missing}")
        cols = {c: frames[c].to_numpy(dtype=float) for c in ANGLE_COLUMNS}
    else:
        cols = {c: np.asarray(getattr(frames, c), dtype=float) for c in ANGLE_COLUMNS}
    finite = np.ones(len(cols["t"]), dtype=bool)
    for v in cols.values():
        finite &= np.isfinite(v)
    if not finite.all():
        cols = {c: v[finite] for c, v in cols.items()}
    return cols


class RepScanner:
    """Incremental rep segmentation + measurement over a growing buffer of angle frames.

    ``push`` appends frames (NaN rows dropped) and returns the reps whose lockout became
    certain; ``finish`` closes a rep still waiting for its lockout to be confirmed. Frames
    no longer needed (before the previous lockout and older than the bottom look-back) are
    dropped, so live memory stays bounded.
    """

    def __init__(
        self,
        thresholds: RepThresholds = DEFAULT_THRESHOLDS,
        veto: Callable[[float, float], bool] | None = None,
    ) -> None:
        self.th = thresholds
        # veto(start_s, lockout_s): evidence beyond the angles that a rise is no lift
        # (processing.flight: a jump's push-off or a landing's recovery).
        self.veto = veto
        self._buf = {c: np.empty(0) for c in ANGLE_COLUMNS}
        self._zone = 0  # last definite zone: +1 bottom, -1 top, 0 unknown (start)
        self._cursor = 0  # frames before this have been zone-scanned
        self._floor = 0  # the bottom search never goes before this (previous lockout)
        # While a rep waits for its lockout: [start, lockout candidate, hold ref, next k].
        self._pending: list[int] | None = None
        self._count = 0
        self._set = 0
        self._last_lockout_s = -math.inf

    # -- buffer -----------------------------------------------------------------------
    def _append(self, cols: dict[str, np.ndarray]) -> None:
        if len(cols["t"]) == 0:
            return
        if len(self._buf["t"]):
            keep = cols["t"] > self._buf["t"][-1]  # never go back in time
            cols = {c: v[keep] for c, v in cols.items()}
            self._buf = {
                c: np.concatenate([self._buf[c], cols[c]]) for c in ANGLE_COLUMNS
            }
        else:
            self._buf = cols

    def _trim(self) -> None:
        """Forget frames neither the bottom search nor a pending rep can reach."""
        t = self._buf["t"]
        if not len(t):
            return
        newest_rise = t[min(self._cursor, len(t) - 1)]
        cut = int(np.searchsorted(t, newest_rise - MAX_BOTTOM_LOOKBACK_S - 1.0))
        cut = min(cut, self._cursor)
        if self._pending is not None:
            start_t = t[self._pending[0]]
            cut = min(cut, int(np.searchsorted(t, start_t - FILTER_PAD_S)))
        if cut <= 0:
            return
        self._buf = {c: v[cut:] for c, v in self._buf.items()}
        self._cursor -= cut
        self._floor = max(0, self._floor - cut)
        if self._pending is not None:
            self._pending = [i - cut for i in self._pending]

    # -- scanning ---------------------------------------------------------------------
    def push(self, frames: pd.DataFrame | AngleFrames) -> list[Rep]:
        self._append(_as_arrays(frames))
        reps = self._scan(final=False)
        self._trim()
        return reps

    def finish(self) -> list[Rep]:
        return self._scan(final=True)

    def _scan(self, final: bool) -> list[Rep]:
        reps: list[Rep] = []
        t, hip = self._buf["t"], self._buf["hip_deg"]
        n = len(t)
        # Frames in the top and bottom zones from the cursor on, found once per scan.
        rest = hip[self._cursor :]
        top_idx = self._cursor + np.flatnonzero(rest <= max(self.th.top_within_deg, TOP_ZONE_MAX_DEG))
        bottom_idx = self._cursor + np.flatnonzero(rest >= self.th.min_bottom_deg)
        while True:
            if self._pending is None:
                j = self._next_rise(n, top_idx, bottom_idx)
                if j is None:
                    return reps
                s = self._find_start(t, hip, j)
                if s is None or not self._is_lift(t, s, j):
                    # bottom too long ago to be part of this rise, or not a lift
                    self._cursor, self._zone = j + 1, -1
                    continue
                self._pending = [s, j, j, j + 1]
            lockout = self._confirm_lockout(t, hip, n, final)
            if lockout is None:
                return reps
            confirmed = min(self._pending[3], n - 1)
            s = self._pending[0]
            self._pending = None
            self._cursor, self._zone = lockout + 1, -1
            if (
                self._torso_rose(s, lockout)
                and self._reached_top(s, lockout)
                and self._stood(lockout)
                and not (self.veto is not None and self.veto(float(t[s]), float(t[lockout])))
            ):
                reps.append(self._make_rep(s, lockout, confirmed))
                self._floor = lockout

    def _next_rise(
        self, n: int, top_idx: np.ndarray, bottom_idx: np.ndarray
    ) -> int | None:
        """Index of the first frame in the top zone that follows a frame in the bottom zone
        (hysteresis: a partial pull that never reaches the top does not count)."""
        c = self._cursor
        if c >= n:
            return None
        begin = c
        if self._zone != 1:
            k = int(np.searchsorted(bottom_idx, c))
            if k == len(bottom_idx):
                if np.searchsorted(top_idx, c) < len(top_idx):
                    self._zone = -1
                self._cursor = n
                return None
            begin = int(bottom_idx[k])
        k = int(np.searchsorted(top_idx, begin))
        if k == len(top_idx):
            self._zone = 1
            self._cursor = n
            return None
        return int(top_idx[k])

    def _is_lift(self, t: np.ndarray, s: int, j: int) -> bool:
        """A lift hinges at the hip with the trunk well forward and rises at a lifting pace;
        a running stride can swing the thigh through the same hip range, but with the trunk
        near upright and in a fraction of the time."""
        return (
            self._buf["trunk_deg"][s] >= MIN_LIFT_TRUNK_DEG
            and t[j] - t[s] >= MIN_LIFT_RISE_S
            and not self._seated_before(t, s)
        )

    def _reached_top(self, s: int, lockout: int) -> bool:
        """The hip came within ``top_within_deg`` of upright or back to TOP_SHARE of the
        bottom's flexion."""
        hip = self._buf["hip_deg"]
        return bool(hip[lockout] <= max(self.th.top_within_deg, TOP_SHARE * hip[s]))

    def _stood(self, lockout: int) -> bool:
        """At the top the thigh is near vertical, not swung behind (a stride)."""
        return bool(self._buf["thigh_deg"][lockout] >= -STRIDE_THIGH_BEHIND_DEG)

    def _seated_before(self, t: np.ndarray, s: int) -> bool:
        """The rise starts from a seated posture (module constants): standing up from a
        bench, not a lift."""
        lo = max(self._floor, int(np.searchsorted(t, t[s] - SEATED_LOOKBACK_S)))
        seated = (self._buf["thigh_deg"][lo : s + 1] >= SEATED_THIGH_DEG) & (
            self._buf["trunk_deg"][lo : s + 1] <= SEATED_TRUNK_DEG
        )
        if not seated.any():
            return False
        edges = np.diff(np.concatenate([[0], seated.astype(np.int8), [0]]))
        tt = t[lo : s + 1]
        return any(tt[b - 1] - tt[a] >= SEATED_MIN_S for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

    def _torso_rose(self, s: int, lockout: int) -> bool:
        """The trunk came at least MIN_LIFT_TRUNK_RISE of the way up from its bottom lean."""
        trunk = self._buf["trunk_deg"]
        return trunk[s] - trunk[s : lockout + 1].min() >= MIN_LIFT_TRUNK_RISE * trunk[s]

    def _find_start(self, t: np.ndarray, hip: np.ndarray, j: int) -> int | None:
        """The last frame at the bottom maximum before the rise that reaches the top at j."""
        lo = max(self._floor, int(np.searchsorted(t, t[j] - MAX_BOTTOM_LOOKBACK_S)))
        back = hip[lo:j][::-1]
        in_bottom = back >= self.th.min_bottom_deg
        if not in_bottom.any():
            return None
        b = int(np.argmax(in_bottom))  # last bottom-zone frame, counted backwards
        run_max = np.maximum.accumulate(back[b:])
        dropped = back[b:] < run_max - BOTTOM_REVERSAL_DEG
        stop = int(np.argmax(dropped)) if dropped.any() else len(dropped)
        region = back[b : b + stop]
        # The bottom maximum's *last* time: walking back from the rise, the first local
        # maximum within BOTTOM_PLATEAU_DEG of the bottom's maximum. On a touch-and-go bottom
        # that is the peak itself; on a dead stop's flat bottom (where the angles drift and
        # jitter by hundredths of a degree) it is the end of the plateau, where the pull
        # begins, not wherever the drift put the largest value.
        prev = np.concatenate(([-np.inf], region[:-1]))
        nxt = np.concatenate((region[1:], [-np.inf]))
        peak = (region >= prev) & (region >= nxt) & (region >= region.max() - BOTTOM_PLATEAU_DEG)
        k = int(np.argmax(peak))  # first in reversed order = last in time
        return j - 1 - (b + k)

    def _confirm_lockout(
        self, t: np.ndarray, hip: np.ndarray, n: int, final: bool
    ) -> int | None:
        s, a, ref, k = self._pending
        while k < n:
            h = hip[k]
            if h < hip[a]:
                a = k
                if h < hip[ref] - LOCKOUT_EPS_DEG:
                    ref = k
            elif h >= hip[a] + LOCKOUT_RISE_DEG or t[k] - t[ref] >= LOCKOUT_HOLD_S:
                self._pending = [s, a, ref, k]
                return a
            k += 1
        self._pending = [s, a, ref, k]
        return a if final else None

    def _make_rep(self, s: int, lo: int, end: int) -> Rep:
        start_s = float(self._buf["t"][s])
        if self._set == 0 or start_s - self._last_lockout_s > self.th.set_break_s:
            self._set += 1
        self._count += 1
        rep = measure_rep(
            self._buf, s, lo, self.th, end, index=self._count, set_no=self._set
        )
        self._last_lockout_s = rep.lockout_s
        return rep


def detect_reps(
    frames: pd.DataFrame | AngleFrames,
    thresholds: RepThresholds = DEFAULT_THRESHOLDS,
    veto: Callable[[float, float], bool] | None = None,
) -> list[Rep]:
    """Every rep in a whole recording's angle frames (``ANGLE_COLUMNS``); ``veto`` as
    ``RepScanner``'s."""
    cols = _as_arrays(frames)
    scanner = RepScanner(thresholds, veto)
    reps = scanner.push(cols) + scanner.finish()
    _refine_ends(cols, reps)
    return reps


def _refine_ends(a: dict[str, np.ndarray], reps: list[Rep]) -> None:
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


def reps_dataframe(reps: list[Rep]) -> pd.DataFrame:
    """The rep table, one row per rep, columns in ``REP_FIELDS`` order."""
    return pd.DataFrame([r.to_dict() for r in reps], columns=list(REP_FIELDS))


# -- set summary ----------------------------------------------------------------------
# A trend is only stated when it is both statistically clear (Bonferroni-corrected Welch
# t-test over the candidate change points, or a regression slope, p < TREND_ALPHA) and big
# enough to matter to a coach (MIN_CHANGE, in the metric's unit).
TREND_ALPHA = 0.05
MIN_TREND_REPS = 4
MIN_RUN_REPS = 2  # reps on each side of a pattern break
MIN_CHANGE = {
    "trunk_lean_change_deg": 3.0,
    "knee_done_at_hip_onset_pct": 15.0,
    "hip_lag_ms": 60.0,
}
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


def _mean_sd(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    if not len(x):
        return {"mean": None, "sd": None}
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0}


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) (continued fraction, modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    ln_front = (
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        + a * math.log(x)
        + b * math.log1p(-x)
    )
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


def _t_two_sided_p(t_stat: float, dof: float) -> float:
    """Two-sided p-value of Student's t (scipy.stats would cost seconds of import time)."""
    return _betainc(dof / 2.0, 0.5, dof / (dof + t_stat * t_stat))


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
            p = _t_two_sided_p(d / se, dof)
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
    p = (
        0.0
        if r2 >= 1.0
        else _t_two_sided_p(math.sqrt(r2 * (n - 2) / (1.0 - r2)), n - 2)
    )
    return intercept, slope * (n - 1), p


_FAULT_WORDS = {
    "simultaneous": "hips and knees together",
    "hips-rise-early": "hips rose early",
}


def _pattern_break(reps: list[Rep]) -> str | None:
    """The set splits into clean reps then faulty ones (or the reverse): at least
    ``MIN_RUN_REPS`` knee-first reps, then at least as many reps all of them faults, with
    no exception on either side. This is the coach's "hips rose early from rep 4 on", read
    straight off the per-rep classification, so it needs no statistics."""
    clean = [r.pattern == "knee-first" for r in reps]
    for k in range(MIN_RUN_REPS, len(reps) - MIN_RUN_REPS + 1):
        before, after = clean[:k], clean[k:]
        if all(before) and not any(after):
            faults = {r.pattern for r in reps[k:]}
            if faults == {"hips-rise-early"}:
                lean = [r.trunk_lean_change_deg for r in reps]
                b, a = float(np.mean(lean[:k])), float(np.mean(lean[k:]))
                return f"hips rose early from rep {k + 1} on (chest dropped {b:.0f}° → {a:.0f}°)"
            if faults == {"simultaneous"}:
                knee = [r.knee_done_at_hip_onset_pct for r in reps]
                b, a = float(np.nanmean(knee[:k])), float(np.nanmean(knee[k:]))
                return (
                    f"hips and knees moved together from rep {k + 1} on "
                    f"(knees {b:.0f} % → {a:.0f} % done at hip onset)"
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


def _group_summary(reps: list[Rep]) -> dict:
    starts = [r.start_s for r in reps]
    rate = 60.0 * (len(reps) - 1) / (starts[-1] - starts[0]) if len(reps) > 1 else None
    return {
        "reps": len(reps),
        "patterns": {p: sum(r.pattern == p for r in reps) for p in PATTERNS},
        **{
            f: _mean_sd(np.array([getattr(r, f) for r in reps], dtype=float))
            for f in _SUMMARY_FIELDS
        },
        "reps_per_min": rate,
        "gaps": sum(r.gap for r in reps),
    }


def summarize(reps: list[Rep]) -> dict:
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
