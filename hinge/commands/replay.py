"""`hinge replay REC`: run a recording through the live streaming path, rep by rep.

The recording's samples are cut into short chunks per sensor and fed, interleaved in time
order as the sensors would deliver them, into the same ``Pipeline`` that live streaming and
the demo use; each rep is printed when the streaming detector emits it. ``--headless --json``
(``--json`` implies ``--headless``) prints JSON Lines (one rep per line, with ``emitted_at_s``; schema in
``docs/analysis-json.md``). Pacing: ``--speed X`` plays X times real time; 0 means as fast as
possible, the default for ``--json`` (a machine reading), while a person watching gets real
time (1.0) by default.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from functools import partial
from pathlib import Path

from hinge.commands.analyze import add_threshold_args, thresholds_from_args
from hinge.commands.window import add_window_args, cue_player, height_from_args, wants_window
from hinge.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        description="Replay a recording through the live streaming path: reps appear as the live detector emits them.",
    )
    p.add_argument("recording", type=Path, help="recording directory (session.json + CSVs)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON Lines, one rep per line, with emitted_at_s (implies --headless)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        metavar="X",
        help="play X times real time; 0 = as fast as possible (default: 0 with --json, else 1)",
    )
    p.add_argument(
        "--rate-hz",
        type=float,
        default=100.0,
        metavar="HZ",
        help="rate of the streaming angle frames (default 100)",
    )
    add_threshold_args(p)
    add_window_args(p)
    p.set_defaults(func=run)


def rep_line(rep) -> str:
    """One readable line per rep, for a person watching a headless replay."""
    knee = rep.knee_done_at_hip_onset_pct
    knee_txt = "–" if math.isnan(knee) else f"{knee:.0f}"
    return (
        f"rep {rep.index} (set {rep.set}) at {rep.lockout_s:.1f} s: {rep.pattern}"
        f"{' (gap)' if rep.gap else ''}, hip lag {rep.hip_lag_ms:.0f} ms, knees {knee_txt} % "
        f"done — {rep.cue}"
    )


def replay_headless(rec, thresholds, speed: float, as_json: bool, rate_hz: float = 100.0, sound=None) -> int:
    """Feed the recording through the ``Pipeline``; print each rep as it is emitted (and
    hand it to ``sound``, a ``hinge.sound.CuePlayer``, which never waits)."""
    from processing.pipeline import Pipeline
    from processing.recording import chunked_batches

    pipeline = Pipeline(thresholds=thresholds, rate_hz=rate_hz)
    wall0 = time.monotonic()
    t0 = None

    def emit(reps, session_t: float) -> None:
        for rep in reps:
            if as_json:
                line = json.dumps({**rep.to_dict(), "emitted_at_s": session_t}, allow_nan=False)
            else:
                line = rep_line(rep)
            print(line, flush=True)
            if sound is not None:
                sound.play(rep.pattern, rep.index)

    try:
        for batch in chunked_batches(rec):
            if speed > 0:
                t0 = float(batch.t[0]) if t0 is None else t0
                ahead = (float(batch.t[-1]) - t0) / speed - (time.monotonic() - wall0)
                if ahead > 0:
                    time.sleep(ahead)
            update = pipeline.push(batch)
            emit(update.reps, update.session_t)
        final = pipeline.finish()
        emit(final.reps, final.session_t)
        if not as_json:
            print(f"{len(pipeline.reps)} reps")
    except BrokenPipeError:  # the reader (e.g. `| head`) has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if sound is not None:
            sound.close()
    return 0


def run(args: argparse.Namespace) -> int:
    from processing.recording import read_recording

    rec = read_recording(args.recording)
    th = thresholds_from_args(args)
    speed = args.speed if args.speed is not None else (0.0 if args.json else 1.0)
    if speed < 0:
        raise UsageError(f"--speed: must be 0 (as fast as possible) or positive, got {speed}")
    height = height_from_args(args)
    sound = cue_player(args)
    if not args.json and wants_window(args):  # JSON Lines are for a program: no window
        from processing.pipeline import Pipeline
        from viewer.app import run_viewer

        return run_viewer(
            replay=rec,
            title=f"hinge replay: {args.recording}",
            pipeline_factory=partial(Pipeline, thresholds=th, rate_hz=args.rate_hz),
            speed=speed or 1.0,
            screenshot=args.screenshot,
            after_s=args.after,
            height_m=height,
            sound=sound,
        )
    return replay_headless(rec, th, speed, args.json, rate_hz=args.rate_hz, sound=sound)
