"""The one streaming pipeline: sample batches in, angle frames and finished reps out.

Live BLE streaming, the virtual-sensor demo and replay of a recording all feed
``SampleBatch``es (one sensor's samples, session clock) into a ``Pipeline``; it records them
when given a ``RecordingWriter``, turns them into angle frames (``StreamingAngles``) and reps
(``StreamingRepDetector``). One path, so what the lifter sees live is what ``hinge replay``
reproduces from the recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from processing.flight import FlightDetector
from processing.reps import (
    DEFAULT_THRESHOLDS,
    GAP_FACTOR,
    Rep,
    RepThresholds,
    mark_gaps,
)
from processing.samples import AngleFrames, SampleBatch
from processing.streaming_reps import StreamingRepDetector

if TYPE_CHECKING:
    from processing.calibration import Calibration
    from processing.recording import RecordingWriter


@dataclass
class PipelineUpdate:
    """What one ``push`` produced: the new angle frames (possibly empty), the reps whose
    lockout was confirmed by them, and ``session_t``, the session time of the newest sample
    processed so far (what a rep's ``emitted_at_s`` is)."""

    frames: AngleFrames
    reps: list[Rep] = field(default_factory=list)
    session_t: float = float("nan")


class Pipeline:
    """Streaming angles + rep detection (+ recording) for one session."""

    _DT_REFRESH = 256  # sample intervals per re-estimate of a sensor's typical interval

    def __init__(
        self,
        writer: RecordingWriter | None = None,
        thresholds: RepThresholds = DEFAULT_THRESHOLDS,
        rate_hz: float = 100.0,
    ) -> None:
        from processing.streaming_angles import StreamingAngles

        self.writer = writer
        self.angles = StreamingAngles(rate_hz=rate_hz)
        self.flight = FlightDetector()
        self.detector = StreamingRepDetector(thresholds, veto=self.flight.near)
        self.session_t = float("nan")
        self.gaps: list[tuple[float, float]] = []  # sample dropouts seen, any sensor
        self._last_t: dict[str, float] = {}
        self._dt_seen: dict[str, list[np.ndarray]] = {}
        self._typical_dt: dict[str, float] = {}

    @property
    def reps(self) -> list[Rep]:
        """Every rep emitted so far."""
        return self.detector.reps

    @property
    def status(self) -> str:
        """The angle stage's short human status ("Stand tall and still", "calibrated"...)."""
        return self.angles.status

    @property
    def calibration(self) -> Calibration | None:
        """The streaming calibration once known, else None."""
        return self.angles.calibration

    def push(self, batch: SampleBatch) -> PipelineUpdate:
        if self.writer is not None:
            self.writer.append(batch)
        if len(batch.t) and not batch.t[-1] <= self.session_t:
            self.session_t = float(batch.t[-1])
        self._note_gaps(batch)
        self.flight.push(batch.segment, batch.t, batch.acc)
        refined = self.angles.reference_jumps
        frames = self.angles.push(batch)
        if self.angles.reference_jumps != refined:
            self.detector.restart()
        reps = self.detector.push(frames)
        mark_gaps(reps, self.gaps)
        return PipelineUpdate(frames, reps, self.session_t)

    def _note_gaps(self, batch: SampleBatch) -> None:
        """Remember dropouts (an interval > GAP_FACTOR x the sensor's typical interval: the
        median of its intervals, re-estimated every ``_DT_REFRESH`` of them), so that a rep
        spanning one is marked ``gap`` as it is offline."""
        if not len(batch.t):
            return
        seg = batch.segment
        t = np.asarray(batch.t, dtype=float)
        if seg in self._last_t:
            t = np.concatenate([[self._last_t[seg]], t])
        self._last_t[seg] = float(t[-1])
        dt = np.diff(t)
        seen = self._dt_seen.setdefault(seg, [])
        seen.append(dt)
        n = sum(len(d) for d in seen)
        if n >= self._DT_REFRESH or (seg not in self._typical_dt and n >= 8):
            self._typical_dt[seg] = float(np.median(np.concatenate(seen)))
            if n >= self._DT_REFRESH:
                seen.clear()
        typical = self._typical_dt.get(seg)
        if typical is not None:
            big = np.nonzero(dt > GAP_FACTOR * typical)[0]
            self.gaps.extend((float(t[i]), float(t[i + 1])) for i in big)

    def finish(self) -> PipelineUpdate:
        """End of session: flush the angle stage and close a rep the data ended on. The
        writer is the caller's to close (it may outlive the pipeline)."""
        refined = self.angles.reference_jumps
        frames = self.angles.finish()
        if self.angles.reference_jumps != refined:
            self.detector.restart()
        reps = self.detector.push(frames) + self.detector.finish()
        mark_gaps(reps, self.gaps)
        return PipelineUpdate(frames, reps, self.session_t)
