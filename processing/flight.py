"""Flight: both sensors in free fall, i.e. the body off the ground (a jump, a hop, a stride).

A jump's push-off and a landing's recovery flex and extend the hip like a squat, and they
are not reps (docs/domain.md, Which movements are reps). What tells them apart is the flight
between: in free fall an accelerometer reads (almost) nothing, whatever its orientation.
Lifts never leave the ground. ``FlightDetector`` finds flights incrementally (live) or over
a whole recording (offline) with the same rule:

* a sensor is in free fall while its reading, averaged over ``SMOOTH_S``, is below
  ``FREE_FALL_M_S2`` (at rest an accelerometer reads 9.81 m/s^2, an uncalibrated one 6 to
  13; in free fall only its offset). The lower back of a lifter dropping fast into a squat
  can read as little for a few hundredths of a second, the thigh not at the same time for
  longer than 0.07 s (simulated squats);
* a flight is both sensors in free fall together for at least ``MIN_FLIGHT_S`` (a counter-
  movement jump is airborne for 0.3-0.5 s, a hop for 0.15 s). An accelerometer whose offset
  exceeds the threshold hides its flights: then jumps go unflagged.

``near(start_s, end_s)`` says whether a flight lies within ``LANDING_S`` before a rise or
``TAKEOFF_S`` after its top: the rise was a landing's recovery or a jump's push-off.
"""

from __future__ import annotations

import numpy as np

FREE_FALL_M_S2 = 2.5
SMOOTH_S = 0.04
MIN_FLIGHT_S = 0.1
LANDING_S = 2.0  # a rise starting this soon after a flight recovers from a landing
TAKEOFF_S = 0.5  # a rise whose top comes this soon before a flight is a jump's push-off


class FlightDetector:
    """Feed each sensor's samples in time order with ``push``; ``flights`` lists the
    (start_s, end_s) intervals in which all sensors were in free fall."""

    def __init__(self, segments: tuple[str, ...] = ("thigh", "lumbar")) -> None:
        self._segments = segments
        self._fall: dict[str, list[list[float]]] = {s: [] for s in segments}  # per sensor
        self._tail: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.flights: list[tuple[float, float]] = []

    def push(self, segment: str, t: np.ndarray, acc: np.ndarray) -> None:
        if segment not in self._fall or len(t) == 0:
            return
        mag = np.linalg.norm(acc, axis=1)
        if segment in self._tail:  # carry a few samples so the smoothing spans batches
            t0, m0 = self._tail[segment]
            t, mag = np.concatenate([t0, t]), np.concatenate([m0, mag])
        n = max(1, int(round(SMOOTH_S / float(np.median(np.diff(t))))) if len(t) > 1 else 1)
        keep = min(len(t), n)
        self._tail[segment] = (t[-keep:], mag[-keep:])
        if len(t) < n:
            return
        smooth = np.convolve(mag, np.ones(n) / n, mode="valid")
        ts = t[n - 1 :]  # the time of a window's last sample
        fall = (smooth < FREE_FALL_M_S2).astype(np.int8)
        if not fall.any():
            return
        edges = np.diff(np.concatenate([[0], fall, [0]]))
        runs = self._fall[segment]
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            start, end = float(ts[a]), float(ts[b - 1])
            if runs and runs[-1][1] >= start - 2 * SMOOTH_S:  # continues across the batch edge
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([start, end])
        self._update()

    def _update(self) -> None:
        """Intersect the sensors' free-fall runs into flights."""
        if any(not self._fall[s] for s in self._segments):
            return
        common = [tuple(r) for r in self._fall[self._segments[0]]]
        for s in self._segments[1:]:
            common = [(max(a, c), min(b, d)) for a, b in common for c, d in self._fall[s] if max(a, c) < min(b, d)]
        self.flights = [(a, b) for a, b in common if b - a >= MIN_FLIGHT_S - SMOOTH_S]

    def near(self, start_s: float, end_s: float) -> bool:
        """A flight within LANDING_S before the rise or TAKEOFF_S after its top."""
        return any(b >= start_s - LANDING_S and a <= end_s + TAKEOFF_S for a, b in self.flights)


def flights_of(segments: dict[str, tuple[np.ndarray, np.ndarray]]) -> FlightDetector:
    """The detector fed a whole recording at once: ``segments`` maps a sensor to (t, acc)."""
    det = FlightDetector(tuple(segments))
    for seg, (t, acc) in segments.items():
        det.push(seg, t, acc)
    return det
