"""Sensor-to-segment calibration: where is "upright" and about which axis does the segment flex.

The lifter straps the sensors on in any orientation, so neither is known from mounting.
Both come from the data (docs/domain.md):

* **Upright pose**: every recording starts with the lifter standing upright and still for
  at least 2 s. The first period, starting within the first 30 s, in which *both* sensors
  are still (low smoothed gyro rate, accelerometer norm close to g, steady accelerometer)
  for ``MIN_STILL_S`` gives, per sensor, the direction of gravity in the sensor frame
  (``up``: the mean accelerometer reading, which at rest is gravity alone), the zero of
  the segment's inclination, and the gyro's zero-rate offset (its mean reading).
* **Flexion axis**: a segment in a lift hinges about one axis, horizontal at the upright
  pose. For every sample the tilt of the segment away from upright is the rotation taking
  the current up direction ``u`` (from the fused orientation) to the upright one; its axis
  ``u x up`` is orthogonal to ``up`` by construction, with length sin(tilt). The flexion
  axis is the principal direction of these tilt vectors weighted by tilt^2, so large
  excursions (the lift) dominate and small, many-directional ones (a trunk during walking,
  shuffling) count little. Thigh swing in walking is about the same axis and only helps.
  Heading never enters: only gravity in the sensor frame is used, which 6D fusion observes.
* **Sign**: in a lift both segments flex forward from upright, far more than they ever
  extend backward; the axis sign makes the third moment (sum of sin^3) of the angle positive.

Inclination (``inclination``): the signed rotation of the segment about its flexion axis
away from upright, i.e. the angle, in the sagittal plane (the plane orthogonal to the axis),
between the segment's upright direction and the current vertical. Out-of-plane tilt (sway)
is the component along the axis and does not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hinge.errors import HingeUserError

G = 9.81
SEARCH_S = 30.0  # the still period must start within this long from the first sample
MIN_STILL_S = 2.0  # docs/domain.md: the lifter stands still for at least 2 s
STILL_SMOOTH_S = 0.2  # moving-average window of the stillness test
STILL_GYR_RAD_S = 0.1  # smoothed |gyro - offset|: above standing sway (~0.03), below movement
STILL_ACC_REL = 0.1  # smoothed |acc| within 10 % of g (tolerates scale errors)
STILL_ACC_STD = 0.5  # m/s^2 RMS deviation of acc from its local mean (vibration, steps)
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


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over n samples along axis 0 (edges use the valid part)."""
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), x]), axis=0)
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i + n - n // 2, 0, len(x))
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def still_mask(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
    """Per-sample: is this sensor still and carrying only gravity (see module thresholds).

    The gyro test is on the smoothed rate minus the sensor's zero-rate offset, taken as the
    median smoothed rate over the samples whose accelerometer looks still: a consumer gyro
    may be off by several deg/s, which an absolute threshold would confuse with motion."""
    if len(t) < 2:
        return np.zeros(len(t), bool)
    n = max(3, int(round(STILL_SMOOTH_S / np.median(np.diff(t)))))
    g = _moving_mean(gyr, n)
    a = _moving_mean(acc, n)
    dev = _moving_mean(np.sum((acc - a) ** 2, axis=1), n)
    acc_still = (np.abs(np.linalg.norm(a, axis=1) - G) < STILL_ACC_REL * G) & (dev < STILL_ACC_STD**2)
    # The offset comes from the first MIN_STILL_S during which the gyro is also steady (low
    # variance about its local mean, which an offset does not change): recordings start
    # standing still, while later the lower back can look still to its accelerometer and
    # steady to its gyro yet turn (walking a loop turns at a steady rate about vertical,
    # which no accelerometer sees), and that would bias a median over the whole stream.
    gdev = _moving_mean(np.sum((gyr - g) ** 2, axis=1), n)
    quiet = acc_still & (gdev < STILL_GYR_RAD_S**2)
    basis = _first_run(t, quiet, MIN_STILL_S)
    if not basis.any():
        basis = quiet if quiet.any() else acc_still
    offset = np.median(g[basis], axis=0) if basis.any() else np.zeros(3)
    return acc_still & (np.linalg.norm(g - offset, axis=1) < STILL_GYR_RAD_S)


def _first_run(t: np.ndarray, mask: np.ndarray, min_s: float) -> np.ndarray:
    """The first contiguous run of ``mask`` lasting at least ``min_s`` (empty if none)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    out = np.zeros(len(mask), bool)
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if t[b - 1] - t[a] >= min_s:
            out[a:b] = True
            break
    return out


def find_still_period(
    streams: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    t_first: float | None = None,
    ongoing_ok: bool = False,
) -> tuple[float, float] | None:
    """The first interval of >= MIN_STILL_S in which all sensors are still, starting within
    SEARCH_S of ``t_first`` (default: the earliest sample). ``streams`` maps a segment to
    ``(t, acc, gyr)``. Returns ``(start_s, end_s)`` or None. The interval extends as long as
    the stillness lasts; with ``ongoing_ok`` (streaming) a still period still running at the
    end of the data is returned once it is long enough."""
    if t_first is None:
        t_first = min(s[0][0] for s in streams.values())
    # Only the start matters: a still period longer than this is cut here (averaging more
    # than ~30 s of standing gains nothing), and a long recording costs nothing extra.
    horizon = t_first + 2 * SEARCH_S
    streams = {k: tuple(x[: np.searchsorted(v[0], horizon)] for x in v) for k, v in streams.items()}
    if any(len(v[0]) < 2 for v in streams.values()):
        return None
    t_end = min(s[0][-1] for s in streams.values())
    step = 0.01  # a 100 Hz common grid is fine enough for a >= 2 s period
    grid = np.arange(t_first, t_end, step)
    if len(grid) == 0:
        return None
    both = np.ones(len(grid), bool)
    for t, acc, gyr in streams.values():
        m = still_mask(t, acc, gyr)
        j = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
        # a grid point is still if the sample at or before it is, and it lies within the data
        both &= m[j] & (grid >= t[0]) & (grid <= t[-1])
    edges = np.diff(np.concatenate([[0], both.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    margin = STILL_SMOOTH_S / 2  # smoothing blurs the edges of the period by half a window
    for a, b in zip(starts, stops):
        t0, t1 = grid[a] + margin, grid[b - 1] - margin
        if t0 - margin > t_first + SEARCH_S:
            break
        if b == len(grid) and not ongoing_ok:
            t1 = grid[b - 1]  # the data ends still: nothing blurs that edge
        if t1 - t0 >= MIN_STILL_S:
            return float(t0), float(t1)
    return None


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
        self.abs_third += float(np.sum(s2 ** 1.5))
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

    def report(self) -> dict:
        return {
            "up_in_sensor": [round(float(v), 4) for v in self.up],
            "flexion_axis_in_sensor": [round(float(v), 4) for v in self.axis],
            "axis_confidence": round(self.axis_confidence, 3),
            "out_of_plane_share": round(self.out_of_plane_share, 3),
            "max_tilt_deg": round(self.max_tilt_deg, 1),
            "still_gyro_bias_deg_s": [round(float(np.degrees(v)), 3) for v in self.gyro_bias],
            "axis_known": bool(self.max_tilt_deg >= CONFIDENT_TILT_DEG and self.axis_confidence >= CONFIDENT_RATIO),
        }


@dataclass
class Calibration:
    """Upright pose and flexion axes of all segments, found from one recording."""

    still_start_s: float
    still_end_s: float
    segments: dict[str, SegmentCalibration]

    def report(self) -> dict:
        """JSON-serialisable quality report (goes into ``hinge analyze --json``)."""
        return {
            "still_period_s": [round(self.still_start_s, 3), round(self.still_end_s, 3)],
            "still_duration_s": round(self.still_end_s - self.still_start_s, 3),
            "segments": {k: v.report() for k, v in self.segments.items()},
        }


def no_still_error(source: str) -> HingeUserError:
    return HingeUserError(
        f"{source}: no still upright period of {MIN_STILL_S:g} s with both sensors at rest "
        f"in the first {SEARCH_S:g} s (start a recording standing tall and still)"
    )


def upright(acc_still: np.ndarray) -> np.ndarray:
    """The upright pose's up direction in the sensor frame: the mean accelerometer reading
    over the still period (at rest it measures gravity only, pointing up)."""
    up = acc_still.mean(axis=0)
    return up / np.linalg.norm(up)


def still_gyro_offset(t: np.ndarray, gyr: np.ndarray, still: tuple[float, float]) -> np.ndarray:
    """The gyro's zero-rate offset (rad/s): its mean reading over the still period."""
    return gyr[(t >= still[0]) & (t <= still[1])].mean(axis=0)


def calibrate(
    still: tuple[float, float],
    raw: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    up_vecs: dict[str, np.ndarray],
) -> Calibration:
    """Calibration of every segment: ``raw`` maps a segment to its ``(t, acc, gyr)``,
    ``up_vecs`` to the up-vectors (N, 3) of its fused orientation over the recording (any
    subsampling: body motion is slow); ``still`` from ``find_still_period``."""
    segs = {}
    for seg, (t, acc, gyr) in raw.items():
        est = AxisEstimate(upright(acc[(t >= still[0]) & (t <= still[1])]))
        est.add(up_vecs[seg])
        segs[seg] = from_estimate(seg, est, still_gyro_offset(t, gyr, still))
    return Calibration(still[0], still[1], segs)


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
