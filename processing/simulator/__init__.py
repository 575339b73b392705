"""The virtual lifter: deadlift sessions with exact ground truth, as two IMU recordings.

Everything in hinge is tested against it; nothing on the analysis path uses it.

- ``session``: ``simulate(SimConfig(...)) -> Simulation``, ``write_simulation`` (a
  recording plus ``truth.json`` and ``truth_angles.csv``); the noise levels and real-gym
  conditions;
- ``motion``: the session's timeline and the joint-angle trajectories of each pattern,
  walking and the other movements between sets;
- ``jet``: exact time derivatives of those trajectories;
- ``imu``: the body, the sensor mountings and what an IMU reads (physics and errors);
- ``reference``: the independent reference, the ``docs/domain.md`` definitions applied to
  the exact angles, sharing no code with the rep detector it checks.
"""

from processing.simulator.session import (
    EXERCISES,
    GYM_RATES_HZ,
    REALISM_FIELDS,
    REALISMS,
    SimConfig,
    Simulation,
    resolve_realism,
    simulate,
    write_simulation,
)

__all__ = [
    "EXERCISES",
    "GYM_RATES_HZ",
    "REALISMS",
    "REALISM_FIELDS",
    "SimConfig",
    "Simulation",
    "resolve_realism",
    "simulate",
    "write_simulation",
]
