"""The training log: a trend over a long log, and what adding a session costs beyond its analysis.

A log of ``--sessions`` (1,000) sessions x ``--reps`` (30) reps is filled through the API
(``TrainingLog.add_session``, synthetic sessions: the reps of a real recording with their
patterns and timings varied), then:

- ``hinge log trend`` as a user runs it (a CLI subprocess, best of 3); target <= 0.5 s. The
  baseline in the same run: ``hinge --version``, the interpreter's and CLI's start-up alone.
- ``hinge log add`` of one simulated ``--minutes`` (10) minute session, against the analysis
  of the same recording (``hinge analyze REC --json``), both as CLI subprocesses, and in-process
  (``TrainingLog.add_recording`` against ``processing.analysis.analyze``); target: the add costs
  at most its analysis + 0.1 s.

On SQLite (a file) and on PostgreSQL when a server can start (``HINGE_TEST_PG_URL``, or a
throwaway one from the installed binaries, as the tests do).
Run: ``uv run python benchmarks/bench_log.py [--sessions 1000 --reps 30 --minutes 10]``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hinge import (  # noqa: E402
    Pattern,
    SimConfig,
    TrainingLog,
    analyze,
    read_recording,
    simulate,
    summarize,
    write_simulation,
)
from processing.training_log import SessionData  # noqa: E402
from tests.helpers_postgres import start_server  # noqa: E402


class Timing(NamedTuple):
    wall: float
    cpu: float  # this process's and its children's user + system time

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall / {self.cpu:.2f} s CPU"

    def __sub__(self, other: Timing) -> Timing:
        return Timing(self.wall - other.wall, self.cpu - other.cpu)


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best(fn, repeat: int) -> Timing:
    """Best wall and CPU time of ``repeat`` runs (on a shared machine the minimum is the
    cost; CPU time depends less on the other programs' load than wall time)."""
    out = Timing(float("inf"), float("inf"))
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        fn()
        out = Timing(min(out.wall, time.perf_counter() - t0), min(out.cpu, _cpu() - c0))
    return out


#: The environment of the measured processes: Python keeps the modules it compiled (an
#: installed hinge runs from bytecode; with PYTHONDONTWRITEBYTECODE set, every run would
#: compile SQLAlchemy, pandas and hinge from source again, doubling the figures).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cli(*args: str, db: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hinge", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**ENV, "HINGE_DB": db, "COLUMNS": "120"},
    )
    if out.returncode != 0:
        raise SystemExit(f"hinge {' '.join(args)} failed: {out.stderr}")


def fill(log: TrainingLog, sessions: int, reps: int) -> float:
    """Add ``sessions`` synthetic sessions of ``reps`` reps (3 sets); seconds it took."""
    template = analyze(read_recording(ROOT / "recordings" / "mixed-set")).reps
    rng = random.Random(1)
    start = datetime(2024, 1, 1, 18)
    t0 = time.perf_counter()
    for i in range(sessions):
        skill = min(0.9, 0.3 + i / sessions)  # the lifter improves over the log
        out = []
        for k in range(reps):
            r = template[k % len(template)]
            pattern = Pattern.KNEE_FIRST if rng.random() < skill else Pattern.HIPS_RISE_EARLY
            out.append(
                replace(
                    r,
                    index=k + 1,
                    set=1 + k * 3 // reps,
                    start_s=10.0 + 4.0 * k + 60 * (k * 3 // reps),
                    hip_lag_ms=r.hip_lag_ms * rng.uniform(0.7, 1.3),
                    pattern=pattern,
                )
            )
        log.add_session(
            SessionData(
                path=f"/synthetic/{i}",
                hash=f"{i:064x}",
                recorded_at=start + timedelta(days=i * 0.5),
                reps=out,
                summary=summarize(out),
                athlete="ann",
                exercise="deadlift",
                load_kg=100.0 + 2.5 * (i % 20),
            )
        )
    return time.perf_counter() - t0


def long_session(minutes: float, where: Path) -> Path:
    """A simulated session of about ``minutes`` minutes: sets of 6 reps with rests (a set and
    its rest take the virtual lifter about 68 s)."""
    sets = max(1, round(minutes * 60 / 68))
    sim = simulate(
        SimConfig(
            patterns=["knee-first", "knee-first", "simultaneous", "hips-rise-early"],
            reps=6,
            sets=sets,
            rest_s=50.0,
            seed=3,
        )
    )
    return write_simulation(sim, where / "session")


def bench(name: str, db: str, args: argparse.Namespace, rec: Path) -> None:
    print(f"\n== {name}: {db.split('?')[0]}")
    with TrainingLog.open(db) as log:
        took = fill(log, args.sessions, args.reps)
        print(
            f"filled {args.sessions} sessions x {args.reps} reps in {took:.1f} s "
            f"({1000 * took / args.sessions:.1f} ms per session)"
        )
        query = best(lambda: log.sessions(athlete="ann", newest_first=False), 3)
    start = best(lambda: cli("--version", db=db), 3)
    imports = "import sqlalchemy"
    if name == "PostgreSQL":  # and the driver with SQLAlchemy's dialect for it
        imports += ", sqlalchemy.dialects.postgresql.psycopg, psycopg"
    bare = best(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True, env=ENV), 3)
    sa = best(lambda: subprocess.run([sys.executable, "-c", imports], check=True, env=ENV), 3) - bare
    trend = best(lambda: cli("log", "trend", "--athlete", "ann", db=db), 3)
    print(
        f"hinge log trend: {trend} (target <= 0.5 s); baseline hinge --version {start}; "
        f"of it: the query {query.wall * 1000:.0f} ms, `{imports}` {sa}"
    )

    # Adding into the full log, as a lifter's next session is; the session is removed
    # between repeats (unmeasured), since adding a known recording again changes nothing.
    # The add and the analysis it is compared with take turns, so that both see the same
    # load from the machine's other programs.
    def forget() -> None:
        with TrainingLog.open(db) as log:
            for s in log.sessions():
                if s.path == str(rec.resolve()):
                    log.remove(s.id)

    add = analysis = Timing(float("inf"), float("inf"))
    for _ in range(3):
        a = best(lambda: cli("analyze", str(rec), "--json", db=db), 1)
        analysis = Timing(min(analysis.wall, a.wall), min(analysis.cpu, a.cpu))
        once = best(lambda: cli("log", "add", str(rec), db=db), 1)
        add = Timing(min(add.wall, once.wall), min(add.cpu, once.cpu))
        forget()
    extra = add - analysis
    print(
        f"hinge log add of a {args.minutes:g}-minute session to it: {add}; hinge analyze "
        f"--json of it: {analysis}; the add costs {extra.wall:+.2f} s wall / {extra.cpu:+.2f} s "
        f"CPU more (target <= +0.1 s; `{imports}` is {sa.cpu:.2f} s CPU of it)"
    )

    recording = read_recording(rec)
    read = best(lambda: read_recording(rec), 2)
    lib_analysis = best(lambda: analyze(recording), 2)
    lib = Timing(float("inf"), float("inf"))
    with TrainingLog.open(db) as log:
        for _ in range(2):
            t0, c0 = time.perf_counter(), _cpu()
            added = log.add_recording(rec)
            lib = Timing(min(lib.wall, time.perf_counter() - t0), min(lib.cpu, _cpu() - c0))
            log.remove(added.session.id)
    own = lib - read - lib_analysis
    print(
        f"in-process: add_recording {lib} (read, hash, analyse, store) against read {read} + "
        f"analyze {lib_analysis}: the log's own cost {own.wall:+.3f} s wall / {own.cpu:+.3f} s CPU"
    )


_PG_DBS: list[str] = []


def fresh_pg(url: str) -> str:
    """A new database on the server of ``url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"hinge_bench_{len(_PG_DBS)}_{os.getpid()}"
    with psycopg.connect(
        server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False), autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _PG_DBS.append(name)
    return server.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)")
    with tempfile.TemporaryDirectory() as d:
        rec = long_session(args.minutes, Path(d))
        meta = read_recording(rec).meta
        print(f"simulated session: {meta.get('duration_s', 0) / 60:.1f} min, {rec}")
        bench("SQLite", str(Path(d) / "log.sqlite"), args, rec)
        server = os.environ.get("HINGE_TEST_PG_URL")
        stop = None
        if not server:
            started = start_server()
            if isinstance(started, str):
                print(f"\n== PostgreSQL: skipped: {started}")
                return
            server, stop = started
        try:
            bench("PostgreSQL", fresh_pg(server), args, rec)
        finally:
            if stop is not None:
                stop()


if __name__ == "__main__":
    main()
