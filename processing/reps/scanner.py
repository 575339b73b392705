"""Finding reps in a stream of angle frames: one incremental scanner (:class:`RepScanner`)
that the offline :func:`detect_reps` runs over the whole recording in one push and the live
``StreamingRepDetector`` feeds chunk by chunk.

A rep is a concentric rise in which ``hip_deg`` falls from a bottom of at least
``min_bottom_deg`` to within ``top_within_deg`` of upright; ``start_s`` is the last time
before the rise at which ``hip_deg`` is at its bottom maximum, ``lockout_s`` the time
``hip_deg`` reaches its minimum at the top. Every decision uses only data up to a bounded
delay after the lockout, so on the same frames the live and offline reps are identical.

How the top of a rep is confirmed (the only place a causal rule is needed): after
``hip_deg`` enters the top zone, its running minimum is the lockout candidate; the lockout is
confirmed once ``hip_deg`` has risen ``LOCKOUT_RISE_DEG`` above that minimum, or once no
new minimum deeper than ``LOCKOUT_EPS_DEG`` has come for ``LOCKOUT_HOLD_S``. The lockout is
therefore known at most ``LOCKOUT_HOLD_S`` after it happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from processing.reps.measure import FILTER_PAD_S, measure_rep, refine_ends
from processing.reps.model import DEFAULT_THRESHOLDS, Rep, RepThresholds
from processing.samples import ANGLE_COLUMNS, AngleFrames

# Top-of-rep confirmation (see module docstring). 0.25 s of hold keeps the live emission
# well inside the 0.5 s promise even with the streaming angles' own delay; 3 deg of
# re-flexion is more than standing sway and less than the start of any descent.
LOCKOUT_HOLD_S = 0.25
LOCKOUT_EPS_DEG = 0.25
LOCKOUT_RISE_DEG = 3.0
# Not a lift, however far the hip flexes: a trunk leaning less than this at the bottom (hip
# flexion from the thigh alone: running, high knees, climbing a step; judged from the
# lifter's own standing where the rise's top reads behind upright: a reference taken at a
# short top or a slouch leaves the tops reading back and the bottoms short by as much), or
# a rise from the bottom into the top zone faster than this (a stride's whole swing takes
# ~0.2 s, so it gets there in ~0.12 s; a fast lift's 0.5-0.6 s concentric, a bodyweight
# squat's or a speed pull's, in ~0.3 s).
MIN_LIFT_TRUNK_DEG = 15.0
MIN_LIFT_RISE_S = 0.2
# ... nor one whose whole concentric (bottom to lockout) is shorter than this: a jump's
# push-off takes 0.25-0.4 s from the bottom to take-off, the fastest lift (a speed pull, a
# quick bodyweight squat) 0.5 s or more.
MIN_CONCENTRIC_S = 0.45
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
# (>= SEATED_THIGH_DEG) and still (turning <= SEATED_STILL_DEG_S: a seat holds it; an
# upright squat's bottom passes through the same posture turning at 50-100 deg/s) under a
# trunk that does not lean forward (<= SEATED_TRUNK_DEG more than at the top of the rise; a
# seated pelvis even tilts back), held SEATED_MIN_S within SEATED_LOOKBACK_S before the rise. Standing on the feet with the
# thighs that flexed, balance needs the trunk well forward.
SEATED_THIGH_DEG = 60.0
SEATED_TRUNK_DEG = 20.0
SEATED_STILL_DEG_S = 20.0
SEATED_MIN_S = 0.3
SEATED_LOOKBACK_S = 3.0
# Not a lift: a "top" with the thigh this far behind upright is a stride's push-off, where a
# forward-leaning trunk and a thigh swung back (25-50 deg) make a small hip angle; a lifter
# at lockout stands on both legs with the thigh near vertical, which live, on an
# uncalibrated accelerometer before its fit, may read 13-16 deg back.
STRIDE_THIGH_BEHIND_DEG = 25.0
# Not a lift we can judge: a rise more than UNSEEN_MAX_SHARE of which lies in data gaps
# of UNSEEN_GAP_S or longer, or whose bottom or top borders on one (the real bottom or top
# may lie in it). A gap that long could hold a whole fast concentric (0.5-1 s) or a jump's
# push-off and flight: across it the hip may go from a bottom to a top, but none of the
# rules above (the pace of the rise, a flight, a seat) can be checked and no onset can be
# timed. Shorter dropouts (a radio's lost packets, 0.05-0.6 s) leave the rep measured from
# the data around them and flagged ``gap``.
UNSEEN_GAP_S = 1.0
UNSEEN_MAX_SHARE = 0.5
# Searching back for the bottom stops where hip_deg is this far below the running maximum
# (the descent into the bottom, or the dip of a partial pull) ...
BOTTOM_REVERSAL_DEG = 10.0
# A dead stop's bottom is flat to within the angles' drift and noise (a few hundredths of a
# degree over seconds); a rounded touch-and-go bottom is not flat at that scale.
BOTTOM_PLATEAU_DEG = 0.25
# ... and never further back than the previous rep's lockout or this long before the rise.
MAX_BOTTOM_LOOKBACK_S = 30.0


def _as_arrays(frames: pd.DataFrame | AngleFrames | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
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
        self._from_start = True  # the buffer still begins at the first frame of the data
        # While a rep waits for its lockout: [start, lockout candidate, hold ref, next k].
        self._pending: list[int] | None = None
        self._count = 0
        self._set = 0
        self._last_lockout_s = -math.inf

    def restart(self) -> None:
        """Forget the frames so far (and a rep waiting for its lockout): the next frames are
        measured against another reference. Rep and set numbering go on."""
        self._buf = {c: np.empty(0) for c in ANGLE_COLUMNS}
        self._zone, self._cursor, self._floor, self._pending = 0, 0, 0, None
        self._from_start = False

    # -- buffer -----------------------------------------------------------------------
    def _append(self, cols: dict[str, np.ndarray]) -> None:
        if len(cols["t"]) == 0:
            return
        if len(self._buf["t"]):
            keep = cols["t"] > self._buf["t"][-1]  # never go back in time
            cols = {c: v[keep] for c, v in cols.items()}
            self._buf = {c: np.concatenate([self._buf[c], cols[c]]) for c in ANGLE_COLUMNS}
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
        self._from_start = False
        self._cursor -= cut
        self._floor = max(0, self._floor - cut)
        if self._pending is not None:
            self._pending = [i - cut for i in self._pending]

    # -- scanning ---------------------------------------------------------------------
    def push(self, frames: pd.DataFrame | AngleFrames | dict[str, np.ndarray]) -> list[Rep]:
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
                t[lockout] - t[s] >= MIN_CONCENTRIC_S
                and self._leaned(s, lockout)
                and self._torso_rose(s, lockout)
                and self._reached_top(s, lockout)
                and self._stood(lockout)
                and self._seen(t, s, lockout)
                and not self._seated_before(t, s, lockout)
                and not (self.veto is not None and self.veto(float(t[s]), float(t[lockout])))
            ):
                reps.append(self._make_rep(s, lockout, confirmed))
                self._floor = lockout

    def _next_rise(self, n: int, top_idx: np.ndarray, bottom_idx: np.ndarray) -> int | None:
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
        """A lift rises at a lifting pace; a running stride can swing the thigh through the
        same hip range in a fraction of the time."""
        return t[j] - t[s] >= MIN_LIFT_RISE_S

    def _reached_top(self, s: int, lockout: int) -> bool:
        """The hip came within ``top_within_deg`` of upright or back to TOP_SHARE of the
        bottom's flexion."""
        hip = self._buf["hip_deg"]
        return bool(hip[lockout] <= max(self.th.top_within_deg, TOP_SHARE * hip[s]))

    def _stood(self, lockout: int) -> bool:
        """At the top the thigh is near vertical, not swung behind (a stride)."""
        return bool(self._buf["thigh_deg"][lockout] >= -STRIDE_THIGH_BEHIND_DEG)

    @staticmethod
    def _seen(t: np.ndarray, s: int, lockout: int) -> bool:
        """No more than UNSEEN_MAX_SHARE of the concentric lies in data gaps, and neither its
        bottom nor its top borders on one."""
        dt = np.diff(t[s : lockout + 1])
        if dt[dt >= UNSEEN_GAP_S].sum() > UNSEEN_MAX_SHARE * (t[lockout] - t[s]):
            return False
        around = [t[i + 1] - t[i] for k in (s, lockout) for i in (k - 1, k) if 0 <= i < len(t) - 1]
        return max(around, default=0.0) < UNSEEN_GAP_S

    def _seated_before(self, t: np.ndarray, s: int, lockout: int) -> bool:
        """The rise starts from a seated posture (module constants): standing up from a
        bench, not a lift. The trunk's lean is judged against its posture at the top of this
        rise, the lifter's own standing: an upright reference that is still weak (no stand
        yet, live) shifts both alike. A recording that begins seated has held it as long as
        anyone knows (its first frame counts as SEATED_MIN_S of it)."""
        lo = max(self._floor, int(np.searchsorted(t, t[s] - SEATED_LOOKBACK_S)))
        trunk = self._buf["trunk_deg"]
        seated = (
            (self._buf["thigh_deg"][lo : s + 1] >= SEATED_THIGH_DEG)
            & (trunk[lo : s + 1] - trunk[lockout] <= SEATED_TRUNK_DEG)
            & (np.abs(self._buf["knee_ext_deg_s"][lo : s + 1]) <= SEATED_STILL_DEG_S)
        )
        if not seated.any():
            return False
        edges = np.diff(np.concatenate([[0], seated.astype(np.int8), [0]]))
        tt = t[lo : s + 1]
        at_start = lo == 0 and self._from_start
        return any(
            tt[b - 1] - tt[a] >= SEATED_MIN_S or (a == 0 and at_start)
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
        )

    def _leaned(self, s: int, lockout: int) -> bool:
        """The trunk leaned MIN_LIFT_TRUNK_DEG at the bottom, from upright or, where the top
        of the rise reads behind upright, from that top."""
        trunk = self._buf["trunk_deg"]
        return bool(trunk[s] - min(0.0, trunk[lockout]) >= MIN_LIFT_TRUNK_DEG)

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

    def _confirm_lockout(self, t: np.ndarray, hip: np.ndarray, n: int, final: bool) -> int | None:
        assert self._pending is not None  # a rise is waiting for its lockout
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
        rep = measure_rep(self._buf, s, lo, self.th, end, index=self._count, set_no=self._set)
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
    refine_ends(cols, reps)
    return reps
