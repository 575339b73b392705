"""Orientation fusion against the BROAD optical reference (real IMU data, Laidig et al. 2021,
CC BY 4.0): the offline and online paths, and real-timestamp trouble (rate error, jitter,
short and long gaps) which the dataset itself does not have, so it is added here."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from processing.fusion import OnlineOrientation, fuse_offline, fuse_offline_reduced, orientation_offline
from tests.helpers import broad_trials


def inclination_rmse_deg(q: np.ndarray, ref: np.ndarray) -> float:
    """BROAD's 6D score (its README): d = q * conj(ref), error = 2 acos(sqrt(dw^2 + dz^2))."""
    w1, x1, y1, z1 = q.T
    w2, x2, y2, z2 = ref.T
    dw = w1 * w2 + x1 * x2 + y1 * y2 + z1 * z2
    dz = -w1 * z2 - x1 * y2 + y1 * x2 + z1 * w2
    err = 2 * np.arccos(np.clip(np.sqrt(dw**2 + dz**2), 0, 1))
    return float(np.degrees(np.sqrt(np.mean(err**2))))


def load_trial(path):
    m = scipy.io.loadmat(path, squeeze_me=True)
    fs = float(m["sampling_rate"])
    ref = np.asarray(m["opt_quat"], float)
    scored = np.asarray(m["movement"], bool) & np.isfinite(ref).all(axis=1)
    t = np.arange(len(m["imu_gyr"])) / fs
    return t, np.asarray(m["imu_acc"], float), np.asarray(m["imu_gyr"], float), ref, scored


def trials():
    return broad_trials()


def push_in_batches(o: OnlineOrientation, t, acc, gyr, rng) -> np.ndarray:
    out, i = [], 0
    while i < len(t):
        n = int(rng.integers(1, 100))
        _, _, res = o.push(t[i : i + n], acc[i : i + n], gyr[i : i + n])
        out.append(res.quat)
        i += n
    return np.vstack(out)


def test_broad_inclination_offline_and_online():
    rng = np.random.default_rng(0)
    off, on, reduced = [], [], []
    for path in trials():
        t, acc, gyr, ref, s = load_trial(path)
        q_off = orientation_offline(t, acc, gyr)
        q_on = push_in_batches(OnlineOrientation(), t, acc, gyr, rng)
        assert q_off.shape == q_on.shape == (len(t), 4)
        off.append(inclination_rmse_deg(q_off[s], ref[s]))
        on.append(inclination_rmse_deg(q_on[s], ref[s]))
        # compute_angles' reduced-rate fusion (pairs of samples here): scored at pair ends
        t_q, res = fuse_offline_reduced(t, acc, gyr, 100.0)
        assert len(t_q) == (len(t) + 1) // 2
        at = np.searchsorted(t, t_q)
        np.testing.assert_array_equal(t[at], t_q)
        reduced.append(inclination_rmse_deg(res.quat[s[at]], ref[at][s[at]]))
    # issue 3 targets: 0.55 deg offline, 0.75 deg online (mean over the trials)
    assert np.mean(off) <= 0.55, off
    assert np.mean(on) <= 0.75, on
    assert max(off) < 1.2 and max(on) < 2.0
    assert np.mean(reduced) <= 0.6, reduced


def test_real_timestamps_rate_error_jitter_and_gaps():
    """A fast-rotation trial on a clock running 0.3 % off, with timestamp jitter, lost
    packets (filled) and a 0.5 s dropout (restart): the error stays near the clean one."""
    path = next((p for p in trials() if p.name.startswith("06_")), trials()[0])
    t, acc, gyr, ref, s = load_trial(path)
    clean = inclination_rmse_deg(orientation_offline(t, acc, gyr)[s], ref[s])
    rng = np.random.default_rng(1)
    ts = (t[1] - t[0]) * 1.003
    t_real = np.arange(len(t)) * ts + rng.uniform(-0.15, 0.15, len(t)) * ts
    keep = np.ones(len(t), bool)
    for start in rng.choice(np.arange(2000, len(t) - 2000), 30, replace=False):
        keep[start : start + int(rng.integers(1, 8))] = False  # lost BLE packets
    long_gap = slice(len(t) // 2, len(t) // 2 + int(0.5 / ts))
    keep[long_gap] = False
    tk, ak, gk, rk, sk = t_real[keep], acc[keep], gyr[keep], ref[keep], s[keep]

    res = fuse_offline(tk, ak, gk)
    assert res.quat.shape == (keep.sum(), 4)
    assert res.run.max() == 1  # exactly one restart: at the long gap
    assert inclination_rmse_deg(res.quat[sk], rk[sk]) < clean + 0.3

    t_q, red = fuse_offline_reduced(tk, ak, gk, 100.0)  # pairs, across filled gaps too
    assert np.all(np.diff(t_q) > 0) and red.run.max() == 1
    near = np.clip(np.searchsorted(tk, t_q), 0, len(tk) - 1)
    assert inclination_rmse_deg(red.quat[sk[near]], rk[near][sk[near]]) < clean + 0.4

    online = OnlineOrientation()
    q_on = push_in_batches(online, tk, ak, gk, rng)
    assert online.run == 1
    assert abs(online.ts - ts) / ts < 0.01
    assert inclination_rmse_deg(q_on[sk], rk[sk]) < 1.5


def test_refuses_bad_arrays():
    t = np.arange(10) / 100.0
    with pytest.raises(ValueError):
        orientation_offline(t, np.zeros((9, 3)), np.zeros((10, 3)))
    with pytest.raises(ValueError):
        orientation_offline(t[::-1], np.zeros((10, 3)), np.zeros((10, 3)))
