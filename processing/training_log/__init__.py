"""The training log: every session kept, to follow a lifter (or a squad) across weeks.

``TrainingLog.open(db)`` opens the log — by default an SQLite file in the user's data
directory, or any SQLAlchemy URL (``postgresql://...`` for a team's server) given as ``db``
or in ``$HINGE_DB`` — and ``add_recording(path, athlete=..., exercise=..., load_kg=...)``
adds a recording's analysis to it. Modules: ``schema`` (the tables), ``migrations`` (schema
versions), ``database`` (where the log lives, SQLite settings, errors), ``identity`` (a
recording's hash and date), ``figures`` (a session's figures, today against the last
sessions), ``log`` (``TrainingLog``), ``trend`` (the trend across sessions, in words).

The names below are imported from their module on first use (PEP 562): the window reads
``figures`` without loading SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processing.lazy import lazy_exports

#: name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ENV_VAR": "processing.training_log.database",
    "default_path": "processing.training_log.database",
    "resolve_url": "processing.training_log.database",
    "Added": "processing.training_log.log",
    "Session": "processing.training_log.log",
    "SessionData": "processing.training_log.log",
    "SessionDetail": "processing.training_log.log",
    "TrainingLog": "processing.training_log.log",
    "SCHEMA_VERSION": "processing.training_log.schema",
}

__all__ = [
    "ENV_VAR",
    "SCHEMA_VERSION",
    "Added",
    "Session",
    "SessionData",
    "SessionDetail",
    "TrainingLog",
    "default_path",
    "resolve_url",
]

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from processing.training_log.database import ENV_VAR, default_path, resolve_url
    from processing.training_log.log import Added, Session, SessionData, SessionDetail, TrainingLog
    from processing.training_log.schema import SCHEMA_VERSION


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
