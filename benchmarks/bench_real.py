"""Real human data: what `hinge analyze` makes of two public IMU data sets (issue 10, item 6).

Neither data set is in this repository (neither has a licence file): bring them in yourself
and give their paths on the command line. A path that is not given or does not exist is
reported in one line and that part is skipped.

* ``--pibench DIR``: a checkout (or extract) of https://github.com/eurobench/pi_bench, or any
  folder holding ``subject_0*_5sts_chair_raw_01.csv`` (searched recursively). Five
  sit-to-stands per trial from a chair with a force-sensing seat; Shimmer IMUs at 128 Hz
  (accelerometer m/s^2, gyroscope deg/s); thigh = sensor 3, pelvis = sensor 4 (used as
  ``lumbar``). The truth is **0 reps**: standing up from a chair is not a lift
  (docs/domain.md). The seat force (``Fz_seat``) gives the seat-off moments (normalised force
  below 0.2, as the pi_bench code does), printed as the number of stands.
* ``--cmu DIR``: a checkout of https://github.com/CMU-MBL/IMU_Exercise_Prediction (or its
  ``data`` folder); reads ``parsed_h5_csv/SUB22/`` (ten Xsens-type IMUs at 100 Hz, acc m/s^2,
  gyro rad/s) and ``parsed_joint_angles_all/SUB22/`` (optical hip/knee/pelvis angles, same
  time base). The data set publishes each rep as its own file, cut mid-descent; the files of
  one trial share the trial's clock, so a *trial* here is all rep files of one exercise put
  back on that clock, with the cut-out stretches between reps left as gaps (like samples a
  radio lost). Each trial is analysed three ways:

  - ``bare``: the trial as published (no standing phase anywhere);
  - ``+pose``: the static ``Pose`` trial (1.45 s of standing) prepended, 0.5 s before the
    trial's first sample: the way a user can give hinge an upright reference;
  - ``+pose2x``: the same with the Pose samples repeated twice (2.9 s of standing; synthetic,
    separates "the stand is shorter than 2 s" from everything else).

  Truth: the number of squats/lunges (peaks of the optical hip flexion with a prominence of
  20 deg). Also printed: how many of them a perfect sensor could count under the present
  domain.md rule (bottom >= 45 deg from the Pose and back within 15 deg of it, or to a quarter
  of the bottom's flexion, inside the same published file) -- most reps are cut before the
  lifter is upright again.
  Angle accuracy: hinge's ``--angles`` (200 Hz) interpolated at the optical sample times of
  the same clock. Optical conventions (checked on the data): ``<Side>HipAngle X`` is hip
  flexion, positive = flexed (about 8-10 deg in the Pose); ``PelvisAngle X`` decreases when
  the pelvis tilts forward (-102 deg in the Pose, -142 at the bottom of a deep squat). So,
  relative to the Pose: ``hip = HipX - HipX(Pose)``, ``trunk = -(PelvisX - PelvisX(Pose))``
  (pelvis forward tilt, the segment the lumbar sensor sits on) and ``thigh = hip - trunk``
  (thigh inclination, knee forward positive), matching hinge's ``hip = trunk + thigh``.
  The thigh sensor used is the side whose optical hip flexes most in the trial (single-leg
  squats, lunges). Printed: RMSE against those (``rmse``), and after removing the mean
  difference (``rmse0``: shape only, the zero of the upright reference taken out), and the
  correlation of hinge's hip with the optical one.

``--describe`` also prints what the raw data look like for calibration and rep rules:
accelerometer magnitude at rest, stillness, sample-time regularity, and (pi_bench) the pelvis
and thigh inclination while seated, at seat-off and standing, from the accelerometer.

Each trial is converted into a hinge recording (session.json + thigh.csv + lumbar.csv, docs/
recording-format.md) in a temporary folder and analysed with the command line exactly as a
user would run it, ``hinge analyze REC --json --angles FILE`` in a subprocess, so refusals and
their one-line messages are measured too. A trial that crashes the analysis is reported, not
fatal.

Run: ``uv run python benchmarks/bench_real.py --cmu DIR --pibench DIR [--describe] [--nonlifts]
[--hinge SRC]`` (``--hinge`` runs the CLI of another source tree, e.g. an export of the last
commit, ``--keep DIR`` keeps the converted recordings)
(``--nonlifts`` adds the CMU walking, running, stepping and jumping trials, truth 0 reps).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

G = 9.80665
ANALYZE_TIMEOUT_S = 600

CMU_LIFTS = ["SqDL", "SqHalfDL", "SqSL", "SqHalfSL", "SumoSq", "DeclineSq", "BulgSq", "SpainSq", "Lunge"]
CMU_NONLIFTS = [
    "Walk",
    "Run",
    "RunCut",
    "RunDec",
    "StepUpH",
    "StepUpL",
    "StepDnH",
    "StepDnL",
    "CMJDL",
    "CMJSL",
    "HeelRaise",
    "FwJump",
    "LatJump",
    "DropJumpDL",
    "DropLandDL",
]
POSE_GAP_S = 0.5


# ---------------------------------------------------------------------------- recordings


def write_rec(path: Path, segments: dict[str, pd.DataFrame], meta: dict) -> None:
    """A hinge recording via the library's writer; by hand per the format doc if it moved."""
    try:
        from hinge import write_recording
    except ImportError:
        write_recording = None
    if write_recording is not None:
        write_recording(path, segments, meta)
        return
    path.mkdir(parents=True)
    sensors = []
    for seg, df in segments.items():
        df[["t", "ax", "ay", "az", "gx", "gy", "gz"]].to_csv(path / f"{seg}.csv", index=False, float_format="%.7f")
        sensors.append(
            {
                "segment": seg,
                "file": f"{seg}.csv",
                **{k: v for e in meta.get("sensors", []) if e["segment"] == seg for k, v in e.items()},
            }
        )
    session = {
        "format": "hinge-recording",
        "version": 1,
        "created": "2000-01-01T00:00:00Z",
        **{k: v for k, v in meta.items() if k != "sensors"},
        "sensors": sensors,
    }
    (path / "session.json").write_text(json.dumps(session, indent=2))


HINGE_DIR: Path | None = None  # --hinge: run the CLI of another checkout (e.g. `git archive HEAD`)


def run_analyze(rec: Path, angles_csv: Path) -> dict:
    """``hinge analyze REC --json --angles FILE`` as a user runs it. Returns
    {status: analysed|refused|crashed, message, doc, angles}."""
    cmd = [sys.executable, "-m", "hinge", "analyze", str(rec), "--json", "--angles", str(angles_csv)]
    env = None
    if HINGE_DIR is not None:
        env = {**os.environ, "PYTHONPATH": str(HINGE_DIR)}
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=ANALYZE_TIMEOUT_S, env=env, cwd=HINGE_DIR)
    except subprocess.TimeoutExpired:
        return {"status": "crashed", "message": f"timeout after {ANALYZE_TIMEOUT_S} s"}
    err_lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    last = err_lines[-1] if err_lines else ""
    if p.returncode != 0:
        status = "refused" if p.returncode == 2 and "Traceback" not in p.stderr else "crashed"
        return {"status": status, "message": f"rc={p.returncode}: {last.replace(str(rec), 'REC')}"}
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        return {"status": "crashed", "message": f"stdout is not JSON ({e})"}
    angles = pd.read_csv(angles_csv) if angles_csv.exists() else None
    warn = "; ".join(ln.replace(str(rec), "REC") for ln in err_lines)
    return {"status": "analysed", "message": warn, "doc": doc, "angles": angles}


def calib_note(doc: dict) -> str:
    cal = doc.get("calibration") or {}
    parts = []
    for k in ("source", "quality", "confidence", "trust"):
        if k in cal:
            parts.append(f"{k}={cal[k]}")
    if "still_period_s" in cal:
        parts.append(f"still={cal['still_period_s']}")
    return " ".join(parts) if parts else "-"


def one_line(s: str, n: int = 150) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


# ---------------------------------------------------------------------------- pi_bench


def pib_segments(d: pd.DataFrame) -> dict[str, pd.DataFrame]:
    out = {}
    for seg, k in (("thigh", 3), ("lumbar", 4)):
        out[seg] = pd.DataFrame(
            {
                "t": d["time"].to_numpy(),
                "ax": d[f"Ax{k}"].to_numpy(),
                "ay": d[f"Ay{k}"].to_numpy(),
                "az": d[f"Az{k}"].to_numpy(),
                "gx": np.radians(d[f"Gx{k}"].to_numpy()),
                "gy": np.radians(d[f"Gy{k}"].to_numpy()),
                "gz": np.radians(d[f"Gz{k}"].to_numpy()),
            }
        )
    return out


def seat_intervals(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Seat-off and seat-on times from the seat force (normalised 0..1, off < 0.2, on > 0.5)."""
    fz = d["Fz_seat"].to_numpy()
    fz = (fz - fz.min()) / (fz.max() - fz.min())
    t = d["time"].to_numpy()
    seated = fz[0] > 0.5
    offs, ons = [], []
    for i in range(1, len(fz)):
        if seated and fz[i] < 0.2:
            seated = False
            offs.append(t[i])
        elif not seated and fz[i] > 0.5:
            seated = True
            ons.append(t[i])
    return np.array(offs), np.array(ons)


def bench_pibench(root: Path, tmp: Path, describe: bool) -> None:
    files = sorted(root.rglob("subject_0*_5sts_chair_raw_01.csv"))
    files = sorted({f.name: f for f in files}.values())  # the repo holds copies in two folders
    if not files:
        print(f"pi_bench: no subject_0*_5sts_chair_raw_01.csv under {root}: skipped")
        return
    print(f"\n== pi_bench (5 sit-to-stands per trial; truth: 0 reps) -- {root}")
    print(f"{'trial':<28}{'dur s':>6}{'stands':>7}  {'result':<9}{'reps':>5}  calibration / message")
    tot = {"n": 0, "analysed": 0, "reps": 0, "zero": 0}
    for f in files:
        name = f.name.replace("_chair_raw_01.csv", "")
        tot["n"] += 1
        try:
            d = pd.read_csv(f)
            offs, _ = seat_intervals(d)
            rec = tmp / f"pib_{name}"
            write_rec(
                rec,
                pib_segments(d),
                {
                    "source": "pi_bench",
                    "notes": f.name,
                    "sensors": [{"segment": "thigh", "rate_hz": 128}, {"segment": "lumbar", "rate_hz": 128}],
                },
            )
            r = run_analyze(rec, tmp / f"pib_{name}_angles.csv")
        except Exception as e:  # conversion problem: report, go on
            r = {"status": "crashed", "message": f"{type(e).__name__}: {e}"}
            offs, d = np.array([]), None
        dur = f"{d['time'].iloc[-1]:.1f}" if d is not None else "?"
        if r["status"] == "analysed":
            reps = r["doc"].get("reps", [])
            tot["analysed"] += 1
            tot["reps"] += len(reps)
            tot["zero"] += not reps
            pats = ",".join(x.get("pattern", "?")[:6] + f"@{x.get('start_s', 0):.1f}s" for x in reps)
            print(
                f"{name:<28}{dur:>6}{len(offs):>7}  {'analysed':<9}{len(reps):>5}  {calib_note(r['doc'])}"
                + (f"  reps: {pats}" if pats else "")
                + (f"  [stderr: {one_line(r['message'], 80)}]" if r["message"] else "")
            )
        else:
            print(f"{name:<28}{dur:>6}{len(offs):>7}  {r['status']:<9}{'-':>5}  {one_line(r['message'])}")
    print(
        f"pi_bench total: {tot['analysed']}/{tot['n']} analysed, {tot['reps']} reps reported (truth 0), "
        f"{tot['zero']}/{tot['n']} trials with the right count (0)"
    )
    if describe:
        for f in files:
            describe_pibench(f)


def lowpass(x: np.ndarray, fs: float, fc: float = 2.0) -> np.ndarray:
    from scipy.signal import butter, filtfilt

    b, a = butter(2, fc / (fs / 2))
    return filtfilt(b, a, x, axis=0)


def signed_incl(acc: np.ndarray, gyr: np.ndarray, up_ref: np.ndarray, fs: float) -> np.ndarray:
    """Inclination (deg) from the low-passed accelerometer: the full angle between the measured
    up direction and ``up_ref``, signed by its sense about the dominant gyro axis (PCA); which
    sense is forward is fixed by the caller. Includes any out-of-plane tilt; during fast
    movement the linear acceleration biases it (2 Hz low-pass only)."""
    g = gyr - np.median(gyr, axis=0)
    axis = np.linalg.svd(g, full_matrices=False)[2][0]
    up = lowpass(acc, fs)
    up = up / np.linalg.norm(up, axis=1, keepdims=True)
    ref = up_ref / np.linalg.norm(up_ref)
    ang = np.degrees(np.arccos(np.clip(up @ ref, -1, 1)))
    return ang * np.where(np.cross(ref, up) @ axis >= 0, 1.0, -1.0)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    m = np.concatenate([[False], mask, [False]]).astype(int)
    s = np.flatnonzero(np.diff(m) == 1)
    e = np.flatnonzero(np.diff(m) == -1)
    return list(zip(s, e))


def describe_pibench(f: Path) -> None:
    d = pd.read_csv(f)
    t = d["time"].to_numpy()
    fs = 1 / np.median(np.diff(t))
    dt = np.diff(t)
    offs, ons = seat_intervals(d)
    print(
        f"\n-- {f.name}: {len(t)} samples, {t[-1]:.2f} s, dt median {np.median(dt) * 1e3:.3f} ms "
        f"(min {dt.min() * 1e3:.3f}, max {dt.max() * 1e3:.3f}; {fs:.2f} Hz); seat-off at "
        + ", ".join(f"{x:.2f}" for x in offs)
        + "; seat-on at "
        + ", ".join(f"{x:.2f}" for x in ons)
    )
    segs = {"thigh": 3, "pelvis": 4}
    acc = {s: d[[f"Ax{k}", f"Ay{k}", f"Az{k}"]].to_numpy() for s, k in segs.items()}
    gyr = {s: d[[f"Gx{k}", f"Gy{k}", f"Gz{k}"]].to_numpy() for s, k in segs.items()}  # deg/s
    gn = {s: lowpass(np.linalg.norm(gyr[s] - np.median(gyr[s], axis=0), axis=1), fs, 4.0) for s in segs}
    still = (gn["thigh"] < 10) & (gn["pelvis"] < 10)
    # standing reference: the stillest 0.3 s of each standing period (seat-off .. next seat-on)
    stand_ix = []
    edges = list(zip(offs, list(ons) + [t[-1]] * (len(offs) - len(ons))))
    for a, b in edges:
        ix = np.flatnonzero((t > a + 0.5) & (t < b))
        if len(ix) > 40:
            w = int(0.3 * fs)
            score = np.convolve(gn["thigh"][ix] + gn["pelvis"][ix], np.ones(w) / w, mode="valid")
            j = int(np.argmin(score))
            stand_ix.append(ix[j : j + w])
    incl = {}
    for s in segs:
        ref = np.mean([acc[s][ix].mean(axis=0) for ix in stand_ix], axis=0) if stand_ix else acc[s][:10].mean(axis=0)
        inc = signed_incl(acc[s], gyr[s], ref, fs)
        # sense: seated thigh positive; pelvis: lean at seat-off (forward) positive
        if s == "thigh":
            seat_val = np.median(inc[: int(0.5 * fs)])
            inc = inc * np.sign(seat_val or 1)
        else:
            at_off = [inc[np.argmin(abs(t - x))] for x in offs]
            inc = inc * np.sign(np.median(at_off) or 1)
        incl[s] = inc
    fz = d["Fz_seat"].to_numpy()
    seated = (fz - fz.min()) / (fz.max() - fz.min()) > 0.35
    print(
        "   period        start    dur | still(|g|<10 d/s both) longest |  pelvis incl (med, range)  thigh incl (med)  |  |acc| thigh/pelvis med"
    )
    for a, b in runs(seated) + runs(~seated):
        kind = "seated" if seated[a] else "up"
        sl = slice(a, b)
        lr = max([e - s for s, e in runs(still[sl])] or [0]) / fs
        pe, th = incl["pelvis"][sl], incl["thigh"][sl]
        print(
            f"   {kind:<8} {t[a]:>9.2f} {(b - a) / fs:>7.2f} | {still[sl].mean() * 100:5.0f} % still, longest {lr:4.2f} s |"
            f"  {np.median(pe):6.1f} ({pe.min():6.1f}..{pe.max():6.1f})      {np.median(th):6.1f}         |"
            f"  {np.median(np.linalg.norm(acc['thigh'][sl], axis=1)):5.2f} / {np.median(np.linalg.norm(acc['pelvis'][sl], axis=1)):5.2f}"
        )
    for x in offs:
        i = int(np.argmin(abs(t - x)))
        w0, w1 = max(0, i - int(1.5 * fs)), min(len(t), i + int(2.0 * fs))
        pe, th = incl["pelvis"][w0:w1], incl["thigh"][w0:w1]
        hip = pe + th
        # rise: from the hip's maximum before/at seat-off to the thigh within 15 deg of standing
        k0 = w0 + int(np.argmax(hip))
        up = np.flatnonzero(incl["thigh"][k0:w1] < 15)
        rise = (up[0] / fs) if len(up) else float("nan")
        print(
            f"   rise at seat-off {x:6.2f}: pelvis {incl['pelvis'][i]:5.1f} deg (max {pe.max():5.1f}), thigh {incl['thigh'][i]:5.1f}, "
            f"hip max {hip.max():5.1f} at {t[k0]:.2f}; max-hip -> thigh<15 deg in {rise:.2f} s"
        )


# ---------------------------------------------------------------------------- CMU


def rep_no(p: Path) -> int:
    m = re.search(r"rep(\d+)", p.stem)
    return int(m.group(1)) if m else 0


def cmu_read(f: Path) -> pd.DataFrame:
    return pd.read_csv(f, header=[0, 1, 2], index_col=0)


def cmu_segment(d: pd.DataFrame, sensor: str) -> pd.DataFrame:
    s = d[sensor]
    return pd.DataFrame(
        {
            "t": s[("Time", "S")].to_numpy(dtype=float),
            "ax": s[("Accelerometer", "X")].to_numpy(),
            "ay": s[("Accelerometer", "Y")].to_numpy(),
            "az": s[("Accelerometer", "Z")].to_numpy(),
            "gx": s[("Gyroscope", "X")].to_numpy(),
            "gy": s[("Gyroscope", "Y")].to_numpy(),
            "gz": s[("Gyroscope", "Z")].to_numpy(),
        }
    )


def cmu_trial(imu_dir: Path, ang_dir: Path, ex: str) -> tuple[list[pd.DataFrame], list[pd.DataFrame]] | None:
    files = sorted((imu_dir / ex).glob("*.csv"), key=rep_no)
    if not files:
        return None
    imus, angs = [], []
    for f in files:
        imus.append(cmu_read(f))
        af = ang_dir / ex / f.name
        angs.append(cmu_read(af) if af.exists() else None)
    return imus, angs


def optical(ang: pd.DataFrame, side: str, pose: pd.DataFrame) -> pd.DataFrame:
    hip = ang[(f"{side}HipAngle", "ML", "X")].to_numpy() - pose[(f"{side}HipAngle", "ML", "X")].mean()
    trunk = -(ang[("PelvisAngle", "ML", "X")].to_numpy() - pose[("PelvisAngle", "ML", "X")].mean())
    return pd.DataFrame({"hip": hip, "trunk": trunk, "thigh": hip - trunk})


TOP_BEFORE_CUT = 10  # samples (0.1 s at 100 Hz) between a countable top and the end of its piece


def count_squats(hip_parts: list[np.ndarray]) -> tuple[int, int]:
    """(squats, squats countable under domain.md's rule). Each rep file is a separate piece:
    a squat is countable when, after its bottom (>= 45 deg), the hip comes back within 15 deg
    of the Pose or to a quarter of the bottom's flexion *in the same piece*, and stops rising
    there before the piece ends (the published reps are cut mid-movement: a rise still under
    way at the cut has no top, and a later piece's top belongs to another squat)."""
    hip = np.concatenate([np.concatenate([h, [np.nan]]) for h in hip_parts])
    h = np.nan_to_num(hip, nan=np.nanmin(hip))
    peaks, _ = find_peaks(h, prominence=20)
    ends = np.cumsum([len(p) + 1 for p in hip_parts]) - 1  # the NaN after each piece
    countable = 0
    for p in peaks:
        end = int(ends[np.searchsorted(ends, p)])
        k = p + int(np.argmin(h[p:end]))  # the top: the rise has stopped before the cut
        if h[p] >= 45 and h[k] <= max(15.0, 0.25 * h[p]) and k < end - TOP_BEFORE_CUT:
            countable += 1
    return len(peaks), countable


def bench_cmu(root: Path, tmp: Path, describe: bool, nonlifts: bool) -> None:
    cands = [root / "data", root]
    base = next((c for c in cands if (c / "parsed_h5_csv" / "SUB22").is_dir()), None)
    if base is None:
        print(f"CMU: no parsed_h5_csv/SUB22 under {root} (or {root}/data): skipped")
        return
    imu_dir, ang_dir = base / "parsed_h5_csv" / "SUB22", base / "parsed_joint_angles_all" / "SUB22"
    pose_f = imu_dir / "Pose" / "Pose_01_rep1.csv"
    pose_imu = cmu_read(pose_f) if pose_f.exists() else None
    pose_ang = (
        cmu_read(ang_dir / "Pose" / "Pose_01_rep1.csv") if (ang_dir / "Pose" / "Pose_01_rep1.csv").exists() else None
    )
    if pose_imu is None or pose_ang is None:
        print(f"CMU: Pose trial missing under {imu_dir} / {ang_dir}: +pose variants and optical zero unavailable")
    print(f"\n== CMU-MBL SUB22 (trial = rep files of one exercise on their shared clock) -- {base}")
    print("rmse/rmse0 in deg: hinge vs optical (rmse0: after removing the mean offset); corr = hip correlation")
    print(
        f"{'trial':<11}{'side':<6}{'files':>5}{'squats':>7}{'ctbl':>5}  {'variant':<8}{'result':<9}{'reps':>5}"
        f"  {'hip rmse/rmse0':>15} {'trunk':>12} {'thigh':>12} {'corr':>5}  calibration / message"
    )
    exercises = CMU_LIFTS + (CMU_NONLIFTS if nonlifts else [])
    variants = ["bare", "+pose", "+pose2x"] if pose_imu is not None else ["bare"]
    tot = {v: {"trials": 0, "analysed": 0, "exact": 0, "reps": 0, "truth": 0, "sq": [], "lift": 0} for v in variants}
    rmses = {v: [] for v in variants}
    tot_countable = 0
    for ex in exercises:
        tr = cmu_trial(imu_dir, ang_dir, ex)
        if tr is None:
            print(f"{ex:<11} no files")
            continue
        imus, angs = tr
        have_ang = all(a is not None for a in angs) and pose_ang is not None
        side = "Right"
        if have_ang:
            rng = {
                s: np.ptp(np.concatenate([a[(f"{s}HipAngle", "ML", "X")].to_numpy() for a in angs]))
                for s in ("Right", "Left")
            }
            side = max(rng, key=rng.get)
            opt = [optical(a, side, pose_ang) for a in angs]
            n_sq, n_ct = count_squats([o["hip"].to_numpy() for o in opt])
        else:
            opt, n_sq, n_ct = None, -1, -1
        truth = n_sq if ex in CMU_LIFTS else 0
        tot_countable += max(n_ct, 0) if ex in CMU_LIFTS else 0
        segs = {"thigh": f"{side}Thigh", "lumbar": "Pelvis"}
        parts = {seg: [cmu_segment(d, sensor) for d in imus] for seg, sensor in segs.items()}
        t_opt = [imus[i][("Pelvis", "Time", "S")].to_numpy(dtype=float) for i in range(len(imus))]
        for v in variants:
            label = ex
            try:
                shift = 0.0
                data = {}
                for seg, sensor in segs.items():
                    df = pd.concat(parts[seg], ignore_index=True)
                    if v != "bare":
                        p = cmu_segment(pose_imu, sensor)
                        if v == "+pose2x":
                            p2 = p.copy()
                            p2["t"] = p["t"] + (p["t"].iloc[-1] - p["t"].iloc[0]) + 0.01
                            p = pd.concat([p, p2], ignore_index=True)
                        shift = p["t"].iloc[-1] + POSE_GAP_S - df["t"].iloc[0]
                        df = df.assign(t=df["t"] + shift)
                        df = pd.concat([p, df], ignore_index=True)
                    data[seg] = df
                rec = tmp / f"cmu_{ex}_{v.strip('+')}"
                write_rec(
                    rec,
                    data,
                    {
                        "source": "CMU-MBL IMU_Exercise_Prediction SUB22",
                        "notes": f"{ex} {v}",
                        "sensors": [
                            {"segment": "thigh", "rate_hz": 100, "side": side.lower()},
                            {"segment": "lumbar", "rate_hz": 100},
                        ],
                    },
                )
                r = run_analyze(rec, tmp / f"cmu_{ex}_{v.strip('+')}_angles.csv")
            except Exception as e:
                r = {"status": "crashed", "message": f"{type(e).__name__}: {e}"}
                traceback.print_exc(limit=1)
            T = tot[v]
            T["trials"] += 1
            T["truth"] += truth
            T["lift"] += ex in CMU_LIFTS
            head = f"{label:<11}{side:<6}{len(imus):>5}{n_sq if ex in CMU_LIFTS else 0:>7}{n_ct if ex in CMU_LIFTS else 0:>5}  {v:<8}"
            if r["status"] != "analysed":
                print(
                    head
                    + f"{r['status']:<9}{'-':>5}  {'':>15} {'':>12} {'':>12} {'':>5}  {one_line(r['message'], 120)}"
                )
                continue
            reps = r["doc"].get("reps", [])
            T["analysed"] += 1
            T["reps"] += len(reps)
            T["exact"] += len(reps) == truth
            cols = {}
            if opt is not None and r["angles"] is not None and len(r["angles"]):
                a = r["angles"]
                tt = np.concatenate(t_opt) + shift
                o = pd.concat(opt, ignore_index=True)
                for k in ("hip", "trunk", "thigh"):
                    h = np.interp(tt, a["t"].to_numpy(), a[f"{k}_deg"].to_numpy(), left=np.nan, right=np.nan)
                    ok = np.isfinite(h) & np.isfinite(o[k].to_numpy())
                    if ok.sum() > 10:
                        diff = h[ok] - o[k].to_numpy()[ok]
                        cols[k] = (
                            float(np.sqrt(np.mean(diff**2))),
                            float(np.std(diff)),
                            float(np.corrcoef(h[ok], o[k].to_numpy()[ok])[0, 1]),
                        )
                if "hip" in cols and ex in CMU_LIFTS:
                    rmses[v].append(cols["hip"])

            def fmt(k: str, w: int, cols: dict = cols) -> str:
                return (f"{cols[k][0]:.1f}/{cols[k][1]:.1f}" if k in cols else "-").rjust(w)

            corr = f"{cols['hip'][2]:.2f}" if "hip" in cols else "-"
            print(
                head
                + f"{'analysed':<9}{len(reps):>5}  {fmt('hip', 15)} {fmt('trunk', 12)} {fmt('thigh', 12)} {corr:>5}  "
                + calib_note(r["doc"])
                + (f"  [stderr: {one_line(r['message'], 60)}]" if r["message"] else "")
            )
    print(
        "CMU totals (lifts = squat variants + lunges; truth = optical squat count, 0 for non-lifts; "
        f"{tot_countable} of the squats countable: the rest end their file before they reach a top, "
        "so only the non-lifts' zero and the angles test hinge here):"
    )
    for v in variants:
        T = tot[v]
        hr = rmses[v]
        hs = (
            f"hip rmse median {np.median([x[0] for x in hr]):.1f} deg, rmse0 median {np.median([x[1] for x in hr]):.1f} deg over {len(hr)} lift trials"
            if hr
            else "no hip rmse"
        )
        print(
            f"  {v:<8} {T['analysed']}/{T['trials']} analysed, {T['exact']}/{T['trials']} exact count, "
            f"{T['reps']} reps reported vs {T['truth']} squats/lunges; {hs}"
        )
    if describe:
        describe_cmu(imu_dir, pose_imu, pose_ang, exercises)


def describe_cmu(
    imu_dir: Path, pose_imu: pd.DataFrame | None, pose_ang: pd.DataFrame | None, exercises: list[str]
) -> None:
    print("\n-- CMU data notes")
    if pose_imu is not None:
        t = pose_imu[("Pelvis", "Time", "S")].to_numpy(dtype=float)
        print(f"   Pose: {len(t)} samples, {t[-1] - t[0] + 0.01:.2f} s (the only standing-still data of the session)")
        print(
            "   sensor       |acc| mean   std   (vs 9.81)   |gyro| mean deg/s   gyro mean per axis deg/s     incl. of up from sensor z"
        )
        for s in sorted({c[0] for c in pose_imu.columns}):
            seg = cmu_segment(pose_imu, s)
            a = seg[["ax", "ay", "az"]].to_numpy()
            g = np.degrees(seg[["gx", "gy", "gz"]].to_numpy())
            n = np.linalg.norm(a, axis=1)
            up = a.mean(axis=0)
            print(
                f"   {s:<12} {n.mean():8.3f} {n.std():6.3f}   ({(n.mean() / G - 1) * 100:+5.1f} %)   {np.linalg.norm(g, axis=1).mean():8.2f}"
                f"          [{g.mean(axis=0)[0]:5.2f} {g.mean(axis=0)[1]:5.2f} {g.mean(axis=0)[2]:5.2f}]"
                f"       {np.degrees(np.arccos(up[2] / np.linalg.norm(up))):5.1f}"
            )
        if pose_ang is not None:
            print(
                f"   Pose optical: RightHip {pose_ang[('RightHipAngle', 'ML', 'X')].mean():.1f}, LeftHip {pose_ang[('LeftHipAngle', 'ML', 'X')].mean():.1f}, "
                f"Pelvis X {pose_ang[('PelvisAngle', 'ML', 'X')].mean():.1f}, RightKnee {pose_ang[('RightKneeAngle', 'ML', 'X')].mean():.1f} deg"
            )
    print(
        "   trial      files  dt values seen (s)            gaps between files (s)      min |gyro| pelvis/thigh 0.5 s mean (deg/s)"
    )
    for ex in exercises:
        files = sorted((imu_dir / ex).glob("*.csv"), key=rep_no)
        if not files:
            continue
        ts, gaps, gmin = [], [], []
        for f in files:
            d = cmu_read(f)
            t = d[("Pelvis", "Time", "S")].to_numpy(dtype=float)
            if ts:
                gaps.append(t[0] - ts[-1][-1])
            ts.append(t)
            for s in ("Pelvis", "RightThigh"):
                g = np.degrees(np.linalg.norm(cmu_segment(d, s)[["gx", "gy", "gz"]].to_numpy(), axis=1))
                w = min(50, len(g))
                gmin.append((s, np.convolve(g, np.ones(w) / w, mode="valid").min()))
        dts = np.unique(np.round(np.concatenate([np.diff(t) for t in ts]), 5))
        gp = min(x for s, x in gmin if s == "Pelvis")
        gt = min(x for s, x in gmin if s == "RightThigh")
        print(
            f"   {ex:<10} {len(files):>5}  {str(dts[:4]):<30} {', '.join(f'{g:.2f}' for g in gaps):<28} {gp:6.1f} / {gt:6.1f}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cmu", type=Path, help="CMU-MBL/IMU_Exercise_Prediction checkout (or its data/ folder)")
    ap.add_argument("--pibench", type=Path, help="eurobench/pi_bench checkout (or a folder with its 5sts CSVs)")
    ap.add_argument(
        "--describe", action="store_true", help="also print data notes (rest magnitudes, stillness, inclinations)"
    )
    ap.add_argument(
        "--nonlifts", action="store_true", help="CMU: also walking/running/stepping/jumping trials (truth 0 reps)"
    )
    ap.add_argument("--keep", type=Path, help="write the converted recordings here instead of a temporary folder")
    ap.add_argument(
        "--hinge",
        type=Path,
        help="run `python -m hinge` from this source tree instead of the installed one "
        "(e.g. `git archive HEAD | tar x -C /tmp/h` to measure the last commit while the checkout is being edited)",
    )
    args = ap.parse_args()
    global HINGE_DIR
    if args.hinge is not None:
        HINGE_DIR = args.hinge.resolve()
        print(f"hinge CLI from {HINGE_DIR}")
    with tempfile.TemporaryDirectory(prefix="bench_real_") as td:
        tmp = Path(td)
        if args.keep:
            tmp = args.keep
            tmp.mkdir(parents=True, exist_ok=True)
        if args.pibench is None:
            print("pi_bench: no --pibench DIR given: skipped")
        elif not args.pibench.exists():
            print(f"pi_bench: {args.pibench} does not exist: skipped")
        else:
            bench_pibench(args.pibench, tmp, args.describe)
        if args.cmu is None:
            print("CMU: no --cmu DIR given: skipped")
        elif not args.cmu.exists():
            print(f"CMU: {args.cmu} does not exist: skipped")
        else:
            bench_cmu(args.cmu, tmp, args.describe, args.nonlifts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
