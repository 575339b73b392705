"""`hinge simulate OUT`: a recording of the virtual lifter, with its exact truth beside it.

Writes OUT/session.json, OUT/thigh.csv, OUT/lumbar.csv (a normal recording) plus
OUT/truth.json (config and every rep's truth, fields as in ``hinge analyze --json``) and
OUT/truth_angles.csv. The same arguments and seed give byte-identical files.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from hinge.errors import OutputError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    from processing.reps import PATTERNS
    from processing.simulator.imu import MOUNT_PRESETS, NOISE_LEVELS
    from processing.simulator.motion import REST_ACTIVITIES, STANDINGS

    p = sub.add_parser(
        "simulate",
        description="Simulate a deadlift or squat session on two virtual IMUs (thigh, lumbar) and "
        "write it as a recording with truth.json and truth_angles.csv inside.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="recording directory to create (must not exist)")
    p.add_argument(
        "--pattern",
        default="knee-first",
        metavar="P[,P...]",
        help=f"pattern per rep (cycled within each set): {', '.join(PATTERNS)}",
    )
    p.add_argument(
        "--cycle",
        choices=("rep", "set"),
        default="rep",
        help="cycle the pattern list per rep within a set (default) or per set",
    )
    p.add_argument(
        "--reps", type=int, default=5, help="reps per set (default 5; 0: no lifting, only standing/walking/bends)"
    )
    p.add_argument("--sets", type=int, default=1, help="sets (default 1)")
    p.add_argument(
        "--rate",
        default="104,208",
        metavar="HZ[,HZ]",
        help="sample rate of both sensors, or THIGH,LUMBAR (default 104,208)",
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    p.add_argument(
        "--noise",
        choices=tuple(NOISE_LEVELS),
        default="typical",
        help="sensor errors, soft tissue and sway (default typical; off = exact physics)",
    )
    p.add_argument(
        "--pause", type=float, default=0.0, metavar="S", help="dead stop at the bottom between reps (0 = touch-and-go)"
    )
    p.add_argument("--tempo", type=float, default=1.2, metavar="S", help="concentric duration (default 1.2)")
    p.add_argument("--rest", type=float, default=10.0, metavar="S", help="rest between sets (default 10)")
    p.add_argument("--walking", action="store_true", help="walk a loop during each rest")
    p.add_argument(
        "--bends", type=int, default=0, metavar="N", help="small bends (not reps) before the first set and in each rest"
    )
    p.add_argument("--walk-first", type=float, default=0.0, metavar="S", help="walk S seconds before the first set")
    p.add_argument(
        "--mounting",
        choices=MOUNT_PRESETS,
        default="random",
        help="sensor orientation: standard = thigh on the side, lumbar flat on the back, "
        "x up; front = thigh sensor in front; default: random by seed",
    )
    p.add_argument("--side", choices=("left", "right"), default="left", help="leg wearing the thigh sensor")
    p.add_argument(
        "--clock-offset",
        type=float,
        default=None,
        metavar="S",
        help="lumbar's first sample minus the thigh's (default: random by seed)",
    )
    p.add_argument("--dropouts", type=int, default=0, metavar="N", help="gaps in one sensor's samples")
    p.add_argument("--truth-rate", type=float, default=1000.0, metavar="HZ", help="grid of truth_angles.csv")
    p.add_argument(
        "--decimals",
        type=int,
        default=None,
        metavar="N",
        help="round IMU values and angles to N decimals (smaller files)",
    )
    _register_realism(p, STANDINGS, REST_ACTIVITIES)
    p.set_defaults(func=run)


def _register_realism(p: argparse.ArgumentParser, standings: tuple[str, ...], activities: tuple[str, ...]) -> None:
    """Options for recordings made the way people make them (all off by default, so the same
    seed gives the same bytes as without them)."""
    g = p.add_argument_group("real-gym conditions (default: off)")
    g.add_argument(
        "--realism",
        choices=("off", "gym"),
        default="off",
        help="gym: a seeded mix of standing, fidget, sensor errors, rates, jitter, rest "
        "activities and rest length; options set explicitly are kept, --exercise is yours",
    )
    g.add_argument(
        "--exercise",
        choices=("deadlift", "squat"),
        default="deadlift",
        help="squat: shank inclined 25-40 deg, thigh to 90-100 deg, trunk 20-45 deg",
    )
    g.add_argument(
        "--standing",
        choices=standings,
        default="still",
        help="still: 3 s still start; short: 0.3-1 s; late: the recording starts "
        "mid-movement (standing comes between sets and at the end); none: never stands",
    )
    g.add_argument(
        "--fidget",
        type=float,
        default=0.0,
        metavar="DEG",
        help="sway (0.2-0.4 Hz, all axes) and weight shifts while standing; ~2 = ordinary",
    )
    g.add_argument(
        "--rest-activities",
        default="",
        metavar="A[,A...]",
        help=f"what the lifter does in each rest, in order: {', '.join(activities)}; "
        "with --reps 0 a session of SETS such blocks without lifts",
    )
    g.add_argument(
        "--acc-scale",
        type=float,
        default=0.0,
        metavar="F",
        help="accelerometer gain error per axis, up to +-F (0.2 = 20 %%)",
    )
    g.add_argument(
        "--acc-offset",
        type=float,
        default=0.0,
        metavar="M_S2",
        help="accelerometer offset per axis, up to +-M_S2 m/s^2",
    )
    g.add_argument(
        "--gyro-offset",
        type=float,
        default=0.0,
        metavar="DEG_S",
        help="gyro zero-rate offset per axis, DEG_S/3 to DEG_S, either sign",
    )
    g.add_argument(
        "--gyro-warmup",
        type=float,
        default=0.0,
        metavar="DEG_S",
        help="change of the gyro offset over the session (warm-up), up to +-DEG_S",
    )
    g.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        metavar="MS",
        help="timestamp jitter, up to +-MS milliseconds (samples stay regular)",
    )
    g.add_argument(
        "--top-short",
        type=float,
        default=0.0,
        metavar="DEG",
        help="a continuous set: between reps the lifter comes up only to DEG (+-30 %%) of hip "
        "flexion short of upright (real squat sets: 14-19); the last rep stands tall",
    )


def _rates(text: str) -> dict[str, float]:
    try:
        parts = [float(x) for x in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2):
        raise UsageError(f"--rate: expected HZ or THIGH,LUMBAR, got {text!r}")
    return {"thigh": parts[0], "lumbar": parts[-1]}


def run(args: argparse.Namespace) -> int:
    from processing.simulator import SimConfig, simulate, write_simulation

    if args.out.exists():
        raise OutputError(f"{args.out}: already exists; choose a new directory")
    mounting = {"thigh": args.mounting, "lumbar": "standard" if args.mounting == "front" else args.mounting}
    cfg = SimConfig(
        patterns=[p.strip() for p in args.pattern.split(",")],
        pattern_cycle=args.cycle,
        reps=args.reps,
        sets=args.sets,
        seed=args.seed,
        noise=args.noise,
        rates_hz=_rates(args.rate),
        pause_s=args.pause,
        concentric_s=args.tempo,
        rest_s=args.rest,
        walk_rest=args.walking,
        walk_first_s=args.walk_first,
        bends=args.bends,
        mounting=mounting,
        side=args.side,
        clock_offset_s=args.clock_offset,
        dropouts=args.dropouts,
        truth_rate_hz=args.truth_rate,
        realism=args.realism,
        exercise=args.exercise,
        standing=args.standing,
        fidget_deg=args.fidget,
        rest_activities=[a.strip() for a in args.rest_activities.split(",") if a.strip()],
        acc_scale_max=args.acc_scale,
        acc_offset_max=args.acc_offset,
        gyro_offset_deg_s=args.gyro_offset,
        gyro_warmup_deg_s=args.gyro_warmup,
        jitter_s=args.jitter / 1000.0,
        top_short_deg=args.top_short,
    )
    try:
        cfg.validate()
    except ValueError as err:
        raise UsageError(f"simulate: {err}") from None
    sim = simulate(cfg)
    try:
        out = write_simulation(sim, args.out, decimals=args.decimals)
    except OSError as err:  # a full disk while writing the truth: no half simulation left
        shutil.rmtree(args.out, ignore_errors=True)
        raise OutputError(f"{err.filename or args.out}: cannot write ({err.strerror})") from None
    kinds = f" ({', '.join(r['pattern'] for r in sim.truth_reps)})" if sim.truth_reps else ""
    print(f"{out}: {len(sim.truth_reps)} reps{kinds}, {sim.details['duration_s']:.1f} s")
    return 0
