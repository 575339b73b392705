"""Segment angles computed as samples arrive: the causal form of ``processing.angles``.

Same definitions as offline (``processing.calibration`` inclination, gyro rate on the flexion
axis, the session grid ``k / rate_hz``, grid points in long dropouts left out); only the
estimates are causal:

* orientation: ``vqf.VQF`` stepped per batch (``fusion.OnlineOrientation``);
* upright reference: the offline choice (``calibration.choose_upright``: a still standing
  period, else the reps' lockouts, else the most extended postures) re-run every
  ``CHECK_EVERY_S`` on the last ``HISTORY_S`` of data. The first reference is taken as soon
  as there is one worth having (a still stand of 0.5 s, or the lockouts of
  ``MIN_LOCKOUTS`` reps, or anything after ``SEARCH_S``) whose upright side the movement
  has told (``Calibration.signs``), or which came before any movement; it is
  **provisional** and is refined when a clearly better one arrives (a longer, stiller
  stand; a stand after lockouts; one that shows the current "stand" was a lift's bottom or
  a seat: ``_not_a_stand``), which the status says; a refinement that moves upright far
  needs the movement's word too. When a refinement moves the angles, the rep search
  starts afresh (``reference_jumps``). Frames already emitted, and the reps measured on them,
  keep their values; the recording keeps the raw samples, so ``hinge analyze`` redoes them
  with the reference of the whole recording;
* gyro offset: each sensor's own (``processing.stillness``), set on the filter whenever the
  reference is chosen; at the first one the history is fused again with it removed, as
  offline;
* accelerometer gains and offsets: the offline fit (``processing.acc_calibration``, via
  ``angles``' choice of postures) tried on the history every ``ACC_FIT_EVERY_S``; a fit
  found, or one that pins the postures down better, corrects every sample from then on and
  the history is fused again with it (the reference read anew from it);
* flexion axis: refined from the tilt seen so far (``calibration.AxisEstimate``), its sign
  frozen once confident. Until a segment has tilted ``PROVISIONAL_TILT_DEG`` its angle is the
  tilt magnitude (always >= 0) and its rate the gyro on the current tilt direction.

Frames before the first reference are held back (up to ``SEARCH_S`` of them) and emitted in
one go once it is known. After that, **delay bound**: every grid point up to the latest sample
of the slower sensor is emitted by the push that delivers that sample.
"""

from __future__ import annotations

import numpy as np

from processing.acc_calibration import AccCalibration
from processing.angles import (
    SegmentTrack,
    acc_calibrated,
    combine,
    grid_times,
    provisional_lockouts,
    still_candidates,
)
from processing.calibration import (
    EVIDENCE_HZ,
    LIFT_FLEXION_DEG,
    SEAT_THIGH_DEG,
    SOURCES,
    UPRIGHT_THIGH_DEG,
    WEAK_CONFIDENCE,
    AxisEstimate,
    Calibration,
    angle_about,
    axis_estimates,
    calibrate,
    common_grid,
    cross,
    mean_up,
    up_vectors,
)
from processing.fusion import FusionResult, OnlineOrientation
from processing.samples import SEGMENTS_REQUIRED, AngleFrames, SampleBatch
from processing.stillness import SensorStillness, StillPeriod, joint_still_periods, sensor_stillness

CHECK_EVERY_S = 0.5  # re-run the reference choice this often (session time)
HISTORY_S = 60.0  # of raw samples and up-vectors kept for it
SEARCH_S = 30.0  # after this much data without a reference, take the best there is
MIN_LOCKOUTS = 2  # reps whose lockouts are enough for a first reference
SEAT_PELVIS_BACK_DEG = 12.0  # a seated pelvis tilts back 15-25 deg from standing (real pi_bench: 18-22)
REFUSE_HISTORY_S = 15.0  # a refined reference re-fuses a history up to this long
OFFSET_CHANGE_RAD_S = 0.005  # a smaller change of a gyro's offset is not applied later on
SHOW_REFINED_S = 3.0  # the status says the reference was refined for this long
BETTER_BY = 0.2  # a new reference must be this much more trusted to replace the current one
UNTOLD_MOVE_DEG = 10.0  # a new upright this far from the current one needs signs from movement
# A new reference moving the angles more than this breaks the rep search (a mirrored
# provisional upright replaced: the jump would pair into a rise). A smaller move cannot make
# a rep on its own, and a rep rising through it keeps its values from both references
# rather than be lost.
REFERENCE_JUMP_DEG = 30.0
PROVISIONAL_TILT_DEG = 10.0
AXIS_REFRESH_S = 0.05  # add evidence and re-derive the flexion axis this often
ACC_FIT_EVERY_S = 5.0  # try the accelerometer fit on the history this often (session time)
ACC_FIT_BETTER_DEG = 0.2  # a new fit must pin the postures' angles down this much better


class _Segment:
    """One sensor's causal state: filter, raw history (for stillness and the reference
    choice), fused samples not yet consumed by the grid, up-vector history, axis evidence."""

    def __init__(self, name: str):
        self.name = name
        self.fusion = OnlineOrientation()
        self.raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # the last HISTORY_S
        self.t = np.empty(0)
        self.u = np.empty((0, 3))
        self.w = np.empty((0, 3))  # bias-corrected gyro, rad/s
        self.ev: list[tuple[np.ndarray, np.ndarray]] = []  # (t, u) thinned to ~EVIDENCE_HZ
        self.ev_next = -np.inf
        self.est: AxisEstimate | None = None
        self.gyro_offset = np.zeros(3)
        self.acc_cal: AccCalibration | None = None  # applied to every sample fused
        self.n_added = 0  # fused samples already fed to the axis estimate
        self.next_refresh = -np.inf
        self.last_t = -np.inf  # newest sample time received

    @property
    def estimate(self) -> AxisEstimate:
        """The flexion-axis estimate, there from the first upright reference on."""
        if self.est is None:
            raise RuntimeError(f"{self.name}: no axis estimate before an upright reference")
        return self.est

    def raw_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, acc, gyr = (np.concatenate([r[k] for r in self.raw]) for k in range(3))
        return t, acc, gyr

    def corrected(self, acc: np.ndarray) -> np.ndarray:
        """The accelerometer as the filter sees it: with the fitted gains and offsets removed."""
        return acc if self.acc_cal is None else self.acc_cal.apply(acc)

    def evidence(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate([e[0] for e in self.ev]), np.vstack([e[1] for e in self.ev])

    def trim_history(self, keep_from: float) -> None:
        while self.raw and self.raw[0][0][-1] < keep_from:
            self.raw.pop(0)
        while self.ev and self.ev[0][0][-1] < keep_from:
            self.ev.pop(0)

    def add_fused(self, t: np.ndarray, gyr: np.ndarray, quat: np.ndarray, bias: np.ndarray) -> None:
        u = up_vectors(quat)
        self.t = np.concatenate([self.t, t])
        self.u = np.vstack([self.u, u])
        self.w = np.vstack([self.w, gyr - bias])
        keep = np.zeros(len(t), bool)
        for i, ti in enumerate(t):  # thin to EVIDENCE_HZ (a few per batch)
            if ti >= self.ev_next:
                keep[i] = True
                self.ev_next = ti + 1.0 / EVIDENCE_HZ
        if keep.any():
            self.ev.append((t[keep], u[keep]))

    def track(self) -> SegmentTrack:
        """Angle and rate of the buffered samples with the current calibration estimate."""
        est = self.estimate
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

    def fuse_again(self, emitted_until: float | None) -> None:
        """Fuse the history again from its start with the gyro offset removed (as offline
        does), so that frames not emitted yet carry no start-up bias error."""
        t, acc, gyr = self.raw_arrays()
        self.fusion = OnlineOrientation()
        self.fusion.set_gyro_offset(self.gyro_offset)
        t, gyr, res = self.fusion.push(t, self.corrected(acc), gyr)
        self.t, self.u, self.w, self.n_added = t[:0], self.u[:0], self.w[:0], 0
        self.ev, self.ev_next = [], -np.inf
        self.add_fused(t, gyr, res.quat, res.bias)
        if emitted_until is not None:
            self.drop_before(emitted_until)

    def drop_before(self, t_keep: float) -> None:
        """Forget fused samples no longer needed to interpolate grid points after t_keep
        (nor by the axis estimate, which takes them in every AXIS_REFRESH_S)."""
        i = min(self.n_added, max(0, int(np.searchsorted(self.t, t_keep, side="right")) - 1))
        self.t, self.u, self.w = self.t[i:], self.u[i:], self.w[i:]
        self.n_added = max(0, self.n_added - i)


def _same_stand(a: Calibration, b: Calibration) -> bool:
    """The same reference, grown: same source, and the same stand (its start within a second)."""
    return a.source == b.source == "standing" and abs(a.periods[0][0] - b.periods[0][0]) < 1.0


def _moved_deg(a: Calibration, b: Calibration) -> float:
    """How far apart two references' upright postures are (deg, largest segment; sign-free)."""
    return max(
        float(np.degrees(np.arccos(np.clip(a.segments[s].up @ b.segments[s].up, -1.0, 1.0)))) for s in a.segments
    )


def _not_a_stand(cur: Calibration, new: Calibration) -> bool:
    """Is the current "stand" no stand, as the newer reference (signs told by the movement)
    sees it: a lift's bottom (hip flexion of LIFT_FLEXION_DEG or more, seen from the
    lockouts of MIN_LOCKOUTS reps), or a seat (the thigh SEAT_THIGH_DEG forward, or
    UPRIGHT_THIGH_DEG with the pelvis SEAT_PELVIS_BACK_DEG back, seen from the most extended
    postures of a recording with no rep)? A recording that starts at the
    bar holds the set-up still before the first pull, one that starts on a bench sits
    still; early on, nothing yet says either is not a stand, and a still posture outranks
    what says so later. (Weaker evidence was seen to be wrong more often than the reference
    it would replace: one rep early in a session, a stand early in an uncalibrated one, a
    thigh 45-50 deg ahead of a jog's push-off with the trunk where it was.)"""
    if new.signs != "movement" or cur.source != "standing":
        return False
    ang = {
        s: float(angle_about(cur.segments[s].up[None], new.segments[s].up, new.segments[s].axis)[0])
        for s in new.segments
    }
    if new.source == "lockouts" and len(new.periods) >= MIN_LOCKOUTS:
        return ang["lumbar"] + ang["thigh"] >= LIFT_FLEXION_DEG
    # A recording that begins seated, with no rep yet, shows a seat (the thigh near
    # horizontal) against the standing moments, its most extended postures; or, less far
    # forward, with the pelvis tilted back as a seat tilts it (a stride's push-off leaves
    # the trunk where it was, or leaning forward).
    return new.source == "extended-posture" and (
        ang["thigh"] >= SEAT_THIGH_DEG or (ang["thigh"] >= UPRIGHT_THIGH_DEG and ang["lumbar"] <= -SEAT_PELVIS_BACK_DEG)
    )


class StreamingAngles:
    """Feed per-sensor ``SampleBatch``es with ``push``; get new ``AngleFrames`` back."""

    def __init__(self, rate_hz: float = 100.0):
        self.rate_hz = rate_hz
        self._seg = {s: _Segment(s) for s in SEGMENTS_REQUIRED}
        self._cal: Calibration | None = None
        self._refined = 0  # how many times the reference was replaced
        self._jumps = 0  # ... and moved the angles (reference_jumps)
        self._refined_at = -np.inf
        self._now = -np.inf  # session time of the newest sample of the slower sensor
        self._next_check = -np.inf
        self._next_acc_fit = -np.inf
        self._first_t: float | None = None
        self._last_grid: float | None = None

    @property
    def calibration(self) -> Calibration | None:
        """The calibration in use (None until there is an upright reference), with the
        current axis estimates."""
        if self._cal is None:
            return None
        segs = {}
        for s, g in self._seg.items():
            sc = self._cal.segments[s]
            est = g.estimate
            segs[s] = type(sc)(
                s, est.up, est.final_axis(), g.gyro_offset, est.ratio, est.out_of_plane_share, est.max_tilt_deg
            )
        c = self._cal
        accelerometers = {s: (g.acc_cal.report() if g.acc_cal is not None else None) for s, g in self._seg.items()}
        return Calibration(
            c.source, c.periods, segs, c.confidence, c.detail, c.warnings, accelerometers=accelerometers, signs=c.signs
        )

    @property
    def reference_jumps(self) -> int:
        """How many times a new reference moved the angles by more than REFERENCE_JUMP_DEG:
        frames after such a change are measured against another upright (or another sign),
        and nothing before it may pair with them."""
        return self._jumps

    @property
    def status(self) -> str:
        """Short text for the viewer."""
        c = self._cal
        if c is None:
            return "Stand tall and still"
        if self._refined and self._now - self._refined_at < SHOW_REFINED_S:
            return f"Upright refined: {c.detail}"
        if c.confidence < WEAK_CONFIDENCE:
            return f"Upright: {c.detail} (provisional)"
        if not all(g.estimate.sign_frozen for g in self._seg.values()):
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
        if self._first_t is None:
            self._first_t = float(batch.t[0])
        t, gyr, res = seg.fusion.push(batch.t, seg.corrected(batch.acc), batch.gyr)
        return self._consume(seg, batch, t, gyr, res)

    def finish(self) -> AngleFrames:
        """End of data: fuse what the start-up buffers still hold and emit the rest (with
        the best reference there is, however weak, so that nothing received is lost)."""
        out = []
        for seg in self._seg.values():
            t, gyr, res = seg.fusion.flush()
            out.append(self._consume(seg, None, t, gyr, res, final=True))
        return AngleFrames.concat(out)

    def _consume(
        self,
        seg: _Segment,
        batch: SampleBatch | None,
        t: np.ndarray,
        gyr: np.ndarray,
        res: FusionResult,
        final: bool = False,
    ) -> AngleFrames:
        if batch is not None:
            seg.raw.append((batch.t, batch.acc, batch.gyr))
        if len(t):
            seg.add_fused(t, gyr, res.quat, res.bias)
        self._calibrate(final)
        if self._cal is None:
            return AngleFrames.empty()
        return self._emit()

    def _calibrate(self, final: bool) -> None:
        """(Re)choose the upright reference on the history, at most every CHECK_EVERY_S."""
        segs = self._seg.values()
        if any(not g.raw or not g.ev for g in segs):
            return
        now = min(g.raw[-1][0][-1] for g in segs)
        self._now = now
        if now < self._next_check and not final:
            return
        self._next_check = now + CHECK_EVERY_S
        for g in segs:
            g.trim_history(now - HISTORY_S)
        data = {g.name: g.raw_arrays() for g in segs}
        evidence = {g.name: g.evidence() for g in segs}
        if len(common_grid(evidence)) < 3:
            return
        stillness = {s: sensor_stillness(*data[s]) for s in data}
        periods = joint_still_periods(stillness)
        refit = now >= self._next_acc_fit and self._fit_accelerometers(data, stillness, periods)
        data = {g.name: (data[g.name][0], g.corrected(data[g.name][1]), data[g.name][2]) for g in segs}
        # The lower back's accelerometer and up-vectors, for the signs' cues (as offline).
        t_l, acc_l, _ = data["lumbar"]
        t_e, u_e = evidence["lumbar"]
        u_l = np.column_stack([np.interp(t_l, t_e, u_e[:, k]) for k in range(3)])
        try:
            cal = calibrate(
                evidence,
                still_candidates(periods, data),
                {s: stillness[s].offset.at(data[s][0][-1:])[0] for s in data},
                provisional_lockouts,
                lumbar_motion=(t_l, acc_l, u_l),
            )
        except np.linalg.LinAlgError:
            return
        cur = self._cal
        if cur is not None and refit:
            # The corrected accelerometer moves every up-vector: the history is fused again and
            # the reference read anew from it: the current one, unless the new choice would
            # replace it anyway (or the current one's periods have left the history).
            keep = self._keeps(cur, cal) and self._in_history(cur)
            new = cur if keep else cal
            self._adopt(new, stillness, (t_l, acc_l), first=False, news=not _same_stand(new, cur), refuse=True)
            return
        if cur is None:
            waited = now - (self._first_t if self._first_t is not None else now)
            # Early on, which side is upright must come from the movement, unless the stand
            # came before any: a still setup at the bar passes for a stand to the dwell rule.
            told = cal.signs == "movement" or self._before_movement(cal)
            enough = told and (
                cal.source == "standing" or (cal.source == "lockouts" and len(cal.periods) >= MIN_LOCKOUTS)
            )
            if not (enough or waited >= SEARCH_S or final):
                return
        elif self._keeps(cur, cal):
            return
        self._adopt(cal, stillness, (t_l, acc_l), first=cur is None, news=cur is not None and not _same_stand(cal, cur))

    def _keeps(self, cur: Calibration, cal: Calibration) -> bool:
        """Does the current reference stay against the new choice ``cal``: the new one is not
        better and says nothing against the current one, or it is a new upright far from the
        current one that the movement has not told upright?"""
        return not (self._better(cal, cur) or _not_a_stand(cur, cal)) or (
            cal.signs != "movement" and _moved_deg(cal, cur) > UNTOLD_MOVE_DEG
        )

    def _in_history(self, cal: Calibration) -> bool:
        """Are all of ``cal``'s periods still in the evidence kept (to be read anew)?"""
        start = min(a for a, _ in cal.periods)
        return all(len(t) > 0 and t[0] <= start for t, _ in (g.evidence() for g in self._seg.values()))

    @staticmethod
    def _better(new: Calibration, cur: Calibration) -> bool:
        rank = SOURCES.index
        if rank(new.source) != rank(cur.source):
            return rank(new.source) < rank(cur.source)
        return new.confidence >= cur.confidence + BETTER_BY or (new.confidence >= 1.0 > cur.confidence)

    def _before_movement(self, cal: Calibration) -> bool:
        """Did the reference come before any segment tilted PROVISIONAL_TILT_DEG away from it
        (a recording that starts standing: no sign is needed to know it is upright)?"""
        start = cal.periods[0][0]
        for g in self._seg.values():
            t, u = g.evidence()
            before = u[t < start]
            if len(before) and float((before @ cal.segments[g.name].up).min()) < np.cos(
                np.radians(PROVISIONAL_TILT_DEG)
            ):
                return False
        return True

    def _angle_jump(self, ests: dict[str, AxisEstimate]) -> float:
        """How far the newest posture's angles move (deg, largest segment) when measured
        with the new estimates ``ests`` instead of the current ones."""
        jump = 0.0
        for g in self._seg.values():
            if g.est is not None and len(g.u):
                u = g.u[-1:]
                old = angle_about(u, g.est.up, g.est.final_axis())[0]
                new = angle_about(u, ests[g.name].up, ests[g.name].final_axis())[0]
                jump = max(jump, abs(float(new - old)))
        return jump

    def _fit_accelerometers(
        self,
        data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
        stillness: dict[str, SensorStillness],
        periods: list[StillPeriod],
    ) -> bool:
        """Try each accelerometer's fit on the history (as offline); keep a new one where
        there was none or it pins the postures down clearly better. True if any changed."""
        self._next_acc_fit = self._now + ACC_FIT_EVERY_S
        changed = False
        for g in self._seg.values():
            t, acc, gyr = data[g.name]
            st = stillness[g.name]
            _, fitted = acc_calibrated((t, acc, gyr - st.gyr_offset), st.still, periods if g.name == "lumbar" else None)
            if fitted is not None and (
                g.acc_cal is None or fitted.direction_sd_deg < g.acc_cal.direction_sd_deg - ACC_FIT_BETTER_DEG
            ):
                g.acc_cal = fitted
                changed = True
        return changed

    def _adopt(
        self,
        cal: Calibration,
        stillness: dict[str, SensorStillness],
        lumbar_acc: tuple[np.ndarray, np.ndarray],
        first: bool,
        news: bool,
        refuse: bool = False,
    ) -> None:
        """Use a new reference from now on (re-fusing the history the first time, or when
        ``refuse``: the accelerometers' correction changed); ``lumbar_acc``: the lower back's
        history ``(t, corrected accelerometer)``, for the signs; ``news``: it is another stand or
        source, which the status announces (a stand that only grew longer is taken silently)."""
        refused = False
        for g in self._seg.values():
            st = stillness[g.name]
            changed = False
            if st.offset.known:
                new = st.offset.at(g.raw[-1][0][-1:])[0]
                changed = bool(np.linalg.norm(new - g.gyro_offset) > OFFSET_CHANGE_RAD_S)
                g.gyro_offset = new
            # Early in the session re-fusing the short history is cheap and leaves the frames
            # still to come as offline would have them.
            early = first or g.raw[-1][0][-1] - g.raw[0][0][0] <= REFUSE_HISTORY_S
            if refuse or (st.offset.known and early):
                g.fuse_again(self._last_grid)
                refused = True
            elif changed:
                g.fusion.set_gyro_offset(g.gyro_offset)
        evidence = {g.name: g.evidence() for g in self._seg.values()}
        # The reference postures as the history now reads (re-fused without the offset).
        refs = {s: mean_up(evidence[s], cal.periods) if refused else sc.up for s, sc in cal.segments.items()}
        t_l, acc_l = lumbar_acc
        t_e, u_e = evidence["lumbar"]
        motion = (t_l, acc_l, np.column_stack([np.interp(t_l, t_e, u_e[:, k]) for k in range(3)]))
        ests = axis_estimates(evidence, refs, common_grid(evidence), motion)
        if not first and self._angle_jump(ests) > REFERENCE_JUMP_DEG:
            self._jumps += 1
        for g in self._seg.values():
            g.est = ests[g.name]
            g.n_added = len(g.t)  # the history is in the estimate already
            g.next_refresh = -np.inf
        if news:
            self._refined += 1
            self._refined_at = self._now
        self._cal = cal

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
