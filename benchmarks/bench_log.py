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
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

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


def best_wall(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` runs (on a shared machine the minimum is the cost)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cli(*args: str, db: str) -> None:
    out = subprocess.run([sys.executable, "-m", "hinge", *args], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "HINGE_DB": db, "COLUMNS": "120"})
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
            out.append(replace(r, index=k + 1, set=1 + k * 3 // reps, start_s=10.0 + 4.0 * k + 60 * (k * 3 // reps),
                               hip_lag_ms=r.hip_lag_ms * rng.uniform(0.7, 1.3), pattern=pattern))
        log.add_session(SessionData(
            path=f"/synthetic/{i}", hash=f"{i:064x}", recorded_at=start + timedelta(days=i * 0.5),
            reps=out, summary=summarize(out), athlete="ann", exercise="deadlift",
            load_kg=100.0 + 2.5 * (i % 20)))
    return time.perf_counter() - t0


def long_session(minutes: float, where: Path) -> Path:
    """A simulated session of about ``minutes`` minutes: sets of 6 reps with rests (a set and
    its rest take the virtual lifter about 48 s)."""
    sets = max(1, round(minutes * 60 / 48))
    sim = simulate(SimConfig(patterns=["knee-first", "knee-first", "simultaneous", "hips-rise-early"],
                             reps=6, sets=sets, rest_s=50.0, seed=3))
    return write_simulation(sim, where / "session")


def bench(name: str, db: str, args: argparse.Namespace, rec: Path) -> None:
    print(f"\n== {name}: {db.split('?')[0]}")
    with TrainingLog.open(db) as log:
        took = fill(log, args.sessions, args.reps)
        print(f"filled {args.sessions} sessions x {args.reps} reps in {took:.1f} s "
              f"({1000 * took / args.sessions:.1f} ms per session)")
        t_lib = best_wall(lambda: log.sessions(athlete="ann", newest_first=False), 3)
    start = best_wall(lambda: cli("--version", db=db), 3)
    sa = best_wall(lambda: subprocess.run([sys.executable, "-c", "import sqlalchemy"], check=True), 3)
    bare = best_wall(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 3)
    trend = best_wall(lambda: cli("log", "trend", "--athlete", "ann", db=db), 3)
    print(f"hinge log trend: {trend:.3f} s wall (target <= 0.5 s); baseline hinge --version "
          f"{start:.3f} s; the query alone {t_lib * 1000:.0f} ms; importing SQLAlchemy "
          f"{sa - bare:.3f} s of it")

    analysis = best_wall(lambda: cli("analyze", str(rec), "--json", db=db), 2)

    def add_new() -> None:  # a new log each time: the add is never "already in the log"
        with tempfile.TemporaryDirectory() as d:
            target = str(Path(d) / "log.sqlite") if db.startswith("sqlite") or "://" not in db else fresh_pg(db)
            cli("log", "add", str(rec), db=target)

    add = best_wall(add_new, 2)
    print(f"hinge log add of a {args.minutes:g}-minute session: {add:.2f} s wall; hinge analyze "
          f"--json of it: {analysis:.2f} s; the add costs {add - analysis:+.2f} s (target <= +0.1 s)")

    recording = read_recording(rec)
    lib_analysis = best_wall(lambda: analyze(recording), 2)

    def lib_add() -> None:
        with tempfile.TemporaryDirectory() as d:
            target = str(Path(d) / "log.sqlite") if db.startswith("sqlite") or "://" not in db else fresh_pg(db)
            with TrainingLog.open(target) as lg:
                lg.add_recording(rec)

    lib = best_wall(lib_add, 2)
    print(f"in-process: add_recording {lib:.2f} s (reading, hashing, analysing, storing) against "
          f"read + analyze {lib_analysis:.2f} s... ", end="")
    t_read = best_wall(lambda: read_recording(rec), 2)
    print(f"read alone {t_read:.2f} s: the log's own cost {lib - lib_analysis - t_read:+.3f} s")


_PG_DBS: list[str] = []


def fresh_pg(url: str) -> str:
    """A new database on the server of ``url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"hinge_bench_{len(_PG_DBS)}_{os.getpid()}"
    with psycopg.connect(server.set(drivername="postgresql", database="postgres")
                         .render_as_string(hide_password=False), autocommit=True) as conn:
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
