"""Orientation of one IMU from its accelerometer and gyroscope, with vqf.

vqf (Laidig & Seel 2023) is the most accurate open 6D filter (BROAD inclination RMSE about
0.5 deg offline, 0.7 deg online) and its C++ core fuses millions of samples per second.
It assumes one fixed sampling period, which real BLE sensors do not quite give us: the rate
differs a little from nominal, timestamps jitter, and packets get lost. How we handle that:

* **Sampling period**: measured from the data itself, not the nominal rate, so a sensor
  running 0.5 % fast is integrated with its true period: the total time over the number of
  periods it spans (the median step alone is off by up to 1 % when stamps jitter). Jitter
  in the timestamps is ignored (the sensor samples on its own crystal; BLE and apps only
  jitter the time stamps), so consecutive samples are fed to vqf one period apart.
* **Lost samples** are told from jitter by the sensor's own step spread: a step counts as
  several periods only when it is longer than one period by more than half a period and
  by more than three times the typical deviation of the steps. (Treating every step of
  1.5 periods as a loss, as jittery stamps give many, filled in samples that never were
  and over-integrated the rotation by degrees per rep.)
* **Short gaps** (a lost packet or a few, up to ``GAP_FILL_MAX_S``): the missing samples are
  filled by linear interpolation of gyro and accelerometer before fusion, so that vqf still
  integrates the rotation that happened during the gap. Deadlift motion has almost no
  energy above 5 Hz, so over 0.1 s a linear gyro trace is an accurate guess; skipping the
  gap instead would silently drop that rotation. Filled samples are used for integration
  only; the output has one row per real sample.
* **Long gaps** (anything longer): the rotation during the gap is unknown, so the filter
  restarts after it. vqf initialises its inclination from the first accelerometer sample;
  offline the backward pass smooths that start, online the gyro bias estimate is carried
  over. Heading is lost at a restart, which costs nothing here: hinge only uses the
  inclination (the direction of gravity in the sensor frame), which 6D fusion observes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import vqf

# Gaps up to this long are bridged by interpolation; longer ones restart the filter.
GAP_FILL_MAX_S = 0.1
# vqf's offline filter keeps both passes of a run in memory (~170 bytes a sample beyond its
# outputs: 60 MB for an hour at 100 Hz), so longer runs are fused in pieces this long, each
# with this much of its neighbours' data on either side: far beyond the filter's memory of
# inclination (tauAcc, 3 s), so the pieces join where they agree.
OFFLINE_PIECE_S = 600.0
OFFLINE_OVERLAP_S = 60.0


@dataclass(frozen=True)
class FusionResult:
    """Per-sample filter output: ``quat`` (N, 4) w,x,y,z sensor-to-earth (earth z up, heading
    arbitrary), ``bias`` (N, 3) gyro bias estimate in rad/s, ``run`` (N,) index of the
    contiguous run (restart count) each sample belongs to."""

    quat: np.ndarray
    bias: np.ndarray
    run: np.ndarray


def _empty_result() -> FusionResult:
    return FusionResult(np.empty((0, 4)), np.empty((0, 3)), np.empty(0, np.int64))


def sample_timing(t: np.ndarray) -> tuple[float, float]:
    """The sensor's real sampling period and the longest step that is still one period
    (module docstring): ``(period_s, one_step_max_s)``."""
    dt = np.diff(t)
    if len(dt) == 0:
        raise ValueError("need at least two samples to know the sampling period")
    ts = float(np.median(dt))
    spread = 1.4826 * float(np.median(np.abs(dt - ts)))
    one_max = ts + max(0.5 * ts, 3.0 * spread)
    short = dt <= max(GAP_FILL_MAX_S, one_max)
    n = _grid_positions(dt[short], ts, one_max)
    if n.sum() > 0:
        ts = float(dt[short].sum() / n.sum())
    return ts, ts + max(0.5 * ts, 3.0 * spread)


def _grid_positions(dt: np.ndarray, ts: float, one_max: float) -> np.ndarray:
    """Steps between consecutive real samples counted in sampling periods (1 = no loss)."""
    return np.where(dt > one_max, np.maximum(1, np.rint(dt / ts)), 1).astype(np.int64)


def _runs(t: np.ndarray, one_max: float) -> list[tuple[int, int]]:
    """Index ranges [start, stop) of runs separated by gaps longer than GAP_FILL_MAX_S."""
    dt = np.diff(t)
    breaks = np.flatnonzero(dt > max(GAP_FILL_MAX_S, one_max)) + 1
    edges = np.concatenate([[0], breaks, [len(t)]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _filled(t: np.ndarray, x: np.ndarray, ts: float, one_max: float) -> tuple[np.ndarray, np.ndarray]:
    """``x`` on a gapless grid of one sampling period (short gaps linearly filled), and the
    grid index of every real sample."""
    steps = _grid_positions(np.diff(t), ts, one_max)
    idx = np.concatenate([[0], np.cumsum(steps)])
    if idx[-1] == len(t) - 1:
        return np.ascontiguousarray(x, dtype=np.float64), idx
    out = np.empty((idx[-1] + 1, x.shape[1]))
    out[idx] = x
    missing = np.ones(len(out), bool)
    missing[idx] = False
    where = np.flatnonzero(missing)
    for k in range(x.shape[1]):
        out[where, k] = np.interp(where, idx, x[:, k])
    return out, idx


def _check(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, ...]:
    t = np.asarray(t, dtype=np.float64)
    acc = np.asarray(acc, dtype=np.float64)
    gyr = np.asarray(gyr, dtype=np.float64)
    if acc.shape != (len(t), 3) or gyr.shape != (len(t), 3):
        raise ValueError("acc and gyr must have shape (N, 3) matching t")
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("timestamps must be strictly increasing")
    return t, acc, gyr


def _block_means(x: np.ndarray, k: int) -> np.ndarray:
    """Means of consecutive k rows (the last block takes what is left)."""
    nk = len(x) // k * k
    out = x[0:nk:k].copy()
    for p in range(1, k):
        out += x[p:nk:k]
    out /= k
    if nk < len(x):
        out = np.concatenate([out, x[nk:].mean(axis=0, keepdims=True)])
    return out


def fuse_offline(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: dict[str, Any] | None = None) -> FusionResult:
    """Non-causal (forward-backward) vqf over a whole recording of one sensor."""
    return fuse_offline_reduced(t, acc, gyr, None, params)[1]


def fuse_offline_reduced(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fusion_rate_hz: float | None, params: dict[str, Any] | None = None
) -> tuple[np.ndarray, FusionResult]:
    """``fuse_offline`` at about ``fusion_rate_hz``: returns ``(t_out, result)``.

    A sensor sampling at least twice that fast is fused on means of k = floor(rate /
    fusion_rate_hz) consecutive samples (k-fold less filter work); each orientation then
    belongs to the time of its block's last sample (``t_out``, real timestamps). The mean
    gyro rate over k samples integrates to the same rotation and body motion has no content
    near 50 Hz, so segment angles lose nothing at 100 Hz. Slower sensors, or
    ``fusion_rate_hz=None``: one orientation per sample, ``t_out = t``."""
    t, acc, gyr = _check(t, acc, gyr)
    ts, one_max = sample_timing(t)
    # (1 % tolerance: a "200 Hz" sensor whose clock runs a little slow still halves)
    k = max(1, int(1.01 / (ts * fusion_rate_hz))) if fusion_rate_hz else 1
    runs = _runs(t, one_max)
    if k == 1 and len(runs) == 1 and np.max(np.diff(t)) <= one_max:  # no loss: no copies
        res = _offline_vqf(np.ascontiguousarray(gyr), np.ascontiguousarray(acc), ts, params)
        return t, FusionResult(res["quat6D"], res["bias"], np.zeros(len(t), dtype=np.int64))
    parts = []
    for r, (a, b) in enumerate(runs):
        if b - a == 1:  # a lone sample between two long gaps: inclination from gravity only
            res = vqf.VQF(ts).updateBatch(np.zeros((1, 3)), np.ascontiguousarray(acc[a:b]))
            parts.append((t[a:b], res["quat6D"], np.zeros((1, 3)), r))
            continue
        g, idx = _filled(t[a:b], gyr[a:b], ts, one_max)
        f, _ = _filled(t[a:b], acc[a:b], ts, one_max)
        kk = k if len(g) >= 2 * k else 1
        if kk == 1:
            res = _offline_vqf(g, f, ts, params)
            parts.append((t[a:b], res["quat6D"][idx], res["bias"][idx], r))
            continue
        res = _offline_vqf(_block_means(g, kk), _block_means(f, kk), kk * ts, params)
        last = np.minimum(np.arange(1, len(res["quat6D"]) + 1) * kk, len(g)) - 1  # grid index
        parts.append((np.interp(last, idx, t[a:b]), res["quat6D"], res["bias"], r))
    t_out = np.concatenate([p[0] for p in parts])
    run = np.concatenate([np.full(len(p[0]), p[3], dtype=np.int64) for p in parts])
    return t_out, FusionResult(np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), run)


def _offline_vqf(gyr: np.ndarray, acc: np.ndarray, ts: float, params: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """``vqf.offlineVQF``'s ``quat6D`` and ``bias`` of one gapless run, fused in pieces of
    OFFLINE_PIECE_S (plus OFFLINE_OVERLAP_S either side) when it is longer. Each piece's
    heading is turned about the vertical to the previous piece's where they join, so the
    run keeps one heading, as if fused in one go."""
    piece, overlap = int(OFFLINE_PIECE_S / ts), int(OFFLINE_OVERLAP_S / ts)
    n = len(gyr)
    if n <= piece + 2 * overlap:
        return vqf.offlineVQF(gyr, acc, None, ts, params)
    quat, bias = np.empty((n, 4)), np.empty((n, 3))
    for start in range(0, n, piece):
        stop = min(n, start + piece)
        a, b = max(0, start - overlap), min(n, stop + overlap)
        res = vqf.offlineVQF(np.ascontiguousarray(gyr[a:b]), np.ascontiguousarray(acc[a:b]), None, ts, params)
        q = res["quat6D"][start - a : stop - a]
        if start > 0:  # the previous piece's orientation at this sample, over this piece's
            q = quat_mul(
                _yaw_part(quat_mul(quat[start - 1 : start], _conj(res["quat6D"][start - a - 1 : start - a]))), q
            )
        quat[start:stop] = q
        bias[start:stop] = res["bias"][start - a : stop - a]
    return {"quat6D": quat, "bias": bias}


def quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise Hamilton products of (N, 4) or (1, 4) quaternions (w, x, y, z)."""
    pw, px, py, pz = p.T
    qw, qx, qy, qz = q.T
    return np.column_stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ]
    )


def _conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _yaw_part(q: np.ndarray) -> np.ndarray:
    """The rotation about earth z nearest to ``q`` (1, 4): its w and z, normalised."""
    r = np.array([[q[0, 0], 0.0, 0.0, q[0, 3]]])
    return r / np.linalg.norm(r)


def orientation_offline(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: dict[str, Any] | None = None
) -> np.ndarray:
    """Sensor-to-earth quaternions (N, 4) w,x,y,z, earth z up, from the whole recording."""
    return fuse_offline(t, acc, gyr, params).quat


class OnlineOrientation:
    """Causal vqf stepped batch by batch as samples arrive (live streaming and replay).

    The sampling period (and the step spread that tells a lost sample from jitter) is
    measured from the first ``rate_window`` samples (buffered until then: 0.25 s at 200 Hz,
    1 s at 52 Hz), unless given. Output for a batch is available as
    soon as it is pushed, except for that start-up buffer. Gaps are handled as described in
    the module docstring: short ones filled, long ones restart the filter (keeping its
    gyro bias estimate, which outlives a dropout).
    """

    def __init__(
        self,
        ts: float | None = None,
        params: dict[str, Any] | None = None,
        rate_window: int = 50,
        one_step_max: float | None = None,
    ):
        self._ts = ts
        self._one_max = one_step_max or (1.5 * ts if ts else None)
        self._params = params
        self._rate_window = rate_window
        self._filter: vqf.VQF | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._last: tuple[float, np.ndarray, np.ndarray] | None = None
        self._offset = np.zeros(3)
        self.run = 0

    def set_gyro_offset(self, offset: np.ndarray, sigma: float = 0.002) -> None:
        """Subtract a known zero-rate offset (rad/s, measured while standing still) from all
        gyro samples from now on, and tell vqf the remaining bias is ~0 (``sigma`` rad/s):
        consumer gyros are off by more than vqf's bias estimator may adopt (its
        ``biasClip``, 2 deg/s). Returned gyro samples are offset-corrected too."""
        self._offset = np.asarray(offset, dtype=np.float64).copy()
        if self._filter is not None:
            self._filter.setBiasEstimate(np.zeros(3), sigma)

    @property
    def ts(self) -> float | None:
        """The sampling period in use (None until measured)."""
        return self._ts

    def _new_filter(self) -> vqf.VQF:
        return vqf.VQF(self._ts, **(self._params or {}))

    def push(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray, FusionResult]:
        """Feed samples; returns ``(t_out, gyr_out, result)`` for the samples fused by this
        call (possibly including earlier buffered ones, possibly none yet); ``gyr_out`` is
        the gyro as fused (minus any ``set_gyro_offset``)."""
        t, acc, gyr = _check(t, acc, gyr)
        gyr = gyr - self._offset
        if self._ts is None:
            self._pending.append((t, acc, gyr))
            if sum(len(p[0]) for p in self._pending) < self._rate_window:
                return np.empty(0), np.empty((0, 3)), _empty_result()
            return self.flush()
        return t, gyr, self._step(t, acc, gyr)

    def flush(self) -> tuple[np.ndarray, np.ndarray, FusionResult]:
        """Fuse the start-up buffer now (end of data before the rate window filled)."""
        if not self._pending:
            return np.empty(0), np.empty((0, 3)), _empty_result()
        t, acc, gyr = (np.concatenate([p[k] for p in self._pending]) for k in range(3))
        self._pending = []
        if len(t) < 2:
            return np.empty(0), np.empty((0, 3)), _empty_result()
        if self._ts is None:
            self._ts, self._one_max = sample_timing(t)
        return t, gyr, self._step(t, acc, gyr)

    def _step(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> FusionResult:
        n = len(t)
        quat = np.empty((n, 4))
        bias = np.empty((n, 3))
        run = np.empty(n, dtype=np.int64)
        if n == 0:
            return FusionResult(quat, bias, run)
        if self._filter is not None and self._last is not None:
            steps = np.diff(t, prepend=self._last[0])
            if steps.max() <= self._one_max:  # the usual case: no loss, no restart
                res = self._filter.updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))
                run[:] = self.run
                self._last = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())
                return FusionResult(res["quat6D"], res["bias"], run)
        # Prepend the previous batch's last sample so that a gap at the batch border is seen.
        if self._last is not None:
            tt = np.concatenate([[self._last[0]], t])
            aa = np.vstack([self._last[1], acc])
            gg = np.vstack([self._last[2], gyr])
            off = 1
        else:
            tt, aa, gg, off = t, acc, gyr, 0
        assert self._ts is not None and self._one_max is not None  # timed by the first push
        for a, b in _runs(tt, self._one_max):
            if a > 0 or self._filter is None:
                self._restart()
            lo = max(a, off)  # the carried-over sample was already fused
            if lo >= b:
                continue
            base = lo - 1 if lo > a else lo  # interpolate from the last fused sample
            g, idx = _filled(tt[base:b], gg[base:b], self._ts, self._one_max)
            f, _ = _filled(tt[base:b], aa[base:b], self._ts, self._one_max)
            if base < lo:  # drop the already-fused first row, keep the filled ones after it
                g, f, idx = g[1:], f[1:], idx[1:] - 1
            assert self._filter is not None  # (re)started above
            res = self._filter.updateBatch(g, f)
            quat[lo - off : b - off] = res["quat6D"][idx]
            bias[lo - off : b - off] = res["bias"][idx]
            run[lo - off : b - off] = self.run
        self._last = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())
        return FusionResult(quat, bias, run)

    def _restart(self) -> None:
        """Start the filter, or restart it after a long gap keeping its bias estimate.
        (Trusting the accelerometer more for a while after a restart was tried: on the
        virtual lifter it made things worse, as the body is usually moving then.)"""
        if self._filter is None:
            self._filter = self._new_filter()
            return
        b, sigma = self._filter.getBiasEstimate()
        self._filter.resetState()
        self._filter.setBiasEstimate(b, sigma)
        self.run += 1
