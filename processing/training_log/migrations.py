"""Bringing a log up to ``SCHEMA_VERSION``: steps keyed by the version they lead to.

``hinge_schema`` holds the log's version. Opening a log reads it (no lock, the usual case:
nothing to do). A new log gets the tables of ``schema.py`` at once; an older log runs the
missing ``STEPS`` in one write transaction, so a log is always at one version, never
half-way. A log from a newer hinge is refused (this hinge would misread it), and so is an
SQLite file that holds another program's tables. On PostgreSQL a transaction-level advisory
lock lets one process migrate while the others wait.

A change to the tables adds a step here (``ALTER TABLE`` ...), bumps ``SCHEMA_VERSION`` and
changes ``schema.py`` to match; a step, once released, never changes.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from processing.errors import LogError
from processing.training_log import schema

#: A number of hinge's own for ``pg_advisory_xact_lock``: "hinge" in ASCII.
PG_LOCK_KEY = 0x68696E6765


def _add_notes(conn: Connection) -> None:
    """Version 2: a session's notes (the lifter's or coach's words: a belt, how it felt)."""
    conn.execute(text("ALTER TABLE hinge_sessions ADD COLUMN notes TEXT"))


#: version -> the step that brings a log at version - 1 to it. Version 1: sessions, sets, reps.
STEPS: dict[int, Callable[[Connection], None]] = {2: _add_notes}


def read_version(conn: Connection, where: str) -> int | None:
    """The log's schema version; None for a database without hinge's tables."""
    tables = set(inspect(conn).get_table_names())
    if schema.schema_version.name not in tables:
        ours = sorted(t for t in tables if t.startswith("hinge_"))
        if ours:
            raise LogError(
                f"{where}: hinge tables ({', '.join(ours)}) without a schema version: not a log hinge can read"
            )
        if conn.dialect.name == "sqlite" and tables:
            raise LogError(
                f"{where}: not a hinge training log: an SQLite database of "
                f"another program (tables {', '.join(sorted(tables)[:5])}); "
                "hinge left it untouched"
            )
        return None
    version = conn.execute(select(schema.schema_version.c.version)).scalar()
    if version is None:
        raise LogError(f"{where}: the training log has no schema version (hinge_schema is empty)")
    if version > schema.SCHEMA_VERSION:
        raise LogError(
            f"{where}: written by a newer hinge (log schema version {version}; this "
            f"hinge reads up to {schema.SCHEMA_VERSION}): upgrade hinge to use it"
        )
    return version


def migrate(conn: Connection, where: str) -> None:
    """Inside a write transaction: bring the log to ``SCHEMA_VERSION`` (creating it when the
    database is empty)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
    version = read_version(conn, where)  # again: another process may have migrated meanwhile
    if version == schema.SCHEMA_VERSION:
        return
    if version is None:
        schema.metadata.create_all(conn)
        conn.execute(schema.schema_version.insert().values(version=schema.SCHEMA_VERSION))
        return
    for step in range(version + 1, schema.SCHEMA_VERSION + 1):
        STEPS[step](conn)
    conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION))
