"""Synthetic IMU data for recording tests: a sensor standing still, then tilting back and forth.

Physically consistent (specific force is gravity rotated into the tilting sensor frame, the
gyro is the tilt rate), so the reader's unit checks see what a real sensor would give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

G = 9.80665


def segment_frame(
    duration_s: float = 6.0, rate_hz: float = 200.0, still_s: float = 2.5, phase: float = 0.0, t0: float = 0.0
) -> pd.DataFrame:
    """Still for ``still_s``, then a 0.5 Hz tilt of 60 deg about the sensor's x axis."""
    t = t0 + np.arange(int(round(duration_s * rate_hz))) / rate_hz
    moving = np.clip(t - t0 - still_s, 0, None)
    w = 2 * np.pi * 0.5
    angle = np.radians(30.0) * (1 - np.cos(w * moving + phase) + np.cos(phase)) * (moving > 0)
    rate = np.radians(30.0) * w * np.sin(w * moving + phase) * (moving > 0)
    return pd.DataFrame(
        {
            "t": t,
            "ax": np.full_like(t, 0.01),
            "ay": G * np.sin(angle),
            "az": G * np.cos(angle),
            "gx": rate,
            "gy": np.full_like(t, 0.002),
            "gz": np.full_like(t, -0.001),
        }
    )


def two_segments(duration_s: float = 6.0, rate_hz: float = 200.0) -> dict[str, pd.DataFrame]:
    """Thigh and lumbar streams (lumbar with ``seq`` and ``device_t`` extra columns)."""
    thigh = segment_frame(duration_s, rate_hz)
    lumbar = segment_frame(duration_s, rate_hz, phase=0.3, t0=0.0021)
    lumbar["seq"] = np.arange(len(lumbar), dtype=float)
    lumbar["device_t"] = 1000.0 + lumbar["t"] * 1.00002
    return {"thigh": thigh, "lumbar": lumbar}
