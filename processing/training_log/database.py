"""Where the log lives and how hinge talks to it: one SQLAlchemy engine, SQLite or PostgreSQL.

The default log is an SQLite file in the user's data directory (platformdirs); ``HINGE_DB``
or ``--db`` name another one, as a file path or a URL (``postgresql://user@host/db`` for a
team's server, through psycopg 3). SQLite runs in WAL mode with a generous busy timeout, so
two hinge processes adding sessions at once wait for each other instead of failing, and every
write transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock first: no
transaction can find its snapshot outdated halfway). A file that is not an SQLite database is
refused before SQLite touches it: it is never turned into a new empty log.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from processing.errors import LogError

#: The environment variable that names the log (a path or a URL); ``--db`` wins over it.
ENV_VAR = "HINGE_DB"
LOG_FILE = "training-log.sqlite"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0  # how long a writer waits for another one (an add takes well under 1 s)


def default_path() -> Path:
    """The default log: ``training-log.sqlite`` in the user's data directory."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("hinge", appauthor=False)) / LOG_FILE


def resolve_url(db: str | None = None) -> str:
    """The log's SQLAlchemy URL: ``db``, else ``$HINGE_DB``, else the default file. A value
    without ``://`` is a file path (an SQLite log)."""
    name = db or os.environ.get(ENV_VAR) or str(default_path())
    if "://" in name:
        return name
    return f"sqlite:///{Path(name).expanduser().resolve()}"


def display_name(url: str) -> str:
    """How messages name the log: the file for SQLite, the URL without password otherwise."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        return url if "@" not in url else "..." + url[url.index("@") :]
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return u.render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite log (None for a server, an in-memory database, or a URL that
    does not parse: ``make_engine`` says what is wrong with it)."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    return Path(u.database)


def check_sqlite_file(path: Path, create: bool) -> None:
    """Refuse what SQLite would misread: not a database, or no file where one must be."""
    where = str(path)
    if path.is_dir():
        raise LogError(f"{where}: is a directory, not a training log")
    if path.exists():
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as err:
            raise LogError(f"{where}: cannot read the training log: {err.strerror or err}") from None
        if head and head != SQLITE_MAGIC:
            raise LogError(
                f"{where}: not a hinge training log: not an SQLite database "
                "(another kind of file, or corrupt); hinge left it untouched, "
                "move it aside to start a new log there"
            )
        return
    if not create:
        raise LogError(f"{where}: no training log there yet (no session was ever added to it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LogError(f"{where}: cannot create the training log: {err.strerror or err}") from None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, a busy timeout and explicit
    transactions (``BEGIN IMMEDIATE`` for writes: see ``write``), PostgreSQL psycopg 3
    (``postgresql://`` and ``postgres://`` URLs alike)."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        shown = url if "@" not in url else "..." + url[url.index("@") :]  # never a password
        raise LogError(
            f"{shown}: not a database URL (a file path, sqlite:///FILE or postgresql://USER@HOST/DB)"
        ) from None
    backend = u.get_backend_name()
    if backend in ("postgresql", "postgres") and u.drivername in ("postgresql", "postgres"):
        backend = "postgresql"
        url = u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    try:
        if backend == "sqlite":
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ArgumentError, ImportError) as err:
        raise LogError(
            f"{display_name(url)}: this kind of database is not supported (SQLite or PostgreSQL): {err}"
        ) from None
    return engine


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # hinge, not the sqlite3 module, says where transactions begin (see _sqlite_begin)
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: never corrupt, durable at checkpoints
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("hinge_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def use_wal(engine: Engine) -> None:
    """Put an SQLite log in WAL mode (kept in the file; readers and a writer then never block
    each other). Only once the file is known to be a hinge log: another program's database
    is left exactly as it was."""
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA journal_mode = WAL")
    finally:
        raw.close()


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: all of it is committed, or none (an error, a crash, a kill)."""
    with engine.connect().execution_options(hinge_write=True) as conn, conn.begin():
        yield conn


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Database errors as one-line ``LogError``s naming the log."""
    try:
        yield
    except DBAPIError as err:
        raise LogError(f"{where}: {_explain(err)}") from None
    except SQLAlchemyError as err:
        raise LogError(f"{where}: {str(err).splitlines()[0]}") from None


def _explain(err: DBAPIError) -> str:
    text = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
    if "file is not a database" in text or "malformed" in text:
        return (
            f"not a usable training log: {text} (corrupt, or another program's file); "
            "hinge left it untouched, move it aside to start a new log there"
        )
    if "unable to open database file" in text:
        return "cannot open the training log file (does its folder exist, may hinge write there?)"
    if err.connection_invalidated or "connection" in text.lower():
        return f"cannot reach the training log's database: {text}"
    return text
