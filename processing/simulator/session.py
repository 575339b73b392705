"""The virtual lifter: deadlift sessions with exact ground truth, as two IMU recordings.

Everything in hinge is tested against this. ``simulate(SimConfig(...))`` lays out a session
(``motion``), computes what a thigh and a lumbar IMU would read from the physics of the
movement (``imu``; as a real IMU outputs them, each sample is the mean over its sample
interval: the gyro gives the rotation since the previous sample over the interval), spoils
it as real sensors do (noise, bias and drift, scale errors, soft tissue, sway, clock offset,
dropouts), and measures every rep's truth with the definitions of ``docs/domain.md`` on the
exact angles (``reference``).

Noise levels (1-sigma; white noise per sample at 100 Hz, scaled by sqrt(rate/100)):

==========  =========  =========  =========  ===============  =========  =====  ======  =====
level       gyro       acc        gyro bias  gyro bias drift  acc bias   scale  wobble  sway
==========  =========  =========  =========  ===============  =========  =====  ======  =====
off         0          0          0          0                0          0      0       0 deg
low         0.0015     0.012      0.005      0.0002           0.02       0.2 %  0.5     1 deg
typical     0.005      0.04       0.017      0.0005           0.05       0.5 %  1.0     2 deg
high        0.018      0.15       0.05       0.002            0.15       1.5 %  2.0     4 deg
==========  =========  =========  =========  ===============  =========  =====  ======  =====

(gyro in rad/s, drift in rad/s/sqrt(s), acc in m/s^2.) ``typical`` is a consumer MEMS IMU
strapped to a moving body (vibration included), roughly 5x the datasheet white noise of an
LSM6DSx; the bias (about 1 deg/s) is an uncalibrated gyroscope's zero-rate offset. Wobble
scales the soft-tissue ring-down (``motion._TISSUE``); sway is the amplitude scale of the
whole body's slow out-of-plane roll and yaw. Each can be overridden in ``SimConfig``.

Real-gym conditions (``SimConfig.realism`` ... ``jitter_s``, all off by default): short,
late or no standing, fidgeting, walking/jogging/bench/bends in the rests, squats, sessions
without lifts (``motion``); uncalibrated accelerometers (per-axis gain and offset) and
gyros (offset and warm-up drift, ``imu.Uncalibrated``); timestamp jitter; the tops of a
continuous set short of upright (``top_short_deg``). ``realism="gym"``
draws a mix of them by seed (``resolve_realism``).

Truth:

- ``truth_angles``: the bones' sagittal angles (``trunk_deg``, ``thigh_deg``, ``hip_deg``, 0 =
  the upright still start) and their exact rates ``knee_ext_deg_s = -d thigh/dt``,
  ``hip_ext_deg_s = -d trunk/dt``, on a uniform grid of ``truth_rate_hz`` (default 1 kHz,
  from t = 0 on the session clock). Sway and soft tissue move the sensors, not the truth.
- ``truth_reps``: the domain.md definitions applied to the exact angles on a grid of at least
  1 kHz, crossings interpolated (``reference``). ``end_s`` is when the lifter leaves the top:
  the start of the next descent, or for a set's last rep the end of the hold before the
  rest. ``gap`` is true when a dropout overlaps [start_s, end_s].
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from processing.reps import PATTERNS
from processing.samples import ANGLE_COLUMNS
from processing.simulator.imu import (
    MOUNT_PRESETS,
    NOISE_LEVELS,
    Imperfections,
    Kinematics,
    Uncalibrated,
    apply_imperfections,
    apply_uncalibrated,
    mounting_matrix,
    sampled_readings,
    sensor_kinematics,
    sensor_offset,
)
from processing.simulator.motion import (
    REST_ACTIVITIES,
    SQUAT_RANGES,
    STANDINGS,
    Motion,
    MotionParams,
    build_motion,
)
from processing.simulator.reference import truth_reps

SENSORS = ("thigh", "lumbar")
SIM_CREATED = "2000-01-01T00:00:00.000Z"  # constant: simulated recordings are byte-reproducible
INTERNAL_TRUTH_HZ = 1000.0  # rep truth is always measured on at least this grid


@dataclass
class SimConfig:
    """A simulated session. Ranges ``(lo, hi)`` are drawn per rep by seed; ``None`` fields
    take their value from ``noise``."""

    patterns: list[str] = field(default_factory=lambda: ["knee-first"])
    pattern_cycle: str = "rep"  # "rep": patterns[rep within set]; "set": patterns[set]
    reps: int = 5  # per set; 0 = a session without any lift (standing, walking, bends)
    sets: int = 1
    seed: int = 0
    noise: str = "typical"  # off | low | typical | high
    rates_hz: dict[str, float] = field(default_factory=lambda: {"thigh": 104.0, "lumbar": 208.0})
    stand_s: float = 3.0  # still and upright at the start (calibration; >= 2 s)
    walk_first_s: float = 0.0  # walking after the initial stand, before the first set
    rest_s: float = 10.0  # between sets
    walk_rest: bool = False  # walk (a loop) during the rests
    bends: int = 0  # small bends (hip 20-38 deg, not reps) before the first set and in each rest
    pause_s: float = 0.0  # dead stop at the bottom between reps; 0 = touch-and-go
    setup_s: float = 1.5  # dead stop at the bottom before each set's first rep
    concentric_s: float = 1.2  # tempo of the pull (0.8-2 s)
    eccentric_s: float = 1.4
    descent_s: float = 1.6  # standing to the bar before a set
    top_hold_s: float = 0.7
    end_stand_s: float = 2.0
    tempo_jitter: float = 0.1  # +- fraction of every duration, per rep
    trunk_start_deg: tuple[float, float] = (40.0, 60.0)
    thigh_start_deg: tuple[float, float] = (50.0, 80.0)
    shank_bottom_deg: tuple[float, float] = (5.0, 12.0)
    stride_hz: float = 0.9
    walk_speed_m_s: float = 0.7
    side: str = "left"  # leg wearing the thigh sensor
    mounting: dict[str, str | list[Any]] = field(default_factory=lambda: {"thigh": "random", "lumbar": "random"})
    clock_offset_s: float | None = None  # lumbar's first sample minus thigh's; None: by seed
    clock_drift_ppm: float = 50.0  # 1-sigma rate error of each sensor's clock
    dropouts: int = 0  # gaps in one sensor's samples
    dropout_s: tuple[float, float] = (0.05, 0.4)
    gaps: list[tuple[str, float, float]] = field(default_factory=list)  # explicit (segment, start_s, end_s)
    truth_rate_hz: float = 1000.0  # grid of truth_angles
    gyro_noise: float | None = None
    acc_noise: float | None = None
    gyro_bias: float | None = None
    gyro_drift: float | None = None
    acc_bias: float | None = None
    scale_error: float | None = None
    wobble: float | None = None
    sway_deg: float | None = None
    # Real-gym conditions (docs: ``REALISM_FIELDS``). All off by default, and then left out of
    # truth.json, so that every existing seed gives the same bytes as before they existed.
    realism: str = "off"  # off | gym: a seeded mix of the conditions below (those left off)
    exercise: str = "deadlift"  # deadlift | squat (squat: motion.SQUAT_RANGES as start angles)
    standing: str = "still"  # still (stand_s) | short (0.3-1 s) | late (starts mid-movement) | none
    fidget_deg: float = 0.0  # sway and weight shifts while standing, deg (~2: ordinary sway)
    rest_activities: list[str] = field(default_factory=list)  # walk, jog, bench, bend, stand per rest
    acc_scale_max: float = 0.0  # per-axis accelerometer gain error, +- fraction
    acc_offset_max: float = 0.0  # per-axis accelerometer offset, +- m/s^2
    gyro_offset_deg_s: float = 0.0  # per-axis gyro zero-rate offset, 1/3..1 of it, either sign
    gyro_warmup_deg_s: float = 0.0  # change of that offset over the session, +-
    jitter_s: float = 0.0  # timestamp jitter, +- s (below 0.45 sample intervals)
    top_short_deg: float = 0.0  # a continuous set's tops stop this far short of upright (hip, +-30 %)

    def resolved(self, name: str) -> float:
        """A noise-level figure, or its override."""
        value = getattr(self, name)
        return float(NOISE_LEVELS[self.noise][name] if value is None else value)

    def validate(self) -> None:
        bad = [p for p in self.patterns if p not in PATTERNS]
        if bad or not self.patterns:
            raise ValueError(f"unknown pattern {', '.join(bad) or '(none)'} (expected {', '.join(PATTERNS)})")
        if self.noise not in NOISE_LEVELS:
            raise ValueError(f"unknown noise level {self.noise!r} (expected {', '.join(NOISE_LEVELS)})")
        if self.pattern_cycle not in ("rep", "set"):
            raise ValueError("pattern_cycle must be 'rep' or 'set'")
        if self.reps < 0 or self.sets < 1:
            raise ValueError("reps must be >= 0 (0: no lifting at all) and sets >= 1")
        if min(self.concentric_s, self.eccentric_s, self.descent_s, self.setup_s) < 0.3:
            raise ValueError("concentric, eccentric, descent and set-up durations must be >= 0.3 s")
        if min(self.pause_s, self.rest_s, self.walk_first_s, self.end_stand_s, self.dropouts, self.bends) < 0:
            raise ValueError("pause, rest, walking, end stand, dropouts and bends cannot be negative")
        if (
            self.trunk_start_deg[0] + self.thigh_start_deg[0] < 50.0
            or min(*self.trunk_start_deg, *self.thigh_start_deg) < 0
        ):
            raise ValueError("start angles must give a bottom of hip flexion >= 50 deg (a rep starts >= 45)")
        for seg, a, b in self.gaps:
            if seg not in SENSORS or not self.stand_s <= a < b:
                raise ValueError(f"gap {(seg, a, b)}: needs a segment of {SENSORS} and stand_s <= start < end")
        if self.truth_rate_hz < 10:
            raise ValueError("truth_rate_hz must be >= 10")
        if self.stand_s < 2.0 and self.standing == "still":
            raise ValueError("stand_s must be >= 2 s (calibration needs a still start; see standing)")
        self._validate_realism()
        if self.side not in ("left", "right"):
            raise ValueError("side must be 'left' or 'right'")
        for seg in SENSORS:
            if not 10.0 <= self.rates_hz.get(seg, 0.0) <= 2000.0:
                raise ValueError(f"rate of {seg} must be 10-2000 Hz")
            m = self.mounting.get(seg, "random")
            if isinstance(m, str):
                if m not in MOUNT_PRESETS or (m == "front" and seg == "lumbar"):
                    raise ValueError(
                        f"mounting {m!r} does not apply to {seg} (expected {', '.join(MOUNT_PRESETS)}; front: thigh only)"
                    )
            else:
                r = np.asarray(m, dtype=float)
                if r.shape != (3, 3) or not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
                    raise ValueError(f"mounting of {seg} must be a preset or a 3x3 rotation matrix")

    def _validate_realism(self) -> None:
        if self.realism not in REALISMS:
            raise ValueError(f"unknown realism {self.realism!r} (expected {', '.join(REALISMS)})")
        if self.exercise not in EXERCISES:
            raise ValueError(f"unknown exercise {self.exercise!r} (expected {', '.join(EXERCISES)})")
        if self.standing not in STANDINGS:
            raise ValueError(f"unknown standing {self.standing!r} (expected {', '.join(STANDINGS)})")
        bad = [a for a in self.rest_activities if a not in REST_ACTIVITIES]
        if bad:
            raise ValueError(f"unknown rest activity {', '.join(bad)} (expected {', '.join(REST_ACTIVITIES)})")
        figures = (
            self.fidget_deg,
            self.acc_scale_max,
            self.acc_offset_max,
            self.gyro_offset_deg_s,
            self.gyro_warmup_deg_s,
            self.jitter_s,
            self.top_short_deg,
        )
        if min(figures) < 0:
            raise ValueError("fidget, accelerometer/gyro errors, jitter and short tops cannot be negative")
        if self.acc_scale_max >= 0.9 or self.jitter_s > 0.05 or self.top_short_deg > 30:
            raise ValueError("acc_scale_max must be < 0.9, jitter_s <= 0.05 s and top_short_deg <= 30")


REALISMS = ("off", "gym")
EXERCISES = ("deadlift", "squat")
REALISM_FIELDS = (
    "realism",
    "exercise",
    "standing",
    "fidget_deg",
    "rest_activities",
    "acc_scale_max",
    "acc_offset_max",
    "gyro_offset_deg_s",
    "gyro_warmup_deg_s",
    "jitter_s",
    "top_short_deg",
)
GYM_RATES_HZ = (52.0, 100.0, 104.0, 110.0, 128.0, 208.0)  # what consumer IMUs stream at


def resolve_realism(cfg: SimConfig) -> SimConfig:
    """The config with ``realism="gym"`` turned into concrete options, drawn by seed on a
    stream of their own: each real-gym option still at its default (off) gets a value; the
    ones set explicitly are kept. ``realism="off"`` returns the config unchanged."""
    if cfg.realism == "off":
        return cfg
    rng = np.random.default_rng([cfg.seed, 50])
    default = SimConfig()
    out = replace(cfg, rest_activities=list(cfg.rest_activities), rates_hz=dict(cfg.rates_hz))
    standing = str(rng.choice(STANDINGS, p=[0.2, 0.35, 0.3, 0.15]))
    fidget = float(rng.uniform(1.5, 2.5))
    rates = {seg: float(rng.choice(GYM_RATES_HZ)) for seg in SENSORS}
    k = int(rng.integers(1, 4))
    activities = [str(a) for a in rng.permutation(REST_ACTIVITIES)[:k]]
    rest = float(rng.uniform(18.0, 30.0))
    if out.standing == default.standing:
        out.standing = standing
    if out.fidget_deg == 0:
        out.fidget_deg = fidget
    if out.rates_hz == default.rates_hz:
        out.rates_hz = rates
    if not out.rest_activities:
        out.rest_activities = activities
    if out.rest_s == default.rest_s:
        out.rest_s = rest
    # up to +-35 % of g per axis together: 20 % gain and 1.5 m/s^2 offset
    out.acc_scale_max = out.acc_scale_max or 0.2
    out.acc_offset_max = out.acc_offset_max or 1.5
    out.gyro_offset_deg_s = out.gyro_offset_deg_s or 6.0
    out.gyro_warmup_deg_s = out.gyro_warmup_deg_s or 3.0
    out.jitter_s = out.jitter_s or 0.003
    return out


@dataclass
class Simulation:
    """A simulated session: IMU data as a recording holds it, and the exact truth."""

    config: SimConfig
    imu: dict[str, pd.DataFrame]  # t,ax,ay,az,gx,gy,gz per segment, session clock, SI
    truth_angles: pd.DataFrame  # ANGLE_COLUMNS on a uniform grid of config.truth_rate_hz
    truth_reps: list[dict[str, Any]]  # fields of processing.reps.Rep (no cue), plus gap
    meta: dict[str, Any]  # session.json content (no truth in it: analysis must not peek)
    details: dict[str, Any]  # what was drawn: mounting, clock offset, sensor errors, dropouts
    motion: Motion = field(repr=False)
    mounts: dict[str, np.ndarray] = field(repr=False)
    offsets: dict[str, np.ndarray] = field(repr=False)

    def kinematics(self, segment: str, t: np.ndarray) -> Kinematics:
        """The exact position, orientation and instantaneous physics of a sensor at any times
        (for checking the physics independently)."""
        return sensor_kinematics(
            self.motion, segment, self.mounts[segment], self.offsets[segment], np.asarray(t, float)
        )

    def ideal_readings(self, segment: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(acc, gyr) a flawless sensor sampling at times ``t`` outputs: interval means
        (``imu.sampled_readings``); what the recorded data are before sensor errors."""
        t = np.asarray(t, float)
        return sampled_readings(self.motion, segment, self.mounts[segment], self.offsets[segment], t)


def _angles(motion: Motion, t: np.ndarray) -> pd.DataFrame:
    a = motion.angles_deg(t)
    df = pd.DataFrame(
        {
            "t": t,
            "trunk_deg": a["trunk"].v,
            "thigh_deg": a["thigh"].v,
            "hip_deg": a["trunk"].v + a["thigh"].v,
            "knee_ext_deg_s": -a["thigh"].d,
            "hip_ext_deg_s": -a["trunk"].d,
        }
    )[list(ANGLE_COLUMNS)]
    return df + 0.0  # no negative zeros in the written truth


def _grid(duration: float, rate: float) -> np.ndarray:
    return np.arange(int(math.floor(duration * rate)) + 1) / rate


def _mountings(cfg: SimConfig, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sensor-to-segment rotation and sensor position on the segment, per sensor."""
    mounts, offsets = {}, {}
    for seg in SENSORS:
        m = cfg.mounting.get(seg, "random")
        preset = m if isinstance(m, str) else "custom"
        drawn = mounting_matrix("random", seg, cfg.side, rng)  # always drawn: stable streams
        if preset == "random":
            mounts[seg] = drawn
        elif preset == "custom":
            mounts[seg] = np.asarray(m, dtype=float)
        else:
            mounts[seg] = mounting_matrix(preset, seg, cfg.side, rng)
        offsets[seg] = sensor_offset(seg, preset, cfg.side)
    return mounts, offsets


def _dropout_plan(cfg: SimConfig, duration: float, rng: np.random.Generator) -> list[tuple[str, float, float]]:
    """(segment, start, end) of each gap: random ones anywhere after the still start, then
    the explicit ones."""
    plan = []
    for _ in range(cfg.dropouts):
        seg = SENSORS[int(rng.integers(2))]
        a = float(rng.uniform(cfg.stand_s + 0.5, max(cfg.stand_s + 0.6, duration - 1.0)))
        plan.append((seg, a, a + float(rng.uniform(*cfg.dropout_s))))
    return plan + [(str(seg), float(a), float(b)) for seg, a, b in cfg.gaps]


def _jittered(t: np.ndarray, jitter_s: float, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Sample times as a host stamps them (on arrival): the sensor samples regularly at ``t``,
    each stamp is off by up to +-``jitter_s``, capped at 0.45 sample intervals so the stamps
    still increase."""
    j = min(jitter_s, 0.45 / rate)
    return t + rng.uniform(-j, j, len(t))


def simulate(cfg: SimConfig) -> Simulation:
    """Simulate one session. Same config (seed included) -> identical output. Each effect has
    its own random stream, so changing e.g. the mounting leaves the movement and truth alone."""
    cfg.validate()
    cfg = resolve_realism(cfg)

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, k])

    ranges = (
        SQUAT_RANGES
        if cfg.exercise == "squat"
        else {
            "trunk_start_deg": tuple(cfg.trunk_start_deg),
            "thigh_start_deg": tuple(cfg.thigh_start_deg),
            "shank_bottom_deg": tuple(cfg.shank_bottom_deg),
        }
    )

    params = MotionParams(
        patterns=list(cfg.patterns),
        pattern_cycle=cfg.pattern_cycle,
        reps=cfg.reps,
        sets=cfg.sets,
        stand_s=cfg.stand_s,
        walk_first_s=cfg.walk_first_s,
        rest_s=cfg.rest_s,
        walk_rest=cfg.walk_rest,
        pause_s=cfg.pause_s,
        setup_s=cfg.setup_s,
        concentric_s=cfg.concentric_s,
        eccentric_s=cfg.eccentric_s,
        descent_s=cfg.descent_s,
        top_hold_s=cfg.top_hold_s,
        end_stand_s=cfg.end_stand_s,
        **ranges,
        tempo_jitter=cfg.tempo_jitter,
        stride_hz=cfg.stride_hz,
        walk_speed_m_s=cfg.walk_speed_m_s,
        sway_deg=cfg.resolved("sway_deg"),
        wobble=cfg.resolved("wobble"),
        bends=cfg.bends,
        exercise=cfg.exercise,
        standing=cfg.standing,
        fidget_deg=cfg.fidget_deg,
        rest_activities=tuple(cfg.rest_activities),
        top_short_deg=cfg.top_short_deg,
    )
    motion = build_motion(params, rng(1), rng(2), rng(6))
    duration = motion.duration_s
    mounts, offsets = _mountings(cfg, rng(3))

    # Clocks: both on the session clock; the lumbar starts at another phase and each sensor's
    # rate is off by a few tens of ppm.
    rng_clock = rng(4)
    offset = cfg.clock_offset_s
    drawn_offset = float(rng_clock.uniform(0.0, 1.0 / cfg.rates_hz["lumbar"]) + rng_clock.uniform(0.0, 0.02))
    offset = drawn_offset if offset is None else offset
    starts = {"thigh": max(0.0, -offset), "lumbar": max(0.0, offset)}
    imp = Imperfections(**{f.name: cfg.resolved(f.name) for f in fields(Imperfections)})
    drops = _dropout_plan(cfg, duration, rng(5))
    uncal = Uncalibrated(
        cfg.acc_scale_max, cfg.acc_offset_max, math.radians(cfg.gyro_offset_deg_s), math.radians(cfg.gyro_warmup_deg_s)
    )

    imu, sensor_meta, drawn_errors, dropouts_meta = {}, [], {}, []
    for k, seg in enumerate(SENSORS):
        rate = cfg.rates_hz[seg]
        ppm = float(rng_clock.normal(0.0, cfg.clock_drift_ppm))
        t = starts[seg] + _grid(duration - starts[seg], rate * (1 + ppm * 1e-6))
        ideal_acc, ideal_gyr = sampled_readings(motion, seg, mounts[seg], offsets[seg], t)
        acc, gyr, drawn_errors[seg] = apply_imperfections(t, ideal_acc, ideal_gyr, rate, imp, rng(10 + k))
        if uncal.active:
            acc, gyr, drawn_errors[seg]["uncalibrated"] = apply_uncalibrated(t, acc, gyr, uncal, rng(30 + k))
        stamps = _jittered(t, cfg.jitter_s, rate, rng(40 + k)) if cfg.jitter_s > 0 else t
        keep = np.ones(len(t), bool)
        for s, a, b in drops:
            if s == seg:
                lost = (t >= a) & (t < b)
                keep &= ~lost
                dropouts_meta.append({"segment": seg, "start_s": a, "end_s": b, "samples": int(lost.sum())})
        imu[seg] = pd.DataFrame(
            {
                "t": stamps[keep],
                "ax": acc[keep, 0],
                "ay": acc[keep, 1],
                "az": acc[keep, 2],
                "gx": gyr[keep, 0],
                "gy": gyr[keep, 1],
                "gz": gyr[keep, 2],
            }
        )
        sensor_meta.append(
            {
                "segment": seg,
                "side": cfg.side if seg == "thigh" else "center",
                "rate_hz": rate,
                "device": {"name": f"virtual-{seg}", "driver": "simulator"},
                "lost_samples": int((~keep).sum()),
            }
        )

    truth_angles = _angles(motion, _grid(duration, cfg.truth_rate_hz))
    dense = (
        truth_angles if cfg.truth_rate_hz >= INTERNAL_TRUTH_HZ else _angles(motion, _grid(duration, INTERNAL_TRUTH_HZ))
    )
    t, trunk, thigh, knee_ext, hip_ext = (
        dense[c].to_numpy() for c in ("t", "trunk_deg", "thigh_deg", "knee_ext_deg_s", "hip_ext_deg_s")
    )
    reps = truth_reps(t, trunk, thigh, knee_ext, hip_ext, motion.reps, [(a, b) for _, a, b in drops])
    meta = {
        "created": SIM_CREATED,
        "source": "simulator",
        "notes": f"hinge virtual lifter, seed {cfg.seed}: {', '.join(cfg.patterns)} (truth in truth.json)",
        "sensors": sensor_meta,
    }
    details = {
        "clock_offset_s": offset,
        "mounting": {s: mounts[s].round(9).tolist() for s in SENSORS},
        "sensor_position_m": {s: offsets[s].tolist() for s in SENSORS},
        "errors": drawn_errors,
        "dropouts": dropouts_meta,
        "requested_patterns": [r.pattern for r in motion.reps],
        "walks": [list(w) for w in motion.walk_windows],
        "duration_s": duration,
    }
    if cfg.realism != "off" or any(getattr(cfg, f) != getattr(SimConfig(), f) for f in REALISM_FIELDS):
        details["activities"] = [[kind, a, b] for kind, a, b in motion.activities]
    return Simulation(cfg, imu, truth_angles, reps, meta, details, motion, mounts, offsets)


def write_simulation(sim: Simulation, out_dir: str | Path, decimals: int | None = None) -> Path:
    """Write the recording (``processing.recording.write_recording``) and, inside it,
    ``truth.json`` (``{"config", "reps", "simulation"}``) and ``truth_angles.csv``.

    ``decimals`` rounds the IMU and angle values (not time) to keep example files small.
    """
    from processing.recording import write_recording

    imu = sim.imu
    angles = sim.truth_angles
    if decimals is not None:
        imu = {s: df.round({c: decimals for c in df.columns if c != "t"}) for s, df in imu.items()}
        angles = angles.round({c: decimals for c in angles.columns if c != "t"})
    out = write_recording(out_dir, imu, sim.meta)
    config = {
        k: v
        for k, v in asdict(sim.config).items()
        if k not in REALISM_FIELDS or v != getattr(SimConfig(), k)  # off: as before they existed
    }
    truth = {"config": _jsonable(config), "reps": sim.truth_reps, "simulation": sim.details}
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    # microseconds and micro-degrees: far below any error that matters, and a third of the bytes
    (angles.round(6) + 0.0).to_csv(out / "truth_angles.csv", index=False, lineterminator="\n")
    return out


def _jsonable(x: Any) -> Any:
    """Config values as JSON (a custom mounting may be a numpy matrix)."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x
