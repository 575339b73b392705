"""Offline rep detection against the virtual lifter's truth (processing/simulator.py).

Two levels: on the simulator's exact angle curves the detector must reproduce every truth
field (same definitions, so essentially exactly); from the simulated IMU data through
``analyze`` (``compute_angles`` + ``detect_reps`` + gap marks) it must find every rep, classify it, and time the onsets within a few ms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from processing.analysis import analyze
from processing.angles import compute_angles
from processing.recording import Recording
from processing.reps import REP_FIELDS, RepThresholds, detect_reps, summarize
from processing.samples import ANGLE_COLUMNS
from processing.simulator import SimConfig, simulate

ALL = ["knee-first", "simultaneous", "hips-rise-early"]


def imu_reps(sim, thresholds=None):
    rec = Recording(path="sim", meta=sim.meta, segments=sim.imu)
    return analyze(rec, thresholds or RepThresholds()).reps


def assert_matches_truth(reps, truth, onset_ms: float, lag_ms: float):
    assert len(reps) == len(truth), [(r.start_s, r.pattern) for r in reps]
    for r, t in zip(reps, truth):
        assert (r.index, r.set, r.pattern) == (t["index"], t["set"], t["pattern"]), (
            r,
            t,
        )
        assert abs(r.knee_onset_s - t["knee_onset_s"]) * 1000 <= onset_ms, (r, t)
        assert abs(r.hip_onset_s - t["hip_onset_s"]) * 1000 <= onset_ms, (r, t)
        assert abs(r.hip_lag_ms - t["hip_lag_ms"]) <= lag_ms, (r, t)
        # The start lies on the bottom; from a dead stop (every first rep's set-up) that is
        # the end of a flat plateau, which the reported tempo depends on. Start and lockout
        # sit on flat extrema, so under noise they are good to a tenth of a second or two.
        assert abs(r.start_s - t["start_s"]) <= 0.25, (r, t)
        assert abs(r.concentric_s - t["concentric_s"]) <= 0.25, (r, t)


@pytest.mark.parametrize(
    "cfg",
    [
        SimConfig(patterns=ALL, reps=6, sets=3, noise="off", seed=1),  # touch-and-go, mixed sets
        SimConfig(
            patterns=ALL,
            reps=4,
            sets=2,
            noise="off",
            seed=2,
            pause_s=1.5,
            truth_rate_hz=200,
        ),
        SimConfig(
            patterns=ALL,
            reps=3,
            sets=3,
            noise="off",
            seed=3,
            walk_first_s=10,
            rest_s=25,
            walk_rest=True,
            truth_rate_hz=100,
        ),
    ],
    ids=["touch-and-go-1kHz", "dead-stop-200Hz", "walking-100Hz"],
)
def test_truth_angles_reproduce_truth_reps(cfg):
    sim = simulate(cfg)
    reps = detect_reps(sim.truth_angles)
    truth = sim.truth_reps
    assert len(reps) == len(truth) == cfg.reps * cfg.sets
    for r, t in zip(reps, truth):
        d = r.to_dict()
        assert set(d) == set(REP_FIELDS) and set(t) <= set(d)
        assert (d["index"], d["set"], d["pattern"]) == (
            t["index"],
            t["set"],
            t["pattern"],
        )
        frame = 1.0 / cfg.truth_rate_hz  # truth is measured on >= 1 kHz; frames are coarser
        for f in ("start_s", "lockout_s"):  # extrema sit on frames
            assert abs(d[f] - t[f]) <= frame + 1e-9, (f, d[f], t[f])
        # Interpolated crossings; the zero-lag low-pass that removes soft-tissue ringing from
        # measured velocities rounds the exact onsets by at most ~2 ms.
        for f in ("knee_onset_s", "knee_end_s", "hip_onset_s", "hip_end_s"):
            assert abs(d[f] - t[f]) <= 0.0025, (f, d[f], t[f])
        assert abs(d["hip_lag_ms"] - t["hip_lag_ms"]) < 2.0
        assert abs(d["knee_done_at_hip_onset_pct"] - t["knee_done_at_hip_onset_pct"]) < 1.0
        assert abs(d["trunk_lean_change_deg"] - t["trunk_lean_change_deg"]) < 0.05
        assert abs(d["peak_knee_ext_deg_s"] - t["peak_knee_ext_deg_s"]) < 1.0
        assert abs(d["hip_start_deg"] - t["hip_start_deg"]) < 0.05
        assert d["cue"]


@pytest.mark.parametrize("pattern", ALL)
def test_each_pattern_from_imu(pattern):
    sim = simulate(SimConfig(patterns=[pattern], reps=5, noise="typical", seed=11))
    reps = imu_reps(sim)
    assert [r.pattern for r in reps] == [pattern] * 5
    assert_matches_truth(reps, sim.truth_reps, onset_ms=20.0, lag_ms=20.0)
    for f in (
        "knee_onset_s",
        "hip_onset_s",
    ):  # issue 4 target at typical noise: MAE <= 5 ms
        assert np.mean([abs(r.to_dict()[f] - t[f]) for r, t in zip(reps, sim.truth_reps)]) <= 0.005


def test_mixed_sets_with_walking_high_noise():
    sim = simulate(
        SimConfig(
            patterns=ALL,
            reps=4,
            sets=3,
            noise="high",
            seed=5,
            walk_first_s=8,
            rest_s=20,
            walk_rest=True,
            rates_hz={"thigh": 52.0, "lumbar": 104.0},
        )
    )
    reps = imu_reps(sim)
    assert_matches_truth(reps, sim.truth_reps, onset_ms=25.0, lag_ms=30.0)
    assert [r.set for r in reps] == [1] * 4 + [2] * 4 + [3] * 4


def test_dropout_inside_a_rep_is_marked_and_rep_still_reported():
    sim = simulate(SimConfig(patterns=["knee-first"], reps=4, noise="typical", seed=7))
    t2 = sim.truth_reps[1]
    a, b = (
        t2["start_s"] + 0.15,
        t2["start_s"] + 0.45,
    )  # 0.3 s of lumbar samples lost mid-pull
    imu = dict(sim.imu)
    lum = imu["lumbar"]
    imu["lumbar"] = lum[(lum.t < a) | (lum.t >= b)].reset_index(drop=True)
    reps = analyze(Recording(path="sim", meta=sim.meta, segments=imu)).reps
    assert len(reps) == 4
    assert [r.gap for r in reps] == [False, True, False, False]
    assert reps[1].pattern == "knee-first"
    assert abs(reps[1].knee_onset_s - t2["knee_onset_s"]) < 0.02  # the knee onset precedes the gap


@pytest.mark.parametrize("where", ["concentric", "bottom", "top"])
def test_a_rep_hidden_in_a_long_gap_is_not_counted(where):
    """Both sensors silent for 1.5 s over most of a rise, its bottom or its top: the rise is
    not seen, so it cannot be judged (a jump could hide there); the other reps still count,
    and a 0.3 s dropout (above) does not hide one."""
    sim = simulate(SimConfig(patterns=["knee-first"], reps=4, noise="typical", seed=7))
    t2 = sim.truth_reps[1]
    a = {"concentric": t2["start_s"] - 0.2, "bottom": t2["start_s"] - 1.3, "top": t2["lockout_s"] - 0.2}[where]
    imu = {seg: df[(df.t < a) | (df.t >= a + 1.5)].reset_index(drop=True) for seg, df in sim.imu.items()}
    reps = analyze(Recording(path="sim", meta=sim.meta, segments=imu)).reps
    others = [t["lockout_s"] for t in sim.truth_reps if t is not t2]
    assert len(reps) == len(others), [r.lockout_s for r in reps]
    assert all(abs(r.lockout_s - t) < 0.25 for r, t in zip(reps, others))


def test_simulated_dropouts_agree_with_truth_gap_flags():
    sim = simulate(SimConfig(patterns=ALL, reps=4, sets=2, noise="typical", seed=8, dropouts=6))
    reps = imu_reps(sim)
    assert len(reps) == len(sim.truth_reps)
    truth_gaps = [t["gap"] for t in sim.truth_reps]
    assert any(truth_gaps)
    # A dropout after a set's last lockout confirmation but before the truth's end_s (the
    # rest start, invisible in the data) cannot be seen; everything else must agree.
    for r, t in zip(reps, sim.truth_reps):
        if t["gap"] and not r.gap:
            assert t["index"] == max(u["index"] for u in sim.truth_reps if u["set"] == t["set"])
        else:
            assert r.gap == t["gap"]


def test_no_reps_standing_and_walking():
    sim = simulate(SimConfig(patterns=["knee-first"], reps=1, noise="typical", seed=9, walk_first_s=20))
    first_descent = sim.truth_reps[0]["start_s"] - 3.5  # set-up 1.5 s + descent 1.6 s before
    imu = {s: df[df.t < first_descent].reset_index(drop=True) for s, df in sim.imu.items()}
    rec = Recording(path="sim", meta=sim.meta, segments=imu)
    frames = compute_angles(rec).frames
    assert frames.hip_deg.max() > 25  # the walk swings the thigh
    assert detect_reps(frames) == []
    assert summarize([])["reps"] == 0


def _synthetic(segments: list[tuple[float, float, float]], rate=100.0) -> pd.DataFrame:
    """Angle frames moving hip_deg through (duration, from, to) minimum-jerk segments; trunk
    and thigh share the flexion equally. Ground truth by construction."""
    t, hip = [0.0], [0.0]
    for dur, a, b in segments:
        tt = np.arange(1, round(dur * rate) + 1) / rate
        u = tt / dur
        hip.extend(a + (b - a) * (10 * u**3 - 15 * u**4 + 6 * u**5))
        t.extend(t[-1] + tt)
    t, hip = np.array(t), np.array(hip)
    half = hip / 2
    vel = -np.gradient(half, t)
    return pd.DataFrame(dict(zip(ANGLE_COLUMNS, (t, half, half, hip, vel, vel))))


def test_partial_pulls_small_bends_are_not_reps_and_a_full_pull_is():
    frames = _synthetic(
        [
            (2.0, 0, 0),
            (1.0, 0, 40),
            (1.0, 40, 0),
            (1.0, 0, 0),  # bend to 40: too shallow
            (1.0, 0, 90),
            (1.0, 90, 30),
            (1.0, 30, 0),  # slows down at 30 on the way up: one rep
            (2.0, 0, 0),
            (1.0, 0, 90),
            (1.0, 90, 30),
            (1.0, 30, 90),
            (1.0, 90, 0),  # partial, then full: one rep
            (2.0, 0, 0),
            (1.0, 0, 90),
            (1.0, 90, 35),
            (2.0, 35, 35),
            (1.0, 35, 90),
            (2.0, 90, 90),  # never up (35 deg: neither near upright nor a quarter of 90)
            (1.0, 90, 10),
            (2.0, 10, 10),
            (1.0, 10, 40),
            (1.0, 40, 10),
            (2.0, 10, 10),  # from 40 only: not a rep
        ]
    )
    reps = detect_reps(frames)
    starts = [round(r.start_s, 2) for r in reps]
    # rep 1: bottom at 6 s; rep 2: the second bottom (13 s); rep 3: from the 90 deg hold
    # (last time at the bottom maximum, 23 s) to 10 deg.
    assert starts == [6.0, 13.0, 23.0]
    assert [r.lockout_s for r in reps] == pytest.approx([8.0, 14.0, 24.0])
    assert [r.set for r in reps] == [1, 1, 2]  # 9 s between rep 2's lockout and rep 3


def test_a_recording_that_begins_seated_and_stands_up_has_no_rep():
    """Seated on a bench (thigh 82 deg, trunk 9 deg) when the recording starts, then a lean and
    a stand-up: no time before the rise shows how long the lifter sat, but a recording that
    begins seated has sat as long as anyone knows. The same rise after 2 s of a squat-depth
    hold with the trunk forward is a rep."""
    t = np.arange(0, 600) / 100.0

    def frames(trunk_start: float, hold_s: float) -> pd.DataFrame:
        def ease(a: float, b: float, x: np.ndarray) -> np.ndarray:
            return a + (b - a) * np.clip(x, 0, 1) ** 2 * (3 - 2 * np.clip(x, 0, 1))

        trunk = np.where(
            t < hold_s + 0.25, ease(trunk_start, 35, (t - hold_s) / 0.25), ease(35, 0, (t - hold_s - 0.25) / 1.0)
        )
        thigh = ease(82, 0, (t - hold_s - 0.3) / 0.7)
        hip = trunk + thigh
        return pd.DataFrame(
            dict(zip(ANGLE_COLUMNS, (t, trunk, thigh, hip, -np.gradient(thigh, t), -np.gradient(trunk, t))))
        )

    assert detect_reps(frames(9.0, 0.0)) == []
    assert len(detect_reps(frames(35.0, 2.0))) == 1


def test_standing_up_from_a_bench_is_not_a_rep_under_a_reference_still_off():
    """Stand, sit down on a bench for 3 s (thigh 85 deg, trunk 7 deg), lean and stand up. Live,
    before any still stand, the upright reference may sit well off: here every trunk angle
    reads 14 deg too far forward (the seated trunk 21 deg, past the seated limit taken
    alone). The seat is judged against the trunk at the top of the same rise, so it is still
    a seat. A squat held as long at the bottom, trunk 35 deg forward, is a rep either way."""
    t = np.arange(0, 1000) / 100.0

    def ease(a: float, b: float, x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0, 1)
        return a + (b - a) * x**2 * (3 - 2 * x)

    def frames(bottom_trunk: float, offset: float) -> pd.DataFrame:
        thigh = np.where(t < 5.0, ease(0, 85, (t - 1.0) / 1.0), ease(85, 0, (t - 5.3) / 0.8))
        trunk = np.where(
            t < 5.0,
            ease(0, bottom_trunk, (t - 1.0) / 1.0),
            np.where(t < 5.3, ease(bottom_trunk, 35, (t - 5.0) / 0.3), ease(35, 0, (t - 5.3) / 1.0)),
        )
        trunk = trunk + offset
        return pd.DataFrame(
            dict(zip(ANGLE_COLUMNS, (t, trunk, thigh, trunk + thigh, -np.gradient(thigh, t), -np.gradient(trunk, t))))
        )

    for offset in (0.0, 14.0):
        assert detect_reps(frames(7.0, offset)) == [], offset
        assert len(detect_reps(frames(35.0, offset))) == 1, offset


def test_an_upright_squat_bottom_is_not_a_seat():
    """A goblet or front squat keeps the trunk under 20 deg; its bottom passes through the
    seated posture (thigh past horizontal, trunk upright) turning fast, not held by a seat:
    every rep counts (the posture alone had vetoed them)."""
    f = _synthetic([(2.0, 0, 0)] + [(1.0, 0, 120), (0.7, 120, 0), (0.4, 0, 0)] * 3 + [(2.0, 0, 0)])
    f["trunk_deg"], f["thigh_deg"] = 0.16 * f.hip_deg, 0.84 * f.hip_deg
    f["knee_ext_deg_s"], f["hip_ext_deg_s"] = -np.gradient(f.thigh_deg, f.t), -np.gradient(f.trunk_deg, f.t)
    assert len(detect_reps(f)) == 3


def test_a_squat_against_a_reference_taken_at_a_short_top_still_counts():
    """Live, a continuous squat set's short top held still for 0.5 s is taken for upright:
    the tops then read 10 deg behind it and the pelvis at the bottom 13 deg instead of 23.
    The lean is judged from that top: every rep counts. Strides with the same lean (from
    upright, the top not behind it) still do not."""
    f = _synthetic([(2.0, 0, 0)] + [(1.0, 0, 120), (0.9, 120, 0), (0.5, 0, 0)] * 3 + [(2.0, 0, 0)])
    f["trunk_deg"] = 23.0 * f.hip_deg / 120.0 - 10.0
    f["thigh_deg"] = f.hip_deg - 23.0 * f.hip_deg / 120.0 - 5.0
    f["hip_deg"] = f.trunk_deg + f.thigh_deg
    f["knee_ext_deg_s"], f["hip_ext_deg_s"] = -np.gradient(f.thigh_deg, f.t), -np.gradient(f.trunk_deg, f.t)
    assert len(detect_reps(f)) == 3
    assert detect_reps(_strides(trunk_deg=13.0, rise_s=0.8)) == []


def _strides(trunk_deg: float, rise_s: float, n: int = 8, rate: float = 100.0) -> pd.DataFrame:
    """Frames of a thigh swinging 0 -> 65 -> 0 deg with the trunk leaning along up to
    ``trunk_deg``; ``rise_s`` is the time from the swing's peak back to 0."""
    t, thigh = [0.0], [0.0]
    for dur, a, b in [(2.0, 0, 0)] + [(0.35, 0, 65), (rise_s, 65, 0), (0.15, 0, 0)] * n + [(2.0, 0, 0)]:
        tt = np.arange(1, round(dur * rate) + 1) / rate
        u = tt / dur
        thigh.extend(a + (b - a) * (10 * u**3 - 15 * u**4 + 6 * u**5))
        t.extend(t[-1] + tt)
    t, thigh = np.array(t), np.array(thigh)
    trunk = trunk_deg * thigh / 65.0
    knee, hip_ext = -np.gradient(thigh, t), -np.gradient(trunk, t)
    return pd.DataFrame(dict(zip(ANGLE_COLUMNS, (t, trunk, thigh, trunk + thigh, knee, hip_ext))))


def test_running_strides_are_not_reps():
    # Running: the thigh alone takes the hip past 45 deg, trunk near upright.
    assert detect_reps(_strides(trunk_deg=8.0, rise_s=0.2)) == []
    # A sprint start leans the trunk well forward, but a stride swings back in ~0.2 s.
    assert detect_reps(_strides(trunk_deg=35.0, rise_s=0.2)) == []
    # The same excursions at a lifting pace with the trunk forward are reps.
    assert len(detect_reps(_strides(trunk_deg=35.0, rise_s=0.8))) == 8
    # ... and at a fast one (0.55 s up: a speed pull, a quick bodyweight squat) ...
    assert len(detect_reps(_strides(trunk_deg=35.0, rise_s=0.55))) == 8
    # ... but not at a jump's push-off (0.4 s from the bottom to take-off, flight unseen).
    assert detect_reps(_strides(trunk_deg=35.0, rise_s=0.4)) == []


def test_a_lockout_read_15_deg_back_at_the_thigh_is_still_a_lockout():
    # Live, on an uncalibrated accelerometer before its fit, the filter carries the
    # distorted gravity of the bottom up to the top: the thigh reads 13-16 deg back at the
    # lockout (simulated +-35 % gains). A stride's push-off swings it 25-50 deg back.
    f = _strides(trunk_deg=35.0, rise_s=0.8)
    f["thigh_deg"] -= 15.0 * (1.0 - f.thigh_deg / 65.0)  # 15 deg back at the top, none at the bottom
    f["hip_deg"] = f.trunk_deg + f.thigh_deg
    assert len(detect_reps(f)) == 8


def _running(lean_deg: float, period_s: float, seconds: float = 30.0, rate: float = 100.0) -> pd.DataFrame:
    """Frames of running (or stair climbing) with a forward lean: the thigh swings from 50 deg
    of flexion to 20 deg behind vertical each stride, the trunk keeps its lean (+-2 deg, twice
    per stride), after 2 s of standing."""
    t = np.arange(0.0, seconds, 1 / rate)
    legs = np.clip(t - 2.0, 0, 1)
    lean = np.clip(t - 1.0, 0, 1)
    phase = 2 * np.pi * t / period_s
    thigh = legs * (15.0 + 35.0 * np.sin(phase))
    trunk = lean * lean_deg + legs * 2.0 * np.sin(2 * phase)
    knee, hip_ext = -np.gradient(thigh, t), -np.gradient(trunk, t)
    return pd.DataFrame(dict(zip(ANGLE_COLUMNS, (t, trunk, thigh, trunk + thigh, knee, hip_ext), strict=True)))


@pytest.mark.parametrize("lean_deg", [18.0, 28.0])
@pytest.mark.parametrize("period_s", [0.8, 1.0])
def test_leaning_strides_at_a_lifting_pace_are_not_reps(lean_deg, period_s):
    # Hip flexion past 45 deg, the trunk well forward and a hip extension of 0.4-0.5 s: only
    # the trunk staying forward (a lifter stands up) tells these strides from reps. (Coming
    # to a stop, a runner who straightens up from a deep lean may still look like one rep.)
    frames = _running(lean_deg, period_s)
    assert frames["hip_deg"].max() > 60 and frames["hip_deg"].min() < 15  # bottom and top zones
    assert detect_reps(frames) == []


def test_summary_reports_patterns_and_the_trend():
    patterns = ["knee-first"] * 3 + ["hips-rise-early"] * 3
    sim = simulate(SimConfig(patterns=patterns, reps=6, noise="typical", seed=21))
    reps = imu_reps(sim)
    s = summarize(reps)
    assert s["patterns"] == {"knee-first": 3, "simultaneous": 0, "hips-rise-early": 3}
    (set1,) = s["sets"]
    truth_lag = [t["hip_lag_ms"] for t in sim.truth_reps]
    assert set1["hip_lag_ms"]["mean"] == pytest.approx(np.mean(truth_lag), abs=5)
    assert set1["hip_lag_ms"]["sd"] == pytest.approx(np.std(truth_lag, ddof=1), abs=5)
    assert set1["trend"] and "hips rose early from rep 4 on" in set1["trend"]
    assert set1["reps_per_min"] > 10

    steady = summarize(imu_reps(simulate(SimConfig(patterns=["knee-first"], reps=6, noise="typical", seed=22))))
    assert steady["sets"][0]["patterns"]["knee-first"] == 6
    assert steady["sets"][0]["trend"] is None


def test_thresholds_change_the_classification():
    sim = simulate(SimConfig(patterns=["hips-rise-early"], reps=3, noise="off", seed=4))
    leans = [t["trunk_lean_change_deg"] for t in sim.truth_reps]
    strict = RepThresholds(lean_deg=max(leans) + 1)  # no rep leans that far
    assert all(r.pattern != "hips-rise-early" for r in detect_reps(sim.truth_angles, strict))
    assert all(r.pattern == "hips-rise-early" for r in detect_reps(sim.truth_angles))


def test_summary_names_a_form_breakdown_from_the_mixed_example():
    patterns = [
        "knee-first",
        "knee-first",
        "simultaneous",
        "hips-rise-early",
        "hips-rise-early",
    ]
    sim = simulate(SimConfig(patterns=patterns, reps=5, noise="typical", seed=23))
    assert [t["pattern"] for t in sim.truth_reps] == patterns
    trend = summarize(imu_reps(sim))["sets"][0]["trend"]
    assert trend == ("knee drive broke down from rep 3 on (hips and knees together, then hips rose early)")


def test_tops_short_of_upright_count_when_the_lifter_comes_back_most_of_the_way():
    """A continuous squat set whose lifter stands up only to 17-19 deg of hip flexion between
    reps (domain.md: real sets do): every rep counts, judged against the bottom (a quarter of
    100 deg); a rise that stops half way (to 50 deg) does not."""
    legs = [(2.0, 0, 0)]
    for top in (18, 19, 17, 18):
        legs += [(1.0, legs[-1][2], 100), (1.2, 100, top), (0.8, top, top)]
    legs += [(1.0, 18, 100), (1.0, 100, 50), (1.0, 50, 100), (1.2, 100, 0), (2.0, 0, 0)]
    reps = detect_reps(_synthetic(legs))
    assert len(reps) == 5
    assert [round(r.lockout_s - r.start_s, 2) for r in reps][:4] == [1.2] * 4
