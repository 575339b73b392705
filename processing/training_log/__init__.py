"""The training log: every session kept, to follow a lifter (or a squad) across weeks.

``TrainingLog.open(db)`` opens the log — by default an SQLite file in the user's data
directory, or any SQLAlchemy URL (``postgresql://...`` for a team's server) given as ``db``
or in ``$HINGE_DB`` — and ``add_recording(path, athlete=..., exercise=..., load_kg=...)``
adds a recording's analysis to it. Modules: ``schema`` (the tables), ``migrations`` (schema
versions), ``database`` (where the log lives, SQLite settings, errors), ``identity`` (a
recording's hash and date), ``figures`` (a session's figures), ``log`` (``TrainingLog``),
``trend`` (the trend across sessions, in words).
"""

from processing.training_log.database import ENV_VAR, default_path, resolve_url
from processing.training_log.log import Added, Session, SessionData, SessionDetail, TrainingLog
from processing.training_log.schema import SCHEMA_VERSION

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
