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
