"""Segment angles computed as samples arrive: the causal form of ``processing.angles``.

Same definitions as offline (``processing.calibration`` inclination, gyro rate on the flexion
axis, the session grid ``k / rate_hz``, grid points in long dropouts left out); only the
estimates are causal:

* orientation: ``vqf.VQF`` stepped per batch (``fusion.OnlineOrientation``);
* upright pose and gyro offset: the same still-period search as offline, re-run every
  ``CHECK_EVERY_S`` on the data so far; while that still period lasts they keep being
  averaged (up to ``MAX_STILL_S``), and each time the history is fused again with the new
  gyro offset removed (as offline). Without a still period the search window slides along
  the last ``SEARCH_S`` (a live lifter may start late) and the status asks the lifter to
  stand still;
* flexion axis: refined from the tilt seen so far (``calibration.AxisEstimate``); its sign is
  frozen once the axis is confident (30 deg of tilt, dominant axis, mostly forward). Until
  a segment has tilted ``PROVISIONAL_TILT_DEG`` its angle is the tilt magnitude (always
  >= 0) and its rate the gyro on the current tilt direction; afterwards the signed angle
  about the current axis. The first descent of the first rep fixes axis and sign well
  before its concentric phase. Walking before the first rep gives the thigh axis early but
  only a provisional sign (thigh swing goes both ways about equally): the thigh may read
  mirrored for some strides until the first descent.

Frames before calibration are held back (up to ``SEARCH_S`` of them) and emitted in one go
once the upright pose is known. After that, **delay bound**: every grid point up to the
latest sample of the slower sensor is emitted by the push that delivers that sample, i.e. no
delay beyond the sensors' own (the grid adds at most ``1 / rate_hz`` of waiting). At the very
start each sensor's first ``fusion.OnlineOrientation`` rate window (<= 1 s) is buffered,
which the >= 2 s standing period hides.
"""

from __future__ import annotations

import numpy as np

from processing.angles import SegmentTrack, combine, grid_times
from processing.calibration import (
    MIN_STILL_S,
    SEARCH_S,
    AxisEstimate,
    Calibration,
    angle_about,
    cross,
    find_still_period,
    from_estimate,
    up_vectors,
    upright,
)
from processing.fusion import OnlineOrientation
from processing.samples import SEGMENTS_REQUIRED, AngleFrames, SampleBatch

CHECK_EVERY_S = 0.25
PROVISIONAL_TILT_DEG = 10.0
MAX_STILL_S = 10.0
AXIS_REFRESH_S = 0.05  # add evidence and re-derive the flexion axis this often


class _Segment:
    """One sensor's causal state: filter, raw history for the still search, fused samples
    not yet consumed by the grid, axis evidence."""

    def __init__(self, name: str):
        self.name = name
        self.fusion = OnlineOrientation()
        self.raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # until calibrated
        self.t = np.empty(0)
        self.u = np.empty((0, 3))
        self.w = np.empty((0, 3))  # bias-corrected gyro, rad/s
        self.est: AxisEstimate | None = None
        self.still_gyr = np.zeros(3)
        self.n_added = 0  # fused samples already fed to the axis estimate
        self.next_refresh = -np.inf
        self.last_t = -np.inf  # newest sample time received

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate([r[k] for r in self.raw]) for k in range(3))

    def trim_history(self, keep_from: float) -> None:
        while self.raw and self.raw[0][0][-1] < keep_from:
            self.raw.pop(0)

    def add_fused(self, t: np.ndarray, gyr: np.ndarray, quat: np.ndarray, bias: np.ndarray) -> None:
        u = up_vectors(quat)
        self.t = np.concatenate([self.t, t])
        self.u = np.vstack([self.u, u])
        self.w = np.vstack([self.w, gyr - bias])

    def track(self) -> SegmentTrack:
        """Angle and rate of the buffered samples with the current calibration estimate."""
        est = self.est
        if self.n_added < len(self.t) and self.t[-1] >= self.next_refresh:
            est.add(self.u[self.n_added :])
            self.next_refresh = self.t[-1] + AXIS_REFRESH_S
            self.n_added = len(self.t)
        if est.axis is not None and est.max_tilt_deg >= PROVISIONAL_TILT_DEG:
            ang = angle_about(self.u, est.up, est.axis)
            rate = self.w @ est.axis
        else:
            tilt = cross(self.u, est.up)
            norm = np.linalg.norm(tilt, axis=1)
            ang = np.degrees(np.arctan2(norm, self.u @ est.up))
            rate = np.einsum("ij,ij->i", self.w, tilt) / np.maximum(norm, np.sin(np.radians(1.0)))
        return SegmentTrack(self.t, ang, np.degrees(rate))

    def fuse_again(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, emitted_until: float | None) -> None:
        """Fuse the history again from its start with the still period's gyro offset removed
        (as offline does, see ``angles.angles_from_segments``), so that frames not emitted
        yet carry no start-up bias error, and the filter goes on from there."""
        self.fusion = OnlineOrientation()
        self.fusion.set_gyro_offset(self.still_gyr)
        t, gyr, res = self.fusion.push(t, acc, gyr)
        self.t, self.u, self.w, self.n_added = t[:0], self.u[:0], self.w[:0], 0
        self.add_fused(t, gyr, res.quat, res.bias)
        if emitted_until is not None:
            self.drop_before(emitted_until)

    def drop_before(self, t_keep: float) -> None:
        """Forget fused samples no longer needed to interpolate grid points after t_keep
        (nor by the axis estimate, which takes them in every AXIS_REFRESH_S)."""
        i = min(self.n_added, max(0, int(np.searchsorted(self.t, t_keep, side="right")) - 1))
        self.t, self.u, self.w = self.t[i:], self.u[i:], self.w[i:]
        self.n_added = max(0, self.n_added - i)


class StreamingAngles:
    """Feed per-sensor ``SampleBatch``es with ``push``; get new ``AngleFrames`` back."""

    def __init__(self, rate_hz: float = 100.0):
        self.rate_hz = rate_hz
        self._seg = {s: _Segment(s) for s in SEGMENTS_REQUIRED}
        self._still: tuple[float, float] | None = None
        self._still_frozen = False
        self._next_check = -np.inf
        self._last_grid: float | None = None

    @property
    def calibration(self) -> Calibration | None:
        """The calibration as estimated so far (None until an upright still period is found)."""
        if self._still is None:
            return None
        segs = {s: from_estimate(s, g.est, g.still_gyr) for s, g in self._seg.items()}
        return Calibration(self._still[0], self._still[1], segs)

    @property
    def status(self) -> str:
        """Short text for the viewer."""
        if self._still is None:
            return "Stand tall and still"
        if not self._still_frozen:
            return "Upright pose found: lift when ready"
        if not all(g.est.sign_frozen for g in self._seg.values()):
            return "Calibrating axes: keep lifting"
        return "calibrated"

    def push(self, batch: SampleBatch) -> AngleFrames:
        """Take one sensor's batch; return the frames this completes (possibly none)."""
        seg = self._seg.get(batch.segment)
        if seg is None or len(batch) == 0:  # optional segments are not used yet
            return AngleFrames.empty()
        if batch.t[0] <= seg.last_t:  # a source repeating samples (e.g. after a reconnect)
            keep = batch.t > seg.last_t
            if not keep.any():
                return AngleFrames.empty()
            batch = SampleBatch(batch.segment, batch.t[keep], batch.acc[keep], batch.gyr[keep])
        seg.last_t = float(batch.t[-1])
        t, gyr, res = seg.fusion.push(batch.t, batch.acc, batch.gyr)
        return self._consume(seg, batch, t, gyr, res)

    def finish(self) -> AngleFrames:
        """End of data: fuse what the start-up buffers still hold and emit the rest."""
        out = []
        for seg in self._seg.values():
            t, gyr, res = seg.fusion.flush()
            out.append(self._consume(seg, None, t, gyr, res))
        return AngleFrames.concat(out)

    def _consume(self, seg: _Segment, batch: SampleBatch | None, t, gyr, res) -> AngleFrames:
        if not self._still_frozen and batch is not None:
            seg.raw.append((batch.t, batch.acc, batch.gyr))
        if len(t):
            seg.add_fused(t, gyr, res.quat, res.bias)
        if not self._still_frozen:
            self._calibrate()
            if self._still is None:
                self._forget_old()
                return AngleFrames.empty()
        return self._emit()

    def _calibrate(self) -> None:
        """(Re)run the still-period search on the data so far, at most every CHECK_EVERY_S."""
        if any(not g.raw or len(g.t) == 0 for g in self._seg.values()):
            return
        now = min(g.raw[-1][0][-1] for g in self._seg.values())
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        streams = {s: g.raw_arrays() for s, g in self._seg.items()}
        t_first = min(v[0][0] for v in streams.values())
        still = find_still_period(streams, t_first=t_first, ongoing_ok=True)
        if still is None:
            return
        # Freeze once the lifter has clearly moved off, or after MAX_STILL_S of standing
        # (plenty for averaging; keeps the raw history bounded).
        ended = still[1] < now - 0.5 or still[1] - still[0] >= MAX_STILL_S
        for g in self._seg.values():
            t_raw, acc_raw, gyr_raw = streams[g.name]
            m = (t_raw >= still[0]) & (t_raw <= still[1])
            g.est = AxisEstimate(upright(acc_raw[m]))
            g.still_gyr = gyr_raw[m].mean(axis=0)
            g.fuse_again(t_raw, acc_raw, gyr_raw, self._last_grid)
        self._still = still
        if ended:
            self._still_frozen = True
            for g in self._seg.values():
                g.raw = []

    def _forget_old(self) -> None:
        """Before calibration, keep only the last SEARCH_S + MIN_STILL_S of data."""
        latest = max((g.t[-1] for g in self._seg.values() if len(g.t)), default=None)
        if latest is None:
            return
        keep_from = latest - SEARCH_S - MIN_STILL_S
        for g in self._seg.values():
            g.trim_history(keep_from)
            g.drop_before(keep_from)

    def _emit(self) -> AngleFrames:
        segs = self._seg.values()
        if any(len(g.t) == 0 for g in segs):
            return AngleFrames.empty()
        t_ready = min(g.t[-1] for g in segs)
        t_start = max(g.t[0] for g in segs)
        if self._last_grid is not None:
            t_start = max(t_start, self._last_grid + 0.5 / self.rate_hz)
        grid = grid_times(t_start, t_ready, self.rate_hz)
        if len(grid) == 0:
            return AngleFrames.empty()
        frames = combine({g.name: g.track() for g in segs}, grid)
        self._last_grid = float(grid[-1])
        for g in segs:
            g.drop_before(self._last_grid)
        return frames
