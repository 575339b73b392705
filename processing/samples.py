"""The two data types that flow through hinge's one streaming pipeline.

Sources (BLE sensors, virtual sensors, replay of a recording) produce ``SampleBatch``es;
the streaming angle computation turns them into ``AngleFrames``; the rep detector reads
those. Arrays, not per-sample objects, so that 200 Hz x 2 sensors costs nothing in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

SEGMENTS_REQUIRED = ("thigh", "lumbar")
SEGMENTS_OPTIONAL = ("shank", "upper_back")
SEGMENTS = SEGMENTS_REQUIRED + SEGMENTS_OPTIONAL

ANGLE_COLUMNS = ("t", "trunk_deg", "thigh_deg", "hip_deg", "knee_ext_deg_s", "hip_ext_deg_s")
#: Rate (Hz) of the offline angle frames: the definitions' time resolution (onsets to 5 ms).
ANGLES_RATE_HZ = 200.0


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive IMU samples of one segment's sensor, already on the session clock.

    ``t`` (N,) seconds, strictly increasing; ``acc`` (N, 3) specific force in m/s^2 in the
    sensor frame (+9.81 up at rest); ``gyr`` (N, 3) angular rate in rad/s in the sensor frame.
    ``extra`` holds optional per-sample columns a recording keeps (e.g. ``seq``, ``device_t``).
    """

    segment: str
    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class AngleFrames:
    """Segment angles on the session's common time grid (degrees, deg/s); see domain.md.

    ``knee_ext_deg_s`` = -d(thigh_deg)/dt and ``hip_ext_deg_s`` = -d(trunk_deg)/dt, taken
    from the gyroscope projected on each segment's flexion axis.
    """

    t: np.ndarray
    trunk_deg: np.ndarray
    thigh_deg: np.ndarray
    hip_deg: np.ndarray
    knee_ext_deg_s: np.ndarray
    hip_ext_deg_s: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def __getitem__(self, rows: slice) -> AngleFrames:
        """The frames in a slice of rows (e.g. a chunk, as a live source delivers them)."""
        return AngleFrames(*(getattr(self, c)[rows] for c in ANGLE_COLUMNS))

    @classmethod
    def empty(cls) -> AngleFrames:
        z = np.empty(0)
        return cls(z, z, z, z, z, z)

    @classmethod
    def concat(cls, parts: list[AngleFrames]) -> AngleFrames:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, c) for p in parts]) for c in ANGLE_COLUMNS))

    def to_dataframe(self, copy: bool = True) -> pd.DataFrame:
        """A DataFrame of ``ANGLE_COLUMNS``; ``copy=False`` wraps these arrays as they are
        (for frames nobody else holds: an hour at 200 Hz is 35 MB)."""
        import pandas as pd

        return pd.DataFrame({c: getattr(self, c) for c in ANGLE_COLUMNS}, copy=copy)

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame) -> AngleFrames:
        return cls(*(df[c].to_numpy(dtype=float) for c in ANGLE_COLUMNS))
