"""`hinge analyze REC`: one row per rep — did the knees or the hips do the early work.

The recording is read and validated first (a bad file is the user's to fix, and says so
before any work), then ``processing.analysis.analyze`` computes the segment angles offline
(non-causal, the most accurate form) and detects the reps on them. Output: a table coloured
by pattern plus the set summary, or ``--json`` (schema: ``docs/analysis-json.md``), and on
request the rep table as CSV and the angle curves as CSV.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from contextlib import nullcontext
from pathlib import Path

from hinge.errors import OutputError, UsageError
from processing.samples import ANGLES_RATE_HZ  # numpy only: the parser stays light

PATTERN_STYLE = {
    "knee-first": "green",
    "simultaneous": "yellow",
    "hips-rise-early": "red",
}


#: ``RepThresholds`` fields a user can change: (field, metavar, what it means).
THRESHOLD_OPTIONS = (
    ("onset_fraction", "F", "onset = first time extension velocity reaches F x its peak"),
    ("lean_deg", "DEG", "trunk lean change that makes a rep hips-rise-early"),
    ("knee_done_pct", "PCT", "knee-done share at hip onset for knee-first"),
    ("min_bottom_deg", "DEG", "hip flexion a rep must start from"),
    ("top_within_deg", "DEG", "hip flexion a rep must reach at the top"),
    ("set_break_s", "S", "rest between reps that starts a new set"),
)


def add_threshold_args(p: argparse.ArgumentParser) -> None:
    """The user-changeable thresholds of ``RepThresholds`` (domain.md defaults)."""
    from processing.reps import RepThresholds

    d = RepThresholds()
    g = p.add_argument_group("rep thresholds (docs/domain.md)")
    for name, metavar, what in THRESHOLD_OPTIONS:
        default = getattr(d, name)
        g.add_argument(
            "--" + name.replace("_", "-"),
            type=float,
            default=default,
            metavar=metavar,
            help=f"{what} (default {default})",
        )


def thresholds_from_args(args: argparse.Namespace):
    from processing.reps import RepThresholds

    th = RepThresholds(**{name: getattr(args, name) for name, _, _ in THRESHOLD_OPTIONS})
    if not 0.0 < th.onset_fraction < 1.0:
        raise UsageError(
            f"--onset-fraction: must be between 0 and 1, got {th.onset_fraction}"
        )
    if not th.top_within_deg < th.min_bottom_deg:
        raise UsageError("--top-within-deg: must be below --min-bottom-deg")
    if th.set_break_s <= 0:
        raise UsageError(f"--set-break-s: must be positive, got {th.set_break_s}")
    return th


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        description="Analyse a recording offline: per rep, did the knees or the hips do the early "
        "work, and how did it change across each set.",
    )
    p.add_argument(
        "recording", type=Path, help="recording directory (session.json + CSVs)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document (docs/analysis-json.md) instead of the table",
    )
    p.add_argument(
        "--csv", type=Path, metavar="FILE", help="also write the rep table as CSV"
    )
    p.add_argument(
        "--angles",
        type=Path,
        metavar="FILE",
        help=f"also write t,trunk_deg,thigh_deg,hip_deg at {ANGLES_RATE_HZ:.0f} Hz as CSV",
    )
    p.add_argument(
        "--report", type=Path, metavar="FILE.html",
        help="also write the HTML report (as `hinge report REC -o FILE.html`)",
    )
    add_threshold_args(p)
    p.set_defaults(func=run)


def _progress(enabled: bool):
    """A spinner naming the current step, on stderr, only for a person at a terminal."""
    if not enabled:
        return nullcontext(None)
    from rich.console import Console

    return Console(stderr=True).status("computing segment angles")


def _write(path: Path, data: bytes | str) -> None:
    try:
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None


def _angles_csv(frames) -> bytes:
    from processing.recording_csv import format_header, format_rows

    cols = ["t", "trunk_deg", "thigh_deg", "hip_deg"]
    frames = frames.dropna(subset=cols)
    return format_header(cols) + format_rows(
        [frames[c].to_numpy(dtype=float) for c in cols], [6, 4, 4, 4]
    )


def recording_info(rec) -> dict:
    """What the JSON says about the recording itself."""
    sensors = {}
    for seg, df in rec.segments.items():
        t = df["t"].to_numpy()
        rate = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else None
        sensors[seg] = {"samples": len(t), "rate_hz": rate}
    t0 = min(float(df["t"].iloc[0]) for df in rec.segments.values())
    t1 = max(float(df["t"].iloc[-1]) for df in rec.segments.values())
    return {"path": str(rec.path), "duration_s": t1 - t0, "sensors": sensors}


def run(args: argparse.Namespace) -> int:
    from processing.recording import read_recording

    # Validation first: a bad file is the user's to fix, and is named before any work.
    rec = read_recording(args.recording)
    th = thresholds_from_args(args)

    from processing.analysis import analyze
    from processing.reps import reps_dataframe

    with _progress(sys.stderr.isatty() and not args.json) as status:
        result = analyze(rec, th, progress=status.update if status else None)
        reps, summary = result.reps, result.summary
        if args.csv:
            _write(args.csv, reps_dataframe(reps).to_csv(index=False))
        if args.angles:
            if status:
                status.update("writing angles")
            _write(args.angles, _angles_csv(result.frames))
        if args.report:
            if status:
                status.update("writing the report")
            from hinge.commands.report import write
            from processing.body import DEFAULT_HEIGHT_M

            write(result, args.report, DEFAULT_HEIGHT_M)

    if args.json:
        calibration = (
            result.calibration.report() if result.calibration is not None else None
        )
        doc = {
            "recording": recording_info(rec),
            "calibration": calibration,
            "reps": [r.to_dict() for r in reps],
            "summary": summary,
        }
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print_report(args.recording, reps, summary)
    cal = result.calibration
    if cal is not None and cal.warning:
        # One line on stderr, in both modes: the numbers are only as good as upright.
        print(f"hinge: warning: {args.recording}: {cal.warning}", file=sys.stderr)
    return 0


def print_report(path: Path, reps, summary: dict) -> None:
    """The rep table (colour by pattern) and the set summary, for a person."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not reps:
        console.print(
            f"{path}: no reps found (a rep rises from >= 45° of hip flexion back "
            "to upright; walking, sitting down and standing up are not reps)"
        )
        return
    wide = console.width >= 130  # room for the cue in the table; else cues follow it
    table = Table(title=f"{path}: {len(reps)} reps", title_justify="left")
    columns = [
        "#",
        "set",
        "start s",
        "pattern",
        "hip lag ms",
        "knees done %",
        "lean Δ°",
        "up s",
    ]
    for col in columns + (["cue"] if wide else []):
        table.add_column(
            col,
            justify="left" if col in ("pattern", "cue") else "right",
            no_wrap=col != "cue",
        )
    for r in reps:
        cells = [
            str(r.index),
            str(r.set),
            f"{r.start_s:.1f}",
            r.pattern + (" (gap)" if r.gap else ""),
            f"{r.hip_lag_ms:.0f}",
            _num(r.knee_done_at_hip_onset_pct, "{:.0f}"),
            f"{r.trunk_lean_change_deg:+.1f}",
            f"{r.concentric_s:.2f}",
        ]
        table.add_row(
            *cells, *([r.cue] if wide else []), style=PATTERN_STYLE.get(r.pattern)
        )
    console.print(table)
    if not wide:
        for r in reps:
            console.print(f"{r.index:>3}  {r.cue}", style=PATTERN_STYLE.get(r.pattern))
    for s in summary["sets"]:
        counts = ", ".join(f"{n} {p}" for p, n in s["patterns"].items() if n)
        lag, knee = s["hip_lag_ms"], s["knee_done_at_hip_onset_pct"]
        rate = f", {s['reps_per_min']:.1f} reps/min" if s["reps_per_min"] else ""
        console.print(
            f"[bold]Set {s['set']}[/bold]: {s['reps']} reps ({counts}); hip lag "
            f"{lag['mean']:.0f} ± {lag['sd']:.0f} ms; knees {_num(knee['mean'], '{:.0f}')} ± "
            f"{_num(knee['sd'], '{:.0f}')} % done at hip onset; up in "
            f"{s['concentric_s']['mean']:.2f} s{rate}"
        )
        if s["trend"]:
            console.print(f"  trend: {s['trend']}")


def _num(x, fmt: str) -> str:
    return "–" if x is None or math.isnan(x) else fmt.format(x)
