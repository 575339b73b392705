"""The virtual lifter against physics and the domain definitions, checked independently:
readings re-derived here from positions and orientations alone (interval means, as a real
IMU outputs them: numerical differentiation and quadrature, an own rotation logarithm),
onsets re-measured here with a plain loop, angles re-integrated here from the gyroscope."""

from __future__ import annotations

import math

import numpy as np
import pytest

from processing.simulator import SimConfig, simulate

G = 9.81
ALL = ["knee-first", "simultaneous", "hips-rise-early"]


def _quiet(**kw) -> SimConfig:
    return SimConfig(**{"noise": "off", "reps": 3, "seed": 1, **kw})


def _xyz(df, cols):
    return df[list(cols)].to_numpy()


# --- physics ---------------------------------------------------------------------------------


CUSTOM = [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # sensor x left, y up, z forward


@pytest.mark.parametrize("mounting", ["random", "standard", "upside-down", CUSTOM])
def test_at_rest_accelerometer_reads_9_81_up_and_gyro_zero(mounting):
    sim = simulate(_quiet(mounting={"thigh": mounting, "lumbar": mounting}, seed=5))
    for seg, df in sim.imu.items():
        still = df[df.t < sim.config.stand_s]
        assert len(still) >= 2.0 * sim.config.rates_hz[seg]
        norm = np.linalg.norm(_xyz(still, "ax ay az".split()), axis=1)
        np.testing.assert_allclose(norm, G, atol=1e-9)
        np.testing.assert_allclose(_xyz(still, "gx gy gz".split()), 0.0, atol=1e-12)
        end = df[df.t > df.t.iloc[-1] - 1.5]  # standing still again at the end
        np.testing.assert_allclose(np.linalg.norm(_xyz(end, "ax ay az".split()), axis=1), G, atol=1e-6)
    if mounting == "standard":  # x up the segment: gravity reaction along +x
        np.testing.assert_allclose(sim.imu["thigh"][["ax", "ay", "az"]].iloc[0], [G, 0, 0], atol=1e-9)
    if mounting == "upside-down":
        np.testing.assert_allclose(sim.imu["lumbar"][["ax", "ay", "az"]].iloc[0], [-G, 0, 0], atol=1e-9)
    if mounting == CUSTOM:  # a matrix: columns are the sensor axes in the segment frame
        np.testing.assert_allclose(sim.imu["thigh"][["ax", "ay", "az"]].iloc[0], [0, G, 0], atol=1e-9)


def _interval_means(sim, seg: str, t: np.ndarray, h: float = 5e-5) -> tuple[np.ndarray, np.ndarray]:
    """What a flawless sensor sampling at t outputs, from positions and orientations only:
    per sample the means over [t[k-1], t[k]] (the first interval as long as the second).

    gyro: the rotation from t[k-1] to t[k] in the sensor frame at t[k-1], as a rotation vector
    (own logarithm: angle from trace and skew part), over the interval; acc: specific force
    from second differences of position at 5 Gauss-Legendre nodes per interval, each in the
    sensor frame of its instant, averaged with the Gauss weights."""
    edges = np.concatenate([[2 * t[0] - t[1]], t])
    dt = np.diff(edges)
    rot = sim.kinematics(seg, edges).rot
    step = np.swapaxes(rot[:-1], 1, 2) @ rot[1:]
    s = step - np.swapaxes(step, 1, 2)
    skew = np.stack([s[:, 2, 1], s[:, 0, 2], s[:, 1, 0]], axis=1) / 2  # sin(angle) * axis
    sin = np.linalg.norm(skew, axis=1)
    angle = np.arctan2(sin, (np.trace(step, axis1=1, axis2=2) - 1) / 2)
    gyr = skew * np.divide(angle, sin, out=np.ones_like(sin), where=sin > 0)[:, None] / dt[:, None]
    acc = np.zeros((len(t), 3))
    for x, w in zip(*np.polynomial.legendre.leggauss(5), strict=True):
        tau = edges[:-1] + (x + 1) / 2 * dt
        km, k0, kp = (sim.kinematics(seg, tau + d) for d in (-h, 0.0, h))
        p_dd = (kp.pos - 2 * k0.pos + km.pos) / h**2
        acc += w / 2 * np.einsum("nji,nj->ni", k0.rot, p_dd + np.array([0.0, 0.0, G]))
    return acc, gyr


def test_imu_matches_interval_means_of_position_and_orientation():
    """Everything moving at once: lifts, walking loops, out-of-plane sway, soft tissue,
    random mounting, different rates and clock offset. Noise terms off, so the recorded
    values must be the physics: interval means, which at 52 Hz differ from the instantaneous
    values by up to a few m/s^2 and tens of deg/s during the soft-tissue ringing."""
    cfg = SimConfig(
        patterns=ALL,
        reps=3,
        sets=2,
        seed=11,
        noise="off",
        wobble=1.5,
        sway_deg=3.0,
        walk_rest=True,
        rest_s=8.0,
        rates_hz={"thigh": 52.0, "lumbar": 208.0},
    )
    sim = simulate(cfg)
    for seg, df in sim.imu.items():
        t = df.t.to_numpy()
        acc, gyr = _interval_means(sim, seg, t)
        acc_err = np.abs(acc - _xyz(df, ["ax", "ay", "az"])).max()
        gyr_err = np.abs(gyr - _xyz(df, ["gx", "gy", "gz"])).max()
        # the gyro is exact; the simulator turns the exactly averaged world-frame force into
        # the sensor frame at mid-interval (simulator.imu: error ~|w| |jerk| Ts^2/12, < 0.02 m/s^2
        # at 52 Hz with this much tissue ringing), plus ~1e-3 m/s^2 of differencing error here
        acc_tol = 0.03 if seg == "thigh" else 3e-3
        assert acc_err < acc_tol, (seg, acc_err)
        assert gyr_err < 1e-9, (seg, gyr_err)
        # instantaneous values would fail this by far, and the movement is large enough for
        # all of this to mean something
        instant = sim.kinematics(seg, t)
        assert np.abs(instant.acc - acc).max() > 5 * acc_tol and np.abs(instant.gyr - gyr).max() > 0.01
        assert np.abs(np.linalg.norm(_xyz(df, ["ax", "ay", "az"]), axis=1) - G).max() > 1.5
        assert np.abs(_xyz(df, ["gx", "gy", "gz"])).max() > 2


def _ry(deg: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def test_sensors_sit_where_the_body_model_puts_them():
    """Both sensors hang off the hip joint: their separation is fixed by the trunk and thigh
    angles alone (x forward, z up; trunk leans forward about +y, the thigh's knee goes
    forward about -y) and the documented positions on each segment."""
    sim = simulate(_quiet(patterns=ALL, mounting={"thigh": "front", "lumbar": "standard"}))
    a = sim.truth_angles.iloc[::7]
    th, lu = sim.kinematics("thigh", a.t.to_numpy()), sim.kinematics("lumbar", a.t.to_numpy())
    pos = sim.details["sensor_position_m"]
    assert pos == {"thigh": [0.08, 0.0, -0.22], "lumbar": [-0.12, 0.0, 0.1]}
    expect = np.einsum("nij,j->ni", _ry(-a.thigh_deg.to_numpy()), pos["thigh"]) - np.einsum(
        "nij,j->ni", _ry(a.trunk_deg.to_numpy()), pos["lumbar"]
    )
    np.testing.assert_allclose(th.pos - lu.pos, expect, atol=1e-9)
    # and the hips move: the lumbar sensor drops well below its standing height at the bottom
    assert lu.pos[:, 2].min() < lu.pos[0, 2] - 0.2


@pytest.mark.parametrize("mounting", ["random", "upside-down", "front"])
def test_integrated_gyro_about_flexion_axis_reproduces_truth_angles(mounting):
    sim = simulate(_quiet(patterns=ALL, reps=3, seed=7, mounting={"thigh": mounting, "lumbar": "random"}))
    truth = sim.truth_angles
    for seg, col in (("thigh", "thigh_deg"), ("lumbar", "trunk_deg")):
        df = sim.imu[seg]
        t, gyr = df.t.to_numpy(), _xyz(df, ["gx", "gy", "gz"])
        axis = np.linalg.svd(gyr, full_matrices=False)[2][0]  # dominant rotation axis
        rate = np.degrees(gyr @ axis)
        # rectangle rule: gyr[k] is the mean rate over [t[k-1], t[k]], so this is exact
        angle = np.concatenate([[0.0], np.cumsum(rate[1:] * np.diff(t))])
        if angle.max() < -angle.min():  # sign: both segments flex forward (large positive)
            angle = -angle
        ref = sim.motion.angles_deg(t)["thigh" if seg == "thigh" else "trunk"].v  # what truth_angles samples
        np.testing.assert_allclose(np.interp(truth.t, t, ref), truth[col], atol=0.01)
        assert np.abs(angle - ref).max() < 1e-9, (seg, np.abs(angle - ref).max())
        assert ref.max() > 40


# --- truth against the definitions -----------------------------------------------------------


def _measure(t, v, lo, hi):
    """first/last time v >= 10 % of its peak in [lo, hi] (grid index), crossings interpolated."""
    peak = max(v[lo : hi + 1])
    thr = 0.1 * peak
    i = lo
    while v[i] < thr:
        i += 1
    j = hi
    while v[j] < thr:
        j -= 1
    first = t[i - 1] + (thr - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1])
    last = t[j] + (thr - v[j]) / (v[j + 1] - v[j]) * (t[j + 1] - t[j])
    return first, last, peak


def test_truth_reps_follow_the_domain_definitions():
    sim = simulate(SimConfig(patterns=ALL, reps=4, sets=2, seed=2, noise="typical", pause_s=1.0, rest_s=5.0))
    a = sim.truth_angles
    t = a.t.to_numpy()
    assert np.allclose(np.diff(t), 1e-3)  # uniform 1 kHz grid
    trunk, thigh, hip = a.trunk_deg.to_numpy(), a.thigh_deg.to_numpy(), a.hip_deg.to_numpy()
    np.testing.assert_allclose(hip, trunk + thigh, atol=1e-12)
    np.testing.assert_allclose(a.knee_ext_deg_s, -np.gradient(thigh, t), atol=0.05)
    np.testing.assert_allclose(a.hip_ext_deg_s, -np.gradient(trunk, t), atol=0.05)
    reps = sim.truth_reps
    assert len(reps) == 8 and [r["index"] for r in reps] == list(range(1, 9))
    assert [r["set"] for r in reps] == [1] * 4 + [2] * 4
    prev_lock = 0.0
    for r in reps:
        # start: last time of the bottom maximum of hip_deg since the previous rep's top
        w = np.nonzero((t >= prev_lock) & (t <= r["lockout_s"]))[0]
        i0 = w[0] + int(np.flatnonzero(hip[w] == hip[w].max())[-1])
        # lockout: first time of the top minimum before the lifter leaves the top
        w = np.nonzero((t >= t[i0]) & (t <= r["end_s"]))[0]
        i1 = w[0] + int(np.flatnonzero(hip[w] == hip[w].min())[0])
        assert r["start_s"] == pytest.approx(t[i0], abs=1e-9)
        assert r["lockout_s"] == pytest.approx(t[i1], abs=1e-9)
        assert hip[i0] >= 45 and hip[i1] <= 15
        k_on, k_end, k_peak = _measure(t, -np.gradient(thigh, t), i0, i1)
        h_on, h_end, h_peak = _measure(t, -np.gradient(trunk, t), i0, i1)
        for key, mine in (("knee_onset_s", k_on), ("knee_end_s", k_end), ("hip_onset_s", h_on), ("hip_end_s", h_end)):
            assert r[key] == pytest.approx(mine, abs=1.5e-3), key
        assert r["peak_knee_ext_deg_s"] == pytest.approx(k_peak, rel=2e-3)
        assert r["peak_hip_ext_deg_s"] == pytest.approx(h_peak, rel=2e-3)
        assert r["hip_lag_ms"] == pytest.approx(1000 * (h_on - k_on), abs=2.0)
        th_h = np.interp(h_on, t, thigh)
        done = 100 * (thigh[i0] - th_h) / (thigh[i0] - thigh[i1])
        assert r["knee_done_at_hip_onset_pct"] == pytest.approx(done, abs=0.5)
        lean = trunk[(t >= t[i0]) & (t <= h_on)].max() - trunk[i0]
        assert r["trunk_lean_change_deg"] == pytest.approx(lean, abs=0.05)
        assert (r["trunk_start_deg"], r["thigh_start_deg"], r["hip_start_deg"]) == pytest.approx(
            (trunk[i0], thigh[i0], hip[i0]), abs=1e-9
        )
        assert r["concentric_s"] == pytest.approx(t[i1] - t[i0], abs=1e-9)
        expected = "hips-rise-early" if lean >= 5 else ("knee-first" if done >= 50 else "simultaneous")
        assert r["pattern"] == expected
        assert r["start_s"] < r["knee_onset_s"] < r["knee_end_s"] <= r["lockout_s"] < r["end_s"]
        prev_lock = r["lockout_s"]


def test_truth_reps_carry_every_rep_field():
    from processing.reps import REP_FIELDS

    sim = simulate(_quiet(reps=1))
    assert set(REP_FIELDS) - {"cue"} <= set(sim.truth_reps[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_each_requested_pattern_comes_out_clearly(seed):
    """Per rep (cycled within each set) and per set; margins keep noise from flipping them."""
    cfg = SimConfig(patterns=ALL, reps=6, sets=2, seed=seed, noise="off", rest_s=4.0)
    sim = simulate(cfg)
    assert [r["pattern"] for r in sim.truth_reps] == ALL * 4
    for r in sim.truth_reps:
        if r["pattern"] == "knee-first":
            assert r["knee_done_at_hip_onset_pct"] >= 60 and r["trunk_lean_change_deg"] <= 2.01
        elif r["pattern"] == "simultaneous":
            assert r["knee_done_at_hip_onset_pct"] <= 25 and r["trunk_lean_change_deg"] <= 2.01
        else:
            assert r["trunk_lean_change_deg"] >= 7.5
        assert 0.7 <= r["concentric_s"] <= 2.0
        assert 40 <= r["trunk_start_deg"] <= 60.001 and 50 <= r["thigh_start_deg"] <= 80.001
    per_set = simulate(
        SimConfig(
            patterns=["simultaneous", "hips-rise-early"],
            pattern_cycle="set",
            reps=3,
            sets=3,
            seed=seed,
            noise="off",
            rest_s=4.0,
        )
    )
    assert [r["pattern"] for r in per_set.truth_reps] == ["simultaneous"] * 3 + ["hips-rise-early"] * 3 + [
        "simultaneous"
    ] * 3


def test_reps_vary_by_seed_and_within_a_set():
    a = simulate(_quiet(reps=5, seed=1)).truth_reps
    b = simulate(_quiet(reps=5, seed=2)).truth_reps
    assert len({round(r["trunk_start_deg"], 3) for r in a}) == 5
    assert len({round(r["concentric_s"], 3) for r in a}) == 5
    assert [r["start_s"] for r in a] != [r["start_s"] for r in b]


# --- configuration effects -------------------------------------------------------------------


def test_mounting_and_leg_change_the_data_not_the_truth():
    base = _quiet(patterns=ALL, seed=4, mounting={"thigh": "standard", "lumbar": "standard"})
    variants = {
        "standard-left": base,
        "upside-down": _quiet(patterns=ALL, seed=4, mounting={"thigh": "upside-down", "lumbar": "upside-down"}),
        "standard-right": _quiet(
            patterns=ALL, seed=4, side="right", mounting={"thigh": "standard", "lumbar": "standard"}
        ),
        "front": _quiet(patterns=ALL, seed=4, mounting={"thigh": "front", "lumbar": "standard"}),
        "random": _quiet(patterns=ALL, seed=4),
    }
    sims = {k: simulate(c) for k, c in variants.items()}
    ref = sims["standard-left"]
    for name, sim in sims.items():
        assert sim.truth_angles.equals(ref.truth_angles), name
        assert sim.truth_reps == ref.truth_reps, name
        if name != "standard-left":
            cols = ["ax", "ay", "az", "gx", "gy", "gz"]
            assert not np.allclose(sim.imu["thigh"][cols], ref.imu["thigh"][cols]), name
    # Lateral thigh sensor, z out of the skin: knee extension turns the other way round z on
    # the right leg than on the left.
    gz_left = sims["standard-left"].imu["thigh"].gz.to_numpy()
    gz_right = sims["standard-right"].imu["thigh"].gz.to_numpy()
    np.testing.assert_allclose(gz_left, -gz_right, atol=1e-9)
    assert np.abs(gz_left).max() > 1.5


def test_noise_levels_follow_the_documented_figures():
    stds = {}
    for level in ("off", "low", "typical", "high"):
        sim = simulate(SimConfig(noise=level, reps=1, seed=3, rates_hz={"thigh": 100.0, "lumbar": 100.0}))
        still = sim.imu["lumbar"][sim.imu["lumbar"].t < 2.9]
        stds[level] = (still[["gx", "gy", "gz"]].std().mean(), still[["ax", "ay", "az"]].std().mean())
    assert max(stds["off"]) < 1e-12
    assert stds["typical"][0] == pytest.approx(0.005, rel=0.25)
    assert stds["typical"][1] == pytest.approx(0.04, rel=0.25)
    assert stds["low"][0] < stds["typical"][0] < stds["high"][0]
    assert 3 <= stds["high"][0] / stds["typical"][0] <= 4.5


def test_rates_clock_offset_and_session_clock():
    sim = simulate(_quiet(rates_hz={"thigh": 52.0, "lumbar": 208.0}, clock_offset_s=0.0123))
    th, lu = sim.imu["thigh"].t.to_numpy(), sim.imu["lumbar"].t.to_numpy()
    assert th[0] == 0.0 and lu[0] == pytest.approx(0.0123)
    assert np.median(np.diff(th)) == pytest.approx(1 / 52, rel=1e-3)
    assert np.median(np.diff(lu)) == pytest.approx(1 / 208, rel=1e-3)
    assert np.all(np.diff(th) > 0) and np.all(np.diff(lu) > 0)
    # the truth is on the session clock: gyro peaks of the thigh line up with the truth's
    t_peak = sim.truth_angles.t[sim.truth_angles.knee_ext_deg_s.abs().idxmax()]
    g = np.linalg.norm(sim.imu["thigh"][["gx", "gy", "gz"]], axis=1)
    assert abs(th[np.argmax(g)] - t_peak) < 1.5 / 52


def test_dropouts_leave_gaps_and_mark_reps():
    sim = simulate(_quiet(reps=5, dropouts=6, dropout_s=(0.2, 0.4), seed=8))
    drops = sim.details["dropouts"]
    assert len(drops) == 6
    for d in drops:
        t = sim.imu[d["segment"]].t.to_numpy()
        assert not np.any((t >= d["start_s"]) & (t < d["end_s"]))
        assert d["samples"] > 0
        assert np.diff(t).max() >= 0.2
    for r in sim.truth_reps:
        hit = any(d["start_s"] < r["end_s"] and d["end_s"] > r["start_s"] for d in drops)
        assert r["gap"] == hit
    lost = {s["segment"]: s["lost_samples"] for s in sim.meta["sensors"]}
    assert sum(lost.values()) == sum(d["samples"] for d in drops)
    # an explicit gap inside the second rep's pull marks that rep only
    plain = simulate(_quiet(reps=3, seed=8))
    r2 = plain.truth_reps[1]
    gapped = simulate(_quiet(reps=3, seed=8, gaps=[("lumbar", r2["knee_onset_s"], r2["knee_onset_s"] + 0.1)]))
    assert [r["gap"] for r in gapped.truth_reps] == [False, True, False]
    t = gapped.imu["lumbar"].t
    assert not ((t >= r2["knee_onset_s"]) & (t < r2["knee_onset_s"] + 0.1)).any()
    assert gapped.imu["thigh"].equals(plain.imu["thigh"])


def test_walking_and_pauses_shape_the_session_but_add_no_reps():
    sim = simulate(_quiet(reps=2, sets=3, walk_rest=True, walk_first_s=6.0, rest_s=12.0, pause_s=2.0))
    assert len(sim.truth_reps) == 6
    a = sim.truth_angles
    walks = sim.details["walks"]
    assert len(walks) == 3
    for lo, hi in walks:
        mid = a[(a.t > lo + 1.5) & (a.t < hi - 1.5)]
        assert 15 <= mid.thigh_deg.max() - mid.thigh_deg.mean() <= 32  # thigh swings
        assert mid.thigh_deg.min() < -10
        assert mid.hip_deg.max() < 45  # walking is never a rep
    # a dead stop: the bottom is held for the pause before each touch-free rep
    for r0, r1 in zip(sim.truth_reps, sim.truth_reps[1:], strict=False):
        if r0["set"] == r1["set"]:
            still = a[(a.t > r1["start_s"] - 1.5) & (a.t <= r1["start_s"])]
            assert np.ptp(still.hip_deg) < 1e-9
    # touch-and-go: no pause, the hips reverse at once
    tng = simulate(_quiet(reps=3, pause_s=0.0)).truth_angles
    rep2 = simulate(_quiet(reps=3, pause_s=0.0)).truth_reps[1]
    before = tng[(tng.t > rep2["start_s"] - 0.2) & (tng.t < rep2["start_s"])]
    assert np.ptp(before.hip_deg) > 0.3


def test_sway_and_tissue_move_the_sensor_off_the_bone():
    """With sway and wobble the sensor's gyro is no longer a pure flexion rate, but the truth
    (the bones' sagittal angles) is unchanged."""
    clean = simulate(_quiet(patterns=ALL))
    messy = simulate(_quiet(patterns=ALL, sway_deg=3.0, wobble=2.0))
    assert messy.truth_angles.equals(clean.truth_angles)
    for sim, expect_planar in ((clean, True), (messy, False)):
        gyr = _xyz(sim.imu["thigh"], ["gx", "gy", "gz"])
        s = np.linalg.svd(gyr, compute_uv=False)
        assert (s[1] / s[0] < 1e-9) == expect_planar
    diff = _xyz(messy.imu["thigh"], ["gx", "gy", "gz"]) - _xyz(clean.imu["thigh"], ["gx", "gy", "gz"])
    assert 0.05 < np.abs(diff).max() < 2.0  # tissue ring-down: tens of deg/s at most


def test_same_seed_same_session_other_seed_other_session():
    a, b, c = (simulate(SimConfig(seed=s, reps=2)) for s in (9, 9, 10))
    for seg in a.imu:
        assert a.imu[seg].equals(b.imu[seg])
        assert not a.imu[seg].equals(c.imu[seg])
    assert a.truth_reps == b.truth_reps != c.truth_reps


def test_bad_config_is_refused():
    for cfg in (
        SimConfig(patterns=["deadlift"]),
        SimConfig(noise="loud"),
        SimConfig(stand_s=1.0),
        SimConfig(mounting={"thigh": "sideways", "lumbar": "random"}),
        SimConfig(mounting={"thigh": "random", "lumbar": "front"}),
        SimConfig(mounting={"thigh": [[1, 0, 0], [0, 1, 0], [0, 0, -1]], "lumbar": "random"}),
        SimConfig(concentric_s=0.0),
        SimConfig(pause_s=-1.0),
        SimConfig(reps=-1),
        SimConfig(sets=0),
        SimConfig(gaps=[("shank", 5.0, 6.0)]),
        SimConfig(gaps=[("thigh", 1.0, 2.0)]),
        SimConfig(trunk_start_deg=(10.0, 20.0), thigh_start_deg=(10.0, 20.0)),
    ):
        with pytest.raises(ValueError):
            simulate(cfg)


def test_long_session_is_fast():
    """Benchmarks simulate hours; CPU time (not wall, the machine may be busy) per session second."""
    import time

    t0 = time.process_time()
    sim = simulate(SimConfig(patterns=ALL, reps=6, sets=4, walk_rest=True, rest_s=40.0, seed=1))
    took = time.process_time() - t0
    session = sim.truth_angles.t.iloc[-1]
    assert session > 150
    assert session / took > 40, (session, took)
    assert math.isfinite(sum(r["hip_lag_ms"] for r in sim.truth_reps))


def test_sensor_errors_are_what_the_config_asks_for():
    """Measured = gain @ ideal + bias (+ drift) + noise, with the figures asked for: recover
    gain and bias by least squares against the exact readings, and the drift's increments."""
    cfg = _quiet(
        patterns=ALL, seed=6, gyro_bias=0.03, acc_bias=0.2, scale_error=0.02, sway_deg=3.0
    )  # sway: all axes move
    sim = simulate(cfg)
    for seg, df in sim.imu.items():
        ideal_acc, ideal_gyr = sim.ideal_readings(seg, df.t.to_numpy())
        drawn = sim.details["errors"][seg]
        for cols, exact, gain, bias in (
            (["ax", "ay", "az"], ideal_acc, drawn["acc_gain"], drawn["acc_bias"]),
            (["gx", "gy", "gz"], ideal_gyr, drawn["gyr_gain"], drawn["gyr_bias"]),
        ):
            x = np.column_stack([exact, np.ones(len(exact))])
            fit = np.linalg.lstsq(x, _xyz(df, cols), rcond=None)[0]
            np.testing.assert_allclose(fit[:3].T, gain, atol=1e-5)
            np.testing.assert_allclose(fit[3], bias, atol=1e-5)
            assert np.abs(np.array(gain) - np.eye(3)).max() > 0.005
        assert np.abs(drawn["gyr_bias"]).max() > 0.01
    drift = simulate(_quiet(seed=6, gyro_drift=0.01, rates_hz={"thigh": 100.0, "lumbar": 100.0}))
    df = drift.imu["thigh"]
    walk = _xyz(df, ["gx", "gy", "gz"]) - drift.ideal_readings("thigh", df.t.to_numpy())[1]
    steps = np.diff(walk, axis=0)
    assert steps.std() == pytest.approx(0.01 * math.sqrt(0.01), rel=0.05)  # sigma * sqrt(dt)


def test_tempo_start_angles_and_still_start_follow_the_config():
    cfg = _quiet(
        reps=4,
        concentric_s=1.8,
        tempo_jitter=0.05,
        trunk_start_deg=(30.0, 35.0),
        thigh_start_deg=(70.0, 75.0),
        stand_s=4.0,
    )
    sim = simulate(cfg)
    for r in sim.truth_reps:
        assert r["concentric_s"] == pytest.approx(1.8, abs=1.8 * 0.05 + 0.002)  # tempo_jitter 5 %
        assert 30 <= r["trunk_start_deg"] <= 35.001 and 70 <= r["thigh_start_deg"] <= 75.001
    a = sim.truth_angles
    still = a[a.t < 4.0]
    assert np.abs(still[["trunk_deg", "thigh_deg", "knee_ext_deg_s", "hip_ext_deg_s"]].to_numpy()).max() == 0.0


def test_small_bends_are_not_reps_and_leave_the_reps_alone():
    plain = simulate(_quiet(patterns=ALL, reps=2, sets=2, rest_s=16.0, walk_rest=True))
    bent = simulate(_quiet(patterns=ALL, reps=2, sets=2, rest_s=16.0, walk_rest=True, bends=2))
    assert len(bent.details["walks"]) == 1  # walking in the rest, then the bends
    assert [r["trunk_start_deg"] for r in bent.truth_reps] == [r["trunk_start_deg"] for r in plain.truth_reps]
    a = bent.truth_angles
    first = bent.truth_reps[0]["start_s"] - 3.0  # before the descent to the bar
    rest = (bent.details["walks"][0][1], bent.truth_reps[2]["start_s"] - 3.0)
    for lo, hi in ((3.0, first), rest):
        hip = a.hip_deg[(a.t > lo) & (a.t < hi)]
        assert 18 <= hip.max() < 40  # a visible bend, never a rep's 45 deg bottom
        assert (np.diff((hip > 10).astype(int)) == 1).sum() == 2  # two of them


def test_a_session_without_lifts_has_no_reps():
    sim = simulate(_quiet(reps=0, walk_first_s=8.0, bends=2))
    assert sim.truth_reps == []
    a = sim.truth_angles
    assert a.thigh_deg.max() > 15 and a.hip_deg.max() > 18  # it walked and bent
    assert a.hip_deg.max() < 45
    assert a.t.iloc[-1] > 3.0 + 8.0 + 6.0


# --- real-gym conditions ---------------------------------------------------------------------


def _still_windows(a, max_rate: float, min_s: float) -> list[tuple[float, float]]:
    """(start, end) of the truth's stretches of at least min_s in which both segments turn
    slower than max_rate deg/s."""
    still = ((a.knee_ext_deg_s.abs() < max_rate) & (a.hip_ext_deg_s.abs() < max_rate)).to_numpy()
    t = a.t.to_numpy()
    out, i = [], 0
    while i < len(t):
        if still[i]:
            j = i
            while j + 1 < len(t) and still[j + 1]:
                j += 1
            if t[j] - t[i] >= min_s:
                out.append((float(t[i]), float(t[j])))
            i = j + 1
        else:
            i += 1
    return out


def test_realism_options_are_off_by_default_and_each_changes_only_its_own_part():
    """Off by default (the same seed gives the same session as before they existed); each
    sensor-side option draws on its own stream, so it leaves the movement, the truth and the
    other signals alone."""
    from processing.simulator import REALISM_FIELDS

    base = SimConfig(seed=21, reps=2)
    assert all(getattr(base, f) == getattr(SimConfig(), f) for f in REALISM_FIELDS)
    assert base.realism == "off" and base.standing == "still" and base.exercise == "deadlift"
    plain = simulate(base)
    assert "activities" not in plain.details and "uncalibrated" not in plain.details["errors"]["thigh"]
    acc_only = simulate(SimConfig(seed=21, reps=2, acc_scale_max=0.3))
    jitter = simulate(SimConfig(seed=21, reps=2, jitter_s=0.004))
    for sim in (acc_only, jitter):
        assert sim.truth_angles.equals(plain.truth_angles) and sim.truth_reps == plain.truth_reps
    for seg in ("thigh", "lumbar"):
        p, a, j = plain.imu[seg], acc_only.imu[seg], jitter.imu[seg]
        assert a[["t", "gx", "gy", "gz"]].equals(p[["t", "gx", "gy", "gz"]])
        assert not a[["ax", "ay", "az"]].equals(p[["ax", "ay", "az"]])
        assert j.drop(columns="t").equals(p.drop(columns="t"))  # the same samples, other stamps
        dt = j.t.to_numpy() - p.t.to_numpy()
        rate = jitter.config.rates_hz[seg]
        assert np.abs(dt).max() <= min(0.004, 0.45 / rate) + 1e-12 and np.abs(dt).max() > 0.5 * min(0.004, 0.45 / rate)
        assert np.all(np.diff(j.t) > 0)

    for bad in (
        SimConfig(realism="home"),
        SimConfig(exercise="bench-press"),
        SimConfig(standing="lying"),
        SimConfig(rest_activities=["swim"]),
        SimConfig(fidget_deg=-1.0),
        SimConfig(jitter_s=0.2),
        SimConfig(top_short_deg=-1.0),
        SimConfig(top_short_deg=45.0),
        SimConfig(standing="still", stand_s=0.5),
    ):
        with pytest.raises(ValueError):
            simulate(bad)
    assert simulate(SimConfig(standing="short", stand_s=0.5, reps=1)).truth_reps  # stand_s: "still" only


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uncalibrated_accelerometer_reads_its_own_magnitude_in_each_posture(seed):
    """measured = gain * ideal + offset per axis (noise off), with gains and offsets inside
    the asked ranges; at rest |acc| is off 9.81 by up to ~35 %, and differently standing
    and seated; the gyro at rest reads its offset plus the warm-up drift."""
    cfg = _quiet(
        seed=seed,
        reps=1,
        sets=2,
        rest_s=14.0,
        rest_activities=["bench"],
        acc_scale_max=0.3,
        acc_offset_max=1.5,
        gyro_offset_deg_s=6.0,
        gyro_warmup_deg_s=3.0,
    )
    sim = simulate(cfg)
    ((kind, a, b),) = sim.details["activities"]
    assert kind == "bench"
    norms = []
    for seg, df in sim.imu.items():
        drawn = sim.details["errors"][seg]["uncalibrated"]
        gain, offset = np.array(drawn["acc_gain_diag"]), np.array(drawn["acc_offset"])
        assert np.all(np.abs(gain - 1) <= 0.3) and np.all(np.abs(offset) <= 1.5)
        t = df.t.to_numpy()
        ideal_acc, ideal_gyr = sim.ideal_readings(seg, t)
        np.testing.assert_allclose(
            _xyz(df, "ax ay az".split()), ideal_acc * gain + offset, atol=2e-5
        )  # drawn: 6 decimals
        g_off = np.degrees(drawn["gyr_offset"])
        assert np.all((np.abs(g_off) >= 2.0 - 1e-9) & (np.abs(g_off) <= 6.0))
        warm = np.degrees(_xyz(df, "gx gy gz".split()) - ideal_gyr) - g_off  # the drift alone
        tau = drawn["gyr_warmup_tau_s"]
        np.testing.assert_allclose(
            warm[-1], np.degrees(drawn["gyr_warmup"]) * (1 - math.exp(-(t[-1] - t[0]) / tau)), atol=1e-3
        )
        acc = _xyz(df, "ax ay az".split())
        standing = np.linalg.norm(acc[t < 2.5], axis=1)
        seated = np.linalg.norm(acc[(t > a + 2.5) & (t < b - 2.0)], axis=1)
        assert np.ptp(standing) < 1e-9 and np.ptp(seated) < 1e-9  # still in both
        assert 9.81 * 0.65 - 1.6 < standing[0] < 9.81 * 1.35 + 1.6
        norms += [standing[0], seated[0]]
        if seg == "thigh":  # turned by ~90 deg when seated: the magnitude depends on the posture
            assert abs(standing[0] - seated[0]) > 0.05
    assert max(abs(n - G) for n in norms) > 0.8  # far from 9.81 somewhere


def test_short_late_and_no_standing():
    """short: 0.3-1 s of standing, then the first move; late: the recording starts
    mid-movement, yet the truth is the bones' angle from upright -- re-derived here by
    integrating the gyro backwards from the stand at the end; none: never upright
    and still for a second."""
    short = simulate(_quiet(standing="short", seed=4))
    a = short.truth_angles
    first_move = a.t[(a.hip_deg.abs() > 1e-9)].iloc[0]
    assert 0.3 <= first_move <= 1.0
    assert len(short.truth_reps) == 3

    late = simulate(_quiet(standing="late", seed=5, reps=4, mounting={"thigh": "random", "lumbar": "random"}))
    a = late.truth_angles
    assert a.hip_deg.iloc[0] > 5 and abs(a.knee_ext_deg_s.iloc[0]) + abs(a.hip_ext_deg_s.iloc[0]) > 1
    assert 1 <= len(late.truth_reps) <= 4 and all(r["start_s"] > 0 for r in late.truth_reps)
    assert late.truth_reps[0]["index"] == 1
    for seg, col in (("thigh", "thigh_deg"), ("lumbar", "trunk_deg")):
        df = late.imu[seg]
        t, gyr = df.t.to_numpy(), _xyz(df, ["gx", "gy", "gz"])
        axis = np.linalg.svd(gyr, full_matrices=False)[2][0]
        rate = np.degrees(gyr @ axis)
        steps = np.concatenate([[0.0], rate[1:] * np.diff(t)])  # steps[k]: t[k-1] -> t[k]
        angle = -(np.cumsum(steps[::-1])[::-1] - steps)  # anchored at 0 at the last sample
        truth = np.interp(t, a.t, a[col])
        if np.corrcoef(angle, truth)[0, 1] < 0:
            angle = -angle
        assert abs(truth[-1]) < 3  # standing (about) upright at the end: the anchor
        assert np.abs(angle + truth[-1] - truth).max() < 0.02, seg  # truth_angles.csv: 1 kHz grid

    none = simulate(_quiet(standing="none", seed=6, reps=3, sets=2, rest_s=12.0))
    a = none.truth_angles
    upright_still = [
        (lo, hi) for lo, hi in _still_windows(a, 0.5, 0.0) if a.hip_deg[(a.t >= lo) & (a.t <= hi)].abs().max() < 10
    ]
    assert max(hi - lo for lo, hi in upright_still) < 1.0  # a rep's top hold at most
    assert a.hip_deg.abs().iloc[0] > 5 and len(none.details["walks"]) >= 2


def test_fidget_sways_the_standing_lifter_in_all_three_axes():
    """~2 deg of sway at 0.2-0.4 Hz: segment rates of a few deg/s in the truth while standing
    (not during the set), and the gyro turns about all three axes."""
    sim = simulate(_quiet(fidget_deg=2.0, seed=8, reps=2, end_stand_s=6.0))
    a = sim.truth_angles
    stand = a[a.t < sim.config.stand_s]
    for col, rate in (("trunk_deg", "hip_ext_deg_s"), ("thigh_deg", "knee_ext_deg_s")):
        assert 0.3 < stand[col].abs().max() < 4.0
        assert 0.5 < stand[rate].abs().max() < 10.0
    assert not _still_windows(a[a.t < sim.config.stand_s], 0.3, 0.5)  # never still for 0.5 s
    r = sim.truth_reps[0]
    plain = simulate(_quiet(seed=8, reps=2, end_stand_s=6.0))
    assert [x["pattern"] for x in sim.truth_reps] == [x["pattern"] for x in plain.truth_reps]
    gyr = np.degrees(_xyz(sim.imu["lumbar"][sim.imu["lumbar"].t < 2.5], ["gx", "gy", "gz"]))
    world = np.linalg.svd(gyr, compute_uv=False)
    assert world[2] / world[0] > 0.05  # not a single rotation axis: all three axes move
    assert r["start_s"] > sim.config.stand_s


def test_bench_jog_walk_and_bends_are_never_reps():
    """A session without lifts: walking, jogging (the hip passes 45 deg at every stride, in a
    fraction of a second), sitting down on a bench and standing up (the hip from far past
    45 deg to upright), small bends: no truth reps; the seated posture is still, the thigh
    near horizontal and the trunk near upright."""
    sim = simulate(_quiet(reps=0, sets=1, rest_s=36.0, rest_activities=["walk", "jog", "bench", "bend"], seed=9))
    assert sim.truth_reps == []
    kinds = [k for k, _, _ in sim.details["activities"]]
    assert kinds == ["walk", "jog", "bench", "bend"]
    a = sim.truth_angles
    spans = {k: (lo, hi) for k, lo, hi in sim.details["activities"]}
    lo, hi = spans["jog"]
    jog = a[(a.t > lo + 2) & (a.t < hi - 2)]
    assert jog.hip_deg.max() > 45 and jog.thigh_deg.min() < -5 and 4 < jog.trunk_deg.mean() < 11
    lo, hi = spans["bench"]
    seated = [(x, y) for x, y in _still_windows(a, 1e-6, 2.0) if lo < x and y < hi]
    assert seated
    x, y = seated[0]
    mid = a[(a.t > x) & (a.t < y)]
    assert 80 <= mid.thigh_deg.min() <= 95 and -3 <= mid.trunk_deg.max() <= 10
    assert a[(a.t > lo) & (a.t < hi)].hip_deg.max() > 100
    assert len(sim.details["walks"]) == 1
    with_lifts = simulate(_quiet(reps=2, sets=3, rest_s=20.0, rest_activities=["jog", "bench"], seed=9))
    assert len(with_lifts.truth_reps) == 6


def test_squat_has_an_inclined_shank_a_deep_thigh_and_a_more_upright_trunk():
    sim = simulate(_quiet(exercise="squat", patterns=ALL, reps=3, seed=10))
    assert [r["pattern"] for r in sim.truth_reps] == ALL
    for r in sim.truth_reps:
        assert 90 <= r["thigh_start_deg"] <= 100.001 and 20 <= r["trunk_start_deg"] <= 45.001
        shank = sim.motion.angles_deg(np.array([r["start_s"]]))["shank"].v[0]
        assert 25 * 90 / 95 <= shank <= 40 * 100 / 95
    dead = simulate(_quiet(patterns=ALL, reps=3, seed=10))
    shank_dl = max(dead.motion.angles_deg(np.array([r["start_s"]]))["shank"].v[0] for r in dead.truth_reps)
    assert shank_dl < 15
    # no set-up stop at the bottom: the first squat turns straight from the descent
    a, r = sim.truth_angles, sim.truth_reps[0]
    before = a[(a.t > r["start_s"] - 0.3) & (a.t < r["start_s"])]
    assert np.ptp(before.hip_deg) > 1.0


def test_a_continuous_set_comes_up_short_between_reps_and_stands_tall_after_the_last():
    """``top_short_deg``: between reps the hip comes back only to 0.7-1.3 times it (real
    squat sets: 14-19 deg); each set's last rep stands tall; every rep is still in the truth."""
    cfg = _quiet(exercise="squat", patterns=ALL, reps=4, sets=2, seed=12, top_short_deg=16.0)
    sim = simulate(cfg)
    assert len(sim.truth_reps) == 8
    a = sim.truth_angles
    for r in sim.truth_reps:
        top = float(np.interp(r["lockout_s"], a.t, a.hip_deg))
        last = r["index"] in (4, 8)
        assert (top < 6.0) if last else (0.7 * 16.0 - 6.0 < top < 1.3 * 16.0 + 6.0), (r["index"], top)
    plain = simulate(_quiet(exercise="squat", patterns=ALL, reps=4, sets=2, seed=12))
    tops = [
        float(np.interp(r["lockout_s"], plain.truth_angles.t, plain.truth_angles.hip_deg)) for r in plain.truth_reps
    ]
    assert max(tops) < 6.0


def test_physics_stays_exact_with_every_realism_motion():
    """Jogging, sitting, fidgeting and a late start move the sensors by the same physics:
    the readings are the interval means of the positions and orientations."""
    sim = simulate(
        SimConfig(
            reps=2,
            sets=2,
            seed=12,
            noise="off",
            wobble=1.0,
            standing="late",
            fidget_deg=2.0,
            rest_s=20.0,
            rest_activities=["jog", "bench"],
            rates_hz={"thigh": 110.0, "lumbar": 52.0},
        )
    )
    for seg, df in sim.imu.items():
        t = df.t.to_numpy()
        acc, gyr = _interval_means(sim, seg, t)
        assert np.abs(gyr - _xyz(df, ["gx", "gy", "gz"])).max() < 1e-9
        assert np.abs(acc - _xyz(df, ["ax", "ay", "az"])).max() < (0.05 if seg == "thigh" else 0.01)
