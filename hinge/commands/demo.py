"""`hinge demo`: the whole live path with no hardware, the README's first command.

Two virtual sensors (bumble peripherals on a virtual radio link) carry one simulated set of
the virtual lifter; hinge finds them with bleak's own scanner, connects, streams, and runs
the same pipeline as a real session: status lines and one line per rep as it happens.
"""

from __future__ import annotations

import argparse
from functools import partial

from hinge.commands.stream import (
    FAMILIES,
    SessionPlan,
    add_live_args,
    check_live_args,
    run_session,
    virtual_faults,
)
from hinge.errors import UsageError

#: The demo's set tires as it goes, so that every pattern and its cue shows up once.
DEMO_PATTERNS = "knee-first,knee-first,simultaneous,hips-rise-early,hips-rise-early"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        description="No hardware needed: two virtual IMUs stream a simulated deadlift set over "
        "a virtual Bluetooth LE link into the live pipeline; reps print as they happen.",
    )
    p.add_argument("--seed", type=int, default=0, help="virtual lifter seed (default 0)")
    p.add_argument("--reps", type=int, default=5, help="reps in the set (default 5)")
    p.add_argument(
        "--pattern",
        default=DEMO_PATTERNS,
        metavar="P[,P...]",
        help="pattern per rep, cycled (knee-first, simultaneous, hips-rise-early); "
        "default: a set that tires, " + DEMO_PATTERNS,
    )
    p.add_argument("--family", choices=FAMILIES, default="hinge", help="sensor family to emulate (default hinge)")
    add_live_args(p)
    p.set_defaults(func=run)


def demo_source(args: argparse.Namespace) -> SessionPlan:
    """Two virtual sensors carrying one simulated set (see `live_source` for the contract)."""
    from firmware_bridge.virtual.session import VirtualSession, simulated_sources

    if args.reps < 1:
        raise UsageError(f"--reps: must be at least 1, got {args.reps}")
    patterns = tuple(p.strip() for p in args.pattern.split(",") if p.strip())
    try:
        sources = simulated_sources(args.duration, seed=args.seed, rate_hz=args.rate, reps=args.reps, patterns=patterns)
    except ValueError as err:
        raise UsageError(f"demo: {err}") from None
    virtual = partial(
        VirtualSession,
        sources,
        family=args.family,
        speed=args.speed,
        faults=virtual_faults(args),
        rate_hz=args.rate,
        keep_log=False,
    )

    print(
        f"demo: two virtual {args.family} sensors, one simulated set of {args.reps} reps "
        f"({', '.join(patterns)}), over a virtual BLE link",
        flush=True,
    )
    return SessionPlan(virtual, None, {"source": f"hinge demo ({args.family})"})


def run(args: argparse.Namespace) -> int:
    check_live_args(args)
    return run_session(args, demo_source(args), title="hinge demo: virtual sensors")
