"""`hinge log`: the training log — every session kept, progress across weeks.

``hinge log`` lists the sessions (newest first), ``log show ID`` one of them as ``hinge
analyze`` prints a recording, ``log add REC...`` adds recordings (a folder of recordings
too), ``log edit ID`` changes who, what, how heavy or when, ``log rm ID`` forgets a session,
``log trend`` follows the figures across sessions and against load (in words, and a plot
with ``--png``), ``log export`` writes one row per rep (CSV or Parquet), ``log reanalyse``
re-runs sessions an older analysis produced. The log is ``processing.training_log``; which
one is used: ``--db``, else ``$HINGE_DB``, else the default file in the user's data folder.

The helpers at the bottom serve ``stream``, ``demo`` and ``analyze``: their ``--athlete``,
``--exercise``, ``--load`` and ``--db`` options and the add at the end of a session.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from hinge.errors import HingeError, OutputError, UsageError, one_line

DEFAULT_LIMIT = 30


# -- options ---------------------------------------------------------------------------
def _load(text: str) -> float:
    try:
        kg = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a load in kg: {text!r}") from None
    if not (math.isfinite(kg) and 0 <= kg <= 2000):
        raise argparse.ArgumentTypeError(f"a load is 0-2000 kg, got {text}")
    return kg


def _local_datetime(text: str) -> datetime:
    """YYYY-MM-DD[THH:MM[:SS]] in local time -> UTC without tzinfo (as the log stores it)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # local time
    return dt.astimezone(UTC).replace(tzinfo=None)


def local(dt: datetime) -> datetime:
    """A stored (UTC, naive) time in local time."""
    return dt.replace(tzinfo=UTC).astimezone()


def add_db_arg(p: argparse.ArgumentParser, default: object = None) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="the training log: a file path or a database URL such as "
        "postgresql://user@host/db (default: $HINGE_DB, else the log in your data folder)",
    )


def add_who_args(p: argparse.ArgumentParser) -> None:
    """``--athlete``, ``--exercise``, ``--load``: what the log keeps about a session."""
    g = p.add_argument_group("training log")
    g.add_argument("--athlete", metavar="NAME", help="who lifted (kept in the training log)")
    g.add_argument("--exercise", metavar="NAME", help="what was lifted, e.g. deadlift")
    g.add_argument("--load", type=_load, metavar="KG", help="the load on the bar, kg")
    g.add_argument("--note", metavar="TEXT", help="a note for the session (a belt, how it felt)")
    add_db_arg(g)


def add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--athlete", metavar="NAME", help="only this athlete's sessions")
    p.add_argument("--exercise", metavar="NAME", help="only this exercise")
    p.add_argument("--since", type=_local_datetime, metavar="DATE", help="only sessions from DATE on")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "log",
        help="the training log: every session kept; trend across weeks, export",
        description="The training log: sessions recorded with `hinge stream --record` are added "
        "when they end, `hinge log add` adds existing recordings. Without a subcommand: the "
        "sessions, newest first.",
    )
    add_db_arg(p)
    add_filter_args(p)
    p.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show the newest N sessions (default {DEFAULT_LIMIT}; 0: all)",
    )
    p.set_defaults(func=run_list)
    cmds = p.add_subparsers(dest="log_command", metavar="SUBCOMMAND")

    def leaf(name: str, help: str, func) -> argparse.ArgumentParser:
        q = cmds.add_parser(name, help=help, description=help)
        add_db_arg(q, default=argparse.SUPPRESS)  # after the subcommand too, same meaning
        q.set_defaults(func=func)
        return q

    q = leaf("show", "one session: its reps and set summaries", run_show)
    q.add_argument("id", type=int, help="session id (the first column of `hinge log`)")

    q = leaf("add", "add recordings to the log (a recording already in it changes nothing)", run_add)
    q.add_argument(
        "recordings", type=Path, nargs="+", metavar="REC", help="recording folders, or folders of recordings"
    )
    q.add_argument("--athlete", metavar="NAME", help="who lifted")
    q.add_argument("--exercise", metavar="NAME", help="what was lifted, e.g. deadlift")
    q.add_argument("--load", type=_load, metavar="KG", help="the load on the bar, kg")
    q.add_argument(
        "--date", type=_local_datetime, metavar="DATE", help="when it was lifted (default: the recording's start)"
    )
    q.add_argument("--note", metavar="TEXT", help="a note (default: session.json's notes)")

    q = leaf("edit", "change a session's athlete, exercise, load, date or note", run_edit)
    q.add_argument("id", type=int, help="session id")
    q.add_argument("--athlete", metavar="NAME", help="who lifted ('' clears it)")
    q.add_argument("--exercise", metavar="NAME", help="what was lifted ('' clears it)")
    q.add_argument("--load", metavar="KG", help="the load on the bar, kg ('' clears it)")
    q.add_argument("--date", type=_local_datetime, metavar="DATE", help="when it was lifted")
    q.add_argument("--note", metavar="TEXT", help="the session's note ('' clears it)")

    q = leaf("rm", "forget a session (its recording is not touched)", run_rm)
    q.add_argument("id", type=int, help="session id")

    q = leaf(
        "trend",
        "hip lag, knee-done %%, knee-first share and in-set drift across "
        "sessions and against load, in words (and a plot)",
        run_trend,
    )
    add_filter_args(q)
    q.add_argument("--png", type=Path, metavar="FILE", help="also plot the trend to FILE (PNG)")
    q.add_argument(
        "--by",
        choices=("session", "week", "month"),
        help="one table row per session, week or month (default: per session up to "
        "20 sessions, else per week, else per month); the trend itself always "
        "weighs every session",
    )

    q = leaf(
        "athletes",
        "the squad: each athlete's sessions, last session and knee-first share "
        "of the last five sessions against the ones before",
        run_athletes,
    )
    q.add_argument("--exercise", metavar="NAME", help="only this exercise")
    q.add_argument("--since", type=_local_datetime, metavar="DATE", help="only sessions from DATE on")

    q = leaf("export", "one row per rep, with its session's and set's columns", run_export)
    add_filter_args(q)
    out = q.add_mutually_exclusive_group(required=True)
    out.add_argument("--csv", type=Path, metavar="FILE", help="write CSV")
    out.add_argument("--parquet", type=Path, metavar="FILE", help="write Parquet")

    leaf("reanalyse", "re-run the sessions an older version of the analysis produced", run_reanalyse)


def open_log(args: argparse.Namespace, create: bool = True):
    from processing.training_log import TrainingLog

    return TrainingLog.open(getattr(args, "db", None), create=create)


def _pct(x: float | None, scale: float = 100.0) -> str:
    return "–" if x is None else f"{x * scale:.0f}"


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None or not math.isfinite(x) else fmt.format(x)


def _filters(args: argparse.Namespace) -> dict:
    return {"athlete": args.athlete, "exercise": args.exercise, "since": args.since}


# -- hinge log -------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from processing.training_log import resolve_url
    from processing.training_log.database import sqlite_path
    from processing.versions import ANALYSIS_VERSION

    path = sqlite_path(resolve_url(args.db))
    if path is not None and not path.exists():
        print(
            f"{path}: no sessions yet (`hinge log add REC` adds a recording; "
            "`hinge stream --record DIR` adds each session when it ends)"
        )
        return 0
    with open_log(args, create=False) as log:
        total = log.count()
        rows = log.sessions(**_filters(args), limit=args.limit or None)
        where = log.where
    console = Console()
    if not rows:
        console.print(f"{where}: no sessions" + (" match" if total else " yet"))
        return 0
    shown = f"{len(rows)} of {total}" if len(rows) < total else f"{total}"
    table = Table(title=f"{where}: {shown} session{'s' if total != 1 else ''}, newest first", title_justify="left")
    for col in (
        "id",
        "date",
        "athlete",
        "exercise",
        "load kg",
        "sets",
        "reps",
        "knee-first %",
        "hip lag ms",
        "knees done %",
        "drift pts",
        "state",
        "notes",
    ):
        table.add_column(
            col,
            justify="left" if col in ("date", "athlete", "exercise", "state", "notes") else "right",
            no_wrap=col in ("id", "date", "athlete", "exercise", "notes"),
            min_width=8 if col in ("athlete", "exercise") else None,
            max_width=20 if col == "notes" else None,
        )
    for s in rows:
        state = []
        if s.missing:
            state.append("recording missing")
        if s.analysis_version < ANALYSIS_VERSION:
            state.append("older analysis")
        table.add_row(
            str(s.id),
            f"{local(s.recorded_at):%Y-%m-%d %H:%M}",
            s.athlete or "",
            s.exercise or "",
            _num(s.load_kg, "{:g}"),
            str(s.n_sets),
            str(s.n_reps),
            _pct(s.knee_first_share),
            _num(s.hip_lag_ms, "{:.0f}"),
            _num(s.knee_done_pct, "{:.0f}"),
            _num(s.drift_pts, "{:+.0f}"),
            ", ".join(state),
            s.notes or "",
            style="dim" if s.missing else None,
        )
    console.print(table)
    if len(rows) < total:
        console.print(f"(--limit 0 shows all {total})")
    return 0


# -- hinge log show ID -------------------------------------------------------------------
def run_show(args: argparse.Namespace) -> int:
    from hinge.commands.analyze import print_report
    from processing.reps import Pattern, Rep
    from processing.training_log.figures import set_summary
    from processing.versions import ANALYSIS_VERSION

    with open_log(args, create=False) as log:
        detail = log.session(args.id)
    s = detail.session
    who = ", ".join(x for x in (s.athlete, s.exercise, f"{s.load_kg:g} kg" if s.load_kg is not None else None) if x)
    print(f"session {s.id}: {local(s.recorded_at):%Y-%m-%d %H:%M} ({s.date_source})" + (f"; {who}" if who else ""))
    state = "MISSING (moved or deleted; its results are kept here)" if s.missing else "present"
    print(f"recording: {s.path} ({state})")
    if s.notes:
        print(f"notes: {s.notes}")
    old = " (older than this hinge's: `hinge log reanalyse`)" if s.analysis_version < ANALYSIS_VERSION else ""
    print(f"analysis version {s.analysis_version}{old}, hinge {s.hinge_version}")
    reps = [
        Rep(**{**{k: (math.nan if v is None else v) for k, v in r.items()}, "pattern": Pattern(r["pattern"])})
        for r in detail.reps
    ]
    print_report(Path(s.path).name, reps, {"sets": [set_summary(row) for row in detail.sets]})
    return 0


# -- hinge log add REC... ----------------------------------------------------------------
def recordings_in(path: Path) -> list[Path]:
    """``path`` itself when it is a recording, else the recordings in it (one level down)."""
    if (path / "session.json").exists() or not path.is_dir():
        return [path]
    found = sorted(p for p in path.iterdir() if (p / "session.json").is_file())
    return found or [path]  # nothing inside: read_recording says what is wrong with it


def run_add(args: argparse.Namespace) -> int:
    recordings = [r for path in args.recordings for r in recordings_in(path)]
    failed = 0
    with open_log(args) as log:
        for rec in recordings:
            try:
                added = log.add_recording(
                    rec,
                    athlete=args.athlete,
                    exercise=args.exercise,
                    load_kg=args.load,
                    recorded_at=args.date,
                    notes=args.note,
                )
            except HingeError as err:
                if len(recordings) == 1:
                    raise
                failed += 1
                print(f"hinge: {one_line(err)}", file=sys.stderr)
                continue
            print(added_line(rec, added), flush=True)
    return 2 if failed else 0


def added_line(rec: Path, added) -> str:
    s = added.session
    if not added.new:
        moved = " (found at a new place: the log now points here)" if added.moved else ""
        return f"{rec}: already in the log as session {s.id}{moved}"
    return (
        f"{rec}: added as session {s.id} ({s.n_reps} reps, knee-first "
        f"{_pct(s.knee_first_share)} %; `hinge log show {s.id}`)"
    )


# -- hinge log edit / rm -----------------------------------------------------------------
def run_edit(args: argparse.Namespace) -> int:
    changes: dict = {}
    for name, key in (("athlete", "athlete"), ("exercise", "exercise"), ("note", "notes")):
        value = getattr(args, name)
        if value is not None:
            changes[key] = value or None
    if args.load is not None:
        try:
            changes["load_kg"] = _load(args.load) if args.load else None
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"--load: {err}") from None
    if args.date is not None:
        changes["recorded_at"] = args.date
    if not changes:
        raise UsageError("log edit: nothing to change (--athlete, --exercise, --load, --date, --note)")
    with open_log(args, create=False) as log:
        s = log.edit(args.id, **changes)
    print(
        f"session {s.id}: {local(s.recorded_at):%Y-%m-%d %H:%M}, athlete {s.athlete or '–'}, "
        f"exercise {s.exercise or '–'}, load {_num(s.load_kg, '{:g} kg')}, note {s.notes or '–'}"
    )
    return 0


def run_rm(args: argparse.Namespace) -> int:
    with open_log(args, create=False) as log:
        s = log.remove(args.id)
    print(f"session {s.id} removed from the log ({s.path} is untouched)")
    return 0


# -- hinge log trend ---------------------------------------------------------------------
def run_trend(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from processing.training_log.trend import auto_period, periods, trend_words

    with open_log(args, create=False) as log:
        sessions = log.sessions(**_filters(args), newest_first=False)
        where = log.where
    console = Console()
    if not sessions:
        console.print(f"{where}: no sessions" + (" match" if any(_filters(args).values()) else " yet"))
        return 0
    by = args.by or auto_period(sessions)
    what = ", ".join(x for x in (args.athlete, args.exercise) if x) or "all sessions"
    per = {"session": "per session", "week": "per week", "month": "per month"}[by]
    table = Table(title=f"{where}: {what}, {len(sessions)} sessions, {per}, oldest first", title_justify="left")
    grouped = by != "session"
    for col in (
        by,
        *(["sessions"] if grouped else []),
        "load kg",
        "reps",
        "knee-first %",
        "hip lag ms",
        "knees done %",
        "drift pts",
    ):
        table.add_column(col, justify="left" if col == by else "right", no_wrap=col in (by, "load kg"))
    for p in periods(sessions, by):
        load = (
            "–"
            if p.load_min is None
            else f"{p.load_min:g}"
            if p.load_min == p.load_max
            else f"{p.load_min:g}-{p.load_max:g}"
        )
        table.add_row(
            p.label,
            *([str(p.sessions)] if grouped else []),
            load,
            str(p.reps),
            _num(p.knee_first_pct, "{:.0f}"),
            _num(p.hip_lag_ms, "{:.0f}"),
            _num(p.knee_done_pct, "{:.0f}"),
            _num(p.drift_pts, "{:+.0f}"),
        )
    console.print(table)
    athletes = {s.athlete for s in sessions}
    exercises = {s.exercise for s in sessions}
    if len(athletes) > 1 and args.athlete is None:
        console.print(f"note: {len(athletes)} athletes mixed; --athlete NAME follows one")
    if len(exercises) > 1 and args.exercise is None:
        console.print(f"note: {len(exercises)} exercises mixed; --exercise NAME follows one")
    for line in trend_words(sessions):
        console.print(f"  trend: {line}")
    if args.png:
        from hinge.log_plot import write_trend_png

        write_trend_png(sessions, args.png, title=f"hinge log trend: {what}")
        console.print(f"plot: {args.png}")
    return 0


# -- hinge log athletes -----------------------------------------------------------------
def run_athletes(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from processing.training_log.trend import RECENT, athletes

    with open_log(args, create=False) as log:
        sessions = log.sessions(exercise=args.exercise, since=args.since, newest_first=False)
        where = log.where
    console = Console()
    if not sessions:
        console.print(f"{where}: no sessions")
        return 0
    table = Table(
        title=f"{where}: {len(sessions)} sessions" + (f" of {args.exercise}" if args.exercise else ""),
        title_justify="left",
    )
    for col in ("athlete", "sessions", "first", "last", "last load kg", f"knee-first % last {RECENT}", "before"):
        table.add_column(col, justify="left" if col in ("athlete", "first", "last") else "right")
    for a in athletes(sessions):
        table.add_row(
            a.name or "(no name)",
            str(a.sessions),
            f"{local(a.first.recorded_at):%Y-%m-%d}",
            f"{local(a.last.recorded_at):%Y-%m-%d}",
            _num(a.last.load_kg, "{:g}"),
            _num(a.recent_pct, "{:.0f}"),
            _num(a.before_pct, "{:.0f}"),
        )
    console.print(table)
    return 0


# -- hinge log export --------------------------------------------------------------------
def run_export(args: argparse.Namespace) -> int:
    target = args.csv or args.parquet
    with open_log(args, create=False) as log:
        columns, rows = log.export_rows(**_filters(args))
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            n = _write_csv(tmp, columns, rows) if args.csv else _write_parquet(tmp, columns, rows)
            os.replace(tmp, target)  # all or nothing: an existing file is replaced only whole
        except OSError as err:
            raise OutputError(f"{target}: cannot write: {err.strerror or err}") from None
        finally:
            tmp.unlink(missing_ok=True)
    print(f"{target}: {n} reps")
    return 0


def _cell(v):
    return v.isoformat(sep=" ") if isinstance(v, datetime) else v


def _write_csv(path: Path, columns: list[str], rows) -> int:
    import csv

    n = 0
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if v is None else _cell(v) for v in row])
            n += 1
    return n


def _write_parquet(path: Path, columns: list[str], rows) -> int:
    import pandas as pd

    table = pd.DataFrame.from_records(list(rows), columns=[str(c) for c in columns])
    table.to_parquet(path, index=False)  # fastparquet: pyarrow would load with every pandas
    return len(table)


# -- hinge log reanalyse -----------------------------------------------------------------
def run_reanalyse(args: argparse.Namespace) -> int:
    from processing.versions import ANALYSIS_VERSION

    def progress(session, outcome: str) -> None:
        print(f"session {session.id}: {session.path}: {outcome}", flush=True)

    with open_log(args, create=False) as log:
        counts = log.reanalyse(progress)
    if not counts:
        print(f"every session is at analysis version {ANALYSIS_VERSION}: nothing to do")
        return 0
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


# -- for stream, demo and analyze ------------------------------------------------------------
def who_meta(args: argparse.Namespace) -> dict:
    """``--athlete``, ``--exercise``, ``--load``, ``--note`` as ``session.json`` keeps them (a recording
    added to a log later brings them along)."""
    pairs = (
        ("athlete", args.athlete),
        ("exercise", args.exercise),
        ("load", None if args.load is None else {"kg": args.load}),
        ("notes", args.note),
    )
    return {k: v for k, v in pairs if v is not None}


#: How many of the athlete's last sessions the window shows beside the live set.
WINDOW_SESSIONS = 5


def recent_sessions(args: argparse.Namespace) -> dict | None:
    """The window's history panel (``viewer.history_panel.HistoryPanel``'s arguments): the
    last sessions of ``--athlete`` (and ``--exercise``) from the log, or of everyone when no
    athlete is named. None when there is no log yet or it cannot be read (said in one line:
    the session goes on without it)."""
    from processing.training_log import resolve_url
    from processing.training_log.database import sqlite_path

    path = sqlite_path(resolve_url(args.db))
    if path is not None and not path.exists():
        sessions = []
    else:
        try:
            with open_log(args, create=False) as log:
                sessions = log.sessions(athlete=args.athlete, exercise=args.exercise, limit=WINDOW_SESSIONS)
        except HingeError as err:
            print(f"hinge: warning: the training log is not shown: {one_line(err)}", file=sys.stderr)
            return None
    who = ", ".join(x for x in (args.athlete, args.exercise) if x)
    return {"sessions": sessions, "who": who, "load_kg": args.load}


def add_to_log(args: argparse.Namespace, recording: Path, analysis=None, thresholds=None, out=None) -> None:
    """Add a finished recording (and its ``analysis`` with ``thresholds``, when there is one)
    to the log named by ``args`` (``--db``) with ``--athlete``, ``--exercise``, ``--load``; one line says what happened. A log that cannot be used is
    reported without failing the session: the recording is safe on disk. ``out``: where
    the line goes (default stdout)."""
    from processing.training_log.figures import comparison

    try:
        with open_log(args) as log:
            added = log.add_recording(
                recording,
                athlete=args.athlete,
                exercise=args.exercise,
                load_kg=args.load,
                notes=args.note,
                analysis=analysis,
                thresholds=thresholds,
            )
            s = added.session
            earlier = [
                p
                for p in log.sessions(
                    athlete=s.athlete, exercise=s.exercise, until=s.recorded_at, limit=WINDOW_SESSIONS + 1
                )
                if p.id != s.id
            ][:WINDOW_SESSIONS]
    except HingeError as err:
        print(f"hinge: warning: not added to the training log: {one_line(err)}", file=sys.stderr)
        return
    print(added_line(recording, added), file=out or sys.stdout, flush=True)
    if added.new:
        print(f"  {comparison(earlier, s.knee_first_share, s.hip_lag_ms)}", file=out or sys.stdout, flush=True)
