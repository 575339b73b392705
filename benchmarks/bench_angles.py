"""Segment angles: accuracy on real data (BROAD), on the virtual lifter, and throughput.

Sections (all by default, or pick with ``--only``):

* ``broad``: inclination RMSE per BROAD trial (``../shared/validation/broad``; Laidig et al.,
  Data 2021, CC BY 4.0) for hinge offline (``fusion.fuse_offline`` on the trial's
  timestamps, as ``hinge fuse``) and hinge online (``fusion.OnlineOrientation`` fed 4-sample
  batches, as BLE delivers them), against baselines run here: vqf offline, vqf online, ahrs
  Madgwick with its defaults; plus the reduced-rate fusion ``compute_angles`` uses. BROAD
  has no calibration pose, so this scores the fusion part only.
* ``lifter``: angle RMSE against the virtual lifter's truth over patterns x mountings x
  rates x noise levels (high noise with walking and two sets), offline and streaming.
  Baseline: the same pipeline with plain vqf (no removal of the gyro offset measured while
  standing still) -- what the library alone gives.
* ``throughput``: a one-hour two-sensor 200 Hz recording through load + calibration +
  fusion + angles (``read_recording`` + ``compute_angles``), against vqf offline alone on
  the same samples.

Run: ``uv run python benchmarks/bench_angles.py [--only broad|lifter|throughput] [--quick]``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import vqf

from hinge import AngleFrames, SampleBatch, compute_angles
from processing.angles import (  # the internals measured here
    FUSION_RATE_HZ,
    SegmentTrack,
    angles_from_segments,
    combine,
    grid_times,
    provisional_lockouts,
    still_candidates,
)
from processing.calibration import calibrate, up_vectors
from processing.fusion import OnlineOrientation, fuse_offline, fuse_offline_reduced
from processing.stillness import joint_still_periods, sensor_stillness
from processing.streaming_angles import StreamingAngles

ROOT = Path(__file__).resolve().parents[1]
BROAD = ROOT.parent / "shared" / "validation" / "broad"


def inclination_rmse_deg(q: np.ndarray, ref: np.ndarray) -> float:
    """BROAD README: d = q * conj(ref); error = 2 acos(sqrt(d_w^2 + d_z^2)); RMS."""
    w1, x1, y1, z1 = q.T
    w2, x2, y2, z2 = ref.T
    dw = w1 * w2 + x1 * x2 + y1 * y2 + z1 * z2
    dz = -w1 * z2 - x1 * y2 + y1 * x2 + z1 * w2
    return float(np.degrees(np.sqrt(np.mean((2 * np.arccos(np.clip(np.sqrt(dw**2 + dz**2), 0, 1))) ** 2))))


def online_in_batches(t, acc, gyr, n: int = 4) -> np.ndarray:
    o = OnlineOrientation()
    out = [o.push(t[i : i + n], acc[i : i + n], gyr[i : i + n])[2].quat for i in range(0, len(t), n)]
    return np.vstack(out)


def reduced_per_sample(t, acc, gyr) -> np.ndarray:
    """What ``compute_angles`` fuses (``fuse_offline_reduced`` at 100 Hz, here 285.7 Hz in
    pairs), linearly interpolated (nlerp) back to every sample as ``compute_angles`` does."""
    t_q, res = fuse_offline_reduced(t, acc, gyr, FUSION_RATE_HZ)
    j = np.clip(np.searchsorted(t_q, t), 1, len(t_q) - 1)
    q0, q1 = res.quat[j - 1], res.quat[j]
    q1 = q1 * np.sign(np.einsum("ij,ij->i", q0, q1))[:, None]
    w = np.clip((t - t_q[j - 1]) / (t_q[j] - t_q[j - 1]), 0, 1)[:, None]
    q = (1 - w) * q0 + w * q1
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def madgwick(gyr, acc, fs) -> np.ndarray:
    from ahrs.filters import Madgwick

    return Madgwick(gyr=gyr, acc=acc, frequency=fs).Q  # w,x,y,z sensor-to-earth, defaults


def bench_broad(quick: bool) -> None:
    import scipy.io

    files = sorted(BROAD.glob("*.mat"))
    if not files:
        print(f"BROAD: no trials at {BROAD} (skipped)")
        return
    if quick:
        files = files[:3]
    names = ["hinge offline", "hinge online", "vqf offline", "vqf online", "ahrs Madgwick", "hinge offl. 100 Hz"]
    rows = []
    for f in files:
        m = scipy.io.loadmat(f, squeeze_me=True)
        fs = float(m["sampling_rate"])
        gyr = np.ascontiguousarray(m["imu_gyr"], dtype=float)
        acc = np.ascontiguousarray(m["imu_acc"], dtype=float)
        ref = np.asarray(m["opt_quat"], float)
        s = np.asarray(m["movement"], bool) & np.isfinite(ref).all(axis=1)
        t = np.arange(len(gyr)) / fs
        qs = [
            fuse_offline(t, acc, gyr).quat,
            online_in_batches(t, acc, gyr),
            vqf.offlineVQF(gyr, acc, None, 1 / fs)["quat6D"],
            vqf.VQF(1 / fs).updateBatch(gyr, acc)["quat6D"],
            madgwick(gyr, acc, fs),
            reduced_per_sample(t, acc, gyr),
        ]
        rows.append([f.stem[:40]] + [inclination_rmse_deg(q[s], ref[s]) for q in qs])
    df = pd.DataFrame(rows, columns=["trial"] + names).set_index("trial")
    print(f"\nBROAD inclination RMSE (deg), {len(files)} trials")
    print(df.round(3).to_string())
    mean = df.mean()
    print("mean  " + "  ".join(f"{n}: {v:.3f}" for n, v in mean.items()))
    print(
        f"ratio hinge offline / vqf offline = {mean['hinge offline'] / mean['vqf offline']:.3f}; "
        f"hinge online / vqf online = {mean['hinge online'] / mean['vqf online']:.3f}"
    )
    print(
        f"targets: hinge offline <= 0.55 ({'met' if mean['hinge offline'] <= 0.55 else 'MISSED'}), "
        f"online <= 0.75 ({'met' if mean['hinge online'] <= 0.75 else 'MISSED'})"
    )


def plain_vqf_angles(imu: dict[str, pd.DataFrame], rate_hz: float) -> pd.DataFrame:
    """Baseline: the hinge pipeline with vqf on the raw gyro (no gyro offset removed)."""
    data = {
        s: (df.t.to_numpy(), df[["ax", "ay", "az"]].to_numpy(), df[["gx", "gy", "gz"]].to_numpy())
        for s, df in imu.items()
    }
    stillness = {s: sensor_stillness(*v) for s, v in data.items()}
    fused = {seg: fuse_offline(t, acc, gyr) for seg, (t, acc, gyr) in data.items()}
    evidence = {seg: (data[seg][0][::4], up_vectors(f.quat)[::4]) for seg, f in fused.items()}
    cal = calibrate(
        evidence,
        still_candidates(joint_still_periods(stillness), data),
        {s: np.zeros(3) for s in data},
        provisional_lockouts,
    )
    tracks = {}
    for seg, (t, _acc, gyr) in data.items():
        sc = cal.segments[seg]
        tracks[seg] = SegmentTrack(
            t, sc.inclination(up_vectors(fused[seg].quat)), np.degrees((gyr - fused[seg].bias) @ sc.axis)
        )
    t0 = max(tr.t[0] for tr in tracks.values())
    t1 = min(tr.t[-1] for tr in tracks.values())
    return combine(tracks, grid_times(t0, t1, rate_hz)).to_dataframe()


def stream(imu: dict[str, pd.DataFrame], rate_hz: float, n: int = 4) -> pd.DataFrame:
    sa = StreamingAngles(rate_hz=rate_hz)
    arrays = {
        s: (df.t.to_numpy(), df[["ax", "ay", "az"]].to_numpy(), df[["gx", "gy", "gz"]].to_numpy())
        for s, df in imu.items()
    }
    batches = []
    for seg, (t, _acc, _gyr) in arrays.items():
        batches += [(t[i + min(n, len(t) - i) - 1], seg, i) for i in range(0, len(t), n)]
    out = []
    for _, seg, i in sorted(batches):
        t, acc, gyr = arrays[seg]
        out.append(sa.push(SampleBatch(seg, t[i : i + n], acc[i : i + n], gyr[i : i + n])))
    out.append(sa.finish())
    return AngleFrames.concat(out).to_dataframe()


def rmse(frames: pd.DataFrame, truth: pd.DataFrame, col: str, after: float = -np.inf) -> float:
    m = frames.t.to_numpy() > after
    ref = np.interp(frames.t[m], truth.t, truth[col])
    return float(np.sqrt(np.mean((frames[col].to_numpy()[m] - ref) ** 2)))


def bench_lifter(quick: bool) -> None:
    from hinge import SimConfig, simulate

    patterns = ["knee-first", "simultaneous", "hips-rise-early"]
    mountings = {
        "random": dict(mounting={"thigh": "random", "lumbar": "random"}),
        "upside-down": dict(mounting={"thigh": "upside-down", "lumbar": "upside-down"}),
        "front, right leg": dict(mounting={"thigh": "front", "lumbar": "standard"}, side="right"),
    }
    rates = [(52.0, 52.0), (104.0, 208.0), (208.0, 104.0)]
    levels = {
        "low": dict(noise="low"),
        "typical": dict(noise="typical"),
        "high + walking, 2 sets": dict(noise="high", walk_first_s=6.0, sets=2, walk_rest=True, rest_s=8.0),
    }
    rows = []
    combos = list(itertools.product(levels, patterns, mountings, rates))
    if quick:
        combos = combos[::7]
    for k, (level, pattern, mount, (r_th, r_lu)) in enumerate(combos):
        cfg = SimConfig(
            patterns=[pattern],
            reps=4,
            seed=100 + k,
            rates_hz={"thigh": r_th, "lumbar": r_lu},
            **levels[level],
            **mountings[mount],
        )
        sim = simulate(cfg)
        truth = sim.truth_angles
        off = angles_from_segments(sim.imu, rate_hz=200.0).frames
        base = plain_vqf_angles(sim.imu, 200.0)
        row = dict(level=level, pattern=pattern, mounting=mount, rates=f"{r_th:g}/{r_lu:g}")
        for col in ("trunk_deg", "thigh_deg", "hip_deg"):
            row[f"off {col[:-4]}"] = rmse(off, truth, col)
        row["base hip"] = rmse(base, truth, "hip_deg")
        row["off knee_vel"] = rmse(off, truth, "knee_ext_deg_s")
        if k % 4 == 0:  # streaming on a quarter of the grid (it runs batch by batch in Python)
            st = stream(sim.imu, 100.0)
            after = sim.truth_reps[0]["start_s"] - 2.0  # the axes are known from the first descent
            for col in ("trunk_deg", "thigh_deg", "hip_deg"):
                row[f"live {col[:-4]}"] = rmse(st, truth, col, after)
            row["live hip all"] = rmse(st, truth, "hip_deg")
        rows.append(row)
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"\nVirtual lifter angle RMSE vs truth (deg; velocities deg/s), {len(df)} sessions")
    print(df.round(2).to_string(index=False))
    names = {
        "off trunk": "offline trunk",
        "off thigh": "offline thigh",
        "off hip": "offline hip",
        "base hip": "plain-vqf hip",
        "live trunk": "live trunk*",
        "live thigh": "live thigh*",
        "live hip": "live hip*",
        "live hip all": "live hip (all)",
    }
    summary = df.groupby("level", sort=False)[list(names)].mean().rename(columns=names)
    summary.insert(3, "offline hip max", df.groupby("level", sort=False)["off hip"].max())
    print("\nper level (means over sessions; * = from 2 s before the first rep, when the axes are known):")
    print(summary.round(3).to_string())
    for level, limit in (("typical", 0.5), ("high + walking, 2 sets", 1.0)):
        if level in summary.index:
            worst = max(summary.loc[level, "offline trunk"], summary.loc[level, "offline thigh"])
            print(
                f"target {level}: segment angle RMSE <= {limit} -> {worst:.3f} "
                f"({'met' if worst <= limit else 'MISSED'}); ratio hip vs plain vqf "
                f"{summary.loc[level, 'offline hip'] / summary.loc[level, 'plain-vqf hip']:.2f}"
            )


def bench_throughput(quick: bool) -> None:
    from hinge import SimConfig, read_recording, simulate, write_recording

    minutes = 10.0 if quick else 60.0
    sim = simulate(
        SimConfig(reps=5, sets=3, rest_s=10.0, walk_rest=True, rates_hz={"thigh": 200.0, "lumbar": 200.0}, seed=7)
    )
    segs = {}
    for seg, df in sim.imu.items():  # tile the session to the wanted length, time running on
        span = df.t.iloc[-1] + 1 / 200.0
        k = int(np.ceil(minutes * 60 / span))
        big = pd.concat([df.assign(t=df.t + i * span) for i in range(k)], ignore_index=True)
        segs[seg] = big[big.t < minutes * 60].reset_index(drop=True)
    n = sum(len(d) for d in segs.values())
    arrays = [
        (np.ascontiguousarray(d[["gx", "gy", "gz"]].to_numpy()), np.ascontiguousarray(d[["ax", "ay", "az"]].to_numpy()))
        for d in segs.values()
    ]
    # Best of two runs each, alternating, so that other load on the machine hits both alike.
    t_load, t_angles, t_vqf = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = write_recording(Path(tmp) / "rec", segs)
        for _ in range(2):
            t0 = time.perf_counter()
            rec = read_recording(path)
            t1 = time.perf_counter()
            res = compute_angles(rec, rate_hz=100.0)
            t2 = time.perf_counter()
            for g, a in arrays:
                vqf.offlineVQF(g, a, None, 1 / 200.0)
            t3 = time.perf_counter()
            t_load.append(t1 - t0)
            t_angles.append(t2 - t1)
            t_vqf.append(t3 - t2)
    t0, t1, t2 = 0.0, min(t_load), min(t_load) + min(t_angles)
    t3, t4 = 0.0, min(t_vqf)
    print(f"\nThroughput: {minutes:g} min x 2 sensors x 200 Hz = {n:,} samples, {len(res.frames):,} frames")
    print(f"  load (read_recording)              {t1 - t0:6.2f} s")
    print(f"  calibration + fusion + angles      {t2 - t1:6.2f} s")
    target = 2.0 * minutes / 60  # 2 s per hour of recording
    print(
        f"  total                              {t2 - t0:6.2f} s   (target <= {target:.2f} s: "
        f"{'met' if t2 - t0 <= target else 'MISSED'})"
    )
    print(
        f"  baseline vqf offlineVQF alone      {t4 - t3:6.2f} s   ratio total / vqf = {(t2 - t0) / (t4 - t3):.2f}, "
        f"angles only / vqf = {(t2 - t1) / (t4 - t3):.2f}"
    )
    # Streaming: the session as BLE delivers it (4-sample batches) through StreamingAngles,
    # against stepping vqf.VQF alone over the same batches.
    imu = {seg: df for seg, df in sim.imu.items()}
    n_push = sum(-(-len(df) // 4) for df in imu.values())
    t0 = time.perf_counter()
    stream(imu, 100.0, 4)
    t1 = time.perf_counter()
    for df in imu.values():
        g, a = (np.ascontiguousarray(df[c].to_numpy()) for c in (["gx", "gy", "gz"], ["ax", "ay", "az"]))
        v = vqf.VQF(1 / 200.0)
        for i in range(0, len(g), 4):
            v.updateBatch(g[i : i + 4], a[i : i + 4])
    t2 = time.perf_counter()
    span = max(df.t.iloc[-1] for df in imu.values())
    print(
        f"Streaming: {n_push:,} pushes of 4 samples over {span:.0f} s of session: "
        f"{1e6 * (t1 - t0) / n_push:.0f} us/push ({span / (t1 - t0):.0f}x real time); "
        f"vqf.VQF stepping alone {1e6 * (t2 - t1) / n_push:.0f} us/push"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=("broad", "lifter", "throughput"))
    ap.add_argument("--quick", action="store_true", help="a small subset of each section")
    args = ap.parse_args()
    for name, fn in (("broad", bench_broad), ("lifter", bench_lifter), ("throughput", bench_throughput)):
        if args.only in (None, name):
            fn(args.quick)


if __name__ == "__main__":
    main()
