"""Streaming angles after a sensor dropout, against the virtual lifter's truth.

A dropout longer than ``fusion.GAP_FILL_MAX_S`` restarts that sensor's orientation filter,
whose inclination then starts from one accelerometer sample: fine at rest, off by the
lift's own acceleration mid-rep, until the filter converges. Per session: one 0.5 s thigh
gap and one 0.6 s lumbar gap, placed at different phases of the lifting by seed. Figures:
angle RMSE over the 4 s after each gap and over its first 0.5 s, against the baseline of
the same sessions' RMSE between the first rep and the first gap (measured in the same run).
Offline analysis (``compute_angles``) is shown too: its backward pass smooths restarts.

    uv run python benchmarks/bench_dropouts.py [--sessions 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hinge import (  # noqa: E402
    AngleFrames,
    Pipeline,
    SimConfig,
    chunked_batches,
    compute_angles,
    read_recording,
    simulate,
    write_simulation,
)

AFTER_S = 4.0
EARLY_S = 0.5


def rmse(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(e**2))) if len(e) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    args = ap.parse_args()
    rows = {"live": ([], [], []), "offline": ([], [], [])}  # (baseline, 4 s after, first 0.5 s)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.sessions):
            g0 = 12.0 + 0.37 * seed  # sweeps the gaps across the reps' phases
            gaps = [("thigh", g0, g0 + 0.5), ("lumbar", g0 + 8.0, g0 + 8.6)]
            sim = simulate(SimConfig(reps=6, seed=500 + seed, noise="typical", gaps=gaps))
            rec = read_recording(write_simulation(sim, Path(tmp) / f"s{seed}"))
            pipe = Pipeline()
            parts = [pipe.push(b).frames for b in chunked_batches(rec)] + [pipe.finish().frames]
            live = AngleFrames.concat(parts)
            offline = compute_angles(rec).frames
            truth = sim.truth_angles
            first_rep = sim.truth_reps[0]["start_s"]
            for name, f in (("live", live), ("offline", offline)):
                t = np.asarray(f["t"] if name == "offline" else f.t)
                base, after, early = rows[name]
                for col in ("trunk_deg", "thigh_deg"):
                    v = np.asarray(f[col] if name == "offline" else getattr(f, col))
                    e = v - np.interp(t, truth["t"], truth[col])
                    ok = np.isfinite(e)
                    base.append(rmse(e[ok & (t > first_rep) & (t < g0)]))
                    for _, _, end in gaps:
                        after.append(rmse(e[ok & (t > end) & (t < end + AFTER_S)]))
                        early.append(rmse(e[ok & (t > end) & (t < end + EARLY_S)]))
    print(f"{args.sessions} sessions x 2 gaps x 2 segments (trunk, thigh), typical noise, thigh 104 Hz, lumbar 208 Hz")
    print(
        f"{'angles':<8} {'baseline RMSE deg':>18} {'4 s after a gap: median':>24} {'max':>6} "
        f"{'first 0.5 s: median':>20} {'max':>6} {'ratio (median after / baseline)':>32}"
    )
    for name, (base, after, early) in rows.items():
        print(
            f"{name:<8} {np.median(base):18.2f} {np.median(after):24.2f} {np.max(after):6.2f} "
            f"{np.median(early):20.2f} {np.max(early):6.2f} {np.median(after) / np.median(base):32.1f}"
        )


if __name__ == "__main__":
    main()
