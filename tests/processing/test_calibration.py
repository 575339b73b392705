"""Calibration against the virtual lifter's known mounting: the upright direction and the
flexion axis (with its sign) found from the data must be the simulator's, for any mounting,
either leg, walking before the first rep; and a clear error without a still start."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hinge.errors import HingeUserError
from processing.angles import angles_from_segments
from processing.simulator import SimConfig, simulate

# Flexion axes in the simulator's segment frames (x forward, y left, z up the segment): the
# thigh flexes by rotation("y", -thigh), the trunk by rotation("y", +trunk).
SEG_AXIS = {"thigh": np.array([0.0, -1.0, 0.0]), "lumbar": np.array([0.0, 1.0, 0.0])}
UP = np.array([0.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "kw",
    [
        dict(seed=2),  # random mountings
        dict(seed=3, mounting={"thigh": "upside-down", "lumbar": "upside-down"}),
        dict(seed=4, mounting={"thigh": "front", "lumbar": "standard"}, side="right"),
        dict(seed=5, side="right", walk_first_s=10.0, noise="high", rates_hz={"thigh": 52.0, "lumbar": 208.0}),
        # 30 s of walking a loop: the lower back turns steadily about vertical, which looks
        # still to its accelerometer and steady to its gyro
        dict(seed=3, reps=1, walk_first_s=30.0),
    ],
    ids=["random", "upside-down", "front-right-leg", "walk-first-high-noise", "walk-a-loop-30s"],
)
def test_finds_mounting_up_and_flexion_axis(kw):
    sim = simulate(SimConfig(**{"reps": 3, "noise": "typical", **kw}))
    cal = angles_from_segments(sim.imu).calibration
    # the initial stand (its end blurs into the first 0.1 s of a slow start)
    assert cal.still_start_s < 0.5 and 2.0 <= cal.still_end_s - cal.still_start_s <= sim.config.stand_s + 0.1
    for seg, sc in cal.segments.items():
        mount = sim.mounts[seg]  # sensor -> segment
        true_axis = mount.T @ SEG_AXIS[seg]
        true_up = mount.T @ UP
        assert np.degrees(np.arccos(min(1.0, sc.up @ true_up))) < 1.5, seg
        assert np.degrees(np.arccos(min(1.0, sc.axis @ true_axis))) < 3.0, seg  # sign included
        assert sc.axis_confidence > 0.95 and sc.out_of_plane_share < 0.05


def test_report_is_json_and_says_what_was_used():
    sim = simulate(SimConfig(reps=2, seed=6))
    rep = angles_from_segments(sim.imu).calibration.report()
    back = json.loads(json.dumps(rep))
    assert back["source"] == "standing" and back["confidence"] == 1.0 and back["warning"] is None
    a, b = back["periods_s"][0]
    assert b - a >= 2.0
    for seg in ("thigh", "lumbar"):
        s = back["segments"][seg]
        assert s["axis_known"] is True
        assert {"axis_confidence", "out_of_plane_share", "flexion_axis_in_sensor", "up_in_sensor"} <= set(s)


def test_no_still_standing_takes_upright_from_the_lockouts_and_says_so():
    """The data begin as the lifter bends to the bar and end at the last lockout: no still
    standing anywhere. Upright comes from the reps' lockouts, with a warning, and the
    angles still match the truth."""
    sim = simulate(SimConfig(reps=4, seed=7, stand_s=2.0, end_stand_s=0.0))
    cut = {seg: df[df.t > 2.0].reset_index(drop=True) for seg, df in sim.imu.items()}
    res = angles_from_segments(cut, source="rec/x")
    cal = res.calibration
    assert cal.source == "lockouts" and len(cal.periods) == 4
    assert cal.warning is None or "weak upright reference" in cal.warning
    tr = sim.truth_angles
    for c in ("trunk_deg", "thigh_deg"):
        err = res.frames[c].to_numpy() - np.interp(res.frames.t, tr.t, tr[c])
        assert np.sqrt(np.mean(err**2)) < 2.0, c


def test_a_seated_still_period_is_not_upright():
    """No stand anywhere, only sitting still on a bench between two sets: the seated posture
    must not become upright (the angles stay the truth's)."""
    sim = simulate(SimConfig(reps=3, sets=2, seed=8, standing="none", rest_activities=["bench"]))
    res = angles_from_segments(sim.imu)
    tr = sim.truth_angles
    for c in ("trunk_deg", "thigh_deg"):
        err = res.frames[c].to_numpy() - np.interp(res.frames.t, tr.t, tr[c])
        assert np.sqrt(np.mean(err**2)) < 3.0, (c, res.calibration.detail)


def test_without_lifts_a_long_seated_rest_does_not_mirror_the_thigh():
    """Walking, jogging, bending and sitting on a bench, no lift: nothing pairs trunk and
    thigh, and the thigh dwells longest seated. Its sign must come from the hips dropping as
    it flexes, or the seated posture reads as the most extended one and becomes upright."""
    sim = simulate(SimConfig(reps=0, sets=2, seed=1, realism="gym", rest_activities=["bench", "jog", "walk", "bend"]))
    res = angles_from_segments(sim.imu)
    tr = sim.truth_angles
    for c in ("trunk_deg", "thigh_deg"):
        err = res.frames[c].to_numpy() - np.interp(res.frames.t, tr.t, tr[c])
        assert np.sqrt(np.mean(err**2)) < 2.0, (c, res.calibration.detail)


def test_nothing_to_analyse_is_a_clear_user_error(sensors_apart):
    sim, apart = sensors_apart
    with pytest.raises(HingeUserError, match=r"^rec/x: nothing to analyse: the sensors' data never overlap"):
        angles_from_segments(apart, source="rec/x")
    still = {seg: df[df.t < 1.5].reset_index(drop=True) for seg, df in sim.imu.items()}
    with pytest.raises(HingeUserError, match=r"^rec/y: nothing to analyse: no movement"):
        angles_from_segments(still, source="rec/y")


def test_a_sensor_gap_at_the_start_is_not_still_and_crashes_nothing():
    """Issue 11 row 1: the thigh sends one sample, then nothing for 3 s (its link dropped
    right after streaming started). Time inside that gap is unknown, not "still": the old
    still-period search averaged an empty window there and crashed (LinAlgError)."""
    sim = simulate(SimConfig(reps=3, seed=9))
    thigh = sim.imu["thigh"]
    gapped = {"thigh": thigh[(thigh.t < 0.011) | (thigh.t > 3.0)].reset_index(drop=True), "lumbar": sim.imu["lumbar"]}
    res = angles_from_segments(gapped)
    for a, b in res.calibration.periods:
        assert a > 3.0 or b < 0.011  # no reference period inside the thigh's gap
    tr = sim.truth_angles
    late = res.frames[res.frames.t > 3.0]
    err = late.thigh_deg.to_numpy() - np.interp(late.t, tr.t, tr.thigh_deg)
    assert np.sqrt(np.mean(err**2)) < 2.0


def _sit_to_stands(pelvis_seated_deg: float, lean_deg: float, n: int = 5, rate: float = 100.0):
    """A planar lower back and thigh rising from a chair n times and sitting back down: the
    thigh from 80 deg (seated) to 0, the pelvis from ``pelvis_seated_deg`` (negative: tilted
    back) to 0, leaning ``lean_deg`` forward before the rise (0: a quick rise on momentum).
    The knee stays put, the hip the thigh's length (0.45 m) from it, the sensor 0.12 m up
    the pelvis. Returns (grid, trunk_deg, thigh_deg, (t, acc, up)) with the
    sensor frame x forward, y left (the flexion axis), z up the pelvis."""
    t = np.arange(0, n * 4.0 + 2.0, 1 / rate)
    trunk, thigh = np.full(len(t), pelvis_seated_deg), np.full(len(t), 80.0)

    def ease(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    for k in range(n):
        t0 = 1.0 + 4.0 * k  # lean (0.4 s), rise (0.8 s), stand (1 s), sit (1 s)
        lean = ease((t - t0) / 0.4) * (1 - ease((t - t0 - 0.4) / 0.8))
        rise = ease((t - t0 - 0.4) / 0.8) * (1 - ease((t - t0 - 2.2) / 1.0))
        # the pelvis turns on its own schedule: quicker, later up, earlier down
        tilt = ease((t - t0 - 0.6) / 0.4) * (1 - ease((t - t0 - 2.2) / 0.6))
        trunk += lean * lean_deg + tilt * (0.0 - pelvis_seated_deg)
        thigh -= rise * 80.0
    th, tr = np.radians(thigh), np.radians(trunk)
    hip_x, hip_z = -0.45 * np.sin(th), 0.45 * np.cos(th)
    x, z = hip_x + 0.12 * np.sin(tr), hip_z + 0.12 * np.cos(tr)
    ax, az = np.gradient(np.gradient(x, t), t), np.gradient(np.gradient(z, t), t) + 9.81
    # the sensor's axes in the world: x_s = (cos, 0, -sin), z_s = (sin, 0, cos) of the trunk angle
    acc = np.column_stack([np.cos(tr) * ax - np.sin(tr) * az, np.zeros(len(t)), np.sin(tr) * ax + np.cos(tr) * az])
    up = np.column_stack([-np.sin(tr), np.zeros(len(t)), np.cos(tr)])
    grid = t[::4]
    return grid, trunk[::4], thigh[::4], (t, acc, up)


def test_the_lower_backs_forward_acceleration_pairs_its_sign_with_the_thighs():
    """Rising quickly from a chair (pi_bench subject 02, real): the seated pelvis is tilted
    back 22 deg while the thigh is flexed, with no forward lean, so trunk and thigh do not
    flex together and co-flexion pairs the pelvis mirrored. The lower back's forward
    acceleration pairs it right: the hip goes back as the thigh flexes. With a forward lean
    before each rise (most people) both cues agree."""
    from processing.calibration import coflexion_sign, forward_pairing

    axis, up = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    grid, trunk, thigh, motion = _sit_to_stands(pelvis_seated_deg=-22.0, lean_deg=0.0)
    assert coflexion_sign(grid, trunk, thigh) < 0  # co-flexion would mirror the pelvis
    assert forward_pairing(grid, trunk, thigh, motion, up, axis) == 1
    assert forward_pairing(grid, -trunk, thigh, motion, up, -axis) == -1  # mirrored lower back
    grid, trunk, thigh, motion = _sit_to_stands(pelvis_seated_deg=-5.0, lean_deg=35.0)
    assert coflexion_sign(grid, trunk, thigh) > 0
    assert forward_pairing(grid, trunk, thigh, motion, up, axis) == 1


def _stand_then_descent(sway_deg: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """25 Hz provisional angles: 3 s of standing (sway about the posture 0, trunk and thigh out
    of phase, 0.3 and 0.25 Hz), then a smooth descent to 60 deg over 1 s."""
    from processing.calibration import EVIDENCE_HZ

    grid = np.arange(0.0, 5.0, 1.0 / EVIDENCE_HZ)
    ramp = np.clip((grid - 3.0) / 1.0, 0.0, 1.0)
    descent = 60.0 * (3 * ramp**2 - 2 * ramp**3)
    sway = np.where(grid < 3.0, 1.0, 0.0) * sway_deg
    return grid, {
        "lumbar": descent + sway * np.sin(2 * np.pi * 0.3 * grid + 0.4),
        "thigh": descent + sway * np.sin(2 * np.pi * 0.25 * grid + 2.0),
    }


def test_a_swaying_stand_is_averaged_over_all_of_it_not_only_its_still_pieces():
    """Sway breaks the stillness test at its fastest moments; a reference averaged over the
    still pieces alone (here 0.4-2.0 s) is off by up to the sway, over the whole 3 s stand
    much less. The next movement's first degrees are not part of the stand."""
    from processing.calibration import _whole_stand

    grid, ang = _stand_then_descent(sway_deg=2.0)
    a, b = _whole_stand(grid, ang, 0.4, 2.0)
    assert a == 0.0 and 2.7 <= b <= 3.05
    piece = (grid >= 0.4) & (grid <= 2.0)
    whole = (grid >= a) & (grid <= b)
    for seg in ang:  # the truth's posture is 0
        assert abs(ang[seg][whole].mean()) < 0.6 * abs(ang[seg][piece].mean())
    grid, ang = _stand_then_descent(sway_deg=0.0)  # a clean stand: up to the descent, not into it
    a, b = _whole_stand(grid, ang, 0.4, 2.0)
    assert a == 0.0 and 2.9 <= b and max(np.interp(b, grid, x) for x in ang.values()) < 0.5


def _ups(deg: np.ndarray) -> np.ndarray:
    """Up-vectors of a segment flexed by ``deg`` about the sensor's y axis."""
    r = np.radians(deg)
    return np.column_stack([np.sin(r), np.zeros_like(r), np.cos(r)])


def _upright(trunk: np.ndarray, thigh: np.ndarray, still: tuple[float, float]) -> str:
    """``choose_upright``'s source on 25 Hz angles with one still candidate period."""
    from processing.calibration import EVIDENCE_HZ, choose_upright

    t = np.arange(len(trunk)) / EVIDENCE_HZ
    evidence = {"lumbar": (t, _ups(trunk)), "thigh": (t, _ups(thigh))}
    m = (t >= still[0]) & (t <= still[1])
    ups = {s: u[m].mean(axis=0) / np.linalg.norm(u[m].mean(axis=0)) for s, (_, u) in evidence.items()}
    source, periods, *_ = choose_upright(evidence, [(still[0], still[1], 0.01, ups)], lambda *a: [])
    return source


def test_a_stand_before_running_is_upright_though_strides_swing_the_hip_far_past_it():
    """A runner's push-off swings the thigh 40+ deg behind standing for an instant (real
    CMU running, after its static pose). Measured against those instants the stand looked
    45 deg flexed, was refused, and the angles were taken from the strides (mirrored).
    Against the postures held it is the most extended one."""
    n_stand, k = 75, np.arange(500)
    stride = 12.0 + 62.0 * np.sin(2 * np.pi * 1.4 * k / 25.0)  # 25 Hz, push-off 50 deg behind
    thigh = np.r_[np.zeros(n_stand), stride]
    trunk = np.r_[np.zeros(n_stand), np.minimum(k / 25.0, 1.0) * 8.0]  # a runner leans a little
    assert _upright(trunk, thigh, (0.0, 2.9)) == "standing"


def test_a_bend_held_still_for_a_moment_is_no_stand_beside_a_swaying_stand():
    # Live, 45 s into a gym session (squats, rests with jogging, a bench and bends): the only
    # still moments were 0.6 s of a swaying stand and 0.7 s of a bend to 27 deg, held still.
    # Taken for upright (it was the longer), the bend mirrored the signs and lost the next
    # set's last 4 reps; the stand is the one as tall as the tallest.
    from processing.calibration import _choose_stand, _Stand

    stand = _Stand(start_s=17.1, end_s=17.7, still_s=0.6, hip_deg=0.5, calm=0.02)
    bend = _Stand(start_s=36.7, end_s=37.4, still_s=0.7, hip_deg=27.0, calm=0.01)
    assert _choose_stand([stand, bend], first_lift_s=2.0) is stand
    # Two stands as tall: the longer one.
    longer = _Stand(start_s=50.0, end_s=50.9, still_s=0.9, hip_deg=2.0, calm=0.02)
    assert _choose_stand([stand, bend, longer], first_lift_s=2.0) is longer
