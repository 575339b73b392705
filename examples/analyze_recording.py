"""Offline analysis of a recording with hinge as a library: angles, reps, set summary.

What `hinge analyze` does, in two calls: read the recording, then ``analyze`` it (segment
angles by non-causal sensor fusion, reps, set summary); print the reps as a pandas table and
the set summary (pattern counts, mean hip lag, trend through the set). ``result.frames``
holds the angles, the steps behind ``analyze`` are public too (``hinge.compute_angles``,
``hinge.detect_reps``, ``hinge.summarize``).

    uv run python examples/analyze_recording.py                       # recordings/mixed-set
    uv run python examples/analyze_recording.py recordings/knee-first
"""

from __future__ import annotations

import argparse

from hinge import analyze, read_recording, reps_dataframe

COLUMNS = ["index", "pattern", "hip_lag_ms", "knee_done_at_hip_onset_pct", "trunk_lean_change_deg"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", default="recordings/mixed-set")
    args = parser.parse_args()

    result = analyze(read_recording(args.recording))  # angles, reps and summary, as `hinge analyze`
    reps = result.reps

    print(f"{args.recording}: {len(reps)} reps")
    print(reps_dataframe(reps)[COLUMNS].round(1).to_string(index=False))  # a pandas DataFrame

    for s in result.summary["sets"]:
        counts = ", ".join(f"{n} {p}" for p, n in s["patterns"].items() if n)
        lag = s["hip_lag_ms"]
        print(f"set {s['set']}: {s['reps']} reps ({counts}); hip lag {lag['mean']:.0f} ± {lag['sd']:.0f} ms")
        if s["trend"]:
            print(f"  trend: {s['trend']}")


if __name__ == "__main__":
    main()
