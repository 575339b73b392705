"""Live versus offline on the same recording: the streaming Pipeline against detect_reps.

Pushes a recording through the streaming ``Pipeline`` in 50 ms chunks per sensor,
interleaved in time as a live session delivers them (``chunked_batches``, what
``hinge replay`` feeds), as fast as possible. Then analyses the same recording offline
(``compute_angles`` + ``detect_reps``) and compares: the same reps, onsets within a few ms.
Live angles are causal (orientation filtered forward only, 100 Hz frames; offline runs
forward-backward at 200 Hz), so onsets differ by a few ms; each live rep is emitted a
fraction of a second after its lockout.

    uv run python examples/replay_pipeline.py                        # recordings/mixed-set
    uv run python examples/replay_pipeline.py recordings/simultaneous
"""

from __future__ import annotations

import argparse

from hinge import Pipeline, chunked_batches, compute_angles, detect_reps, read_recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", default="recordings/mixed-set")
    args = parser.parse_args()
    rec = read_recording(args.recording)

    pipeline = Pipeline()
    emitted_at = {}  # rep index -> session time of the newest sample when it was emitted
    for batch in chunked_batches(rec):
        update = pipeline.push(batch)
        emitted_at.update({r.index: update.session_t for r in update.reps})
    final = pipeline.finish()
    emitted_at.update({r.index: final.session_t for r in final.reps})
    live = pipeline.reps

    offline = detect_reps(compute_angles(rec).frames)
    print(f"live {len(live)} reps, offline {len(offline)} reps")
    for lv, off in zip(live, offline):
        print(
            f"rep {lv.index}: live {lv.pattern:<15} offline {off.pattern:<15} "
            f"knee onset {1000 * (lv.knee_onset_s - off.knee_onset_s):+5.1f} ms  "
            f"hip onset {1000 * (lv.hip_onset_s - off.hip_onset_s):+5.1f} ms  "
            f"emitted {emitted_at[lv.index] - lv.lockout_s:.2f} s after lockout"
        )


if __name__ == "__main__":
    main()
