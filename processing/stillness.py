"""When is a sensor at rest, judged against the sensor itself, and when are both at rest.

Real sensors are not calibrated (docs/domain.md, Calibration): at rest a consumer
accelerometer may read 8 or 13 m/s^2 instead of 9.81 and differently in each posture (per-axis
scale and offset errors), and a gyroscope may read several deg/s while nothing turns, and
drift. So nothing here compares a reading with 9.81 m/s^2 or with a zero rate:

* **quiet**: the readings do not change: the accelerometer's and the gyro's RMS deviation
  about their own moving mean (``STILL_SMOOTH_S``) are small, and the accelerometer's
  direction does not turn (a smooth movement at a steady rate has no deviation, but
  gravity turns in the sensor frame). A constant specific force with no rotation is
  gravity alone, whatever the sensor's scale says its magnitude is.
* **own gyro offset**: the moving-mean gyro rate over quiet runs of at least ``MIN_STILL_S``,
  one value per run; runs whose value is far from the median of all runs are a steady
  turn (walking a loop), not an offset. Between runs the offset is interpolated in time,
  so a gyro that drifts over a session is followed (``GyroOffset``).
* **still**: quiet and turning by less than ``STILL_GYR_RAD_S`` after removing the offset
  (standing sway turns a segment by a few deg/s; any movement by tens).

A period in which *both* sensors are still for at least ``MIN_STILL_S`` is a candidate for
the upright reference (``joint_still_periods``); which one is upright is decided by the
calibration (``processing.calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STILL_SMOOTH_S = 0.2  # moving-mean window of the tests
MIN_STILL_S = 0.5  # domain.md: 0.5 s of standing still is enough for a reference
STILL_GYR_RAD_S = 0.2  # smoothed |gyro - own offset|: above standing sway (2 deg at 0.4 Hz on three axes: ~0.15), below any lift (> 0.5)
QUIET_GYR_DEV = 0.1  # rad/s RMS of the gyro about its moving mean
QUIET_ACC_DEV_REL = 0.05  # RMS of the accelerometer about its moving mean, share of its own rest magnitude
QUIET_ACC_DEV_MAX = 0.5  # ... and at most this (m/s^2) whatever the sensor's scale
OFFSET_OUTLIER_RAD_S = 0.04  # a quiet run this far from the runs' median offset is a steady turn
DRIFT_SPAN_S = 10.0  # quiet runs spread over less than this: no drift is estimated
DRIFT_T_STAT = 3.0  # a drift is followed only when its slope is this many standard errors from zero
GRID_S = 0.01  # the common grid of the joint test (100 Hz: fine enough for >= 0.5 s periods)


def moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over n samples along axis 0 (edges use the valid part).

    Differences of one cumulative sum, column by column into the output: no index arrays,
    and no copy of ``x`` beyond one column's sum (an hour at 200 Hz has 720,000 rows)."""
    out = np.empty(x.shape)
    if x.ndim == 1:
        _moving_mean_into(x, n, out, np.empty(len(x) + 1))
        return out
    flat_x, flat_out = x.reshape(len(x), -1), out.reshape(len(x), -1)
    c = np.empty(len(x) + 1)
    for k in range(flat_x.shape[1]):
        col = np.empty(len(x))
        _moving_mean_into(flat_x[:, k], n, col, c)
        flat_out[:, k] = col
    return out


def _moving_mean_into(x: np.ndarray, n: int, out: np.ndarray, c: np.ndarray) -> None:
    """``moving_mean`` of one column ``x`` into ``out``, ``c`` (len(x) + 1) its cumulative sum."""
    size = len(x)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])
    h, m = n // 2, n - n // 2  # window of sample i: [i - h, i + m), cut to the data
    if size <= n:
        i = np.arange(size)
        lo, hi = np.clip(i - h, 0, size), np.clip(i + m, 0, size)
        np.divide(c[hi] - c[lo], hi - lo, out=out)
        return
    inner = out[h : size - m + 1]
    np.subtract(c[n:], c[: size + 1 - n], out=inner)
    inner /= n
    np.divide(c[m : h + m], np.arange(m, h + m), out=out[:h])
    tail = np.arange(size - m + 1, size)
    np.divide(c[size] - c[tail - h], size - tail + h, out=out[size - m + 1 :])


def _sq_dev(x: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """``np.sum((x - mean) ** 2, axis=1)`` for (N, 3) arrays (``mean`` None: zero), the same
    operations in the same order, a column at a time (no (N, 3) temporaries)."""
    out = np.zeros(len(x))
    for k in range(x.shape[1]):
        d = x[:, k] * x[:, k] if mean is None else x[:, k] - mean[:, k]
        if mean is not None:
            d *= d
        out += d
    return out


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True as (first, one past last) index pairs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


@dataclass(frozen=True)
class GyroOffset:
    """A gyro's zero-rate offset over time (rad/s), from one measured value per quiet run:
    their weighted mean, plus a linear trend in time when the runs span long enough to show
    drift (a straight line through noisy short runs, not a line joining them: the yaw of
    standing sway biases a short run by a deg/s or so). Constant outside the runs' span.
    With no quiet run it is zero (vqf's own bias estimator is then all there is)."""

    t: np.ndarray  # (K,) mid-times of the runs
    value: np.ndarray  # (K, 3)
    weight: np.ndarray  # (K,)

    def at(self, t: np.ndarray) -> np.ndarray:
        if len(self.t) == 0:
            return np.broadcast_to(np.zeros(3), (len(t), 3))
        w = self.weight / self.weight.sum()
        t_mean = float(w @ self.t)
        mean = w @ self.value
        spread = float(w @ (self.t - t_mean) ** 2)
        if len(self.t) < 3 or spread < DRIFT_SPAN_S**2:
            return np.broadcast_to(mean, (len(t), 3))  # read-only: one row for all
        dt = self.t - t_mean
        slope = (w * dt) @ (self.value - mean) / spread
        # Only a trend the runs show beyond their scatter (per axis, t-statistic): a line
        # fitted through the scatter of a steady gyro extrapolates it to the ends.
        resid = self.value - mean - dt[:, None] * slope
        dof = max(1.0 - float(w @ w), 1e-9)
        se = np.sqrt((w @ resid**2) / dof * float((w**2) @ dt**2)) / spread
        slope = np.where(np.abs(slope) >= DRIFT_T_STAT * se, slope, 0.0)
        tc = np.clip(t, self.t.min(), self.t.max()) - t_mean
        out = tc[:, None] * slope
        out += mean  # in place: an hour at 200 Hz is 17 MB an array
        return out

    @property
    def known(self) -> bool:
        return len(self.t) > 0


@dataclass(frozen=True)
class SensorStillness:
    """One sensor's per-sample stillness and its own offset; ``gyr_dev`` (rad/s) says how
    still each sample is (for preferring the stillest reference); ``gyr_offset`` is
    ``offset.at(t)``, the offset at each sample ((N, 3), rad/s; evaluated once, for every
    step that removes it)."""

    t: np.ndarray
    still: np.ndarray
    gyr_dev: np.ndarray
    offset: GyroOffset
    gyr_offset: np.ndarray


def sensor_stillness(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> SensorStillness:
    """Stillness of one sensor judged against itself (module docstring)."""
    if len(t) < 3:
        none = GyroOffset(np.empty(0), np.empty((0, 3)), np.empty(0))
        return SensorStillness(t, np.zeros(len(t), bool), np.full(len(t), np.inf), none, none.at(t))
    dt = float(np.median(np.diff(t)))
    n = max(3, int(round(STILL_SMOOTH_S / dt))) if dt > 0 else 3
    a = moving_mean(acc, n)
    adev = np.sqrt(moving_mean(_sq_dev(acc, a), n))
    # Gravity turning in the sensor frame is rotation about a horizontal axis, which every
    # lifting movement is; the gyro's own rate cannot say so before its offset is known.
    # Measured between moving means a window apart (adjacent ones differ by noise only).
    turn = _turn_rate(t, a, n // 2, dt)  # before the gyro's arrays: the peak of an hour's stillness
    g = moving_mean(gyr, n)
    gdev = np.sqrt(moving_mean(_sq_dev(gyr, g), n))
    quiet_gyr = (gdev < QUIET_GYR_DEV) & (turn < STILL_GYR_RAD_S)
    # The sensor's own rest magnitude: |acc| where nothing changes (any scale error included).
    mag = np.sqrt(_sq_dev(a, None))
    rest = mag[quiet_gyr]
    rest_mag = float(np.median(rest)) if len(rest) else float(np.median(mag))
    del mag, rest
    quiet = quiet_gyr & (adev < min(QUIET_ACC_DEV_MAX, QUIET_ACC_DEV_REL * rest_mag))
    offset = _gyro_offset(t, g, a, quiet)
    del a, adev, turn  # before the offset's arrays: the peak of an hour's stillness
    gyr_offset = offset.at(t)
    g -= gyr_offset  # g's last use: |g - offset| as np.linalg.norm computes it, in place
    g *= g
    rest_rate = g.sum(axis=1)
    still = quiet & (np.sqrt(rest_rate, out=rest_rate) < STILL_GYR_RAD_S)
    return SensorStillness(t, still, gdev, offset, gyr_offset)


def _turn_rate(t: np.ndarray, a: np.ndarray, h: int, dt: float) -> np.ndarray:
    """How fast the direction of ``a`` turns (rad/s) at each sample ``i``, between ``a[i - h]``
    and ``a[i + h]`` (indices clamped at the ends): ``|a_behind x a_ahead| / |a_i|^2 / span``.
    Inside, those are slices of ``a``, not gathered copies (an hour at 200 Hz: 17 MB each)."""
    size = len(t)
    out = np.empty(size)
    lo, hi = min(h, size), max(size - h, 0)  # inside: i - h and i + h are both samples
    if lo < hi:
        behind, ahead, mid = slice(0, hi - h), slice(2 * h, size), slice(lo, hi)
        np.divide(_cross_norm(a[behind], a[ahead]), np.maximum(_sq_dev(a[mid], None), 1e-9), out=out[mid])
        out[mid] /= np.maximum(t[ahead] - t[behind], dt)
    ends = np.r_[0:lo, max(lo, hi) : size]
    behind_i, ahead_i = np.maximum(ends - h, 0), np.minimum(ends + h, size - 1)
    out[ends] = (
        _cross_norm(a[behind_i], a[ahead_i])
        / np.maximum(_sq_dev(a[ends], None), 1e-9)
        / np.maximum(t[ahead_i] - t[behind_i], dt)
    )
    return out


def _cross_norm(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``|p x q|`` per row of two (N, 3) arrays: ``np.linalg.norm(np.cross(p, q), axis=1)``
    with the same operations in the same order, in a third of the time and memory."""
    p0, p1, p2 = p[:, 0], p[:, 1], p[:, 2]
    q0, q1, q2 = q[:, 0], q[:, 1], q[:, 2]
    c = p1 * q2
    c -= p2 * q1
    out = c * c
    c = p2 * q0
    c -= p0 * q2
    out += c * c
    c = p0 * q1
    c -= p1 * q0
    out += c * c
    return np.sqrt(out, out=out)


def _gyro_offset(t: np.ndarray, g: np.ndarray, a: np.ndarray, quiet: np.ndarray) -> GyroOffset:
    """One offset per quiet run of >= MIN_STILL_S: its mean rate less the rotation that the
    accelerometer saw over the run. A slow, smooth movement (a lifter settling at the top)
    is as quiet as standing over a short window; gravity turning in the sensor frame tells
    the two apart (as vqf's own bias estimator does): for a pure rotation da/dt = -w x a, so
    over the run w_perp = -(a0 x a1) / (|a|^2 T). Runs still far from the median of all runs
    are turns about the vertical, which no accelerometer sees, not offsets."""
    mids, vals, weights = [], [], []
    for i, j in runs(quiet):
        dur = t[j - 1] - t[i]
        if dur >= MIN_STILL_S:
            a0, a1 = a[i], a[j - 1]
            seen = -np.cross(a0, a1) / (float(a0 @ a1) * dur)
            mids.append(0.5 * (t[i] + t[j - 1]))
            vals.append(g[i:j].mean(axis=0) - seen)
            weights.append(dur)
    if not mids:
        return GyroOffset(np.empty(0), np.empty((0, 3)), np.empty(0))
    vals_a = np.array(vals)
    centre = _weighted_median(vals_a, np.array(weights))
    keep = np.linalg.norm(vals_a - centre, axis=1) < OFFSET_OUTLIER_RAD_S
    return GyroOffset(np.array(mids)[keep], vals_a[keep], np.array(weights)[keep])


def _weighted_median(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-column weighted median of (K, 3) values."""
    out = np.empty(x.shape[1])
    for k in range(x.shape[1]):
        order = np.argsort(x[:, k])
        c = np.cumsum(w[order])
        out[k] = x[order[int(np.searchsorted(c, 0.5 * c[-1]))], k]
    return out


@dataclass(frozen=True)
class StillPeriod:
    """An interval in which both sensors are still; ``gyr_dev`` is the mean of the sensors'
    RMS gyro deviation over it (rad/s, smaller is stiller)."""

    start_s: float
    end_s: float
    gyr_dev: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def joint_still_periods(stillness: dict[str, SensorStillness]) -> list[StillPeriod]:
    """Every interval of >= MIN_STILL_S in which all sensors are still, in time order.

    A grid point counts only where each sensor has a sample within two of its sample
    intervals: time inside one sensor's dropout is not "still", it is unknown. The smoothing
    blurs each edge by half a window, which is trimmed, except where the data begin or end
    still (nothing blurs those edges)."""
    if any(len(s.t) < 3 for s in stillness.values()):
        return []
    t0 = max(float(s.t[0]) for s in stillness.values())
    t1 = min(float(s.t[-1]) for s in stillness.values())
    if t1 - t0 < MIN_STILL_S:
        return []
    grid = np.arange(t0, t1 + GRID_S / 2, GRID_S)
    both = np.ones(len(grid), bool)
    dev = np.zeros(len(grid))
    for s in stillness.values():
        j = np.clip(np.searchsorted(s.t, grid, side="right") - 1, 0, len(s.t) - 1)
        near = np.abs(s.t[j] - grid) <= 2 * float(np.median(np.diff(s.t)))
        both &= s.still[j] & near
        dev += s.gyr_dev[j] / len(stillness)
    margin = STILL_SMOOTH_S / 2
    out = []
    for a, b in runs(both):
        start = grid[a] + (margin if a > 0 else 0.0)
        end = grid[b - 1] - (margin if b < len(grid) else 0.0)
        if end - start >= MIN_STILL_S:
            out.append(StillPeriod(float(start), float(end), float(dev[a:b].mean())))
    return out
