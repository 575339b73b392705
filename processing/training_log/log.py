"""``TrainingLog``: every session kept, on SQLite (the default) or PostgreSQL.

The log stores what ``hinge analyze`` computes for a recording — every rep, each set's
summary, the session's own figures — with who lifted (athlete), what (exercise), how heavy
(load) and which version of the analysis produced it. Each add is one transaction: a crash,
a kill or an error half-way leaves the log as it was. A recording is known by the hash of its
sensor files, so adding it again changes nothing (except finding it again where it moved).
The command line (``hinge log``), the live session's end and the window all use this class.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from processing.errors import LogError, UsageError
from processing.reps.model import Rep
from processing.training_log import schema
from processing.training_log.database import (
    check_sqlite_file,
    display_name,
    make_engine,
    resolve_url,
    sqlite_path,
    translated,
    use_wal,
    write,
)
from processing.training_log.figures import session_figures, set_rows
from processing.training_log.migrations import migrate, read_version
from processing.versions import ANALYSIS_VERSION

if TYPE_CHECKING:  # the analysis (numpy, pandas) is imported only when a session is analysed
    from processing.analysis import Analysis
    from processing.reps.model import RepThresholds

#: What ``edit`` may change.
EDITABLE = ("athlete", "exercise", "load_kg", "recorded_at", "notes")


@dataclass
class SessionData:
    """Everything one session adds to the log (``TrainingLog.add_session`` inserts it)."""

    path: str
    hash: str
    recorded_at: datetime  # UTC, naive
    reps: list[Rep]
    summary: dict[str, Any]  # processing.reps.summarize(reps)
    date_source: str = "session.json"
    athlete: str | None = None
    exercise: str | None = None
    load_kg: float | None = None
    duration_s: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    calibration_source: str | None = None
    notes: str | None = None
    analysis_version: int | None = None  # None: this hinge's ANALYSIS_VERSION


@dataclass(frozen=True)
class Session:
    """One session as the log lists it (a row of ``hinge_sessions``)."""

    id: int
    path: str
    hash: str
    recorded_at: datetime
    date_source: str
    added_at: datetime
    athlete: str | None
    exercise: str | None
    load_kg: float | None
    duration_s: float | None
    analysis_version: int
    hinge_version: str
    thresholds: str
    calibration_source: str | None
    notes: str | None
    n_sets: int
    n_reps: int
    knee_first_share: float | None
    hip_lag_ms: float | None
    knee_done_pct: float | None
    lean_deg: float | None
    drift_pts: float | None

    @property
    def missing(self) -> bool:
        """The recording is no longer where it was added (moved or deleted): its results
        are kept, but it cannot be re-analysed or reported from there."""
        return not (Path(self.path) / "session.json").is_file()


#: ``hinge_sessions``' columns in ``Session``'s field order: a row becomes a ``Session`` by
#: position (a thousand sessions for the trend cost a few milliseconds, not tens).
SESSION_COLUMNS = [schema.sessions.c[f.name] for f in fields(Session)]


@dataclass(frozen=True)
class SessionDetail:
    """A session with its sets (``hinge_sets`` rows) and reps (``Rep`` field names)."""

    session: Session
    sets: list[dict[str, Any]]
    reps: list[dict[str, Any]]


@dataclass(frozen=True)
class Added:
    """What ``add_recording`` did: ``new`` False when the recording was already in the log
    (``moved``: it was found again at a new path, which the log now remembers)."""

    session: Session
    new: bool
    moved: bool = False


@cache
def _hinge_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hinge-imu")
    except PackageNotFoundError:
        return "0.0.0"


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _text(x: Any) -> str | None:
    return x if isinstance(x, str) and x else None


def _load_kg(meta: dict[str, Any]) -> float | None:
    """session.json's load: ``{"kg": 140}`` (the format's), or a number."""
    load = meta.get("load", meta.get("load_kg"))
    if isinstance(load, dict):
        load = load.get("kg")
    return float(load) if isinstance(load, int | float) and not isinstance(load, bool) else None


def _rep_row(rep: Any) -> dict[str, Any]:
    d = rep.to_dict()
    return {schema.REP_COLUMNS.get(k, k): v for k, v in d.items()}


class TrainingLog:
    """A training log. ``TrainingLog.open()`` opens the default one (creating it);
    ``open(db)`` another, by path or URL. Use it as a context manager, or ``close()`` it."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.where = display_name(url)

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, db: str | None = None, create: bool = True) -> TrainingLog:
        """Open the log ``db`` (a path or URL; None: ``$HINGE_DB``, else the default file),
        creating or migrating its tables. ``create=False``: a missing SQLite file is a
        ``LogError`` rather than a new log (for commands that only read)."""
        url = resolve_url(db)
        path = sqlite_path(url)
        if path is not None:
            check_sqlite_file(path, create)
        log = cls(make_engine(url), url)
        try:
            with translated(log.where):
                with log.engine.connect() as conn:
                    version = read_version(conn, log.where)
                if path is not None:
                    use_wal(log.engine)
                if version != schema.SCHEMA_VERSION:
                    with write(log.engine) as conn:
                        migrate(conn, log.where)
        except BaseException:
            log.close()
            raise
        return log

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> TrainingLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- adding --------------------------------------------------------------------------
    def add_recording(
        self,
        path: str | Path,
        athlete: str | None = None,
        exercise: str | None = None,
        load_kg: float | None = None,
        recorded_at: datetime | None = None,
        notes: str | None = None,
        thresholds: RepThresholds | None = None,
        analysis: Analysis | None = None,
    ) -> Added:
        """Analyse the recording at ``path`` and add it (one transaction), unless the log
        has it already (same sensor data). Athlete, exercise, load and notes not given are
        taken from ``session.json`` when it has them (``hinge stream --athlete ...`` puts them
        there). ``analysis``: its ``processing.analysis.Analysis`` when the caller has one
        already (the analysis is not repeated)."""
        from processing.analysis import analyze
        from processing.recording import read_recording
        from processing.reps import DEFAULT_THRESHOLDS
        from processing.training_log.identity import content_hash, recording_date

        rec = analysis.recording if analysis is not None else read_recording(path)
        # what session.json says (hinge stream --athlete ... keeps it there) unless given
        athlete = athlete if athlete is not None else _text(rec.meta.get("athlete"))
        exercise = exercise if exercise is not None else _text(rec.meta.get("exercise"))
        notes = notes if notes is not None else _text(rec.meta.get("notes"))
        if load_kg is None:
            load_kg = _load_kg(rec.meta)
        digest = content_hash(rec)
        where = str(Path(rec.path).resolve())
        known = self._by_hash(digest)
        if known is not None:
            return self._found_again(known, where)
        th = thresholds or DEFAULT_THRESHOLDS
        if analysis is None:
            analysis = analyze(rec, th)
        date_, source = recording_date(rec)
        if recorded_at is not None:
            date_, source = recorded_at, "given"
        t = [float(df["t"].iloc[i]) for df in rec.segments.values() for i in (0, -1) if len(df)]
        data = SessionData(
            path=where,
            hash=digest,
            recorded_at=date_,
            date_source=source,
            reps=analysis.reps,
            summary=analysis.summary,
            athlete=athlete,
            exercise=exercise,
            load_kg=load_kg,
            notes=notes,
            duration_s=(max(t) - min(t)) if t else None,
            thresholds=asdict(th),
            calibration_source=analysis.calibration.source if analysis.calibration else None,
        )
        session_id = self.add_session(data)
        if session_id is None:  # another process added the same recording meanwhile
            known = self._by_hash(digest)
            assert known is not None  # its insert failed on this very hash
            return self._found_again(known, where)
        return Added(self.get(session_id), new=True)

    def _found_again(self, known: Session, where: str) -> Added:
        if known.path != where and known.missing:
            with translated(self.where), write(self.engine) as conn:
                conn.execute(update(schema.sessions).where(schema.sessions.c.id == known.id).values(path=where))
            return Added(self.get(known.id), new=False, moved=True)
        return Added(known, new=False)

    def add_session(self, data: SessionData) -> int | None:
        """Insert one session with its sets and reps in one transaction; its id, or None
        when the log already has a session with this hash."""
        row = {
            "path": data.path,
            "hash": data.hash,
            "recorded_at": data.recorded_at,
            "date_source": data.date_source,
            "added_at": datetime.now(UTC).replace(tzinfo=None),
            "athlete": data.athlete,
            "exercise": data.exercise,
            "load_kg": data.load_kg,
            "duration_s": data.duration_s,
            "analysis_version": ANALYSIS_VERSION if data.analysis_version is None else data.analysis_version,
            "hinge_version": _hinge_version(),
            "thresholds": json.dumps(data.thresholds),
            "calibration_source": data.calibration_source,
            "notes": data.notes,
            **session_figures(data.reps, data.summary),
        }
        with translated(self.where):
            try:
                with write(self.engine) as conn:
                    key = conn.execute(schema.sessions.insert().values(**row)).inserted_primary_key
                    assert key is not None  # an INSERT of one row has a primary key
                    session_id = int(key[0])
                    self._insert_results(conn, session_id, data.reps, data.summary)
            except IntegrityError:
                if self._by_hash(data.hash) is None:
                    raise
                return None
        return session_id

    @staticmethod
    def _insert_results(conn: Connection, session_id: int, reps: list[Rep], summary: dict[str, Any]) -> None:
        sets = [{"session_id": session_id, **row} for row in set_rows(summary)]
        if sets:
            conn.execute(schema.sets.insert(), sets)
        rows = [{"session_id": session_id, **_rep_row(r)} for r in reps]
        if rows:
            conn.execute(schema.reps.insert(), rows)

    # -- reading -------------------------------------------------------------------------
    def _select(
        self, athlete: str | None, exercise: str | None, since: date | datetime | None, until: datetime | None = None
    ) -> Select[Any]:
        s = schema.sessions
        q = select(*SESSION_COLUMNS)
        if until is not None:
            q = q.where(s.c.recorded_at <= until)
        if athlete is not None:
            q = q.where(s.c.athlete == athlete)
        if exercise is not None:
            q = q.where(s.c.exercise == exercise)
        if since is not None:
            if not isinstance(since, datetime):
                since = datetime(since.year, since.month, since.day)
            q = q.where(s.c.recorded_at >= since)
        return q

    def sessions(
        self,
        athlete: str | None = None,
        exercise: str | None = None,
        since: date | datetime | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        until: datetime | None = None,
    ) -> list[Session]:
        """Sessions, newest first (or oldest first), optionally of one athlete / exercise,
        since a date, until a time."""
        s = schema.sessions
        order = (s.c.recorded_at.desc(), s.c.id.desc()) if newest_first else (s.c.recorded_at, s.c.id)
        q = self._select(athlete, exercise, since, until).order_by(*order)
        if limit is not None:
            q = q.limit(limit)
        with translated(self.where), self.engine.connect() as conn:
            return [Session(*row) for row in conn.execute(q)]

    def get(self, session_id: int) -> Session:
        """The session ``session_id``; a ``UsageError`` when the log has none."""
        with translated(self.where), self.engine.connect() as conn:
            row = conn.execute(select(*SESSION_COLUMNS).where(schema.sessions.c.id == session_id)).first()
        if row is None:
            raise UsageError(f"{self.where}: no session {session_id} in the training log")
        return Session(*row)

    def session(self, session_id: int) -> SessionDetail:
        """The session with its sets and reps."""
        session = self.get(session_id)
        inverse = {v: k for k, v in schema.REP_COLUMNS.items()}
        with translated(self.where), self.engine.connect() as conn:
            sets = [
                dict(r._mapping)
                for r in conn.execute(
                    select(schema.sets).where(schema.sets.c.session_id == session_id).order_by(schema.sets.c.set_no)
                )
            ]
            reps = [
                {inverse.get(k, k): v for k, v in r._mapping.items() if k != "session_id"}
                for r in conn.execute(
                    select(schema.reps).where(schema.reps.c.session_id == session_id).order_by(schema.reps.c.rep)
                )
            ]
        return SessionDetail(session, sets, reps)

    def _by_hash(self, digest: str) -> Session | None:
        with translated(self.where), self.engine.connect() as conn:
            row = conn.execute(select(*SESSION_COLUMNS).where(schema.sessions.c.hash == digest)).first()
        return Session(*row) if row is not None else None

    def count(self) -> int:
        with translated(self.where), self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.sessions)).scalar_one())

    # -- changing ------------------------------------------------------------------------
    def edit(self, session_id: int, **changes: Any) -> Session:
        """Change a session's athlete, exercise, load_kg, recorded_at or notes (None clears
        all but the date)."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise UsageError(f"cannot edit {', '.join(sorted(unknown))} (only {', '.join(EDITABLE)})")
        if changes.get("recorded_at", 0) is None:
            raise UsageError("a session always has a date")
        self.get(session_id)
        if changes:
            with translated(self.where), write(self.engine) as conn:
                conn.execute(update(schema.sessions).where(schema.sessions.c.id == session_id).values(**changes))
        return self.get(session_id)

    def remove(self, session_id: int) -> Session:
        """Delete a session, its sets and its reps (the recording itself is not touched)."""
        session = self.get(session_id)
        with translated(self.where), write(self.engine) as conn:
            for table in (schema.reps, schema.sets):
                conn.execute(delete(table).where(table.c.session_id == session_id))
            conn.execute(delete(schema.sessions).where(schema.sessions.c.id == session_id))
        return session

    def reanalyse(self, progress: Callable[[Session, str], None] | None = None) -> dict[str, int]:
        """Re-run the analysis of every session whose analysis version is older than this
        hinge's, with the thresholds it was analysed with. Each session's new results
        replace its old ones in one transaction (until then the old ones stay); a
        recording that is missing or whose data changed keeps its old results.
        ``progress(session, outcome)`` is told each outcome ("updated", "missing",
        "changed", or the error). Returns the count per outcome."""
        from processing.analysis import analyze
        from processing.recording import read_recording
        from processing.reps import RepThresholds
        from processing.training_log.identity import content_hash

        s = schema.sessions
        with translated(self.where), self.engine.connect() as conn:
            old = [
                Session(*r)
                for r in conn.execute(
                    select(*SESSION_COLUMNS).where(s.c.analysis_version < ANALYSIS_VERSION).order_by(s.c.id)
                )
            ]
        counts: dict[str, int] = {}
        for session in old:
            outcome = "updated"
            try:
                rec = read_recording(session.path)
                if content_hash(rec) != session.hash:
                    outcome = "changed"
                else:
                    result = analyze(rec, RepThresholds(**json.loads(session.thresholds)))
                    self._replace_results(session.id, result, ANALYSIS_VERSION)
            except LogError:
                raise
            except Exception as err:  # noqa: BLE001 - one bad recording must not stop the rest
                outcome = "missing" if session.missing else f"failed: {err}"
            key = outcome.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
            if progress is not None:
                progress(session, outcome)
        return counts

    def _replace_results(self, session_id: int, result: Analysis, version: int) -> None:
        with translated(self.where), write(self.engine) as conn:
            for table in (schema.reps, schema.sets):
                conn.execute(delete(table).where(table.c.session_id == session_id))
            self._insert_results(conn, session_id, result.reps, result.summary)
            conn.execute(
                update(schema.sessions)
                .where(schema.sessions.c.id == session_id)
                .values(
                    analysis_version=version,
                    hinge_version=_hinge_version(),
                    calibration_source=result.calibration.source if result.calibration else None,
                    **session_figures(result.reps, result.summary),
                )
            )

    # -- exporting -----------------------------------------------------------------------
    #: Session and set columns of an export row, before the rep's own fields.
    EXPORT_SESSION_COLUMNS = (
        "session",
        "date",
        "athlete",
        "exercise",
        "load_kg",
        "notes",
        "recording",
        "analysis_version",
    )
    EXPORT_SET_COLUMNS = ("set", "set_reps", "set_knee_first", "set_trend")

    def export_rows(
        self,
        athlete: str | None = None,
        exercise: str | None = None,
        since: date | datetime | None = None,
    ) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """One row per rep with its session's and set's columns, oldest session first:
        (column names, rows). The rows stream from the database (a big log never sits in
        memory whole)."""
        st, r = schema.sets, schema.reps
        rep_cols = [c for c in r.columns if c.name not in ("session_id", "set_no")]
        names = [
            *self.EXPORT_SESSION_COLUMNS,
            *self.EXPORT_SET_COLUMNS,
            *[{"rep": "index"}.get(c.name, c.name) for c in rep_cols],
        ]
        sub = self._select(athlete, exercise, since).subquery()
        q = (
            select(
                sub.c.id,
                sub.c.recorded_at,
                sub.c.athlete,
                sub.c.exercise,
                sub.c.load_kg,
                sub.c.notes,
                sub.c.path,
                sub.c.analysis_version,
                r.c.set_no,
                st.c.reps,
                st.c.knee_first,
                st.c.trend,
                *rep_cols,
            )
            .select_from(
                sub.join(r, r.c.session_id == sub.c.id).outerjoin(
                    st, and_(st.c.session_id == r.c.session_id, st.c.set_no == r.c.set_no)
                )
            )
            .order_by(sub.c.recorded_at, sub.c.id, r.c.rep)
        )

        def rows() -> Iterator[tuple[Any, ...]]:
            with translated(self.where), self.engine.connect() as conn:
                for row in conn.execution_options(stream_results=True, yield_per=2000).execute(q):
                    yield tuple(_finite(v) for v in row)

        return names, rows()
