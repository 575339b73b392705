"""`hinge analyze REC...`: one row per rep — did the knees or the hips do the early work.

One recording: it is read and validated first (a bad file is the user's to fix, and says so
before any work), then ``processing.analysis.analyze`` computes the segment angles offline
(non-causal, the most accurate form) and detects the reps on them. Output: a table coloured
by pattern plus the set summary, or ``--json`` (schema: ``docs/analysis-json.md``), and on
request the rep table as CSV or Parquet and the angle curves as CSV.

Many recordings (several, or directories searched for them): ``processing.batch`` analyses
them on every core (``--jobs``), one table of every rep (``--csv``/``--parquet``) with a row
per recording that failed; ``--json`` prints JSON Lines, one document per recording. A
failed recording never stops the others; the exit code is 2 if any failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from pathlib import Path

from hinge.commands.log import add_to_log, add_who_args, who_meta
from hinge.errors import OutputError, UsageError
from processing.samples import ANGLES_RATE_HZ  # numpy only: the parser stays light

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
        raise UsageError(f"--onset-fraction: must be between 0 and 1, got {th.onset_fraction}")
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
        "recordings",
        type=Path,
        nargs="+",
        metavar="REC",
        help="recording directory (session.json + CSVs); several, or directories searched "
        "for recordings, make one table of every rep",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document (docs/analysis-json.md) instead of the table; for many "
        "recordings one per line (JSON Lines)",
    )
    p.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="also write the rep table as CSV (many recordings: one row per rep of each, "
        "and one per recording that failed, with its error)",
    )
    p.add_argument("--parquet", type=Path, metavar="FILE", help="also write the rep table as Parquet")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="processes at once (default: every core): recordings analysed side by side, "
        "and a recording's two sensors fused side by side while a core is free; 1: one core",
    )
    p.add_argument(
        "--angles",
        type=Path,
        metavar="FILE",
        help=f"also write t,trunk_deg,thigh_deg,hip_deg at {ANGLES_RATE_HZ:.0f} Hz as CSV",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE.html",
        help="also write the HTML report (as `hinge report REC -o FILE.html`)",
    )
    p.add_argument(
        "--log",
        action="store_true",
        help="also add the recording to the training log (implied by --athlete, --exercise, --load)",
    )
    add_who_args(p)
    add_threshold_args(p)
    p.set_defaults(func=run)


def _progress(enabled: bool):
    """A spinner naming the current step, on stderr, only for a person at a terminal."""
    if not enabled:
        return nullcontext(None)
    from rich.console import Console

    return Console(stderr=True).status("computing segment angles")


def _write(path: Path, data: bytes | str | Callable[[Path], object]) -> None:
    """Write ``data`` (or let ``data(file)`` write it) to a temporary file beside ``path``,
    then rename it over ``path``: an existing file is replaced whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data)
        else:
            data(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_table(args: argparse.Namespace, table) -> None:
    if args.csv:
        _write(args.csv, table.to_csv(index=False))
    if args.parquet:
        _write(args.parquet, lambda f: table.to_parquet(f, index=False))


def _angles_csv(frames) -> bytes:
    from processing.recording.csv_text import format_header, format_rows

    cols = ["t", "trunk_deg", "thigh_deg", "hip_deg"]
    frames = frames.dropna(subset=cols)
    return format_header(cols) + format_rows([frames[c].to_numpy(dtype=float) for c in cols], [6, 4, 4, 4])


def run(args: argparse.Namespace) -> int:
    from processing.batch import is_recording

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: must be at least 1, got {args.jobs}")
    paths = args.recordings
    if len(paths) == 1 and not (paths[0].is_dir() and not is_recording(paths[0])):
        return run_one(args, paths[0])
    if args.log or who_meta(args):
        raise UsageError(
            "--log, --athlete, --exercise, --load: one recording at a time here; `hinge log add REC...` adds many"
        )
    return run_many(args, paths)


def run_one(args: argparse.Namespace, path: Path) -> int:
    from processing.recording import read_recording

    # Validation first: a bad file is the user's to fix, and is named before any work.
    rec = read_recording(path)
    th = thresholds_from_args(args)

    from processing.analysis import analyze
    from processing.batch import analysis_document
    from processing.reps import reps_dataframe

    with _progress(sys.stderr.isatty() and not args.json) as status:
        result = analyze(rec, th, progress=status.update if status else None, parallel=args.jobs != 1)
        reps, summary = result.reps, result.summary
        if args.csv or args.parquet:  # (the table costs a DataFrame: only when asked for)
            _write_table(args, reps_dataframe(reps))
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
        json.dump(analysis_document(result), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print_report(path, reps, summary)
    if args.log or who_meta(args):
        add_to_log(args, path, analysis=result, thresholds=th, out=sys.stderr if args.json else None)
    cal = result.calibration
    if cal is not None and cal.warning:
        # One line on stderr, in both modes: the numbers are only as good as upright.
        print(f"hinge: warning: {path}: {cal.warning}", file=sys.stderr)
    return 0


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_many(args: argparse.Namespace, paths: list[Path]) -> int:
    """Every recording in ``paths``, ``--jobs`` at a time: JSON Lines or a table per
    recording on stdout, the table of every rep to ``--csv``/``--parquet``; exit 2 if any
    recording failed (after all were analysed and the table written)."""
    if args.angles or args.report:
        raise UsageError("--angles and --report: take one recording (give one REC)")
    th = thresholds_from_args(args)
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from processing.batch import analyze_many, find_recordings, results_table

    recordings = find_recordings(paths)
    if not recordings:
        raise UsageError(f"{', '.join(map(str, paths))}: no recordings found (directories with session.json)")
    jobs = min(args.jobs or _cores(), len(recordings))
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    mapper = partial(pool.map, chunksize=1) if pool else map
    if pool:  # its workers start now (forked), before the progress bar's thread does
        pool.submit(int).result()
    results = []
    with pool or nullcontext(), _batch_progress(len(recordings), sys.stderr.isatty()) as (advance, say):
        # --jobs 1 is one process: no second one for the thigh either
        for r in analyze_many(recordings, th, map=mapper, parallel=pool is None and args.jobs != 1):
            results.append(r)
            advance()
            for w in r.warnings:
                say(f"hinge: warning: {w}")
            if r.error is not None:
                where = "" if r.error.startswith(str(r.path)) else f"{r.path}: "
                say(f"hinge: {where}{r.error}")
            if args.json:
                doc = r.document or {"recording": {"path": str(r.path)}, "error": r.error}
                print(json.dumps(doc, allow_nan=False), flush=True)
    _write_table(args, results_table(results))
    if not args.json:
        print_batch(results)
    return 2 if any(r.error is not None for r in results) else 0


@contextmanager
def _batch_progress(total: int, enabled: bool):
    """A progress bar over the recordings on stderr, only for a person at a terminal;
    yields ``(advance, say)``: ``say(line)`` prints a line on stderr above the bar."""
    if not enabled:
        yield (lambda: None), (lambda line: print(line, file=sys.stderr))
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    ) as progress:
        task = progress.add_task("recordings", total=total)
        yield (
            (lambda: progress.advance(task)),
            (lambda line: progress.console.print(line, markup=False, highlight=False, soft_wrap=True)),
        )


def print_batch(results) -> None:
    """One line per recording: its reps by pattern, or that it failed (the error itself is
    on stderr, and in the table's ``error`` column)."""
    from rich.console import Console
    from rich.table import Table

    from processing.reps import PATTERNS

    failed = sum(r.error is not None for r in results)
    title = f"{len(results)} recordings" + (f", {failed} failed" if failed else "")
    table = Table(title=title, title_justify="left")
    table.add_column("recording", overflow="fold")
    for col in ("reps", "sets", *PATTERNS):
        table.add_column(col, justify="right")
    for r in results:
        if r.error is not None:
            table.add_row(str(r.path), "failed", *[""] * (1 + len(PATTERNS)), style="red")
            continue
        reps = r.document["reps"]
        counts = [str(sum(rep["pattern"] == p for rep in reps)) for p in PATTERNS]
        table.add_row(str(r.path), str(len(reps)), str(len(r.document["summary"]["sets"])), *counts)
    Console().print(table)


def print_report(path: Path, reps, summary: dict) -> None:
    """The rep table (colour by pattern) and the set summary, for a person."""
    from rich.console import Console
    from rich.table import Table

    from processing.reps import Pattern

    def style(pattern: str) -> str:
        return "rgb({},{},{})".format(*Pattern(pattern).colour)

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
        table.add_row(*cells, *([r.cue] if wide else []), style=style(r.pattern))
    console.print(table)
    if not wide:
        for r in reps:
            console.print(f"{r.index:>3}  {r.cue}", style=style(r.pattern))
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
