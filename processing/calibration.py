"""Sensor-to-segment calibration: where is "upright" and about which axis does the segment flex.

The lifter straps the sensors on in any orientation, so neither is known from mounting, and
real recordings rarely start with a clean stand (docs/domain.md, Calibration). Both come
from the data:

* **Flexion axis**: a segment in a lift hinges about one axis, horizontal at the upright
  pose. For every sample the tilt of the segment away from a reference posture is the
  rotation taking the current up direction ``u`` (from the fused orientation) to the
  reference one; its axis ``u x up`` is orthogonal to ``up``, with length sin(tilt). The
  flexion axis is the principal direction of these tilt vectors weighted by tilt^2, so large
  excursions (the lift) dominate and small, many-directional ones (a trunk during walking,
  shuffling) count little. Heading never enters: only gravity in the sensor frame is used,
  which 6D fusion observes.
* **Sign**: the trunk flexes forward from upright far more than it ever extends backward:
  the axis sign makes the third moment (sum of sin^3) of its angle positive. The thigh
  swings both ways in walking, so its sign comes first from **co-flexion**: in every hinge
  (a lift, a bend, sitting down) trunk and thigh flex and extend together, so the product of
  their rates sums positive; only when that is not decisive does its own third moment decide.
  Where the lower back's forward acceleration decisively pairs them the other way
  (``forward_pairing``: a seated pelvis tilted back while the thigh flexes), it wins, and the
  pair faces the way the hip's third moment says.
* **Upright** (``choose_upright``): in order of preference,
  1. ``standing``: the still periods (``processing.stillness``, both sensors at rest for
     >= 0.5 s, anywhere in the recording) whose posture is the most extended one held still
     (least hip flexion: standing, not sitting or setting up at the bar); of the stands in
     that posture (still pieces close in time are one stand, its posture averaged over all
     of it, the sway around them included, so that sway cancels: ``_whole_stand``) the first
     deliberate one (2 s long, 1 s of it still), else the tallest held still for 1 s, else
     the longest;
     a still posture counts only if it lies near the most extended postures the recording
     reaches at all (sitting still before a set is not upright), or, where strides swing
     the hip past standing again and again, near the most extended posture held;
  2. ``lockouts``: with no such period, the postures at the reps' lockouts (the hip at its
     most extended at the top of each rep), the reps found on angles zeroed at the most
     extended postures of the recording;
  3. ``extended-posture``: with no rep either, the most extended postures themselves.
  Each comes with a ``confidence`` in [0, 1] and, when it is weak, a one-line ``warning``.

Inclination (``inclination``): the signed rotation of the segment about its flexion axis
away from upright, i.e. the angle, in the sagittal plane (the plane orthogonal to the axis),
between the segment's upright direction and the current vertical. Out-of-plane tilt (sway)
is the component along the axis and does not count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processing.stillness import moving_mean, runs

CONFIDENT_TILT_DEG = 30.0  # an axis seen over a tilt this large is considered known
CONFIDENT_RATIO = 0.8  # ... and this dominant (first / first+second eigenvalue)
SIGN_DECISIVE = 0.3  # |sum sin^3| / sum |sin|^3 that settles which way is forward


def up_vectors(quat: np.ndarray) -> np.ndarray:
    """Earth's up (z) expressed in the sensor frame for sensor-to-earth quaternions (N, 4)."""
    w, x, y, z = quat[:, 0], quat[:, 1], quat[:, 2], quat[:, 3]
    return np.column_stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) with (N, 3) or (3,); np.cross costs ~50 us per call
    in its axis handling, too much for a per-batch streaming step."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


@dataclass
class AxisEstimate:
    """Accumulated evidence for a segment's flexion axis, updatable batch by batch (the
    streaming form refines it as the lifter moves; the offline form adds everything once).

    ``scatter``: sum of w w^T |w|^2 over tilt vectors w = u x up (weights large excursions);
    ``plain``: sum of w w^T (for the out-of-plane share); ``third``: sum of w (x) w (x) w, so
    that for any axis a, third(a, a, a) = sum of sin^3(angle about a): its sign fixes the
    axis sign (forward flexion dominates) until the axis is confident."""

    up: np.ndarray
    scatter: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    plain: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    third: np.ndarray = field(default_factory=lambda: np.zeros((3, 3, 3)))
    abs_third: float = 0.0  # sum of |w|^3: what third(a, a, a) would be if all tilt were forward
    max_tilt_deg: float = 0.0
    axis: np.ndarray | None = None
    ratio: float = 0.5  # dominance of the axis: largest / (largest + second) eigenvalue
    sign_frozen: bool = False  # set once confident and decisive: never flips after that

    def add(self, u: np.ndarray, refresh: bool = True) -> None:
        """Add up-vectors (N, 3); with ``refresh`` also re-derive the axis. Streaming
        refreshes a few times a second, not per batch (an eigen-decomposition each time)."""
        if len(u) == 0:
            return
        w = cross(u, self.up)
        s2 = np.einsum("ij,ij->i", w, w)
        self.scatter += (w * s2[:, None]).T @ w
        self.plain += w.T @ w
        self.third += ((w[:, :, None] * w[:, None, :]).reshape(-1, 9).T @ w).reshape(3, 3, 3)
        self.abs_third += float(np.sum(s2**1.5))
        cos_min = float((u @ self.up).min())
        self.max_tilt_deg = max(self.max_tilt_deg, float(np.degrees(np.arccos(np.clip(cos_min, -1, 1)))))
        if refresh or self.axis is None:
            self.refresh()

    def refresh(self) -> None:
        """Re-derive the axis: the principal direction of the weighted tilt vectors, signed
        so that forward flexion dominates; the sign is frozen once the axis is confident and
        the third moment decisive."""
        vals, vecs = np.linalg.eigh(self.scatter)
        tot = vals[-1] + vals[-2]
        self.ratio = float(vals[-1] / tot) if tot > 0 else 0.5
        if vals[-1] <= 1e-12:
            return
        a = vecs[:, -1]
        if self.axis is not None and a @ self.axis < 0:
            a = -a  # continuity with the previous estimate
        skew = float(np.einsum("ijk,i,j,k->", self.third, a, a, a))
        if skew < 0 and not self.sign_frozen:
            a = -a
        self.axis = a
        self.sign_frozen = self.sign_frozen or (self.confident and self.decisive(abs(skew)))

    def force_sign(self, sign: int, freeze: bool = False) -> None:
        """Fix the axis sign from outside evidence (the thigh's co-flexion with the trunk);
        once the axis is confident, or with ``freeze`` (evidence that does not depend on how
        far the segment tilted), it never flips after that."""
        if self.axis is not None:
            self.axis = sign * self.axis
            self.sign_frozen = self.sign_frozen or self.confident or freeze

    def decisive(self, skew: float) -> bool:
        """Does the third moment clearly say which way is forward? In a lift nearly all tilt
        is forward (|skew| close to abs_third); thigh swing in walking goes both ways about
        equally (|skew| small), so walking alone gives only a provisional sign."""
        return self.abs_third > 0 and abs(skew) >= SIGN_DECISIVE * self.abs_third

    @property
    def out_of_plane_share(self) -> float:
        """Share of the (unweighted) tilt energy not about the flexion axis."""
        tot = float(np.trace(self.plain))
        if self.axis is None or tot <= 0:
            return 0.0
        return float(1 - self.axis @ self.plain @ self.axis / tot)

    @property
    def confident(self) -> bool:
        return self.axis is not None and self.max_tilt_deg >= CONFIDENT_TILT_DEG and self.ratio >= CONFIDENT_RATIO

    def final_axis(self) -> np.ndarray:
        """The axis, or any horizontal one if the segment never tilted (angles stay ~0)."""
        if self.axis is not None:
            return self.axis
        helper = np.eye(3)[int(np.argmin(np.abs(self.up)))]
        a = cross(self.up, helper)
        return a / np.linalg.norm(a)


def angle_about(u: np.ndarray, up: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Signed sagittal inclination (deg) of a segment whose sensor sees up-vectors ``u``
    (N, 3), given its upright up-vector and flexion axis (sensor frame): the rotation about
    ``axis`` taking upright to now, from the projection of ``u`` onto the sagittal plane."""
    # Flexion by phi about the axis turns the sensor's view of "up" by -phi about it, towards
    # up x axis; so phi = atan2(u . (up x axis), u . up), and d(phi)/dt = gyro . axis.
    fwd = cross(up, axis)
    return np.degrees(np.arctan2(u @ fwd, u @ up))


@dataclass
class SegmentCalibration:
    """One segment's calibration, all vectors unit length in the sensor frame."""

    segment: str
    up: np.ndarray
    axis: np.ndarray
    gyro_bias: np.ndarray
    axis_confidence: float
    out_of_plane_share: float
    max_tilt_deg: float

    def inclination(self, u: np.ndarray) -> np.ndarray:
        """Sagittal inclination (deg, positive = forward flexion) from up-vectors (N, 3)."""
        return angle_about(u, self.up, self.axis)

    def report(self) -> dict[str, Any]:
        return {
            "up_in_sensor": [round(float(v), 4) for v in self.up],
            "flexion_axis_in_sensor": [round(float(v), 4) for v in self.axis],
            "axis_confidence": round(self.axis_confidence, 3),
            "out_of_plane_share": round(self.out_of_plane_share, 3),
            "max_tilt_deg": round(self.max_tilt_deg, 1),
            "still_gyro_bias_deg_s": [round(float(np.degrees(v)), 3) for v in self.gyro_bias],
            "axis_known": bool(self.max_tilt_deg >= CONFIDENT_TILT_DEG and self.axis_confidence >= CONFIDENT_RATIO),
        }


# -- choosing upright ------------------------------------------------------------------
SOURCES = ("standing", "lockouts", "extended-posture")
EVIDENCE_HZ = 25.0  # common grid of the posture comparisons (body motion is slow)
COFLEX_MIN_TRUNK_DEG_S = 15.0  # trunk rates that count for co-flexion (walking rocks slower)
COFLEX_MIN_TILT_DEG = 20.0  # both segments tilted this far before co-flexion counts
COFLEX_DECISIVE = 0.2  # |sum r_trunk r_thigh| / sum |r_trunk r_thigh| that fixes the thigh's sign
EXTENDED_PCT = 2.0  # the recording's most extended postures: this percentile of hip flexion
UPRIGHT_NEAR_EXTENDED_DEG = 35.0  # a still posture this much more flexed than those is not upright
UPRIGHT_THIGH_DEG = (
    45.0  # ... nor one whose thigh is this far forward of theirs (seated: 70-90; a stride's push-off: 30-35)
)
SEAT_THIGH_DEG = 60.0  # a "stand" this far forward at the thigh of the most extended postures is a seat
UPRIGHT_TRUNK_DEG = 20.0  # ... and, against the postures held, one whose trunk is this far forward of theirs
SAME_POSTURE_DEG = 8.0  # still periods whose segments are this close are the same posture
GOOD_STILL_S = 2.0  # this much standing still makes a fully trusted reference
TRUSTED_STILL_S = 1.0  # a stand held still this long (in all) may be chosen for being tallest
TALLER_BY_DEG = 1.0  # stands closer than this in hip flexion are equally tall: the first wins
STAND_GAP_S = 1.5  # still periods this close in time, in one posture, are one stand
CALM_GYR_DEV = 0.03  # rad/s: standing this still is fully trusted; swaying more counts less
LOCKOUT_AVG_S = 0.1  # the posture at a lockout: mean over +- this
HEIGHT_SMOOTH_N = 15  # evidence samples (0.6 s) of smoothing: lifts live below 1 Hz, strides and steps above
HEIGHT_BAND_S = 2.0  # slower than this is posture (and accelerometer error), not movement
DWELL_DECISIVE = 0.1  # mode and median this far apart (share of the range) say which side is upright
HEIGHT_MIN_THIGH_DEG = 30.0  # the height cue needs the knees to bend: the thigh swinging this far
HEIGHT_DECISIVE = 0.1  # |sum a_v hip''| / sum |a_v hip''| that settles the sign
AP_SMOOTH_N = 3  # evidence samples (0.12 s) of smoothing for the forward-acceleration cue
AP_MIN_T = 5.0  # t-statistic of the thigh's term that makes the forward cue decisive ...
AP_MIN_LEVER_M = 0.03  # ... and its size: the hip's lever over the thigh (0.05-0.35 m measured)
WEAK_CONFIDENCE = 0.5  # below this the reference gets a warning
LIFT_FLEXION_DEG = 45.0  # a lift flexes the hip at least this far (domain: a rep's bottom)
PRE_LIFT_TALL_DEG = 5.0  # a stand before the first lift this close to the tallest stand is the asked-for pose
MIN_STRIDES = 3  # the most extended postures, reached this many separate times, may be strides
HELD_DEG_S = 30.0  # a posture is held where every segment turns slower than this (a stride's ends: 40+)
HELD_SMOOTH_N = 5  # ... over this many evidence samples (0.2 s)
MIN_HELD_S = 1.0  # ... when the recording holds postures this long in all
STAND_BAND_DEG = 6.0  # a stand goes on while its segments stay this close to its posture (sway, shifts) ...
STAND_SWAY_DEG_S = 5.0  # ... and turn slower than this at its ends (2 deg of sway at 0.4 Hz peaks at 5 deg/s)


@dataclass
class Calibration:
    """Upright pose and flexion axes of all segments, and where upright came from.

    ``source``: ``standing`` | ``lockouts`` | ``extended-posture`` (module docstring);
    ``periods``: the (start_s, end_s) intervals whose postures were averaged (still periods
    or lockout windows); ``confidence`` in [0, 1]; ``warning``: one line when it is weak."""

    source: str
    periods: list[tuple[float, float]]
    segments: dict[str, SegmentCalibration]
    confidence: float = 1.0
    detail: str = ""
    warnings: list[str] = field(default_factory=list)
    accelerometers: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # per segment, if fitted
    # How the upright side of each segment's range was told: "movement" (co-flexion and the
    # hips' height) or "dwell" (where the body dwells, the longer side of its range).
    signs: str = "movement"

    @property
    def still_start_s(self) -> float:
        return self.periods[0][0] if self.periods else float("nan")

    @property
    def still_end_s(self) -> float:
        return self.periods[0][1] if self.periods else float("nan")

    @property
    def warning(self) -> str | None:
        """The one line to show when the reference or an axis is weak, else None."""
        return "; ".join(self.warnings) if self.warnings else None

    def report(self) -> dict[str, Any]:
        """JSON-serialisable quality report (goes into ``hinge analyze --json``)."""
        return {
            "source": self.source,
            "confidence": round(self.confidence, 2),
            "detail": self.detail,
            "warning": self.warning,
            "periods_s": [[round(a, 3), round(b, 3)] for a, b in self.periods],
            "segments": {k: v.report() for k, v in self.segments.items()},
            "accelerometers": self.accelerometers,
            "signs": self.signs,
        }


def upright(acc_still: np.ndarray) -> np.ndarray:
    """An up direction in the sensor frame from accelerometer readings at rest (their mean
    measures gravity only, pointing up; its length, which a scale error changes, is not used)."""
    up = acc_still.mean(axis=0)
    return up / np.linalg.norm(up)


def from_estimate(segment: str, est: AxisEstimate, gyro_bias: np.ndarray) -> SegmentCalibration:
    """Freeze an axis estimate into a calibration."""
    return SegmentCalibration(
        segment=segment,
        up=est.up,
        axis=est.final_axis(),
        gyro_bias=gyro_bias,
        axis_confidence=est.ratio,
        out_of_plane_share=est.out_of_plane_share,
        max_tilt_deg=est.max_tilt_deg,
    )


def common_grid(evidence: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """EVIDENCE_HZ grid over the time both segments' up-vectors cover."""
    t0 = max(float(t[0]) for t, _ in evidence.values())
    t1 = min(float(t[-1]) for t, _ in evidence.values())
    return np.arange(t0, t1, 1.0 / EVIDENCE_HZ) if t1 > t0 else np.empty(0)


def coflexion_sign(grid: np.ndarray, trunk_deg: np.ndarray, thigh_deg: np.ndarray) -> int:
    """+1 or -1: the thigh sign that makes trunk and thigh flex together, 0 if undecided."""
    if len(grid) < 3:
        return 0
    r_trunk = np.gradient(trunk_deg, grid)
    # Only where the trunk really hinges: a walking trunk rocks a few deg/s at the step
    # frequency against a swinging thigh, which says nothing about flexion.
    prod = np.where(np.abs(r_trunk) >= COFLEX_MIN_TRUNK_DEG_S, r_trunk * np.gradient(thigh_deg, grid), 0.0)
    tot = float(np.abs(prod).sum())
    if tot <= 0 or abs(prod.sum()) < COFLEX_DECISIVE * tot:
        return 0
    return 1 if prod.sum() > 0 else -1


def axis_estimates(
    evidence: dict[str, tuple[np.ndarray, np.ndarray]],
    refs: dict[str, np.ndarray],
    grid: np.ndarray,
    lumbar_motion: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, AxisEstimate]:
    """Flexion axes about the reference up-vectors ``refs``, signed as the module docstring
    says (trunk by its third moment, thigh by co-flexion with the trunk when decisive;
    unless the lower back's forward acceleration, ``lumbar_motion``, decisively pairs them
    the other way: ``forward_pairing``)."""
    ests = {}
    for seg, (_, u) in evidence.items():
        est = AxisEstimate(refs[seg])
        est.add(u)
        ests[seg] = est
    # Co-flexion says something only once both segments have really moved (before that
    # the "angles" are sway and noise about an axis not yet known).
    if all(
        s in ests and ests[s].axis is not None and ests[s].max_tilt_deg >= COFLEX_MIN_TILT_DEG
        for s in ("thigh", "lumbar")
    ):
        ang = {}
        for s in ("lumbar", "thigh"):
            axis = ests[s].axis
            assert axis is not None  # checked just above
            ang[s] = _on_grid(evidence[s], refs[s], axis, grid)
        co = coflexion_sign(grid, ang["lumbar"], ang["thigh"])
        if co != 0:
            ests["thigh"].force_sign(co)
            ang["thigh"] = co * ang["thigh"]
        if lumbar_motion is not None:
            lumbar_axis = ests["lumbar"].axis
            assert lumbar_axis is not None
            pair = forward_pairing(grid, ang["lumbar"], ang["thigh"], lumbar_motion, refs["lumbar"], lumbar_axis)
            if pair < 0:
                # The pair as the physics says; which way the pair faces, by the hip's
                # excursions (a hip flexes far forward and extends back little: standing up
                # from a chair, the seated pelvis tilts back, the thigh flexes far more).
                ests["thigh"].force_sign(-1)
                hip = ang["lumbar"] - ang["thigh"]
                facing = 1 if float(np.sum(np.sin(np.radians(hip)) ** 3)) >= 0 else -1
                ests["lumbar"].force_sign(facing, freeze=True)
                ests["thigh"].force_sign(facing, freeze=True)
    return ests


def forward_pairing(
    grid: np.ndarray,
    lumbar_deg: np.ndarray,
    thigh_deg: np.ndarray,
    lumbar_motion: tuple[np.ndarray, np.ndarray, np.ndarray],
    lumbar_up: np.ndarray,
    lumbar_axis: np.ndarray,
) -> int:
    """+1 if the lower back's axis sign agrees with the thigh's by how the lower back
    accelerates forward, -1 if it is mirrored against it, 0 if the data do not say.

    The lower back rides on the hip joint, which the thigh carries: when the thigh flexes
    (the knee forward of the hip) the hip goes back, about x = x_knee - L sin(thigh), in a
    deadlift, a squat, sitting down or standing up alike; and the sensor sits above the
    joint, so the trunk's own flexion carries it forward (r sin(trunk)). So its forward
    acceleration, regressed on both segments' angular accelerations, has a thigh term of -L
    when the lower back's forward is the right way round (+L when mirrored), however the
    trunk moves. Co-flexion, the other pairing cue, assumes the trunk flexes with the thigh,
    which a sit-to-stand's pelvis does not (it tilts back as the hips drop into the seat).
    ``lumbar_motion``: ``(t, accelerometer (N, 3), up-vectors (N, 3))`` of the lower back;
    the accelerometer is projected on the horizontal forward direction, so gravity drops
    out, and the slow part (posture-dependent accelerometer error) is taken out as in
    ``height_sign``."""
    t, acc, u = lumbar_motion
    n = int(HEIGHT_BAND_S * EVIDENCE_HZ)
    if len(grid) < 2 * n or len(t) < 2:
        return 0
    fwd = cross(lumbar_axis[None, :], lumbar_up[None, :])[0]  # where flexion tips the sensor
    acc_g, u_g = ([np.interp(grid, t, x[:, k]) for k in range(3)] for x in (acc, u))
    up_fwd = sum(u_g[k] * fwd[k] for k in range(3))
    h = [fwd[k] - up_fwd * u_g[k] for k in range(3)]  # the horizontal forward, sensor frame
    norm = np.sqrt(h[0] ** 2 + h[1] ** 2 + h[2] ** 2)
    a = sum(acc_g[k] * h[k] for k in range(3)) / np.maximum(norm, 1e-6)

    def band(x: np.ndarray) -> np.ndarray:
        return _smooth(x, AP_SMOOTH_N) - _smooth(x, n)

    def ang_acc(deg: np.ndarray) -> np.ndarray:
        return band(np.gradient(np.gradient(np.radians(deg), grid), grid))

    x = np.column_stack([ang_acc(thigh_deg), ang_acc(lumbar_deg)])
    y = band(a)
    xtx = x.T @ x
    if np.linalg.det(xtx) <= 1e-12 * max(float(np.trace(xtx)) ** 2, 1e-300):
        return 0
    coef = np.linalg.solve(xtx, x.T @ y)
    resid = y - x @ coef
    var = float(resid @ resid) / max(len(y) - 2, 1) * np.linalg.inv(xtx)[0, 0]
    lever = float(coef[0])
    if var <= 0 or abs(lever) < AP_MIN_LEVER_M or abs(lever) < AP_MIN_T * np.sqrt(var):
        return 0
    return 1 if lever < 0 else -1


def _on_grid(ev: tuple[np.ndarray, np.ndarray], ref: np.ndarray, axis: np.ndarray, grid: np.ndarray) -> np.ndarray:
    t, u = ev
    return np.interp(grid, t, angle_about(u, ref, axis))


def mean_up(ev: tuple[np.ndarray, np.ndarray], windows: list[tuple[float, float]]) -> np.ndarray:
    """The mean up-vector of evidence ``(t, u)`` over the time ``windows`` (unit length)."""
    t, u = ev
    m = np.zeros(len(t), bool)
    for a, b in windows:
        m |= (t >= a) & (t <= b)
    if not m.any():  # windows shorter than the evidence spacing: the nearest samples
        m[[int(np.argmin(np.abs(t - 0.5 * (a + b)))) for a, b in windows]] = True
    v = u[m].mean(axis=0)
    return v / np.linalg.norm(v)


def height_sign(grid: np.ndarray, hip_deg: np.ndarray, vertical: tuple[np.ndarray, np.ndarray] | None) -> int:
    """+1 if the provisional hip angle has the right sign by the lower back's vertical
    acceleration (``vertical``: times and specific force along up, m/s^2), -1 if mirrored, 0
    if the data do not say. Both signals are second derivatives with their slow parts (the
    posture-dependent error of an uncalibrated accelerometer) taken out, so nothing is
    integrated and nothing drifts."""
    if vertical is None or len(grid) < 4 * HEIGHT_SMOOTH_N:
        return 0
    av = np.interp(grid, *vertical)
    acc_hip = np.gradient(np.gradient(hip_deg, grid), grid)
    n = int(HEIGHT_BAND_S * EVIDENCE_HZ)
    av = _smooth(av, HEIGHT_SMOOTH_N) - _smooth(av, n)
    acc_hip = _smooth(acc_hip, HEIGHT_SMOOTH_N) - _smooth(acc_hip, n)
    prod = av * acc_hip
    tot = float(np.abs(prod).sum())
    if tot <= 0 or abs(prod.sum()) < HEIGHT_DECISIVE * tot:
        return 0
    return 1 if prod.sum() < 0 else -1


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    return moving_mean(x, max(1, n))


def choose_upright(
    evidence: dict[str, tuple[np.ndarray, np.ndarray]],
    still: list[tuple[float, float, float, dict[str, np.ndarray]]],
    find_lockouts: Callable[[np.ndarray, np.ndarray, np.ndarray], list[float]],
    lumbar_motion: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[str, list[tuple[float, float]], dict[str, np.ndarray], float, str, str]:
    """Pick the upright reference (module docstring).

    ``evidence``: per segment ``(t, u)``, up-vectors of the fused orientation (any thinning);
    ``still``: candidate still periods as ``(start_s, end_s, gyr_dev, {segment: up})``;
    ``find_lockouts(grid, trunk_deg, thigh_deg)``: lockout times of the reps in provisional
    angles (the rep detector, passed in so that calibration does not depend on it);
    ``lumbar_motion``: ``(t, accelerometer, up-vectors)`` of the lower back, for the signs
    (``height_sign``, ``forward_pairing``).
    Returns ``(source, periods, {segment: up}, confidence, detail, signs)``."""
    grid = common_grid(evidence)
    vertical = None if lumbar_motion is None else (lumbar_motion[0], np.einsum("ij,ij->i", *lumbar_motion[1:]))
    # Provisional reference: each segment's median posture; only differences matter here.
    med = {}
    for seg, (_, u) in evidence.items():
        m = np.median(u, axis=0)
        med[seg] = m / np.linalg.norm(m)
    ests = axis_estimates(evidence, med, grid, lumbar_motion)
    axes = {s: e.final_axis() for s, e in ests.items()}
    ang = {s: _on_grid(evidence[s], med[s], axes[s], grid) for s in evidence}
    # About the median posture the third moment says little (a session of continuous reps
    # has its median mid-range). A trunk dwells most near upright (standing, walking,
    # resting, the holds at the top), so its most frequent angle lies on the upright side
    # of its median; the thigh follows the trunk (co-flexion) or, undecided, the same rule.
    flip = {s: _dwell_flip(ang[s]) for s in ang}
    # The hips are highest standing: when hip flexion accelerates, the lower back accelerates
    # downwards. That physical fact, where the movement shows it clearly, outranks the dwell
    # rule; but the hips drop because the knees bend: a hinge on nearly straight legs (a
    # Romanian deadlift) turns a lower back that sits behind the hip's axis about as much up
    # as down, so the cue needs the thigh to have swung HEIGHT_MIN_THIGH_DEG.
    thigh_range = float(np.subtract(*np.percentile(ang["thigh"], [98, 2]))) if len(grid) else 0.0
    if thigh_range < HEIGHT_MIN_THIGH_DEG:
        vertical = None
    height = 0
    if coflexion_sign(grid, ang["lumbar"], ang["thigh"]) != 0:
        height = height_sign(grid, ang["lumbar"] + ang["thigh"], vertical)
        if height != 0:
            flip["lumbar"] = height < 0
        flip["thigh"] = flip["lumbar"]
    else:
        # No hinge to pair them (walking, sitting, running): a thigh dwells long in flexion
        # too (seated), so its dwell says nothing; but the hips drop whenever it flexes far
        # (sitting down, stepping down, crouching) and rise as it extends.
        height = height_sign(grid, ang["thigh"], vertical)
        if height != 0:
            flip["thigh"] = height < 0
    signs = "movement" if height != 0 else "dwell"
    for s in ang:
        if flip[s]:
            axes[s], ang[s] = -axes[s], -ang[s]
    hip = ang["lumbar"] + ang["thigh"]
    extended = float(np.percentile(hip, EXTENDED_PCT)) if len(hip) else 0.0
    ext = hip <= extended + 1e-9 if len(hip) else np.zeros(0, bool)
    thigh_ext = float(np.median(ang["thigh"][ext])) if ext.any() else 0.0
    trunk_ext = float(np.median(ang["lumbar"][ext])) if ext.any() else 0.0
    # Strides swing the hip far past upright for an instant, stride after stride (a runner's
    # push-off: 40-55 deg past standing, nearly all of it at the thigh); the most extended
    # posture held is what a stand is compared with then, as long as its trunk is no more
    # forward than at those strides (a set-up at the bar is 40-60 deg more forward) and its
    # thigh not SEAT_THIGH_DEG forward (a seat: 70-90 deg; fast sit-to-stands pass their
    # tops without holding them). One swing is no stride: early in a recording that starts
    # at the bar, the first pull's knees extend the thigh 50 deg before the trunk moves,
    # and the set-up is all it holds.
    held = _held(grid, ang, evidence) if len(runs(ext)) >= MIN_STRIDES else ext
    held_ext = float(np.percentile(hip[held], EXTENDED_PCT)) if held.any() else extended
    most = held & (hip <= held_ext + 1e-9)
    thigh_held = float(np.median(ang["thigh"][most])) if most.any() else thigh_ext

    postures = []
    for a, b, dev, ups in still:
        tr = float(angle_about(ups["lumbar"][None], med["lumbar"], axes["lumbar"])[0])
        th = float(angle_about(ups["thigh"][None], med["thigh"], axes["thigh"])[0])
        near_any = tr + th <= extended + UPRIGHT_NEAR_EXTENDED_DEG and th <= thigh_ext + UPRIGHT_THIGH_DEG
        near_held = (
            tr + th <= held_ext + UPRIGHT_NEAR_EXTENDED_DEG
            and th <= thigh_held + UPRIGHT_THIGH_DEG
            and th <= thigh_ext + SEAT_THIGH_DEG
            and tr <= trunk_ext + UPRIGHT_TRUNK_DEG
        )
        if near_any or near_held:
            postures.append((tr + th, tr, th, a, b, dev, ups))
    if postures:
        deep = grid[hip > extended + LIFT_FLEXION_DEG]
        ep = _choose_stand(_stands(postures), float(deep[0]) if len(deep) else np.inf)
        whole = _whole_stand(grid, ang, ep.start_s, ep.end_s)
        refs = {seg: mean_up(evidence[seg], [whole]) for seg in evidence}
        confidence = min(1.0, ep.still_s / GOOD_STILL_S) * min(1.0, 2 * CALM_GYR_DEV / (ep.calm + CALM_GYR_DEV))
        detail = f"{ep.still_s:.1f} s standing still from {ep.start_s:.1f} s"
        return "standing", [whole], refs, float(confidence), detail, signs

    # No still upright period: zero the angles at the most extended postures, find the reps.
    shift = {s: float(np.median(ang[s][ext])) if ext.any() else 0.0 for s in ang}
    lockouts = find_lockouts(grid, ang["lumbar"] - shift["lumbar"], ang["thigh"] - shift["thigh"]) if len(grid) else []
    if lockouts:
        windows = [(t - LOCKOUT_AVG_S, t + LOCKOUT_AVG_S) for t in lockouts]
        refs = {seg: mean_up(evidence[seg], windows) for seg in evidence}
        spread = max(float(np.std(np.interp(lockouts, grid, ang[s]))) for s in ang)
        confidence = min(0.6, 0.15 * len(lockouts)) * (1.0 if spread < 5.0 else 0.5)
        detail = f"no still standing; upright from {len(lockouts)} rep lockout(s) (spread {spread:.1f} deg)"
        return "lockouts", windows, refs, float(confidence), detail, signs
    windows = _runs_of(grid, ext)
    refs = {seg: mean_up(evidence[seg], windows) for seg in evidence}
    detail = "no still standing and no rep; upright from the most extended postures"
    return "extended-posture", windows, refs, 0.2, detail, signs


@dataclass
class _Stand:
    """Still periods in one posture, close in time: one stand (sway and weight shifts break
    a stand into pieces; its posture is the mean over all of it, which sway averages out)."""

    start_s: float
    end_s: float
    still_s: float
    hip_deg: float
    calm: float  # duration-weighted RMS gyro deviation, rad/s


def _stands(postures: list[tuple[Any, ...]]) -> list[_Stand]:
    """Group candidate still periods ``(hip, trunk, thigh, start, end, dev, ups)`` into
    stands: consecutive in time (gaps <= STAND_GAP_S) and in the same posture."""
    out: list[list[tuple[Any, ...]]] = []
    for p in sorted(postures, key=lambda p: p[3]):
        last = out[-1][-1] if out else None
        if (
            last is not None
            and p[3] - last[4] <= STAND_GAP_S
            and abs(p[1] - out[-1][0][1]) <= SAME_POSTURE_DEG
            and abs(p[2] - out[-1][0][2]) <= SAME_POSTURE_DEG
        ):
            out[-1].append(p)
        else:
            out.append([p])
    stands = []
    for group in out:
        w = np.array([p[4] - p[3] for p in group])
        stands.append(
            _Stand(
                group[0][3],
                group[-1][4],
                float(w.sum()),
                float(np.average([p[0] for p in group], weights=w)),
                float(np.average([p[5] for p in group], weights=w)),
            )
        )
    return stands


def _choose_stand(stands: list[_Stand], first_lift_s: float) -> _Stand:
    """The stand the lifter was asked for: upright is defined by the standing before the
    first rep, so a stand that ends before the first lift (``first_lift_s``, the first deep
    hip flexion) is chosen however short, unless it is clearly less tall than the lifter's
    tallest stand (then it was not an upright stand, e.g. looking down at a phone). Without
    one: the first stand that lasts GOOD_STILL_S and is held still for TRUSTED_STILL_S of it
    (a deliberate stand, sway and all). Else, of the stands held still that long, the
    tallest (least hip flexion: a relaxed stand between sets often slouches a few degrees);
    else the longest of those as tall as the tallest to within PRE_LIFT_TALL_DEG (a bend to
    pick up chalk, held still for a moment, is no stand beside a swaying one)."""
    trusted = [s for s in stands if s.still_s >= TRUSTED_STILL_S]
    tallest = min(s.hip_deg for s in (trusted or stands))
    pre_lift = [s for s in stands if s.end_s <= first_lift_s and s.hip_deg <= tallest + PRE_LIFT_TALL_DEG]
    if pre_lift:
        return pre_lift[0]
    deliberate = [s for s in trusted if s.end_s - s.start_s >= GOOD_STILL_S]
    if deliberate:
        return min(deliberate, key=lambda s: s.start_s)
    if trusted:
        return min(trusted, key=lambda s: (round(s.hip_deg / TALLER_BY_DEG), s.start_s))
    return max((s for s in stands if s.hip_deg <= tallest + PRE_LIFT_TALL_DEG), key=lambda s: s.still_s)


def _held(
    grid: np.ndarray, ang: dict[str, np.ndarray], evidence: dict[str, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Where a posture is held rather than swung through: every segment turning slower than
    HELD_DEG_S over HELD_SMOOTH_N evidence samples, with data (in a gap between a sensor's
    samples the posture is unknown, not held). A stride swings the thigh far behind upright
    (a runner's push-off: the hip 40-55 deg more extended than standing) and straight on,
    which no lifter holds; standing, the tops of reps and seats are held. With less than
    MIN_HELD_S of such postures (a recording all strides), every posture counts."""
    if len(grid) < 2:
        return np.ones(len(grid), bool)
    held = np.ones(len(grid), bool)
    for a in ang.values():
        held &= _smooth(np.abs(np.gradient(a, grid)), HELD_SMOOTH_N) < HELD_DEG_S
    for t, _ in evidence.values():  # between two samples that are not a gap apart
        k = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
        held &= t[k] - t[k - 1] <= 2 * float(np.median(np.diff(t)))
    return held if held.sum() >= MIN_HELD_S * EVIDENCE_HZ else np.ones(len(grid), bool)


def _whole_stand(grid: np.ndarray, ang: dict[str, np.ndarray], start_s: float, end_s: float) -> tuple[float, float]:
    """The whole of a stand whose still pieces span ``start_s``..``end_s``: on either side, as
    long as every segment stays within STAND_BAND_DEG of the posture held still, less the
    ends where a segment turns faster than sway does (STAND_SWAY_DEG_S: the first degrees
    of the next movement). Postural sway (0.2-0.4 Hz) turns a segment fast enough at times
    to break the stillness test, most of all as the lifter gets ready to move; its mean over
    a few seconds is the posture, but over less than one cycle it is off by up to the sway
    itself, so every second counts."""
    inside = (grid >= start_s) & (grid <= end_s)
    if not inside.any() or len(grid) < 2:
        return start_s, end_s
    near = np.ones(len(grid), bool)
    fast = np.zeros(len(grid), bool)
    for a in ang.values():
        near &= np.abs(a - a[inside].mean()) <= STAND_BAND_DEG
        fast |= np.abs(np.gradient(a, grid)) > STAND_SWAY_DEG_S
    first, last = int(np.argmax(inside)), len(grid) - 1 - int(np.argmax(inside[::-1]))
    i, j = first, last
    while i > 0 and near[i - 1]:
        i -= 1
    while j < len(grid) - 1 and near[j + 1]:
        j += 1
    while i < first and fast[i]:
        i += 1
    while j > last and fast[j]:
        j -= 1
    return min(start_s, float(grid[i])), max(end_s, float(grid[j]))


def _dwell_flip(x: np.ndarray) -> bool:
    """Is the provisional angle ``x`` mirrored, by where the segment dwells? Its most frequent
    angle lies on the upright side of its median (standing, resting, the holds at the top).
    Where the two nearly coincide (a session mostly stood), the range says it instead: a
    segment flexes far forward and extends back little, so the long side is flexion."""
    if len(x) == 0:
        return False
    mode, med = _mode(x), float(np.median(x))
    lo, hi = np.percentile(x, [EXTENDED_PCT, 100 - EXTENDED_PCT])
    if abs(mode - med) >= DWELL_DECISIVE * (hi - lo):
        return mode > med
    return bool(hi - med < med - lo)


def _mode(x: np.ndarray, bin_deg: float = 3.0) -> float:
    """The most frequent value, to within a bin (the centre of the fullest bin)."""
    if len(x) == 0:
        return 0.0
    edges = np.arange(x.min(), x.max() + bin_deg, bin_deg)
    if len(edges) < 2:
        return float(x.mean())
    counts, edges = np.histogram(x, edges)
    k = int(np.argmax(counts))
    return float(0.5 * (edges[k] + edges[k + 1]))


def _runs_of(grid: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    return [(float(grid[a]), float(grid[b - 1])) for a, b in runs(mask)] or [(float(grid[0]), float(grid[0]))]


def calibrate(
    evidence: dict[str, tuple[np.ndarray, np.ndarray]],
    still: list[tuple[float, float, float, dict[str, np.ndarray]]],
    gyro_bias: dict[str, np.ndarray],
    find_lockouts: Callable[[np.ndarray, np.ndarray, np.ndarray], list[float]],
    lumbar_motion: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Calibration:
    """Calibration of every segment from its fused up-vectors ``evidence`` (``(t, u)``, any
    thinning: body motion is slow) and the candidate still periods (``choose_upright``);
    ``gyro_bias``: each sensor's zero-rate offset, for the report."""
    source, periods, refs, confidence, detail, signs = choose_upright(evidence, still, find_lockouts, lumbar_motion)
    ests = axis_estimates(evidence, refs, common_grid(evidence), lumbar_motion)
    segs = {seg: from_estimate(seg, est, gyro_bias[seg]) for seg, est in ests.items()}
    warnings = []
    if confidence < WEAK_CONFIDENCE:
        warnings.append(f"weak upright reference ({detail}): stand tall and still for 2 s before the first rep")
    for seg, sc in segs.items():
        if not (sc.max_tilt_deg >= CONFIDENT_TILT_DEG and sc.axis_confidence >= CONFIDENT_RATIO):
            warnings.append(f"{seg} flexion axis uncertain (tilt {sc.max_tilt_deg:.0f} deg)")
    return Calibration(source, periods, segs, confidence, detail, warnings, signs=signs)
