"""An uncalibrated accelerometer's per-axis gain and offset, from the recording itself.

Consumer accelerometers are off by up to +-35 % per axis in gain and by an offset
(docs/domain.md, Calibration): at rest one reads 13 m/s^2 standing and 9 sitting. The
direction of gravity it reports is then wrong by several degrees, differently in each
posture, and every inclination with it. What the data give to fix that (the classic
multi-position calibration, with the positions and the turns between them taken from the
recording instead of a calibration rig):

* every still run of the sensor is a posture in which the accelerometer measures gravity
  alone: ``m_k = S (g u_k) + o`` with ``u_k`` the unit up direction in the sensor frame,
  ``S = diag(s)`` the gains and ``o`` the offsets;
* between two still runs close in time, the gyroscope (its offset removed) says how the
  sensor turned, so ``u_{k+1} = R_k^T u_k`` (a gyro is accurate over seconds, where an
  accelerometer error does not average out).

Least squares over ``s``, ``o`` and the ``u_k`` (weak priors ``s = 1``, ``o = 0`` for what the
postures do not show, e.g. the gain along the flexion axis) gives the calibration, which is
used only when the postures are different enough to show it (``MIN_SPREAD_DEG``), the
sensor reads a different |g| in different postures (``MIN_MAGNITUDE_SPREAD``: a calibrated
one does not), the fit explains the turns clearly better than no correction
(``MIN_IMPROVEMENT``), it explains postures and turns to within their noise (``MAX_CHI2``:
a "still" run in which the sensor was carried, not turning but accelerating, is no posture),
and it pins the angles between the postures down (``MAX_DIRECTION_SD_DEG``, from the fit's
posterior covariance: postures that all turn about one axis, a lower back that only
hinges, let gains and offsets trade against each other). To 3 deg is enough: the
uncorrected sensor leaves 5-10 deg between postures 50 deg apart, and a lower back that
only hinges (stand, set-up, rests) is rarely pinned to 1.5 deg (simulated uncalibrated
sessions: trunk RMSE 1.0 -> 0.58 deg with the 3 deg bound). Gains outside ``GAIN_RANGE`` and
offsets beyond ``MAX_OFFSET_M_S2`` are no sensor's. Where the sensor is plainly uncalibrated,
up to ``MAX_CARRIED`` postures that the fit cannot explain are set aside (``fit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from processing.fusion import quat_mul
from processing.stillness import runs

G = 9.81
MIN_RUN_S = 0.3  # a still run this long is a posture
MAX_POSTURES = 60
MAX_TURN_GAP_S = 10.0  # the gyro links postures at most this far apart (its drift)
MIN_MAGNITUDE_SPREAD = 0.03  # still |acc| must differ this much (share) across postures
MIN_SPREAD_DEG = 25.0  # postures must differ this much for gains and offsets to show
MIN_IMPROVEMENT = 0.7  # the fit must cut the turn residuals by a third to be used
MAX_DIRECTION_SD_DEG = 3.0  # ... and pin gravity's direction down in every posture it saw (uncorrected: 5-10 deg off)
MAX_CHI2 = 1.0  # ... and explain postures and turns to within their noise (mean squared residual)
MAX_CARRIED = 3  # postures that may be set aside, worst first, to get there (carried, not still) ...
CARRIED_TRIM_DEG = 5.0  # ... where the uncorrected postures and turns disagree by this much
SIGMA_ACC = 0.05  # m/s^2: the mean of a still run
SIGMA_TURN_RAD = 0.01  # gravity direction after a gyro-measured turn, plus per second:
SIGMA_TURN_RATE = 0.003
PRIOR_GAIN = 0.3  # 1-sigma of the gains about 1 (the +-35 % of consumer sensors)
PRIOR_OFFSET = 2.0  # m/s^2, 1-sigma of the offsets
GAIN_RANGE = (0.5, 1.6)  # a fit outside this is not believed
MAX_OFFSET_M_S2 = 4.0  # ... nor offsets beyond this (consumer sensors: up to ~0.35 g)


@dataclass(frozen=True)
class AccCalibration:
    """``gain`` and ``offset`` per axis: the true specific force is ``(acc - offset) / gain``;
    ``turn_rms_deg`` before/after: how well still postures and gyro turns agree."""

    gain: np.ndarray
    offset: np.ndarray
    postures: int
    turn_rms_before_deg: float
    turn_rms_after_deg: float
    direction_sd_deg: float  # how uncertain it leaves the angles between the postures seen

    def apply(self, acc: np.ndarray) -> np.ndarray:
        return (acc - self.offset) / self.gain

    def report(self) -> dict[str, Any]:
        return {
            "gain": [round(float(v), 4) for v in self.gain],
            "offset_m_s2": [round(float(v), 3) for v in self.offset],
            "postures": self.postures,
            "turn_rms_deg": [round(self.turn_rms_before_deg, 2), round(self.turn_rms_after_deg, 2)],
            "direction_sd_deg": round(self.direction_sd_deg, 2),
        }


def _turn(t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The rotation matrix of the body-frame gyro ``w`` (rad/s) integrated over ``t``: the
    product of the per-interval rotations, multiplied pairwise (log-depth, vectorised)."""
    v = 0.5 * (w[1:] + w[:-1]) * np.diff(t)[:, None]
    ang = np.linalg.norm(v, axis=1)
    axis = v / np.where(ang > 0, ang, 1.0)[:, None]
    q = np.column_stack([np.cos(ang / 2), np.sin(ang / 2)[:, None] * axis])
    if len(q) == 0:
        return np.eye(3)
    while len(q) > 1:
        if len(q) % 2:
            q = np.vstack([q, [1.0, 0.0, 0.0, 0.0]])
        q = quat_mul(q[0::2], q[1::2])
    w0, x, y, z = q[0] / np.linalg.norm(q[0])
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w0 * z), 2 * (x * z + w0 * y)],
            [2 * (x * y + w0 * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w0 * x)],
            [2 * (x * z - w0 * y), 2 * (y * z + w0 * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def fit(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, still: np.ndarray) -> AccCalibration | None:
    """The accelerometer's calibration from one sensor's recording, or None when the
    recording does not show it (too few or too similar postures, or no better fit).
    ``gyr``: the gyro less its own offset (``stillness.SensorStillness.gyr_offset``).

    Where the sensor is plainly uncalibrated (uncorrected, its postures and turns disagree
    by ``CARRIED_TRIM_DEG`` or more), a fit that leaves residuals above their noise is tried
    again without the posture it explains worst, up to ``MAX_CARRIED`` of them: a "still" run
    in which the sensor was carried is one bad posture among many good ones, and it pulls
    the whole fit away. A calibrated sensor's postures and turns disagree by 1-3 deg (its
    carried runs, the gyro's drift); trimming those let a fit explain the carried runs
    with offsets it does not have."""
    idx = [(a, b) for a, b in runs(still) if t[b - 1] - t[a] >= MIN_RUN_S]
    if len(idx) > MAX_POSTURES:  # the longest ones, in time order (the fit grows with them)
        idx = sorted(sorted(idx, key=lambda ab: t[ab[0]] - t[ab[1] - 1])[:MAX_POSTURES])
    trims = 0
    while _shows_errors(acc, idx):
        solved = _solve(t, acc, gyr, idx)
        if solved is None:
            return None
        if solved.chi2 <= MAX_CHI2:
            return solved.cal
        if trims == MAX_CARRIED or (trims == 0 and solved.turn_before_deg < CARRIED_TRIM_DEG):
            return None
        idx = idx[: solved.worst] + idx[solved.worst + 1 :]
        trims += 1
    return None


def _shows_errors(acc: np.ndarray, idx: list[tuple[int, int]]) -> bool:
    """Do the postures ``idx`` (sample ranges) differ enough to show gains and offsets?"""
    if len(idx) < 3:
        return False
    m = np.array([acc[a:b].mean(axis=0) for a, b in idx])
    dirs = m / np.linalg.norm(m, axis=1, keepdims=True)
    spread = float(np.degrees(np.arccos(np.clip((dirs @ dirs.T).min(), -1, 1))))
    mags = np.linalg.norm(m, axis=1)
    # A calibrated accelerometer reads the same |g| in every posture; gains and offsets that
    # matter make it differ. Without that, turn residuals are the gyro's, not the
    # accelerometer's, and fitting them would only add error.
    return spread >= MIN_SPREAD_DEG and np.ptp(mags) >= MIN_MAGNITUDE_SPREAD * np.median(mags)


class _Solution(NamedTuple):
    cal: AccCalibration | None  # None: not believable
    chi2: float  # mean squared residual
    worst: int  # the posture explained worst
    turn_before_deg: float  # how far the uncorrected postures and turns disagree


def _solve(t: np.ndarray, acc: np.ndarray, w: np.ndarray, idx: list[tuple[int, int]]) -> _Solution | None:
    """The least-squares fit over the postures ``idx`` and the gyro turns ``w`` between
    them, or None when the gyro joins too few of them."""
    m = np.array([acc[a:b].mean(axis=0) for a, b in idx])
    dirs = m / np.linalg.norm(m, axis=1, keepdims=True)
    links = []  # (k, R_k, sigma) for consecutive postures the gyro can join
    for k in range(len(idx) - 1):
        i, j = (idx[k][0] + idx[k][1]) // 2, (idx[k + 1][0] + idx[k + 1][1]) // 2
        dt = t[j] - t[i]
        # (the gap between the runs limits a link; a long rest's own length only loosens it)
        if t[idx[k + 1][0]] - t[idx[k][1] - 1] <= MAX_TURN_GAP_S:
            links.append((k, _turn(t[i : j + 1], w[i : j + 1]), SIGMA_TURN_RAD + SIGMA_TURN_RATE * dt))
    if len(links) < 2:
        return None

    n = len(m)
    k_from = np.array([k for k, _, _ in links])
    rots = np.array([R for _, R, _ in links])
    sigmas = np.array([sig for _, _, sig in links])

    def residuals(x: np.ndarray) -> np.ndarray:
        """The residuals at ``x``, or at each row of a stack of them (a Jacobian's in one go)."""
        batch = x.shape[:-1]
        s, o, v = x[..., None, :3], x[..., None, 3:6], x[..., 6:].reshape(*batch, n, 3)
        u = v / np.linalg.norm(v, axis=-1, keepdims=True)
        turned = np.einsum("lji,...lj->...li", rots, u[..., k_from, :])  # R_k^T u_k
        return np.concatenate(
            [
                ((s * G * u + o - m) / SIGMA_ACC).reshape(*batch, -1),
                np.linalg.norm(v, axis=-1) - 1.0,
                ((u[..., k_from + 1, :] - turned) / sigmas[:, None]).reshape(*batch, -1),
                (s[..., 0, :] - 1.0) / PRIOR_GAIN,
                o[..., 0, :] / PRIOR_OFFSET,
            ],
            axis=-1,
        )

    def turn_rms(u: np.ndarray) -> float:
        cos = np.einsum("li,li->l", u[k_from + 1], np.einsum("lji,lj->li", rots, u[k_from]))
        return float(np.degrees(np.sqrt(np.mean(np.arccos(np.clip(cos, -1, 1)) ** 2))))

    x0 = np.concatenate([np.ones(3), np.zeros(3), dirs.ravel()])
    x = _levenberg_marquardt(residuals, x0)
    s, o = x[:3], x[3:6]
    v = x[6:].reshape(n, 3)
    before, after = turn_rms(dirs), turn_rms(v / np.linalg.norm(v, axis=1, keepdims=True))
    r = residuals(x)
    # A fit that leaves residuals well above their noise has not found the sensor's errors
    # (a "still" run in which the sensor was carried: a lower back holding its angle while
    # the hips drop accelerates); nor one that hardly explains the turns better than no
    # correction, or has gains or offsets no sensor has.
    chi2 = float(r @ r) / len(r)
    sd = _direction_sd_deg(residuals, x, m, chi2)
    believable = (
        GAIN_RANGE[0] < s.min()
        and s.max() < GAIN_RANGE[1]
        and np.abs(o).max() <= MAX_OFFSET_M_S2
        and after <= MIN_IMPROVEMENT * before
        and sd <= MAX_DIRECTION_SD_DEG
    )
    cal = AccCalibration(s, o, n, before, after, sd) if believable else None
    # Each posture's squared residuals: its reading, and the turns that reach or leave it.
    per = (r[: 3 * n].reshape(n, 3) ** 2).sum(axis=1)
    turns = (r[4 * n : 4 * n + 3 * len(links)].reshape(-1, 3) ** 2).sum(axis=1)
    np.add.at(per, k_from, turns)
    np.add.at(per, k_from + 1, turns)
    return _Solution(cal, chi2, int(np.argmax(per)), before)


def _direction_sd_deg(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, m: np.ndarray, chi2: float) -> float:
    """How uncertain the fit leaves the angles between the postures it saw (deg: the largest
    posterior standard deviation of a posture's angle from the first). Angles are what the
    correction is for, and a common tilt of all postures the upright reference takes out;
    gains and offsets may be poorly pinned down one by one (postures that all turn about one
    axis let them trade) and still fix every angle seen, or not."""
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    r = f(x)
    jac = ((f(x + np.diag(h)) - r) / h[:, None]).T
    cov = np.linalg.pinv(jac.T @ jac)[:6, :6] * max(1.0, chi2)

    def corrected(p: np.ndarray) -> np.ndarray:  # (6,) -> the postures' corrected directions
        c = (m - p[3:6]) / p[:3]
        return c / np.linalg.norm(c, axis=1, keepdims=True)

    def angles(p: np.ndarray) -> np.ndarray:  # each posture's angle from the first, rad
        c = corrected(p)
        return np.arccos(np.clip(c @ c[0], -1.0, 1.0))

    a0 = angles(x[:6])
    d = np.stack([(angles(x[:6] + h[i] * e) - a0) / h[i] for i, e in enumerate(np.eye(6))], axis=-1)  # (n, 6)
    var = np.einsum("nj,jk,nk->n", d, cov, d)
    return float(np.degrees(np.sqrt(max(float(var.max()), 0.0))))


def _levenberg_marquardt(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Minimise |f(x)|^2 (Levenberg-Marquardt, forward-difference Jacobian): a small dense
    problem (under 200 unknowns), for which scipy.optimize would cost more to import than
    the whole fit takes. ``f`` takes a stack of points too (rows): the Jacobian's steps are
    evaluated in one call."""
    r = f(x)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(iterations):
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        # Row i of the stack is x with x_i + h_i. The Jacobian is made row-major: BLAS sums
        # J^T J in an order that depends on the layout, and the fit should not.
        jac = np.ascontiguousarray(((f(x + np.diag(h)) - r) / h[:, None]).T)
        jtj, jtr = jac.T @ jac, jac.T @ r
        while True:
            step = np.linalg.solve(jtj + lam * np.diag(np.maximum(np.diag(jtj), 1e-12)), -jtr)
            r_new = f(x + step)
            c_new = float(r_new @ r_new)
            if c_new < cost:
                x, r, lam = x + step, r_new, max(lam / 10, 1e-9)
                improved, cost = cost - c_new, c_new
                break
            lam *= 10
            if lam > 1e9:
                return x
        if improved < 1e-9 * max(cost, 1.0):
            break
    return x
