"""Offline segment angles of a recording: trunk, thigh, hip, and extension velocities.

Per sensor: vqf offline orientation (``processing.fusion``) gives the direction of gravity in
the sensor frame; the calibration (``processing.calibration``) turns it into the segment's
sagittal inclination. Both sensors are then linearly interpolated onto one session time grid
``t_k = k / rate_hz`` (the two sensors' clocks and rates differ). Grid points inside a long
dropout of either sensor (> ``fusion.GAP_FILL_MAX_S``) are left out, so the frame times jump
there; consumers see the gap as a step in ``t`` larger than ``1 / rate_hz``.

Velocities come from the gyroscope, bias-corrected with vqf's running bias estimate and
projected on the flexion axis: ``knee_ext_deg_s = -d(thigh_deg)/dt`` and
``hip_ext_deg_s = -d(trunk_deg)/dt`` for rotation about the axis, without the lag and noise
of differentiating angles.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from processing import acc_calibration
from processing.calibration import Calibration, SegmentCalibration, calibrate, up_vectors, upright
from processing.errors import AnalysisError
from processing.fusion import GAP_FILL_MAX_S, fuse_offline_reduced
from processing.samples import ANGLES_RATE_HZ, SEGMENTS_REQUIRED, AngleFrames
from processing.stillness import GyroOffset, SensorStillness, StillPeriod, joint_still_periods, sensor_stillness

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from processing.recording import Recording

# Offline, sensors at >= 2x this rate are fused on means of consecutive samples
# (fusion.fuse_offline_reduced): half the filter work at 200 Hz, nothing lost for body motion.
FUSION_RATE_HZ = 100.0
ACC_COLUMNS = ("ax", "ay", "az")
GYR_COLUMNS = ("gx", "gy", "gz")
AXIS_EVIDENCE_HZ = 25.0  # up-vectors per second used for the flexion axis (lifting is < 5 Hz)
NO_MOVEMENT_DEG = 5.0  # neither segment tilting more than this: nothing to analyse


@dataclass
class AnglesResult:
    """``frames``: DataFrame with ``ANGLE_COLUMNS``; ``calibration``: how they were zeroed."""

    frames: pd.DataFrame
    calibration: Calibration


@dataclass
class SegmentTrack:
    """One sensor's flexion rate (deg/s) per sample at ``t`` (its own clock) and inclination
    (deg) at ``angle_t`` (the same times, or fewer when fused on blocks of samples)."""

    t: np.ndarray
    angle_deg: np.ndarray
    rate_deg_s: np.ndarray
    angle_t: np.ndarray | None = None


def grid_times(t_start: float, t_end: float, rate_hz: float) -> np.ndarray:
    """Session grid ``k / rate_hz`` covering [t_start, t_end] (shared by offline and streaming)."""
    k0 = int(np.ceil(t_start * rate_hz - 1e-9))
    k1 = int(np.floor(t_end * rate_hz + 1e-9))
    return np.arange(k0, k1 + 1) / rate_hz


def on_grid(track: SegmentTrack, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation of a track at grid times; also a mask of grid points that are
    bracketed by samples no further apart than a fillable gap."""
    t = track.t
    n = len(t)
    dt = np.diff(t)
    if n > 1 and dt.max() <= GAP_FILL_MAX_S:  # no dropout: every grid point within the data
        ok = (grid >= t[0]) & (grid <= t[-1])
    else:
        j = np.searchsorted(t, grid, side="left")
        jr = np.minimum(j, n - 1)
        jl = np.maximum(j - 1, 0)
        ok = (t[jr] == grid) | ((j > 0) & (j < n) & (t[jr] - t[jl] <= GAP_FILL_MAX_S))
    angle_t = t if track.angle_t is None else track.angle_t
    # A gyro sample is the mean rate over the sample interval that ends at its timestamp
    # (what an IMU's decimation filter outputs and what vqf integrates): it belongs half an
    # interval earlier, which at 52 Hz is 10 ms of the onset timing.
    rate_t = t - 0.5 * np.median(dt) if n > 1 else t
    return np.interp(grid, angle_t, track.angle_deg), np.interp(grid, rate_t, track.rate_deg_s), ok


def combine(tracks: dict[str, SegmentTrack], grid: np.ndarray) -> AngleFrames:
    """Frames at the grid points covered by both required segments."""
    th, th_rate, ok1 = on_grid(tracks["thigh"], grid)
    tr, tr_rate, ok2 = on_grid(tracks["lumbar"], grid)
    ok = ok1 & ok2
    if not ok.all():
        grid, tr, th, th_rate, tr_rate = grid[ok], tr[ok], th[ok], th_rate[ok], tr_rate[ok]
    return AngleFrames(grid, tr, th, tr + th, -th_rate, -tr_rate)


def _arrays(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t, acc, gyr as float64 arrays."""
    return df["t"].to_numpy(dtype=np.float64), _columns(df, ACC_COLUMNS), _columns(df, GYR_COLUMNS)


def _columns(df: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """Columns ``names`` as one (N, len(names)) float64 array (column by column: a
    sub-DataFrame costs more)."""
    return np.column_stack([df[c].to_numpy(dtype=np.float64) for c in names])


def angles_from_segments(
    segments: dict[str, pd.DataFrame], rate_hz: float = 200.0, source: str = "recording", parallel: bool = True
) -> AnglesResult:
    """Angles from per-segment DataFrames with the recording columns ``t,ax..gz``
    (a ``Recording.segments`` or a ``Simulation.imu``). ``source`` names the data in errors;
    ``parallel``: the thigh's own work done beside the lower back's, in a forked process
    (``_ForkedWork``).

    Refuses only what has nothing to analyse: a missing segment, sensors whose data never
    overlap in time, or no movement at all. Everything else gets angles and a calibration
    that says how far to trust its upright reference (``processing.calibration``)."""
    missing = [s for s in SEGMENTS_REQUIRED if s not in segments]
    if missing:
        raise AnalysisError(f"{source}: missing segment(s) {', '.join(missing)}")
    check_overlap({s: segments[s]["t"].to_numpy(dtype=np.float64) for s in SEGMENTS_REQUIRED}, source)
    with _ForkedWork(segments["thigh"]) if parallel and _can_fork() else _LocalWork(segments["thigh"]) as thigh:
        data = {"lumbar": _arrays(segments["lumbar"])}  # after the fork: not the child's to hold
        candidates, acc_cal, gyro_offsets = _at_rest(data, thigh)
        fused, motion = _fused_all(data, thigh)
    evidence = {}
    for seg, (_, _, t_q, _, u) in fused.items():
        step = max(1, int(len(t_q) / max(t_q[-1] - t_q[0], 1e-9) / AXIS_EVIDENCE_HZ))
        evidence[seg] = (t_q[::step].copy(), u[::step].copy())  # copies: u is let go with its track
    check_movement(evidence, source)
    cal = calibrate(evidence, candidates, gyro_offsets, provisional_lockouts, lumbar_motion=motion)
    cal.accelerometers = {s: (c.report() if c is not None else None) for s, c in acc_cal.items()}
    # popped: each sensor's samples are let go once its track is made
    tracks = {seg: _track(*fused.pop(seg), cal.segments[seg]) for seg in SEGMENTS_REQUIRED}
    t_start = max(tr.t[0] for tr in tracks.values())
    t_end = min(tr.t[-1] for tr in tracks.values())
    frames = combine(tracks, grid_times(t_start, t_end, rate_hz)).to_dataframe(copy=False)
    return AnglesResult(frames, cal)


def _at_rest(
    data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], thigh: _LocalWork | _ForkedWork
) -> tuple[
    list[tuple[float, float, float, dict[str, np.ndarray]]],
    dict[str, acc_calibration.AccCalibration | None],
    dict[str, np.ndarray],
]:
    """What the sensors' still moments tell, before fusion: the candidates for the upright
    reference (``still_candidates``), each accelerometer's calibration (``data`` corrected
    by it) and each gyro's median offset. The per-sample stillness is let go here.

    Each gyro's own zero-rate offset, measured wherever it was at rest and followed in time,
    is removed from ``data`` in place (``_arrays``' own copy; nothing after needs it
    uncorrected): consumer gyros are off by up to several deg/s, beyond what vqf's bias
    estimator may adopt (its biasClip, 2 deg/s); vqf then tracks what remains.

    The thigh's share (its stillness, its accelerometer's fit: neither needs the lower back)
    is ``thigh``'s work, done beside this when it is forked; ``data`` holds the lower back."""
    st_lumbar = sensor_stillness(*data["lumbar"])
    stillness = {"thigh": thigh.stillness(), "lumbar": st_lumbar}
    periods = joint_still_periods(stillness)
    median_offsets = {}
    for seg in SEGMENTS_REQUIRED:
        st = stillness.pop(seg)  # let go once used (its offset at every sample: 17 MB an hour)
        median_offsets[seg] = np.median(st.gyr_offset, axis=0) if st.offset.known else np.zeros(3)
    data["lumbar"][2][...] -= st_lumbar.gyr_offset  # (in place: a tuple holds it)
    data["lumbar"], lumbar_cal = acc_calibrated(data["lumbar"], st_lumbar.still, periods)
    del st_lumbar
    thigh_cal = thigh.acc_fit()
    thigh_data = (thigh.t, thigh.corrected_acc(), thigh.t)  # (the candidates read no gyro)
    candidates = still_candidates(periods, {**data, "thigh": thigh_data})
    return candidates, {"thigh": thigh_cal, "lumbar": lumbar_cal}, median_offsets


def acc_calibrated(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray], still: np.ndarray, body_still: list[StillPeriod] | None
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], acc_calibration.AccCalibration | None]:
    """An uncalibrated accelerometer's gains and offsets, where the recording shows them
    (``processing.acc_calibration``), and the samples with the accelerometer corrected by
    them: everything after sees the corrected readings. ``arrays``' gyro is less its own offset
    (``stillness.SensorStillness.gyr_offset``); ``still``: the sensor's still samples.

    ``body_still``: for the lower back, the periods in which every sensor is still. It sits on
    the pelvis, which the hip joints carry: holding its angle while the hips drop or rise
    (the thighs turning) it does not turn, but it accelerates, and such a "still" run does
    not read gravity alone. Its fit is tried on its own still runs and on those inside the
    periods; the one that pins the angles between postures down better is kept."""
    t, acc, gyr = arrays
    masks = [still]
    if body_still:
        inside = np.zeros(len(t), bool)
        for p in body_still:
            inside[np.searchsorted(t, p.start_s, "left") : np.searchsorted(t, p.end_s, "right")] = True
        masks.append(still & inside)
    fits = [f for f in (acc_calibration.fit(t, acc, gyr, m) for m in masks) if f is not None]
    fitted = min(fits, key=lambda f: f.direction_sd_deg) if fits else None
    return (arrays if fitted is None else (t, fitted.apply(acc), gyr)), fitted


def _fused_all(
    data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], thigh: _LocalWork | _ForkedWork
) -> tuple[
    dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    tuple[np.ndarray, np.ndarray, np.ndarray],
]:
    """The lower back (``data``) and the thigh (``thigh``, beside this when it is forked) fused
    (``_fused``), popped from ``data`` so that its accelerometer is let go once fused:
    ``({segment: (t, gyr, t_q, bias, u)}, (t_q, accelerometer at t_q, u) of the lower back)``,
    the last for the calibration's signs."""
    t_l, acc_l, gyr_l = data.pop("lumbar")
    t_q, bias, u = _fused(t_l, acc_l, gyr_l)
    motion = (t_q, np.column_stack([np.interp(t_q, t_l, acc_l[:, k]) for k in range(3)]), u)  # for the signs
    del acc_l
    fused = thigh.fused()
    return {"thigh": (thigh.t, thigh.corrected_gyr(), *fused), "lumbar": (t_l, gyr_l, t_q, bias, u)}, motion


def _fused(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sensor fused (its gyro's own offset already removed, ``_at_rest``): ``(t_q, vqf's
    gyro bias, up vectors)`` at the fusion times ``t_q``."""
    t_q, res = fuse_offline_reduced(t, acc, gyr, FUSION_RATE_HZ)
    return t_q, res.bias, up_vectors(res.quat)


def _can_fork() -> bool:
    """Can a forked child fuse one sensor beside this process: on Linux (elsewhere fork is
    missing, or unsafe once system frameworks are loaded, as on macOS) with more than one
    core to run on, from a process with no other thread (a window's, a notebook kernel's: a
    forked child inherits their locks, not the threads that would release them) that may
    have children (a pool's worker, as in ``analyze_many(map=pool.map)``, may not)."""
    import multiprocessing
    import threading

    return (
        sys.platform.startswith("linux")
        and len(os.sched_getaffinity(0)) > 1
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon
    )


def _own_steps(df: pd.DataFrame) -> Generator[Any, None, None]:
    """The work on one sensor's samples ``df`` that needs no other sensor, step by step: its
    stillness (``SensorStillness``), its accelerometer's calibration (``AccCalibration`` or
    None), the corrected accelerometer, then its fused outputs ``(t_q, vqf's gyro bias, up
    vectors)`` and last its gyro less its own offset."""
    t, acc, gyr = _arrays(df)
    st = sensor_stillness(t, acc, gyr)
    yield st
    gyr -= st.gyr_offset
    (_, acc, _), fitted = acc_calibrated((t, acc, gyr), st.still, None)
    del st
    yield fitted
    yield acc
    out = _fused(t, acc, gyr)
    del acc
    yield out
    yield gyr


class _LocalWork:
    """The thigh's own steps (``_own_steps``) in this process, each when asked for."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.t = df["t"].to_numpy(dtype=np.float64)
        self._steps = _own_steps(df)

    def stillness(self) -> SensorStillness:
        return next(self._steps)

    def acc_fit(self) -> acc_calibration.AccCalibration | None:
        return next(self._steps)

    def corrected_acc(self) -> np.ndarray:
        return next(self._steps)

    def fused(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return next(self._steps)

    def corrected_gyr(self) -> np.ndarray:
        return next(self._steps)

    def __enter__(self) -> _LocalWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self._steps.close()


class _ForkedWork:
    """The thigh's own steps (``_own_steps``) in a forked child process, started at once, so
    that they run beside this process's work on the lower back (vqf and numpy's loops hold
    the GIL: threads could not share the work). The child inherits the samples (fork:
    nothing is copied to it) and sends back each step's result as it is done: small ones
    pickled, arrays as their bytes straight into ones made for them here; or the exception
    it raised, which the step asked for raises here. What this process needs of the samples
    themselves (the accelerometer at the still moments, the gyro for the rates) it takes from
    ``df`` when it needs them, so it never holds a second copy of them for long."""

    def __init__(self, df: pd.DataFrame) -> None:
        import multiprocessing  # only here: no start-up cost for what does not analyse

        ctx = multiprocessing.get_context("fork")
        self.t = df["t"].to_numpy(dtype=np.float64)
        self._df = df
        self._offset: GyroOffset | None = None
        self._fit: acc_calibration.AccCalibration | None = None
        self._conn, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_steps_sent, args=(send, df), daemon=True)
        self._process.start()
        send.close()  # the child's end: if it dies without sending, recv() here ends (EOFError)

    def _recv(self) -> Any:
        try:
            head = self._conn.recv()
            if isinstance(head, BaseException):
                raise head
            if not isinstance(head, _Arrays):
                return head
            out = [np.empty(shape, dtype) for shape, dtype in head.layout]
            for a in out:
                self._conn.recv_bytes_into(a.data.cast("B"))
            return out
        except EOFError:
            self._process.join()
            raise RuntimeError(
                f"the thigh's process ended without a result (exit code {self._process.exitcode})"
            ) from None

    def stillness(self) -> SensorStillness:
        still, gyr_dev = self._recv()
        self._offset = self._recv()
        return SensorStillness(self.t, still, gyr_dev, self._offset, self._offset.at(self.t))

    def acc_fit(self) -> acc_calibration.AccCalibration | None:
        self._fit = self._recv()
        return self._fit

    def corrected_acc(self) -> np.ndarray:
        acc = _columns(self._df, ACC_COLUMNS)
        return acc if self._fit is None else self._fit.apply(acc)

    def fused(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t_q, bias, u = self._recv()
        return t_q, bias, u

    def corrected_gyr(self) -> np.ndarray:
        assert self._offset is not None, "stillness() first"
        gyr = _columns(self._df, GYR_COLUMNS)
        gyr -= self._offset.at(self.t)
        return gyr

    def __enter__(self) -> _ForkedWork:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.is_alive():  # this process failed first: the child's outputs are not wanted
            self._process.terminate()
        self._process.join()
        self._conn.close()


@dataclass(frozen=True)
class _Arrays:
    """Announces arrays whose bytes follow on the pipe: their shapes and types."""

    layout: list[tuple[tuple[int, ...], np.dtype[Any]]]


def _steps_sent(conn: Connection, df: pd.DataFrame) -> None:
    """The child's work: ``_own_steps``' results through ``conn`` (the stillness as its
    per-sample arrays and its offset; the corrected sensor data stay here), or the exception
    raised."""

    def send_arrays(arrays: list[np.ndarray]) -> None:
        out = [np.ascontiguousarray(a) for a in arrays]
        conn.send(_Arrays([(a.shape, a.dtype) for a in out]))
        for a in out:
            conn.send_bytes(a.data)

    try:
        steps = _own_steps(df)
        st = next(steps)
        send_arrays([st.still, st.gyr_dev])
        conn.send(st.offset)
        del st
        conn.send(next(steps))
        next(steps)  # the corrected accelerometer: the fusion's, here
        send_arrays(list(next(steps)))
    except Exception as err:
        conn.send(err)


def _track(
    t: np.ndarray, gyr: np.ndarray, t_q: np.ndarray, bias: np.ndarray, u: np.ndarray, cal: SegmentCalibration
) -> SegmentTrack:
    """A fused sensor's inclination and flexion rate (gyro less vqf's bias, about the axis)."""
    rate = np.degrees(gyr @ cal.axis - np.interp(t, t_q, bias @ cal.axis))
    return SegmentTrack(t, cal.inclination(u), rate, angle_t=t_q)


def check_overlap(times: dict[str, np.ndarray], source: str) -> None:
    """Refuse sensors (``times``: each one's sample times) whose data never overlap: there is
    no moment to compare them."""
    short = [s for s, t in times.items() if len(t) < 2]
    if short:
        raise AnalysisError(f"{source}: nothing to analyse: {', '.join(short)} has fewer than 2 samples")
    spans = {s: (float(t[0]), float(t[-1])) for s, t in times.items()}
    if max(a for a, _ in spans.values()) >= min(b for _, b in spans.values()):
        told = ", ".join(f"{s} {a:.3f}-{b:.3f} s" for s, (a, b) in spans.items())
        raise AnalysisError(f"{source}: nothing to analyse: the sensors' data never overlap in time ({told})")


def check_movement(evidence: dict[str, tuple[np.ndarray, np.ndarray]], source: str) -> None:
    """Refuse a recording in which neither segment ever tilts more than NO_MOVEMENT_DEG from
    its median posture: there is no movement to analyse."""
    tilt = 0.0
    for _, u in evidence.values():
        m = np.median(u, axis=0)
        m /= np.linalg.norm(m)
        tilt = max(tilt, float(np.degrees(np.arccos(np.clip((u @ m).min(), -1, 1)))))
    if tilt < NO_MOVEMENT_DEG:
        raise AnalysisError(
            f"{source}: nothing to analyse: no movement (neither sensor tilts more than {tilt:.1f} deg)"
        )


def still_candidates(
    periods: list[StillPeriod], data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> list[tuple[float, float, float, dict[str, np.ndarray]]]:
    """Still periods with each segment's up direction over them (mean accelerometer)."""
    out = []
    for p in periods:
        ups = {}
        for seg, (t, acc, _) in data.items():
            a, b = np.searchsorted(t, p.start_s, "left"), np.searchsorted(t, p.end_s, "right")
            if b <= a:
                break  # a segment with no sample in the period: no candidate
            ups[seg] = upright(acc[a:b])
        else:
            out.append((p.start_s, p.end_s, p.gyr_dev, ups))
    return out


def provisional_lockouts(grid: np.ndarray, trunk_deg: np.ndarray, thigh_deg: np.ndarray) -> list[float]:
    """Lockout times of the reps in provisional angles (no still standing to zero them):
    the same detector, on frames built from the angles alone."""
    from processing.reps import detect_reps

    frames = pd.DataFrame(
        {
            "t": grid,
            "trunk_deg": trunk_deg,
            "thigh_deg": thigh_deg,
            "hip_deg": trunk_deg + thigh_deg,
            "knee_ext_deg_s": -np.gradient(thigh_deg, grid),
            "hip_ext_deg_s": -np.gradient(trunk_deg, grid),
        }
    )
    return [r.lockout_s for r in detect_reps(frames)]


def compute_angles(rec: Recording, rate_hz: float = ANGLES_RATE_HZ, parallel: bool = True) -> AnglesResult:
    """Angles of a ``processing.recording.Recording`` (non-causal: vqf forward-backward).
    ``parallel``: as ``angles_from_segments``; off where recordings are already analysed
    side by side (a batch on every core)."""
    return angles_from_segments(rec.segments, rate_hz, source=str(rec.path), parallel=parallel)
