"""Jumps and landings are not reps: a rise that ends in a flight (both sensors in free fall)
or starts soon after one is vetoed, offline and live, by the same detector."""

from __future__ import annotations

import numpy as np
import pandas as pd

from processing.flight import FREE_FALL_M_S2, FlightDetector, flights_of
from processing.reps import detect_reps
from tests.processing.test_reps import _synthetic


def _acc(t: np.ndarray, flight: tuple[float, float] | None) -> np.ndarray:
    """Gravity on one axis of an uncalibrated sensor (offset 1.5 m/s^2), zero but for the
    offset while airborne."""
    acc = np.tile([1.5, 0.0, 9.81], (len(t), 1))
    if flight is not None:
        air = (t >= flight[0]) & (t <= flight[1])
        acc[air] = [1.5, 0.0, 0.0]
    return acc


# A squat-like rise from 90 deg of hip flexion, top at 4 s.
LEGS = [(1.0, 0, 0), (1.0, 0, 90), (1.0, 90, 90), (1.0, 90, 0), (3.0, 0, 0)]


def test_a_rise_into_a_flight_is_a_jump_not_a_rep():
    frames = _synthetic(LEGS)
    assert len(detect_reps(frames)) == 1
    t = frames.t.to_numpy()
    det = flights_of({s: (t, _acc(t, (4.05, 4.35))) for s in ("thigh", "lumbar")})
    assert det.flights and abs(det.flights[0][0] - 4.05) < 0.06
    assert detect_reps(frames, veto=det.near) == []


def test_a_rise_soon_after_a_landing_is_not_a_rep_and_one_sensor_in_free_fall_is_no_flight():
    frames = _synthetic(LEGS)
    t = frames.t.to_numpy()
    landing = flights_of({s: (t, _acc(t, (1.2, 1.5))) for s in ("thigh", "lumbar")})
    assert detect_reps(frames, veto=landing.near) == []
    one = flights_of({"thigh": (t, _acc(t, (0.5, 0.8))), "lumbar": (t, _acc(t, None))})
    assert one.flights == [] and len(detect_reps(frames, veto=one.near)) == 1


def test_live_detection_in_small_batches_finds_the_same_flight():
    t = np.arange(0, 6, 0.005)
    acc = _acc(t, (2.0, 2.25))
    det = FlightDetector()
    for i in range(0, len(t), 7):
        for seg in ("thigh", "lumbar"):
            det.push(seg, t[i : i + 7], acc[i : i + 7])
    offline = flights_of({s: (t, acc) for s in ("thigh", "lumbar")})
    assert len(det.flights) == 1 and np.allclose(det.flights, offline.flights, atol=0.01)
    assert FREE_FALL_M_S2 < 6.0  # an accelerometer 35 % low still reads more than this at rest


def test_no_rest_and_landing_spikes_are_not_taken_for_a_unit_error(tmp_path):
    """A recording of jumps has no rest: its low-rate samples are landings at 2-3 g. The
    reader must not call that a unit error (the whole recording's median is 1 g)."""
    from processing.recording import read_recording, write_recording

    t = np.arange(0, 10, 0.01)
    rng = np.random.default_rng(0)
    seg = {}
    for name in ("thigh", "lumbar"):
        gyr = rng.normal(0, 2.0, (len(t), 3))  # always turning: never at rest
        acc = np.tile([0.0, 0.0, 9.81], (len(t), 1)) + rng.normal(0, 0.5, (len(t), 3))
        land = (t % 1.0) < 0.05
        gyr[land] = 0.05
        acc[land] = [0.0, 0.0, 25.0]
        seg[name] = pd.DataFrame(
            {
                "t": t,
                "ax": acc[:, 0],
                "ay": acc[:, 1],
                "az": acc[:, 2],
                "gx": gyr[:, 0],
                "gy": gyr[:, 1],
                "gz": gyr[:, 2],
            }
        )
    rec = read_recording(write_recording(tmp_path / "jumps", seg, {"source": "test"}))
    assert set(rec.segments) == {"thigh", "lumbar"}
