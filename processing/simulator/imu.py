"""The virtual lifter's body and sensors: where each IMU is, what it would read, and how a
real one gets it wrong.

Body (sagittal chain, ankle on the floor): shank and thigh 0.44 m each (a 1.78 m adult;
Winter, *Biomechanics and Motor Control of Human Movement*, segment lengths 0.246 H and
0.245 H). World frame: x forward, y to the lifter's left, z up; sagittal angles rotate about
y. The thigh IMU sits mid-way between hip and knee on the skin (0.08 m from the bone: on the
lateral side of the worn leg, or in front); the lumbar IMU 0.10 m up the trunk from the hip
joint and 0.12 m behind it (skin over L5/S1). The whole body may sway out of the sagittal
plane (roll about x, yaw about z) and walks loops between sets.

The physics is exact: specific force ``f = R^T (p'' - g)`` with ``g = (0, 0, -9.81)`` (so
+9.81 up at rest) and angular rate ``w = vee(R^T R')``, both in the sensor frame
``R = G R_segment R_tissue M`` (G: sway and heading, M: mounting). A sample is not an
instantaneous value, though: a MEMS IMU outputs each reading through its decimation
(anti-alias) filter, i.e. averaged over the sample interval, and orientation filters (vqf)
assume exactly that -- the rotation from ``t[k-1]`` to ``t[k]`` is ``gyr[k] * Ts``. So
``sampled_readings`` gives per sample the interval means over ``[t[k-1], t[k]]``:

- gyro: the rotation vector ``log(R(t[k-1])^T R(t[k]))`` (sensor frame at ``t[k-1]``) over
  ``t[k] - t[k-1]``, exact from the orientations; integrating these rates with the
  rectangle rule reproduces the orientation at every sample;
- accelerometer: the interval mean of ``p'' - g`` in the world frame, exact from the
  velocities at both ends (``(p'(t[k]) - p'(t[k-1])) / Ts - g``), turned into the sensor
  frame at the middle of the interval (``R(t[k-1])`` turned by half the gyro's rotation
  vector). Only the frame's turning within one interval is approximated (error ~
  ``|w| |jerk| Ts^2 / 12``: < 0.02 m/s^2 at 52 Hz on 16 Hz soft-tissue ringing, 0.001 at
  208 Hz) and it costs no evaluation beyond the gyro's: 3-4 times more accurate there than
  Simpson's rule over specific-force values at the ends and midpoint, which would double
  the simulator's run time.

Imperfections (noise, bias, drift, scale errors, dropouts) are added afterwards per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from processing.simulator.jet import Jet, body_rate, matmul, rotation, stack_vector
from processing.simulator.motion import Motion, wobble

GRAVITY = 9.81
SHANK_M = 0.44
THIGH_M = 0.44
THIGH_SENSOR_FROM_HIP = 0.5  # fraction of the thigh length
SKIN_OFFSET_M = 0.08  # bone axis to the thigh sensor
LUMBAR_UP_M = 0.10
LUMBAR_BACK_M = 0.12
ACC_RANGE = 16 * GRAVITY  # +-16 g
GYR_RANGE = math.radians(2000.0)  # +-2000 deg/s

MOUNT_PRESETS = ("random", "standard", "front", "upside-down")

# Noise levels (documented in ``processing/simulator/session.py``): sensor error figures plus the
# scale of soft-tissue wobble and out-of-plane sway.
_NOISE_FIELDS = ("gyro_noise", "acc_noise", "gyro_bias", "gyro_drift", "acc_bias", "scale_error", "wobble", "sway_deg")
NOISE_LEVELS: dict[str, dict[str, float]] = {
    level: dict(zip(_NOISE_FIELDS, figures, strict=True))
    for level, figures in {
        "off": (0, 0, 0, 0, 0, 0, 0, 0),
        "low": (0.0015, 0.012, 0.005, 0.0002, 0.02, 0.002, 0.5, 1.0),
        "typical": (0.005, 0.04, 0.017, 0.0005, 0.05, 0.005, 1.0, 2.0),
        "high": (0.018, 0.15, 0.05, 0.002, 0.15, 0.015, 2.0, 4.0),
    }.items()
}


def mounting_matrix(preset: str, segment: str, side: str, rng: np.random.Generator) -> np.ndarray:
    """Rotation from sensor frame to segment frame (columns: the sensor's x, y, z axes in the
    segment frame x forward, y left, z up along the segment).

    ``standard``: thigh sensor on the lateral side of the worn leg, lumbar flat on the back,
    both with x pointing up the segment and z out of the skin. ``front``: thigh sensor on the
    front of the thigh. ``upside-down``: ``standard`` turned 180 deg (x pointing down).
    ``random``: any orientation (uniform over rotations, by seed).
    """
    if preset == "random":
        q = rng.normal(size=4)
        w, x, y, z = q / np.linalg.norm(q)
        return np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )
    if preset not in MOUNT_PRESETS:
        raise ValueError(f"unknown mounting {preset!r} (expected one of {', '.join(MOUNT_PRESETS)})")
    lateral = np.array([0.0, 1.0 if side == "left" else -1.0, 0.0])
    if segment == "lumbar":
        if preset == "front":
            raise ValueError("mounting 'front' applies to the thigh only")
        out = np.array([-1.0, 0.0, 0.0])
    else:
        out = np.array([1.0, 0.0, 0.0]) if preset == "front" else lateral
    x_axis = np.array([0.0, 0.0, -1.0 if preset == "upside-down" else 1.0])
    return np.column_stack([x_axis, np.cross(out, x_axis), out])


def sensor_offset(segment: str, preset: str, side: str) -> np.ndarray:
    """Sensor position in the segment frame, from the hip joint (m)."""
    if segment == "lumbar":
        return np.array([-LUMBAR_BACK_M, 0.0, LUMBAR_UP_M])
    skin = (
        np.array([SKIN_OFFSET_M, 0.0, 0.0])
        if preset == "front"
        else np.array([0.0, SKIN_OFFSET_M if side == "left" else -SKIN_OFFSET_M, 0.0])
    )
    return skin + np.array([0.0, 0.0, -THIGH_SENSOR_FROM_HIP * THIGH_M])


@dataclass
class Kinematics:
    """One sensor's exact motion at time points ``t``: position (N,3) m, velocity (N,3) m/s
    and orientation (N,3,3) (sensor to world) in the world frame, and the instantaneous
    specific force acc (N,3) m/s^2 and angular rate gyr (N,3) rad/s in the sensor frame (a
    sample's reading is their interval mean: ``sampled_readings``)."""

    t: np.ndarray
    pos: np.ndarray
    vel: np.ndarray
    rot: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


def _times(s: Jet, v: Jet) -> Jet:
    """Scalar jet (N,) times vector jet (N,3)."""
    a = Jet(s.v[:, None], s.d[:, None], s.dd[:, None])
    return Jet(a.v * v.v, a.d * v.v + a.v * v.d, a.dd * v.v + 2 * a.d * v.d + a.v * v.dd)


def sensor_kinematics(motion: Motion, segment: str, mount: np.ndarray, offset: np.ndarray, t: np.ndarray) -> Kinematics:
    """Exact position, orientation and ideal IMU readings of one sensor at times ``t``."""
    n = len(t)
    ang = motion.angles_deg(t)
    rad = {k: v.scale(math.pi / 180) for k, v in ang.items() if k != "walk_gate"}
    gate = ang["walk_gate"]
    knee = matmul(rotation("y", rad["shank"]), Jet.const([0.0, 0.0, SHANK_M], n))
    r_thigh = rotation("y", -rad["thigh"])
    hip_chain = knee + matmul(r_thigh, Jet.const([0.0, 0.0, THIGH_M], n))
    # While walking the hip is carried by the walking path, not by the fixed-ankle chain.
    standing_hip = Jet.const([0.0, 0.0, SHANK_M + THIGH_M], n)
    hip = hip_chain + _times(gate, standing_hip - hip_chain)

    r_seg = r_thigh if segment == "thigh" else rotation("y", rad["trunk"])
    tissue_rot, tissue_trans = wobble(t, motion.wobble_events.get(segment, []))
    zero = Jet.const(0.0, n)
    local = Jet.const(offset, n) + stack_vector(tissue_trans, zero, zero)
    body_pos = hip + matmul(r_seg, local)

    roll, yaw = motion.sway_rad(t)
    heading, px, py = motion.heading_path(t)
    g = matmul(rotation("z", heading + yaw), rotation("x", roll))
    pos = stack_vector(px, py, motion.bob(t)) + matmul(g, body_pos)
    rot = matmul(matmul(g, matmul(r_seg, rotation("y", tissue_rot))), Jet.const(mount, n))

    rt = np.swapaxes(rot.v, 1, 2)
    acc = np.einsum("nij,nj->ni", rt, pos.dd + np.array([0.0, 0.0, GRAVITY]))
    return Kinematics(t=t, pos=pos.v, vel=pos.d, rot=rot.v, acc=acc, gyr=body_rate(rot))


def sampled_readings(
    motion: Motion, segment: str, mount: np.ndarray, offset: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ideal (acc, gyr), (N,3) each, of a sensor sampling at times ``t`` (N >= 2): the means
    over each sample interval ``[t[k-1], t[k]]`` (module docstring); the first sample's
    interval is taken as long as the second's."""
    # Imported here, not at the top: the CLI reads this module's presets to build its
    # parser, and scipy.spatial would add 0.4 s to every `hinge` command's start.
    from scipy.spatial.transform import Rotation

    t = np.asarray(t, dtype=float)
    if len(t) < 2:
        raise ValueError("sampled readings need at least two sample times")
    edges = np.concatenate([[t[0] - (t[1] - t[0])], t])
    dt = np.diff(edges)[:, None]
    kin = sensor_kinematics(motion, segment, mount, offset, edges)
    step = Rotation.from_matrix(np.swapaxes(kin.rot[:-1], 1, 2) @ kin.rot[1:]).as_rotvec()
    gyr = step / dt
    halfway = kin.rot[:-1] @ Rotation.from_rotvec(step / 2).as_matrix()
    mean_force = np.diff(kin.vel, axis=0) / dt + np.array([0.0, 0.0, GRAVITY])
    acc = np.einsum("nji,nj->ni", halfway, mean_force)
    return acc, gyr


@dataclass(frozen=True)
class Imperfections:
    """Per-sensor error figures (1-sigma), white noise given per sample at 100 Hz and scaled
    with sqrt(rate / 100) (constant noise density)."""

    gyro_noise: float  # rad/s
    acc_noise: float  # m/s^2
    gyro_bias: float  # rad/s, constant per axis
    gyro_drift: float  # rad/s/sqrt(s), random walk of the bias
    acc_bias: float  # m/s^2 per axis
    scale_error: float  # fraction, per axis gain; cross-axis terms at a third of it


def apply_imperfections(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    imp: Imperfections,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Measured (acc, gyr) from the ideal sampled readings at times ``t``, plus the drawn
    errors for the record."""
    n = len(t)
    k = math.sqrt(rate_hz / 100.0)

    def gain() -> np.ndarray:
        m = np.eye(3) + np.diag(rng.normal(0, imp.scale_error, 3))
        off = rng.normal(0, imp.scale_error / 3, (3, 3))
        return m + off - np.diag(np.diag(off))

    s_acc, s_gyr = gain(), gain()
    b_acc = rng.normal(0, imp.acc_bias, 3)
    b_gyr = rng.normal(0, imp.gyro_bias, 3)
    dt = np.diff(t, prepend=t[0])
    drift = np.cumsum(rng.normal(0, 1, (n, 3)) * (imp.gyro_drift * np.sqrt(dt))[:, None], axis=0)
    acc = acc @ s_acc.T + b_acc + rng.normal(0, imp.acc_noise * k, (n, 3))
    gyr = gyr @ s_gyr.T + b_gyr + drift + rng.normal(0, imp.gyro_noise * k, (n, 3))
    drawn = {
        "acc_gain": s_acc.round(6).tolist(),
        "gyr_gain": s_gyr.round(6).tolist(),
        "acc_bias": b_acc.round(6).tolist(),
        "gyr_bias": b_gyr.round(6).tolist(),
        "gyr_drift_end": drift[-1].round(6).tolist() if n else [0.0, 0.0, 0.0],
    }
    return np.clip(acc, -ACC_RANGE, ACC_RANGE), np.clip(gyr, -GYR_RANGE, GYR_RANGE), drawn


@dataclass(frozen=True)
class Uncalibrated:
    """Errors of a consumer IMU nobody calibrated, on top of ``Imperfections`` (all 0: off).

    Drawn per sensor and axis, uniformly: accelerometer gain ``1 +- acc_scale`` and offset
    ``+- acc_offset`` (so |acc| at rest reads e.g. 8 or 13 m/s^2, differently in every
    posture); gyro zero-rate offset of ``gyro_offset/3 .. gyro_offset`` with either sign,
    changing by up to ``+- gyro_warmup`` over the session as the sensor warms up
    (exponential, time constant 30-120 s)."""

    acc_scale: float = 0.0  # fraction
    acc_offset: float = 0.0  # m/s^2
    gyro_offset: float = 0.0  # rad/s
    gyro_warmup: float = 0.0  # rad/s

    @property
    def active(self) -> bool:
        return any((self.acc_scale, self.acc_offset, self.gyro_offset, self.gyro_warmup))


def apply_uncalibrated(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    u: Uncalibrated,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(acc, gyr) as an uncalibrated sensor reports them, plus what was drawn. Applied after
    ``apply_imperfections`` on its own random stream, so turning it on changes nothing else."""
    gain = 1.0 + rng.uniform(-u.acc_scale, u.acc_scale, 3)
    offset = rng.uniform(-u.acc_offset, u.acc_offset, 3)
    g_off = rng.uniform(u.gyro_offset / 3, u.gyro_offset, 3) * rng.choice([-1.0, 1.0], 3)
    g_warm = rng.uniform(-u.gyro_warmup, u.gyro_warmup, 3)
    tau = float(rng.uniform(30.0, 120.0))
    warm = (1.0 - np.exp(-(t - t[0]) / tau))[:, None] * g_warm
    drawn = {
        "acc_gain_diag": gain.round(6).tolist(),
        "acc_offset": offset.round(6).tolist(),
        "gyr_offset": g_off.round(6).tolist(),
        "gyr_warmup": g_warm.round(6).tolist(),
        "gyr_warmup_tau_s": round(tau, 3),
    }
    acc = acc * gain + offset
    gyr = gyr + g_off + warm
    return np.clip(acc, -ACC_RANGE, ACC_RANGE), np.clip(gyr, -GYR_RANGE, GYR_RANGE), drawn
