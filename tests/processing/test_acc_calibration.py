"""An uncalibrated accelerometer's gains and offsets, fitted from the recording's still
postures and the gyro's turns between them, against the simulator's drawn errors."""

from __future__ import annotations

import numpy as np
import pytest

from processing import acc_calibration
from processing.angles import _arrays, angles_from_segments
from processing.simulator import SimConfig, simulate
from processing.stillness import sensor_stillness


def _rmse(res, sim, col):
    f, tr = res.frames, sim.truth_angles
    return float(np.sqrt(np.mean((f[col].to_numpy() - np.interp(f.t, tr.t, tr[col])) ** 2)))


@pytest.fixture(scope="module")
def uncalibrated():
    # Two sets with a bench between them: standing, set-up, seated and top postures.
    return simulate(
        SimConfig(reps=3, sets=2, seed=5, acc_scale_max=0.3, acc_offset_max=2.0, rest_s=20.0, rest_activities=["bench"])
    )


def test_fit_finds_the_drawn_gains_and_offsets_in_the_sagittal_plane(uncalibrated):
    sim = uncalibrated
    for seg in ("thigh", "lumbar"):
        t, acc, gyr = _arrays(sim.imu[seg])
        st = sensor_stillness(t, acc, gyr)
        cal = acc_calibration.fit(t, acc, gyr - st.gyr_offset, st.still)
        assert cal is not None, seg
        truth = sim.details["errors"][seg]["uncalibrated"]
        gain, offset = np.array(truth["acc_gain_diag"]), np.array(truth["acc_offset"])
        # What matters: gravity as the corrected sensor sees it in the postures it took.
        still = acc[st.still]
        true_f = (still - offset) / gain
        fitted_f = cal.apply(still)
        err = np.degrees(
            np.arccos(
                np.clip(
                    np.einsum("ij,ij->i", true_f, fitted_f)
                    / np.linalg.norm(true_f, axis=1)
                    / np.linalg.norm(fitted_f, axis=1),
                    -1,
                    1,
                )
            )
        )
        raw = np.degrees(
            np.arccos(
                np.clip(
                    np.einsum("ij,ij->i", true_f, still)
                    / np.linalg.norm(true_f, axis=1)
                    / np.linalg.norm(still, axis=1),
                    -1,
                    1,
                )
            )
        )
        assert np.median(err) < 0.5 * np.median(raw), seg


def test_the_angles_with_uncalibrated_accelerometers_are_better_than_without_the_fit(uncalibrated, monkeypatch):
    sim = uncalibrated
    fitted = angles_from_segments(sim.imu)
    assert all(v is not None for v in fitted.calibration.accelerometers.values())
    monkeypatch.setattr(acc_calibration, "fit", lambda *a: None)
    raw = angles_from_segments(sim.imu)
    for col in ("trunk_deg", "thigh_deg"):
        assert _rmse(fitted, sim, col) < 1.0
        assert _rmse(fitted, sim, col) < _rmse(raw, sim, col), col


@pytest.mark.parametrize("config", ["bench rests", "lifts only", "no stand"])
def test_a_calibrated_accelerometer_is_left_alone(config):
    # (lifts only: the lower back's carried "still" runs read 1-1.5 m/s^2 off gravity, which
    # a fit once took for gains and offsets that made the trunk 4x worse; no stand: set
    # aside one carried run, a fit found an offset of 6.9 m/s^2, the trunk 18 deg off)
    if config == "bench rests":
        sim = simulate(SimConfig(reps=3, sets=2, seed=5, rest_s=20.0, rest_activities=["bench"]))
    else:
        sim = simulate(
            SimConfig(
                patterns=["knee-first", "simultaneous", "hips-rise-early"],
                reps=5,
                sets=2,
                rest_s=15.0,
                seed=4000 if config == "lifts only" else 4504,
                noise="typical",
                standing="still" if config == "lifts only" else "none",
            )
        )
    res = angles_from_segments(sim.imu)
    assert res.calibration.accelerometers == {"thigh": None, "lumbar": None}


def _lifts_only(seed, standing="short"):
    """Two sets of deadlifts after 0.9 s of standing (``still``: 3 s), 15 s of standing
    between them, on uncalibrated sensors (gains up to +-35 %, offsets up to 1.5 m/s^2 per
    axis)."""
    return simulate(
        SimConfig(
            patterns=["knee-first", "simultaneous", "hips-rise-early"],
            reps=5,
            sets=2,
            rest_s=15.0,
            seed=seed,
            noise="typical",
            standing=standing,
            acc_scale_max=0.35,
            acc_offset_max=1.5,
            gyro_offset_deg_s=6.0,
            gyro_warmup_deg_s=3.0,
        )
    )


def _assert_the_lower_backs_fit_halves_the_trunk_error(sim, monkeypatch):
    """The lower back's accelerometer is fitted, and its trunk angles are under 1 deg RMSE
    and under half of what they are without the fit."""
    res = angles_from_segments(sim.imu)
    assert res.calibration.accelerometers["lumbar"] is not None
    monkeypatch.setattr(acc_calibration, "fit", lambda *a: None)
    raw = angles_from_segments(sim.imu)
    assert _rmse(res, sim, "trunk_deg") < min(1.0, 0.5 * _rmse(raw, sim, "trunk_deg"))


def test_a_lower_back_carried_by_moving_hips_is_no_posture_for_its_fit(monkeypatch):
    # Between reps the lower back holds its angle for a moment while the hips drop or rise:
    # no turn, so "still", but accelerating at 1-1.5 m/s^2. Taken as postures, such runs
    # left no fit standing, and the trunk 4-5 deg off; at rest with the thighs, the fit holds.
    sim = _lifts_only(4000)
    _assert_the_lower_backs_fit_halves_the_trunk_error(sim, monkeypatch)


def test_a_carried_run_among_the_postures_is_set_aside(monkeypatch):
    # One of the lower back's 14 "still" runs was carried (|acc| 10.4 where the stand reads
    # 12.4): with it the fit explained nothing to within the noise and was refused, the
    # trunk 7.7 deg off; without it the gains come out within 5 % and the trunk under 1 deg.
    sim = _lifts_only(14502)
    _assert_the_lower_backs_fit_halves_the_trunk_error(sim, monkeypatch)


def test_a_fit_the_postures_cannot_pin_down_is_not_used(monkeypatch):
    # Deadlifts with only standing between sets: the lower back turns about one axis only and
    # holds still upright or at a few bottoms, so its gains and offsets trade against each
    # other. A fit there once shrank the turn residuals with a wrong calibration (offsets of
    # 2-8 m/s^2) and made the trunk 3-4 times worse than no correction at all.
    sim = _lifts_only(4001)
    res = angles_from_segments(sim.imu)
    monkeypatch.setattr(acc_calibration, "fit", lambda *a: None)
    raw = angles_from_segments(sim.imu)
    assert _rmse(res, sim, "trunk_deg") <= _rmse(raw, sim, "trunk_deg") + 0.1


def test_a_lower_back_that_only_hinges_is_fitted_when_its_postures_pin_it_to_3_deg(monkeypatch):
    # Two sets of deadlifts, standing between them, gains off by up to 35 %: the lower back's
    # stand and set-ups pin gravity's direction to 2-2.5 deg, not 1.5. Unused, the fit left
    # the trunk 3.5 deg off (the uncorrected gains); used, under 1 deg.
    sim = _lifts_only(6007, standing="still")
    _assert_the_lower_backs_fit_halves_the_trunk_error(sim, monkeypatch)
