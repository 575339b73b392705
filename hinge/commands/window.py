"""Shared by ``hinge demo``, ``stream`` and ``replay``: window or headless, and the screenshot flags."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_window_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--headless", action="store_true", help="no window: print status and one line per rep")
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="render the window (offscreen if need be) after --after seconds of session time, save it, exit",
    )
    p.add_argument("--after", type=float, default=None, metavar="S", help="session time of the screenshot")
    add_height_arg(p)
    p.add_argument(
        "--sound",
        action="store_true",
        help="an audible cue after each rep: one high beep knee-first, two middle beeps "
        "simultaneous, three low beeps hips-rise-early",
    )
    p.add_argument(
        "--sound-wav",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each rep's cue to DIR/cue-NNN-PATTERN.wav instead of playing it (implies --sound)",
    )


def add_height_arg(p: argparse.ArgumentParser) -> None:
    from processing.body import DEFAULT_HEIGHT_M

    p.add_argument(
        "--height",
        type=float,
        default=DEFAULT_HEIGHT_M,
        metavar="M",
        help="the lifter's height in metres, for the side-on figure's segment lengths "
        f"(Winter's ratios; default {DEFAULT_HEIGHT_M})",
    )


def height_from_args(args: argparse.Namespace) -> float:
    from hinge.errors import UsageError
    from processing.body import HEIGHT_RANGE_M

    lo, hi = HEIGHT_RANGE_M
    if not lo <= args.height <= hi:
        raise UsageError(f"--height: metres, {lo:g}-{hi:g}, got {args.height:g}")
    return float(args.height)


def cue_player(args: argparse.Namespace):
    """The ``CuePlayer`` that ``--sound`` / ``--sound-wav`` ask for, or None."""
    if args.sound_wav is None and not args.sound:
        return None
    from hinge.sound import CuePlayer

    return CuePlayer(wav_dir=args.sound_wav)


def wants_window(args: argparse.Namespace) -> bool:
    """True to open the viewer; says so in one line when there is no display to open it on.

    An offscreen Qt platform counts as no display for an interactive window (nobody could
    close it), but is fine for ``--screenshot``.
    """
    from viewer.display import has_display

    if args.screenshot is not None:
        return True
    if args.headless:
        return False
    offscreen = os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen")
    if has_display() and not offscreen:
        return True
    print("hinge: no display: running headless", file=sys.stderr)
    return False
