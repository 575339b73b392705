"""Score hinge against the virtual lifter's exact truth.

Simulates a set with every pattern (``hinge.simulate``), writes it as a recording with
its ``truth.json`` into a temporary directory, analyses the recording as any other, and
compares each detected rep with the truth rep nearest in time: knee and hip onset errors in
ms, and whether the pattern agrees.

    uv run python examples/simulate_and_score.py
    uv run python examples/simulate_and_score.py --seed 3 --noise high --reps 9
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from hinge import SimConfig, compute_angles, detect_reps, read_recording, simulate, write_simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--noise", choices=["off", "low", "typical", "high"], default="typical")
    args = parser.parse_args()

    cfg = SimConfig(
        patterns=["knee-first", "simultaneous", "hips-rise-early"], reps=args.reps, seed=args.seed, noise=args.noise
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = write_simulation(simulate(cfg), Path(tmp) / "sim")
        truth = json.loads((out / "truth.json").read_text())["reps"]
        found = detect_reps(compute_angles(read_recording(out)).frames)

    print(f"truth {len(truth)} reps, detected {len(found)}")
    agree = 0
    for t in truth:
        r = min(found, key=lambda r: abs(r.start_s - t["start_s"]), default=None)
        if r is None or abs(r.start_s - t["start_s"]) > 0.5:
            print(f"rep {t['index']}: {t['pattern']:<15} not detected")
            continue
        agree += r.pattern == t["pattern"]
        print(
            f"rep {t['index']}: {t['pattern']:<15} detected {r.pattern:<15} "
            f"knee onset {1000 * (r.knee_onset_s - t['knee_onset_s']):+6.1f} ms  "
            f"hip onset {1000 * (r.hip_onset_s - t['hip_onset_s']):+6.1f} ms"
        )
    print(f"pattern agreement: {agree}/{len(truth)}")


if __name__ == "__main__":
    main()
