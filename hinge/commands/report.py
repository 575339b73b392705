"""`hinge report REC [-o FILE.html]`: one self-contained HTML file of a recording's analysis.

The recording is analysed as ``hinge analyze`` does (``processing.analysis.analyze``, the
same thresholds) and written as one page (``hinge/report.py``) that opens offline in any
browser: no script, no CDN, the plots inline as SVG. Default output: ``REC-NAME-report.html``
in the current directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hinge.commands.analyze import add_threshold_args, thresholds_from_args
from hinge.commands.window import add_height_arg, height_from_args
from hinge.errors import OutputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        description="Analyse a recording and write one self-contained HTML report: the set summary "
        "and trend, per rep the coordination trace, the extension velocities with the onsets, four "
        "side-on figures and the cue; several sets are compared.",
    )
    p.add_argument("recording", type=Path, help="recording directory (session.json + CSVs)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="FILE.html",
        help="where to write the report (default: ./<recording name>-report.html)",
    )
    add_height_arg(p)
    add_threshold_args(p)
    p.set_defaults(func=run)


def default_output(recording: Path) -> Path:
    return Path(f"{recording.resolve().name}-report.html")


def write(analysis, out: Path, height_m: float) -> int:
    """Write the report of ``analysis`` to ``out``; a path that cannot be written is the user's."""
    from hinge.report import write_report

    try:
        return write_report(analysis, out, height_m)
    except OSError as err:
        raise OutputError(f"{out}: cannot write: {err.strerror or err}") from None


def run(args: argparse.Namespace) -> int:
    from processing.analysis import analyze
    from processing.recording import read_recording

    rec = read_recording(args.recording)
    th = thresholds_from_args(args)
    height = height_from_args(args)
    out = args.output or default_output(args.recording)
    result = analyze(rec, th)
    size = write(result, out, height)
    cal = result.calibration
    if cal is not None and cal.warning:
        print(f"hinge: warning: {args.recording}: {cal.warning}", file=sys.stderr)
    print(f"report: {out} ({size / 1024:.0f} KB, {len(result.reps)} reps)")
    return 0
