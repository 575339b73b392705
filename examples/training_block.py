"""A training block in the training log: does the lower back take over as the bar gets heavier?

The virtual lifter pulls one set of 5 reps twice a week for four weeks, 10 kg heavier each
week, and the heavier the bar the fewer reps it pulls knees first (the simulator is told
which). Each session is written as a recording, added to a training log
(``hinge.TrainingLog``: analysed, stored with athlete, exercise, load and date), and the log
then answers the coach's question across the block, in words (``trend_words``).

    uv run python examples/training_block.py                    # a log in a temporary folder
    uv run python examples/training_block.py --db block.sqlite  # keep it: `hinge log --db block.sqlite`
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hinge import SimConfig, TrainingLog, simulate, write_simulation
from processing.training_log.trend import trend_words

#: Knee-first reps of 5 in each session, as the load rises by 10 kg a week (two sessions a week).
KNEE_FIRST = [5, 5, 4, 4, 3, 3, 2, 1]


def session_patterns(knee_first: int) -> list[str]:
    """The set's patterns: knee-first reps first, then the back takes over."""
    faults = ["simultaneous", "hips-rise-early"]
    return ["knee-first"] * knee_first + [faults[i % 2] for i in range(5 - knee_first)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the log to write (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "block.sqlite")
        start = datetime(2026, 2, 2, 17, 30)
        with TrainingLog.open(db) as log:
            for i, knee_first in enumerate(KNEE_FIRST):
                week, day = divmod(i, 2)
                patterns = session_patterns(knee_first)
                rec = write_simulation(
                    simulate(SimConfig(patterns=patterns, reps=5, seed=20 + i)), Path(tmp) / f"session-{i + 1}"
                )
                added = log.add_recording(
                    rec,
                    athlete="sam",
                    exercise="deadlift",
                    load_kg=100.0 + 10 * week,
                    recorded_at=start + timedelta(days=7 * week + 3 * day),
                )
                detail = log.session(added.session.id)
                found = [r["pattern"] for r in detail.reps]
                s = added.session
                print(
                    f"session {s.id}: {s.recorded_at:%Y-%m-%d}, {s.load_kg:g} kg: knee-first "
                    f"{found.count('knee-first')}/{len(found)} (simulated {knee_first}/5), "
                    f"drift {s.drift_pts:+.0f} pts"
                )
            sessions = log.sessions(athlete="sam", exercise="deadlift", newest_first=False)
        for line in trend_words(sessions):
            print(f"trend: {line}")


if __name__ == "__main__":
    main()
