"""Offline analysis of a recording in one call: what `hinge analyze` does, as a library.

``analyze(rec)`` runs the non-causal angles (``processing.angles``), the rep detector
(``processing.reps``), flags the reps that span a sensor dropout and summarises the sets.
The steps stay public for those who want one of them; this is the front end that keeps
the command line, the examples and a sports scientist's notebook on the same definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from processing.angles import compute_angles
from processing.calibration import Calibration
from processing.flight import flights_of
from processing.recording import Recording
from processing.reps import DEFAULT_THRESHOLDS, Rep, RepThresholds, detect_reps, mark_gaps, sample_gaps, summarize
from processing.samples import ANGLES_RATE_HZ


@dataclass
class Analysis:
    """A recording's angles (``ANGLE_COLUMNS`` on the ``rate_hz`` grid), reps and set
    summary (``summarize``'s dict)."""

    recording: Recording
    frames: pd.DataFrame
    reps: list[Rep]
    summary: dict[str, Any]
    calibration: Calibration | None


def analyze(
    rec: Recording,
    thresholds: RepThresholds = DEFAULT_THRESHOLDS,
    rate_hz: float = ANGLES_RATE_HZ,
    progress: Callable[[str], None] | None = None,
    parallel: bool = True,
) -> Analysis:
    """Angles, reps (``gap`` set where a sensor dropped out during a rep) and set summary.
    ``progress(step)`` is told each step as it starts (for a long recording's status line);
    ``parallel``: the sensors fused in two processes (``compute_angles``)."""
    if progress:
        progress("computing angles")
    angles = compute_angles(rec, rate_hz=rate_hz, parallel=parallel)
    if progress:
        progress("detecting reps")
    flight = flights_of(
        {
            s: (df["t"].to_numpy(), df[["ax", "ay", "az"]].to_numpy())
            for s, df in rec.segments.items()
            if s in ("thigh", "lumbar")
        }
    )
    reps = detect_reps(angles.frames, thresholds, veto=flight.near)
    for df in rec.segments.values():
        mark_gaps(reps, sample_gaps(df["t"].to_numpy()))
    return Analysis(rec, angles.frames, reps, summarize(reps), angles.calibration)
