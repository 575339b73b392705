"""The training log's tables, as SQLAlchemy Core ``Table``s: one schema for SQLite and PostgreSQL.

Three levels, as a lifter thinks of a session: ``hinge_sessions`` (one recording: when, who,
what, which load, and the session's own figures that the trend reads without touching the
reps), ``hinge_sets`` (each set's summary, as ``hinge analyze`` prints it) and ``hinge_reps``
(every rep's fields, those of ``docs/analysis-json.md``). Sets and reps belong to their session
and go with it (``ON DELETE CASCADE``). Table names start with ``hinge_`` so that a team's
PostgreSQL database can hold the log beside other tables.

``SCHEMA_VERSION`` is the version these definitions are; ``migrations.py`` brings an older log
up to it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 2

metadata = MetaData()

#: One row: the schema version of this log.
schema_version = Table(
    "hinge_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

sessions = Table(
    "hinge_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 of the recording's sensor files: the same data is the same session
    Column("hash", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),  # absolute, as it was when added
    Column("recorded_at", DateTime, nullable=False),  # UTC, naive
    Column("date_source", String(16), nullable=False),  # "session.json" or "file time"
    Column("added_at", DateTime, nullable=False),
    Column("athlete", String(200)),
    Column("exercise", String(200)),
    Column("load_kg", Float),
    Column("duration_s", Float),
    Column("analysis_version", Integer, nullable=False),
    Column("hinge_version", String(40), nullable=False),
    Column("thresholds", Text, nullable=False),  # JSON of the RepThresholds used
    Column("calibration_source", String(40)),
    Column("notes", Text),  # the lifter's or coach's words (version 2)
    # the session's own figures (``summary.session_figures``): what `hinge log` and the
    # trend read, one row per session
    Column("n_sets", Integer, nullable=False),
    Column("n_reps", Integer, nullable=False),
    Column("knee_first_share", Float),  # 0-1
    Column("hip_lag_ms", Float),  # mean over reps
    Column("knee_done_pct", Float),
    Column("lean_deg", Float),
    Column("drift_pts", Float),  # knee-first share, late half of sets minus early half, points
)
Index("ix_hinge_sessions_who", sessions.c.athlete, sessions.c.exercise, sessions.c.recorded_at)

sets = Table(
    "hinge_sets",
    metadata,
    Column("session_id", Integer, ForeignKey("hinge_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("set_no", Integer, primary_key=True),
    Column("start_s", Float),
    Column("end_s", Float),
    Column("reps", Integer, nullable=False),
    Column("knee_first", Integer, nullable=False),
    Column("simultaneous", Integer, nullable=False),
    Column("hips_rise_early", Integer, nullable=False),
    Column("hip_lag_mean", Float),
    Column("hip_lag_sd", Float),
    Column("knee_done_mean", Float),
    Column("knee_done_sd", Float),
    Column("lean_mean", Float),
    Column("lean_sd", Float),
    Column("concentric_mean", Float),
    Column("concentric_sd", Float),
    Column("reps_per_min", Float),
    Column("gaps", Integer, nullable=False),
    Column("trend", Text),
)

#: ``Rep`` field -> column of ``hinge_reps`` (``index`` and ``set`` are SQL words).
REP_COLUMNS = {"index": "rep", "set": "set_no"}

reps = Table(
    "hinge_reps",
    metadata,
    Column("session_id", Integer, ForeignKey("hinge_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("rep", Integer, primary_key=True),
    Column("set_no", Integer, nullable=False),
    *(
        Column(name, Float)
        for name in (
            "start_s",
            "lockout_s",
            "end_s",
            "knee_onset_s",
            "knee_end_s",
            "hip_onset_s",
            "hip_end_s",
            "hip_lag_ms",
            "knee_done_at_hip_onset_pct",
            "trunk_lean_change_deg",
            "peak_knee_ext_deg_s",
            "peak_hip_ext_deg_s",
            "trunk_start_deg",
            "thigh_start_deg",
            "hip_start_deg",
            "concentric_s",
        )
    ),
    Column("pattern", String(20), nullable=False),
    Column("cue", Text, nullable=False),
    Column("gap", Boolean, nullable=False),
)
