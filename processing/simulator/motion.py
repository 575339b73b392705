"""What the virtual lifter does over time: segment angles, walking path, sway and soft tissue.

A session is a timeline of phases (stand still, optional walk, per set: descend to the bar,
set up, then per rep a concentric pull, a hold at the top and an eccentric descent; rest,
walk or bend down briefly between sets; stand at the end). Walking is a loop on a circle
(heading +-360 deg) with the thigh swinging +-20-25 deg at the stride frequency, the trunk
rocking at the step frequency and the body bobbing 2.5-4 cm. At lockout the trunk passes
1-3 deg behind its standing angle and settles back during the hold, as lifters do, so the
top of each rep is a single minimum of hip flexion. Each joint angle is a piecewise minimum-jerk
trajectory through knots at which it rests (zero velocity and acceleration), so it is smooth
to the second derivative and its derivatives are exact (see ``jet``).

The three patterns of ``docs/domain.md`` are built into the timing of the concentric phase:

- ``knee-first``: the thigh rotates back first; the trunk starts to rise only when 50-75 % of
  the thigh's travel is done (it may drift forward by at most 2 deg before that), so the
  knee is ~60-90 % done at the hip onset;
- ``simultaneous``: the trunk starts rising 0-12 % of the pull after the thigh (knee
  ~1-15 % done at the hip onset);
- ``hips-rise-early``: while the thigh extends, the trunk leans 8-15 deg further forward,
  then rises.

Real-gym conditions (``MotionParams.exercise`` ... ``rest_activities``; off by default and
drawn on a random stream of their own, so a session without them is what it always was):

- ``standing``: ``short`` stands 0.3-1 s before moving; ``late`` builds the session without a
  first stand and crops it so that the recording starts mid-movement (in the descent to the
  bar or in an eccentric of the first set; reps begun before the crop are lost); ``none``
  as ``late``, and the rests are filled by walking, the recording ends while walking off.
  The angles stay the bones' angles from upright, however the recording starts.
- ``top_short_deg``: in a continuous set the lifter comes up short of standing tall between
  reps (real squat sets: the hip back to only 14-19 deg); the last rep of a set stands up.
- ``fidget_deg``: while standing, sagittal sway of trunk and thigh and out-of-plane sway of
  the body at 0.2-0.4 Hz, and a weight shift every 3-6 s (``Fidget``).
- ``rest_activities``: per rest, in order: ``walk``, ``jog`` (``Gait``: thigh +-28-34 deg
  about 15-19 deg at 1.3-1.5 Hz, so the hip passes 45 deg), ``bench`` (sit down, sit still,
  stand up), ``bend``, ``stand``. With ``reps == 0`` the session is ``sets`` such blocks.
- ``exercise == "squat"``: no set-up stop at the bottom (the start-angle ranges come from
  ``SQUAT_RANGES`` via the simulator's config).

None of these movements is a rep: the truth's reps are the lifts' plans only.

The margins keep each rep well inside its class (>= ~60 % vs the 50 % rule, <= ~20 % for
simultaneous, >= 8 deg vs the 5 deg rule) so that sensor noise cannot flip the truth.
Every rep draws its own start angles, tempo and timing offsets from the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from processing.reps import Pattern
from processing.simulator.jet import Jet

BEND_S = 3.0  # one small bend, down and up

_U = np.linspace(0.0, 1.0, 4001)
_S = 10 * _U**3 - 15 * _U**4 + 6 * _U**5


def min_jerk_inverse(fraction: float) -> float:
    """Normalised time at which a minimum-jerk blend has covered ``fraction`` of its travel."""
    return float(np.interp(fraction, _S, _U))


class Track:
    """A trajectory resting at each knot and moving between knots as a minimum-jerk blend
    (quintic 10u^3 - 15u^4 + 6u^5: zero velocity and acceleration at both ends)."""

    def __init__(self, t0: float, v0: float):
        self.t = [t0]
        self.v = [v0]

    @property
    def last(self) -> float:
        return self.v[-1]

    def move(self, t_start: float, t_end: float, value: float) -> None:
        """Rest at the current value until ``t_start``, then blend to ``value`` by ``t_end``."""
        if t_start > self.t[-1] + 1e-9:
            self.t.append(t_start)
            self.v.append(self.v[-1])
        if not t_end > self.t[-1]:
            raise ValueError(f"track knots must increase: {t_end} after {self.t[-1]}")
        self.t.append(t_end)
        self.v.append(value)

    def shifted(self, dt: float) -> Track:
        """The same trajectory ``dt`` seconds earlier (for a recording that starts late)."""
        out = Track(self.t[0] - dt, self.v[0])
        out.t = [x - dt for x in self.t]
        out.v = list(self.v)
        return out

    def __call__(self, t: np.ndarray) -> Jet:
        kt, kv = np.asarray(self.t), np.asarray(self.v)
        if len(kt) == 1:
            return Jet.const(kv[0], len(t))
        i = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
        span = kt[i + 1] - kt[i]
        u = np.clip((t - kt[i]) / span, 0.0, 1.0)
        delta = kv[i + 1] - kv[i]
        s = 10 * u**3 - 15 * u**4 + 6 * u**5
        ds = (30 * u**2 - 60 * u**3 + 30 * u**4) / span
        dds = (60 * u - 180 * u**2 + 120 * u**3) / span**2
        return Jet(kv[i] + delta * s, delta * ds, delta * dds)


def sinusoid(t: np.ndarray, amplitude: float, freq_hz: float, phase: float) -> Jet:
    w = 2 * math.pi * freq_hz
    arg = w * t + phase
    return Jet(amplitude * np.sin(arg), amplitude * w * np.cos(arg), -amplitude * w * w * np.sin(arg))


@dataclass
class WobbleEvent:
    """A soft-tissue ring-down: the sensor oscillates on the skin relative to the bone after a
    jolt (lockout, bar touching the floor, heel strike). Rotation about the segment's flexion
    axis and translation along its anterior axis, damped, starting smoothly from zero."""

    t0: float
    rot_deg: float
    trans_m: float
    freq_hz: float
    tau_s: float


def wobble(t: np.ndarray, events: list[WobbleEvent]) -> tuple[Jet, Jet]:
    """(rotation rad, translation m) jets: sum of ``A (u/2tau)^2 exp(2 - u/tau) sin(2 pi f u)``
    for u = t - t0 >= 0 (envelope peak 1 at u = 2 tau; value, rate and acceleration are 0 at
    the start, so the signal stays smooth)."""
    rot = [np.zeros(len(t)) for _ in range(3)]
    trans = [np.zeros(len(t)) for _ in range(3)]
    for ev in events:
        lo, hi = np.searchsorted(t, [ev.t0, ev.t0 + 40 * ev.tau_s])  # envelope < 1e-13 beyond
        if hi <= lo:
            continue
        u = t[lo:hi] - ev.t0
        k = math.e**2 / (4 * ev.tau_s**2)
        ex = np.exp(-u / ev.tau_s)
        e0 = k * u**2 * ex
        e1 = k * ex * (2 * u - u**2 / ev.tau_s)
        e2 = k * ex * (2 - 4 * u / ev.tau_s + u**2 / ev.tau_s**2)
        w = 2 * math.pi * ev.freq_hz
        sn, cs = np.sin(w * u), np.cos(w * u)
        h = (e0 * sn, e1 * sn + e0 * w * cs, e2 * sn + 2 * e1 * w * cs - e0 * w * w * sn)
        for j in range(3):
            rot[j][lo:hi] += math.radians(ev.rot_deg) * h[j]
            trans[j][lo:hi] += ev.trans_m * h[j]
    return Jet(*rot), Jet(*trans)


@dataclass
class RepPlan:
    """The schedule of one rep, in session seconds (for the truth and the wobble events)."""

    set: int
    pattern: str
    bottom_s: float  # arrival at the bottom (start of the pause / set-up)
    concentric_start_s: float
    concentric_end_s: float
    end_s: float  # the lifter leaves the top: next descent starts, or the rest begins


@dataclass
class MotionParams:
    """What ``build_motion`` needs from ``SimConfig`` (kept separate to avoid an import cycle)."""

    patterns: list[str]
    pattern_cycle: str
    reps: int
    sets: int
    stand_s: float
    walk_first_s: float
    rest_s: float
    walk_rest: bool
    pause_s: float
    setup_s: float
    concentric_s: float
    eccentric_s: float
    descent_s: float
    top_hold_s: float
    end_stand_s: float
    trunk_start_deg: tuple[float, float]
    thigh_start_deg: tuple[float, float]
    shank_bottom_deg: tuple[float, float]
    tempo_jitter: float
    stride_hz: float
    walk_speed_m_s: float
    sway_deg: float
    wobble: float
    bends: int
    # Real-gym conditions (``simulator.SimConfig``); the defaults leave the session unchanged.
    exercise: str = "deadlift"
    standing: str = "still"  # still | short | late | none
    fidget_deg: float = 0.0  # sagittal + out-of-plane sway and weight shifts while standing
    rest_activities: tuple[str, ...] = ()  # walk | jog | bench | bend | stand, in each rest
    top_short_deg: float = 0.0  # tops between reps this far short of upright (hip, +-30 %)


@dataclass
class Gait:
    """A gait other than walking (jogging): where it is on (``gate`` 0..1), how the thigh and
    trunk swing (amplitude deg, freq, phase, mean deg) and how far the body bobs (m)."""

    gate: Track
    swing: dict[str, tuple[float, float, float, float]]
    bob_m: float


@dataclass
class Fidget:
    """What a standing lifter does while "standing still": postural sway of a couple of
    degrees at 0.2-0.4 Hz of the trunk and thigh in the sagittal plane and of the whole body
    out of it, plus weight shifts (slow steps of roll and of the thigh). Gated to the
    standing phases (``gate`` 1 while standing, 0 in sets, walks, jogs, on the bench): that
    is where a calibration looks for stillness."""

    gate: Track
    waves: dict[str, list[tuple[float, float, float]]]  # trunk/thigh/roll/yaw: (amp deg, freq, phase)
    roll_shift: Track  # deg
    thigh_shift: Track  # deg

    def _waves(self, t: np.ndarray, name: str) -> Jet:
        total = Jet.const(0.0, len(t))
        for amp, freq, phase in self.waves[name]:
            total = total + sinusoid(t, amp, freq, phase)
        return total

    def sagittal(self, t: np.ndarray) -> tuple[Jet, Jet]:
        """(trunk, thigh) sway in degrees: part of the bones' angles, hence of the truth."""
        g = self.gate(t)
        return g * self._waves(t, "trunk"), g * (self._waves(t, "thigh") + self.thigh_shift(t))

    def out_of_plane(self, t: np.ndarray) -> tuple[Jet, Jet]:
        """(roll, yaw) of the whole body in rad (not part of the sagittal truth)."""
        g = self.gate(t)
        k = math.pi / 180
        return (g * (self._waves(t, "roll") + self.roll_shift(t))).scale(k), (g * self._waves(t, "yaw")).scale(k)

    def shifted(self, dt: float) -> Fidget:
        return Fidget(self.gate.shifted(dt), self.waves, self.roll_shift.shifted(dt), self.thigh_shift.shifted(dt))


@dataclass
class Motion:
    """The whole session's movement, evaluable at any time points."""

    duration_s: float
    thigh: Track
    trunk: Track
    shank_per_thigh: float  # shank inclination follows the thigh: knee forward at the bottom
    walk_windows: list[tuple[float, float]]
    walk_gate: Track
    walk_turns: list[tuple[Track, float]]  # (heading track 0 -> 2 pi over one walk, radius m)
    walk_swing: dict[str, tuple[float, float, float, float]]  # amplitude deg, freq, phase, mean deg
    bob_m: float
    sway_gate: Track
    sway: dict[str, list[tuple[float, float, float]]]  # roll/yaw: (amplitude deg, freq, phase)
    wobble_events: dict[str, list[WobbleEvent]]
    reps: list[RepPlan] = field(default_factory=list)
    jog: Gait | None = None  # jogging strides between sets (realism)
    fidget: Fidget | None = None  # sway and weight shifts while standing (realism)
    activities: list[tuple[str, float, float]] = field(default_factory=list)  # (kind, start, end)

    def angles_deg(self, t: np.ndarray) -> dict[str, Jet]:
        """Sagittal segment angles in degrees (0 = upright standing): trunk (forward lean +),
        thigh (knee forward of hip +), shank (knee forward of ankle +), walking included."""
        gate = self.walk_gate(t)
        thigh = self.thigh(t) + gate * _swing(t, self.walk_swing["thigh"])
        trunk = self.trunk(t) + gate * _swing(t, self.walk_swing["trunk"])
        shank = self.thigh(t).scale(self.shank_per_thigh)
        if self.jog is not None:  # the hip is carried by the path while jogging, too
            jog = self.jog.gate(t)
            thigh = thigh + jog * _swing(t, self.jog.swing["thigh"])
            trunk = trunk + jog * _swing(t, self.jog.swing["trunk"])
            gate = gate + jog
        if self.fidget is not None:
            d_trunk, d_thigh = self.fidget.sagittal(t)
            trunk, thigh = trunk + d_trunk, thigh + d_thigh
        return {"thigh": thigh, "trunk": trunk, "shank": shank, "walk_gate": gate}

    def heading_path(self, t: np.ndarray) -> tuple[Jet, Jet, Jet]:
        """(heading rad, path x m, path y m): each walk is one loop around a circle, ending
        where and as it started (heading +2 pi), tangent to the path."""
        n = len(t)
        psi, x, y = Jet.const(0.0, n), Jet.const(0.0, n), Jet.const(0.0, n)
        for track, radius in self.walk_turns:
            a = track(t)
            psi = psi + a
            x = x + a.sin().scale(radius)
            y = y + (Jet.const(1.0, n) - a.cos()).scale(radius)
        return psi, x, y

    def bob(self, t: np.ndarray) -> Jet:
        """Vertical bob of the body while walking (up and down once per step)."""
        step = sinusoid(t, -self.bob_m / 2, 2 * self.walk_swing["thigh"][1], 0.0)
        out = self.walk_gate(t) * step
        if self.jog is not None:
            out = out + self.jog.gate(t) * sinusoid(t, -self.jog.bob_m / 2, 2 * self.jog.swing["thigh"][1], 0.0)
        return out

    def sway_rad(self, t: np.ndarray) -> tuple[Jet, Jet]:
        """(roll, yaw) out-of-plane sway of the whole body, rad: a few slow sinusoids, off
        during the initial still stand."""
        gate = self.sway_gate(t)
        out = []
        for axis in ("roll", "yaw"):
            total = Jet.const(0.0, len(t))
            for amp, freq, phase in self.sway[axis]:
                total = total + sinusoid(t, math.radians(amp), freq, phase)
            out.append(gate * total)
        if self.fidget is not None:
            roll, yaw = self.fidget.out_of_plane(t)
            return out[0] + roll, out[1] + yaw
        return out[0], out[1]

    def shifted(self, dt: float) -> Motion:
        """The session as a recording that starts ``dt`` seconds into it sees it: every knot,
        jolt and rep ``dt`` earlier; reps that began before the recording are lost."""

        def sh(tr: Track) -> Track:
            return tr.shifted(dt)

        reps = [
            RepPlan(r.set, r.pattern, r.bottom_s - dt, r.concentric_start_s - dt, r.concentric_end_s - dt, r.end_s - dt)
            for r in self.reps
            if r.bottom_s - dt > 0.0
        ]
        events = {
            seg: [WobbleEvent(e.t0 - dt, e.rot_deg, e.trans_m, e.freq_hz, e.tau_s) for e in evs]
            for seg, evs in self.wobble_events.items()
        }
        jog = None if self.jog is None else Gait(sh(self.jog.gate), self.jog.swing, self.jog.bob_m)
        fidget = None if self.fidget is None else self.fidget.shifted(dt)
        return Motion(
            duration_s=self.duration_s - dt,
            thigh=sh(self.thigh),
            trunk=sh(self.trunk),
            shank_per_thigh=self.shank_per_thigh,
            walk_windows=[(a - dt, b - dt) for a, b in self.walk_windows],
            walk_gate=sh(self.walk_gate),
            walk_turns=[(sh(tr), r) for tr, r in self.walk_turns],
            walk_swing=self.walk_swing,
            bob_m=self.bob_m,
            sway_gate=sh(self.sway_gate),
            sway=self.sway,
            wobble_events=events,
            reps=reps,
            jog=jog,
            fidget=fidget,
            activities=[(k, a - dt, b - dt) for k, a, b in self.activities],
        )


def _swing(t: np.ndarray, p: tuple[float, float, float, float]) -> Jet:
    amp, freq, phase, mean = p
    return sinusoid(t, amp, freq, phase) + Jet.const(mean, len(t))


def pattern_for(p: MotionParams, set_index: int, rep_in_set: int) -> str:
    k = set_index if p.pattern_cycle == "set" else rep_in_set
    return p.patterns[k % len(p.patterns)]


def _jit(rng: np.random.Generator, value: float, frac: float) -> float:
    return float(value * (1 + rng.uniform(-frac, frac)))


def _concentric(
    rng: np.random.Generator,
    pattern: str,
    c0: float,
    dur: float,
    thigh: Track,
    trunk: Track,
    thigh_lock: float,
    trunk_lock: float,
) -> None:
    """Knots of one pull from the bottom pose to lockout (trunk overshoots slightly back)."""
    trunk0 = trunk.last
    overshoot = rng.uniform(1.0, 3.0)
    if pattern == Pattern.KNEE_FIRST:
        f = rng.uniform(0.55, 0.7)
        done = rng.uniform(0.5, 0.75)  # thigh travel done when the trunk starts to rise
        d = f * min_jerk_inverse(done)
        thigh.move(c0, c0 + f * dur, thigh_lock)
        trunk.move(c0, c0 + d * dur, trunk0 + rng.uniform(0.0, 2.0))
        trunk.move(c0 + d * dur, c0 + dur, trunk_lock - overshoot)
    elif pattern == Pattern.SIMULTANEOUS:
        f = rng.uniform(0.7, 0.85)
        delay = rng.uniform(0.0, 0.12)
        thigh.move(c0, c0 + f * dur, thigh_lock)
        trunk.move(c0 + delay * dur, c0 + dur, trunk_lock - overshoot)
    elif pattern == Pattern.HIPS_RISE_EARLY:
        f = rng.uniform(0.5, 0.65)
        a, b = rng.uniform(0.03, 0.08), rng.uniform(0.4, 0.5)
        thigh.move(c0, c0 + f * dur, thigh_lock)
        trunk.move(c0 + a * dur, c0 + b * dur, trunk0 + rng.uniform(8.0, 15.0))
        trunk.move(c0 + b * dur, c0 + dur, trunk_lock - overshoot)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")


SQUAT_RANGES = {  # (lo, hi) deg at the bottom of a squat: thigh past horizontal, trunk upright-ish
    "trunk_start_deg": (20.0, 45.0),
    "thigh_start_deg": (90.0, 100.0),
    "shank_bottom_deg": (25.0, 40.0),
}
STANDINGS = ("still", "short", "late", "none")
REST_ACTIVITIES = ("walk", "jog", "bench", "bend", "stand")
JOG_SPEED_M_S = 2.5


def _initial_stand(p: MotionParams, rng_real: np.random.Generator) -> float:
    """Seconds of standing before the lifter first moves: the configured still stand, a short
    one (0.3-1 s: the lifter straps on and starts pulling), or none (the recording starts
    mid-movement and is cropped later)."""
    if p.standing == "short":
        return float(rng_real.uniform(0.3, 1.0))
    if p.standing in ("late", "none"):
        return 0.0
    return p.stand_s


def _sit_on_bench(trunk: Track, thigh: Track, start: float, end: float, rng: np.random.Generator) -> None:
    """Sit down on a bench, sit still, stand up (end - start >= 4.5 s): the thigh goes to
    about horizontal, the trunk leans forward to sit and to rise and is near upright while
    seated. The rise is a hip extension from well beyond 45 deg to upright -- not a lift."""
    down, up = rng.uniform(1.0, 1.5), rng.uniform(1.0, 1.4)
    trunk.move(start, start + 0.7 * down, rng.uniform(20.0, 35.0))
    thigh.move(start + 0.1 * down, start + down, rng.uniform(80.0, 95.0))
    trunk.move(start + 0.7 * down, start + down + 0.5, rng.uniform(-3.0, 10.0))
    rise = end - up
    trunk.move(rise, rise + 0.45 * up, rng.uniform(30.0, 45.0))
    thigh.move(rise + 0.3 * up, end, 0.0)
    trunk.move(rise + 0.45 * up, end + 0.2, 0.0)


def _fidget(p: MotionParams, rng: np.random.Generator, busy: list[tuple[float, float]], duration: float) -> Fidget:
    """Sway and weight shifts of amplitude ``p.fidget_deg``, on wherever the lifter is not
    busy (lifting, walking, jogging, sitting, bending)."""
    a = p.fidget_deg
    waves = {
        name: [(a * w, float(rng.uniform(0.2, 0.4)), float(rng.uniform(0, 2 * math.pi))) for w in weights]
        # about fidget_deg on each axis of the trunk and of the body (the sum of two waves of
        # different frequencies beats between 0.3 and 1.3 times it), a little less at the thigh
        for name, weights in (("trunk", (0.8, 0.5)), ("thigh", (0.6, 0.4)), ("roll", (0.8, 0.5)), ("yaw", (0.8, 0.5)))
    }
    roll, thigh = Track(0.0, 0.0), Track(0.0, 0.0)
    t = float(rng.uniform(1.0, 3.0))
    while t < duration:  # a weight shift every 3-6 s: a slow step of roll and of the thigh
        ramp = float(rng.uniform(0.6, 1.0))
        roll.move(t, t + ramp, float(rng.uniform(-1.5, 1.5)) * a)
        thigh.move(t, t + ramp, float(rng.uniform(-0.5, 0.5)) * a)
        t += ramp + float(rng.uniform(3.0, 6.0))
    merged: list[list[float]] = []
    for lo, hi in sorted(busy):
        if merged and lo - merged[-1][1] < 1.0:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    gate = Track(0.0, 0.0 if merged and merged[0][0] < 0.5 else 1.0)
    for lo, hi in merged:
        if lo >= 0.5:
            gate.move(lo - 0.4, lo, 0.0)
        gate.move(hi, hi + 0.4, 1.0)
    return Fidget(gate, waves, roll, thigh)


def _jog_gait(rng: np.random.Generator) -> Gait:
    """Jogging: strides at 1.3-1.5 Hz, the thigh swinging +-28-34 deg about 15-19 deg of
    flexion (so the hip passes 45 deg at every stride, in a fraction of a second), a trunk
    leaning 5-10 deg, a 6-9 cm bob."""
    stride = float(rng.uniform(1.3, 1.5))
    swing = {
        "thigh": (
            float(rng.uniform(28.0, 34.0)),
            stride,
            float(rng.uniform(0, 2 * math.pi)),
            float(rng.uniform(15.0, 19.0)),
        ),
        "trunk": (
            float(rng.uniform(1.0, 2.5)),
            2 * stride,
            float(rng.uniform(0, 2 * math.pi)),
            float(rng.uniform(5.0, 10.0)),
        ),
    }
    return Gait(Track(0.0, 0.0), swing, float(rng.uniform(0.06, 0.09)))


def _crop_time(moving: list[tuple[float, float]], rng: np.random.Generator) -> float:
    """Where a late recording starts: inside one of the first movements (the descent to the
    bar, an eccentric of the first set, or the first activity of a session without lifts)."""
    spans = [(a, b) for a, b in moving if b > a]
    if not spans:
        return 0.0
    a, b = spans[int(rng.integers(len(spans)))]
    return float(rng.uniform(a, b))


def build_motion(
    p: MotionParams,
    rng: np.random.Generator,
    rng_tissue: np.random.Generator,
    rng_real: np.random.Generator | None = None,
) -> Motion:
    """Lay out the session: still stand, optional walk, sets of reps with rests, still end.

    ``rng_real`` draws the real-gym conditions (standing, rest activities, jogging, fidget)
    on a stream of its own, so that with them off every session is what it always was."""
    rng_real = rng_real if rng_real is not None else np.random.default_rng(0)
    thigh, trunk = Track(0.0, 0.0), Track(0.0, 0.0)
    gate = Track(0.0, 0.0)
    walks: list[tuple[float, float]] = []
    jogs: list[tuple[float, float]] = []
    activities: list[tuple[str, float, float]] = []
    busy: list[tuple[float, float]] = []  # lifting or an activity: not standing
    moving: list[tuple[float, float]] = []  # where a late recording may start
    reps: list[RepPlan] = []
    jog_gait = _jog_gait(rng_real) if "jog" in p.rest_activities else None
    stand0 = _initial_stand(p, rng_real)
    t = stand0

    def walk(start: float, end: float) -> None:
        ramp = min(0.6, (end - start) / 4)
        gate.move(start, start + ramp, 1.0)
        gate.move(end - ramp, end, 0.0)
        walks.append((start, end))
        busy.append((start, end))

    def jog(start: float, end: float) -> None:
        assert jog_gait is not None
        ramp = min(0.8, (end - start) / 4)
        jog_gait.gate.move(start, start + ramp, 1.0)
        jog_gait.gate.move(end - ramp, end, 0.0)
        jogs.append((start, end))
        busy.append((start, end))

    def bend_once(t0: float, r: np.random.Generator) -> None:
        """A small bend (picking up chalk, a plate): hip flexion to 20-38 deg and back."""
        trunk_up, thigh_up = trunk.last, thigh.last
        hip = r.uniform(20.0, 38.0)
        share = r.uniform(0.55, 0.8)  # most of it from the trunk
        trunk.move(t0, t0 + 1.0, trunk_up + share * hip)
        thigh.move(t0 + 0.1, t0 + 1.0, thigh_up + (1 - share) * hip)
        trunk.move(t0 + 1.6, t0 + 2.6, trunk_up)
        thigh.move(t0 + 1.6, t0 + 2.5, thigh_up)
        busy.append((t0, t0 + BEND_S))

    def bends(start: float, end: float) -> None:
        """Small bends while standing around, never a rep's 45 deg bottom; as many as fit,
        up to p.bends."""
        n = min(p.bends, int((end - start) // BEND_S))
        for b in range(n):
            bend_once(start + b * BEND_S, rng_bends)

    def rest(start: float, end: float) -> None:
        """A rest filled with ``p.rest_activities`` in order (each as long as drawn and as
        fits, standing 0.5 s between them); with ``standing == "none"`` only 0.3 s between
        them, and walking fills the rest of it."""
        t = start
        for kind in p.rest_activities:
            left = end - t
            d = min(left, float(rng_real.uniform(6.0, 10.0)))
            if kind == "bend" and left >= BEND_S:
                bend_once(t, rng_real)
                d = BEND_S
            elif kind == "bench" and left >= 4.5:
                d = max(4.5, min(left, float(rng_real.uniform(6.0, 12.0))))
                _sit_on_bench(trunk, thigh, t, t + d, rng_real)
                busy.append((t, t + d))
            elif kind == "walk" and left >= 2.0:
                walk(t, t + d)
            elif kind == "jog" and left >= 2.0:
                jog(t, t + d)
            elif kind == "stand" and left >= 1.0:
                d = min(left, float(rng_real.uniform(2.0, 5.0)))
            else:
                continue
            activities.append((kind, t, t + d))
            t += d + (0.3 if p.standing == "none" else 0.5)
        if p.standing == "none" and end - t >= 2.0:
            walk(t, end)
            activities.append(("walk", t, end))

    rng_bends = np.random.default_rng(rng.integers(2**62))  # own stream: bends leave reps alone
    if p.walk_first_s > 0:
        walk(t, t + p.walk_first_s)
        moving.append((t + 0.5, t + p.walk_first_s - 0.5))
        t += p.walk_first_s + 1.5
    if p.bends:
        bends(t, t + p.bends * BEND_S)
        t += p.bends * BEND_S + 0.5
    if p.reps == 0 and (p.rest_activities or p.standing == "none"):  # a session without lifts
        for _ in range(p.sets):
            first = len(activities)
            rest(t, t + p.rest_s)
            moving += [(a + 0.5, b - 0.5) for _, a, b in activities[first : first + 1]]
            t += p.rest_s
    shank_bottom = rng.uniform(*p.shank_bottom_deg)
    thigh_mid = float(np.mean(p.thigh_start_deg))
    for s in range(p.sets if p.reps else 0):  # reps=0: standing, walking, bends only
        # Walk (or stand) to the bar, hinge down to it, set up from a dead stop.
        set_start = t
        trunk0, thigh0 = rng.uniform(*p.trunk_start_deg), rng.uniform(*p.thigh_start_deg)
        descent = _jit(rng, p.descent_s, p.tempo_jitter)
        trunk.move(t, t + 0.8 * descent, trunk0)
        thigh.move(t + 0.2 * descent, t + descent, thigh0)
        bottom = t + descent
        if s == 0:
            moving.append((t + 0.15 * descent, bottom - 0.3))
        if p.exercise == "squat":  # no bar on the floor: down and straight back up (or a pause)
            t = bottom + (_jit(rng, p.pause_s, p.tempo_jitter) if p.pause_s > 0 else 0.0)
        else:
            t = bottom + _jit(rng, p.setup_s, p.tempo_jitter)
        for r in range(p.reps):
            pattern = pattern_for(p, s, r)
            dur = _jit(rng, p.concentric_s, p.tempo_jitter)
            thigh_lock, trunk_lock = rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 3.0)
            if p.top_short_deg > 0 and r < p.reps - 1:  # a continuous set: not fully up
                short = p.top_short_deg * float(rng_real.uniform(0.7, 1.3))
                thigh_lock, trunk_lock = thigh_lock + 0.6 * short, trunk_lock + 0.4 * short
            _concentric(rng, pattern, t, dur, thigh, trunk, thigh_lock, trunk_lock)
            top = t + dur
            hold = max(0.45, _jit(rng, p.top_hold_s, 0.2))
            trunk.move(top, top + 0.35, trunk_lock)
            end = top + hold
            reps.append(RepPlan(s, pattern, bottom, t, top, end))
            if r == p.reps - 1:
                t = end
                break
            # Lower the bar to the next rep's bottom: hips back first, then the knees bend.
            trunk0, thigh0 = rng.uniform(*p.trunk_start_deg), rng.uniform(*p.thigh_start_deg)
            ecc = _jit(rng, p.eccentric_s, p.tempo_jitter)
            trunk.move(end, end + 0.85 * ecc, trunk0)
            thigh.move(end + 0.15 * ecc, end + ecc, thigh0)
            bottom = end + ecc
            if s == 0:
                moving.append((end + 0.1 * ecc, bottom - 0.3))
            t = bottom + (_jit(rng, p.pause_s, p.tempo_jitter) if p.pause_s > 0 else 0.0)
        busy.append((set_start, t))
        if s < p.sets - 1:
            if p.rest_activities or p.standing == "none":
                lead = 0.1 if p.standing == "none" else 0.5  # none: off at once after the set
                rest(t + lead, t + p.rest_s - 0.5)
            else:
                free, end = t + 1.0, t + p.rest_s - 1.0
                walk_end = end - (p.bends * BEND_S + 0.5 if p.bends else 0.0)
                if p.walk_rest and walk_end - free >= 3.0:
                    walk(free, walk_end)
                    free = walk_end + 0.5
                bends(free, end)
            t += p.rest_s
    if p.standing == "none":  # no stand at the end either: the lifter walks off
        off = float(rng_real.uniform(3.0, 5.0))
        walk(t + 0.3, t + 0.3 + off + 1.0)
        activities.append(("walk", t + 0.3, t + 0.3 + off + 1.0))
        duration = t + 0.3 + off
    else:
        duration = t + p.end_stand_s

    stride = p.stride_hz * (1 + rng.uniform(-0.08, 0.08))
    swing = {
        # thigh +-20-25 deg about 1-4 deg of flexion, trunk +-0.5-2 deg: hip flexion stays
        # below ~36 deg, far from a rep's 45 deg bottom
        "thigh": (rng.uniform(20.0, 25.0), stride, rng.uniform(0, 2 * math.pi), rng.uniform(1.0, 4.0)),
        "trunk": (rng.uniform(0.5, 2.0), 2 * stride, rng.uniform(0, 2 * math.pi), rng.uniform(0.0, 2.0)),
    }
    turns = []
    for a, b in walks:
        track = Track(a, 0.0)
        track.move(a, b, 2 * math.pi * (1 if rng.uniform() < 0.5 else -1))
        radius = max(0.3, p.walk_speed_m_s * (b - a) / (2 * math.pi))
        turns.append((track, radius * float(np.sign(track.v[-1]))))
    for a, b in jogs:  # loops like the walks, drawn on the realism stream
        track = Track(a, 0.0)
        track.move(a, b, 2 * math.pi * (1 if rng_real.uniform() < 0.5 else -1))
        radius = max(0.5, JOG_SPEED_M_S * (b - a) / (2 * math.pi))
        turns.append((track, radius * float(np.sign(track.v[-1]))))

    sway_gate = Track(0.0, 0.0)
    sway_gate.move(stand0, stand0 + 1.0, 1.0)
    sway = {
        axis: [(p.sway_deg * w, rng.uniform(0.1, 0.5), rng.uniform(0, 2 * math.pi)) for w in (0.5, 0.3, 0.2)]
        for axis in ("roll", "yaw")
    }

    events = _wobble_events(p, rng_tissue, reps, walks, stride)
    if jogs and jog_gait is not None and p.wobble > 0:  # heel strikes while jogging, harder than walking
        jog_events = _wobble_events(p, rng_real, [], jogs, jog_gait.swing["thigh"][1], strike=1.5)
        events = {seg: sorted(evs + jog_events[seg], key=lambda e: e.t0) for seg, evs in events.items()}
    motion = Motion(
        duration_s=duration,
        thigh=thigh,
        trunk=trunk,
        shank_per_thigh=shank_bottom / thigh_mid,
        walk_windows=walks,
        walk_gate=gate,
        walk_turns=turns,
        walk_swing=swing,
        bob_m=rng.uniform(0.025, 0.04),
        sway_gate=sway_gate,
        sway=sway,
        wobble_events=events,
        reps=reps,
        jog=jog_gait,
        fidget=_fidget(p, rng_real, busy, duration) if p.fidget_deg > 0 else None,
        activities=activities,
    )
    if p.standing in ("late", "none"):
        return motion.shifted(_crop_time(moving, rng_real))
    return motion


# Soft-tissue figures per segment at wobble scale 1: rotation (deg), translation (m) after a
# lockout, and the natural frequency range (Hz). Thigh soft tissue rings at ~10-16 Hz with a few
# tenths of a degree; the sensor over the lumbar spine sits on less tissue and moves less.
_TISSUE = {"thigh": (0.25, 0.0002, (10.0, 16.0)), "lumbar": (0.12, 0.0001, (7.0, 11.0))}


def _wobble_events(
    p: MotionParams,
    rng: np.random.Generator,
    reps: list[RepPlan],
    walks: list[tuple[float, float]],
    stride_hz: float,
    strike: float = 0.6,
) -> dict[str, list[WobbleEvent]]:
    """Jolts: the bar breaking off the floor (small), lockout (largest), the bar touching the
    floor before the next rep, and every heel strike while walking (``strike``: its size)."""
    jolts: list[tuple[float, float]] = []  # (time, relative size)
    for i, rep in enumerate(reps):
        jolts.append((rep.concentric_start_s, 0.3))
        jolts.append((rep.concentric_end_s, 1.0))
        if i > 0 and reps[i - 1].set == rep.set:
            jolts.append((rep.bottom_s, 0.5))
    for a, b in walks:
        jolts.extend((float(tt), strike) for tt in np.arange(a + 0.8, b - 0.8, 0.5 / stride_hz))
    events: dict[str, list[WobbleEvent]] = {}
    for seg, (rot, trans, (f_lo, f_hi)) in _TISSUE.items():
        evs = []
        for t0, size in sorted(jolts):
            k = p.wobble * size * rng.uniform(0.7, 1.3)
            evs.append(WobbleEvent(t0, k * rot, k * trans, rng.uniform(f_lo, f_hi), rng.uniform(0.035, 0.07)))
        events[seg] = [e for e in evs if p.wobble > 0]
    return events
