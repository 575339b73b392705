"""A real, throwaway PostgreSQL server for the training log's tests.

``HINGE_TEST_PG_URL`` names a server to use. Otherwise the ``pg_server`` fixture starts one
from the installed PostgreSQL binaries (Debian's ``postgresql`` package, which ``.ci/run``
installs; ``/usr/lib/postgresql/*/bin``, or ``initdb`` on the PATH) in a temporary folder,
listening only on a unix socket there, and stops it when the tests end. PostgreSQL refuses
to run as root, so under root (CI) it runs as the ``postgres`` user (or ``nobody``). When no
server can start, the tests that need one skip and say why (in CI they fail: ``require``).

``pg_url`` gives each test a new, empty database on that server.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.helpers import require

USER = "hinge"


def _binaries() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> list[str]:
    """The command prefix that runs a server binary as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run the server as")


def start_server() -> tuple[str, callable] | str:
    """(URL of the server's ``postgres`` database, stop function), or why none could start."""
    bindir = _binaries()
    if bindir is None:
        return "PostgreSQL is not installed (no initdb; `apt-get install postgresql`)"
    try:
        prefix = _run_as()
    except RuntimeError as err:
        return str(err)
    home = Path(tempfile.mkdtemp(prefix="hinge-pg-"))
    if prefix:
        shutil.chown(home, user=prefix[2])
    data, log = home / "data", home / "server.log"
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        options = f"-k {home} -c listen_addresses='' -c fsync=off -c max_connections=50"
        subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError) as err:
        detail = getattr(err, "stderr", "") or ""
        if log.exists():
            detail += log.read_text()[-500:]
        shutil.rmtree(home, ignore_errors=True)
        return f"PostgreSQL from {bindir} did not start: {err} {detail.strip()}"

    def stop() -> None:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(home, ignore_errors=True)

    return f"postgresql://{USER}@/postgres?host={home}", stop


@pytest.fixture(scope="session")
def pg_server():
    """URL of a PostgreSQL server's maintenance database (see the module's docstring)."""
    given = os.environ.get("HINGE_TEST_PG_URL")
    if given:
        yield given
        return
    started = start_server()
    if isinstance(started, str):
        require(False, f"no PostgreSQL server for the training log's tests: {started}")
    url, stop = started
    try:
        yield url
    finally:
        stop()


@pytest.fixture
def pg_url(pg_server):
    """A new, empty database on the test server, dropped after the test."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"hinge_test_{uuid.uuid4().hex[:12]}"
    server = make_url(pg_server)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
