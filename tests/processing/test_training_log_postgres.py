"""The same training log on a real PostgreSQL server (a team's log): the same code, the same
schema and migrations, the same guarantees. The server is started for the tests
(``tests/helpers_postgres.py``); without one they skip and say why (in CI they fail)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from processing.analysis import analyze
from processing.errors import LogError
from processing.recording import read_recording
from processing.training_log import SCHEMA_VERSION, SessionData, TrainingLog
from processing.training_log.trend import trend_words
from processing.versions import ANALYSIS_VERSION
from tests.helpers import ROOT
from tests.helpers_postgres import pg_server, pg_url  # noqa: F401 - fixtures
from tests.processing.test_training_log import CRASH, PATTERNS, _synthetic, sim_rec  # noqa: F401

RECS = ROOT / "recordings"


def _sql(url: str, statement: str):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def test_sessions_on_a_server_as_on_a_file(pg_url, sim_rec):
    with TrainingLog.open(pg_url) as log:
        added = log.add_recording(sim_rec, athlete="ann", exercise="deadlift", load_kg=100)
        assert added.new and not log.add_recording(sim_rec).new
        detail = log.session(added.session.id)
        assert [r["pattern"] for r in detail.reps] == PATTERNS
        assert detail.session.knee_first_share == pytest.approx(0.6)
        other = log.add_recording(RECS / "mixed-set", athlete="bo").session
        assert [s.id for s in log.sessions(athlete="bo")] == [other.id]
        columns, rows = log.export_rows()
        assert len(list(rows)) == 5 + other.n_reps
        assert log.edit(other.id, load_kg=130.0).load_kg == 130.0
        log.remove(other.id)
        assert log.count() == 1
    assert _sql(pg_url, "SELECT version FROM hinge_schema") == [(SCHEMA_VERSION,)]
    assert _sql(pg_url, "SELECT count(*) FROM hinge_reps") == [(5,)]


def test_a_failure_mid_add_leaves_the_server_log_as_it_was(pg_url, sim_rec):
    result = analyze(read_recording(sim_rec))
    result.reps[2].cue = None
    with TrainingLog.open(pg_url) as log:
        with pytest.raises(LogError):
            log.add_session(
                SessionData(
                    path=str(sim_rec),
                    hash="y" * 64,
                    recorded_at=datetime(2026, 1, 1),
                    reps=result.reps,
                    summary=result.summary,
                )
            )
        assert log.count() == 0
    assert _sql(pg_url, "SELECT count(*) FROM hinge_sets") == [(0,)]


def test_a_process_killed_mid_add_leaves_the_server_log_as_it_was(pg_url, sim_rec):
    with TrainingLog.open(pg_url) as log:
        kept = log.add_recording(RECS / "knee-first").session
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH, pg_url, str(sim_rec)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "inside"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with TrainingLog.open(pg_url) as log:
        assert [s.id for s in log.sessions()] == [kept.id]
        assert log.add_recording(sim_rec).new


def test_a_server_log_from_a_newer_hinge_is_refused(pg_url):
    TrainingLog.open(pg_url).close()
    _sql(pg_url, f"UPDATE hinge_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LogError, match="newer hinge") as err:
        TrainingLog.open(pg_url)
    assert "hinge_test_" in str(err.value)


def test_a_version_1_server_log_is_migrated(pg_url, sim_rec):
    with TrainingLog.open(pg_url) as log:
        old = log.add_recording(sim_rec, athlete="ann").session
    _sql(pg_url, "ALTER TABLE hinge_sessions DROP COLUMN notes")
    _sql(pg_url, "UPDATE hinge_schema SET version = 1")
    with TrainingLog.open(pg_url) as log:
        assert (log.get(old.id).athlete, log.get(old.id).notes) == ("ann", None)
        assert log.edit(old.id, notes="straps").notes == "straps"
    assert _sql(pg_url, "SELECT version FROM hinge_schema") == [(SCHEMA_VERSION,)]


def test_a_shared_database_keeps_its_other_tables(pg_url):
    _sql(pg_url, "CREATE TABLE club_members (id integer)")
    with TrainingLog.open(pg_url) as log:
        assert log.count() == 0
    tables = {r[0] for r in _sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"club_members", "hinge_sessions", "hinge_sets", "hinge_reps", "hinge_schema"} <= tables


def test_two_laptops_adding_at_once_lose_nothing(pg_url, tmp_path):
    """Two `hinge log add` processes against one new server log: both create it at once (the
    migration takes an advisory lock) and add the same and different recordings."""
    recs = [str(RECS / n) for n in ("knee-first", "simultaneous", "hips-rise-early", "mixed-set")]
    env = {**os.environ, "HINGE_DB": pg_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hinge", "log", "add", *order],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order in (recs, recs[::-1])
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    with TrainingLog.open(pg_url) as log:
        assert sorted(s.path for s in log.sessions()) == sorted(recs)
    said = outs[0][0] + outs[1][0]
    assert said.count("added as session") == 4 and said.count("already in the log") == 4


def test_trend_and_reanalyse_on_the_server(pg_url, sim_rec):
    with TrainingLog.open(pg_url) as log:
        start = datetime(2026, 2, 2)
        for week, kf in enumerate([1, 1, 2, 3, 4, 5]):
            _synthetic(log, start + timedelta(days=7 * week), kf, load=100.0 + 5 * week)
        words = trend_words(log.sessions(newest_first=False))
        assert any(w.startswith("more reps were knee-first over 6 sessions") for w in words), words
        rec = read_recording(sim_rec)
        from processing.reps import summarize
        from processing.training_log.identity import content_hash

        stale = analyze(rec).reps[:1]
        sid = log.add_session(
            SessionData(
                path=str(sim_rec),
                hash=content_hash(rec),
                recorded_at=start,
                reps=stale,
                summary=summarize(stale),
                analysis_version=ANALYSIS_VERSION - 1,
            )
        )
        assert log.reanalyse()["updated"] == 1
        assert [r["pattern"] for r in log.session(sid).reps] == PATTERNS
