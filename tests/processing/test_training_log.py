"""The training log as a library: real SQLite files, real recordings of the virtual lifter.

What a session stores is checked against the simulator's truth (the patterns the lifter
pulled), the log's guarantees against real failures: a process killed in the middle of an
add, a recording moved away, a log from a newer hinge.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest

from processing.analysis import analyze
from processing.errors import LogError, UsageError
from processing.recording import read_recording
from processing.reps import REP_FIELDS, summarize
from processing.simulator import SimConfig, simulate, write_simulation
from processing.training_log import SCHEMA_VERSION, SessionData, TrainingLog, resolve_url, schema
from processing.training_log.trend import trend_words
from processing.versions import ANALYSIS_VERSION
from tests.helpers import ROOT

PATTERNS = ["knee-first", "knee-first", "knee-first", "hips-rise-early", "simultaneous"]


@pytest.fixture(scope="module")
def sim_rec(tmp_path_factory):
    """A simulated set with its truth: 5 reps, 3 knee-first then the faults."""
    out = tmp_path_factory.mktemp("sim") / "set"
    write_simulation(simulate(SimConfig(patterns=PATTERNS, reps=5, seed=7)), out)
    return out


@pytest.fixture
def log(tmp_path):
    with TrainingLog.open(str(tmp_path / "log.sqlite")) as lg:
        yield lg


def test_a_session_keeps_every_rep_as_the_lifter_pulled_it(log, sim_rec):
    added = log.add_recording(sim_rec, athlete="ann", exercise="deadlift", load_kg=120)
    assert added.new
    truth = json.loads((sim_rec / "truth.json").read_text())
    true_patterns = [r["pattern"] for r in truth["reps"]]
    assert true_patterns == PATTERNS
    detail = log.session(added.session.id)
    assert [r["pattern"] for r in detail.reps] == true_patterns
    assert set(detail.reps[0]) == set(REP_FIELDS)
    s = detail.session
    assert (s.athlete, s.exercise, s.load_kg) == ("ann", "deadlift", 120.0)
    assert s.n_reps == 5 and s.n_sets == 1
    assert s.knee_first_share == pytest.approx(3 / 5)
    # early half: reps 1-2 knee-first; late half: reps 4-5 faults
    assert s.drift_pts == pytest.approx(-100.0)
    assert s.analysis_version == ANALYSIS_VERSION
    assert detail.sets[0]["knee_first"] == 3 and detail.sets[0]["reps"] == 5
    # the stored onsets are within the tolerance of the truth, as analyze's are
    for stored, true in zip(detail.reps, truth["reps"]):
        assert stored["knee_onset_s"] == pytest.approx(true["knee_onset_s"], abs=0.15)


def test_adding_twice_changes_nothing_and_a_copy_is_the_same_session(log, sim_rec, tmp_path):
    first = log.add_recording(sim_rec)
    before = sqlite3.connect(log.where).execute("SELECT * FROM hinge_sessions").fetchall()
    again = log.add_recording(sim_rec, athlete="someone else")
    copy = tmp_path / "copy"
    shutil.copytree(sim_rec, copy)
    (copy / "session.json").write_text((copy / "session.json").read_text().replace("seed", "SEED"))
    from_copy = log.add_recording(copy)
    assert not again.new and not from_copy.new
    assert again.session.id == from_copy.session.id == first.session.id
    assert sqlite3.connect(log.where).execute("SELECT * FROM hinge_sessions").fetchall() == before


def test_a_moved_recording_is_reported_and_its_results_kept(log, sim_rec, tmp_path):
    rec = tmp_path / "today"
    shutil.copytree(sim_rec, rec)
    added = log.add_recording(rec)
    assert not added.session.missing
    moved = tmp_path / "archive"
    rec.rename(moved)
    gone = log.get(added.session.id)
    assert gone.missing
    assert len(log.session(gone.id).reps) == 5
    found = log.add_recording(moved)
    assert found.moved and not found.new and found.session.path == str(moved.resolve())
    assert not found.session.missing


def test_a_failure_mid_add_leaves_the_log_as_it_was(log, sim_rec):
    rec = read_recording(sim_rec)
    result = analyze(rec)
    result.reps[3].cue = None  # the reps' insert fails after the session's row went in
    data = SessionData(
        path=str(sim_rec), hash="x" * 64, recorded_at=datetime(2026, 1, 1), reps=result.reps, summary=result.summary
    )
    with pytest.raises(LogError):
        log.add_session(data)
    con = sqlite3.connect(log.where)
    for table in ("hinge_sessions", "hinge_sets", "hinge_reps"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


CRASH = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event
    from processing.training_log import TrainingLog
    log = TrainingLog.open(sys.argv[1])
    def hang(conn, cursor, statement, *rest):
        if statement.startswith("INSERT INTO hinge_reps"):
            print("inside", flush=True)
            time.sleep(600)
    event.listen(log.engine, "before_cursor_execute", hang)
    log.add_recording(sys.argv[2])
""")


def test_a_process_killed_mid_add_leaves_the_log_as_it_was(tmp_path, sim_rec, mixed_set):
    db = tmp_path / "log.sqlite"
    with TrainingLog.open(str(db)) as lg:
        kept = lg.add_recording(mixed_set).session
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH, str(db), str(sim_rec)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "inside"  # the session's row is written
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with TrainingLog.open(str(db)) as lg:
        assert [s.id for s in lg.sessions()] == [kept.id]
        assert lg.count() == 1
        assert len(lg.session(kept.id).reps) == 5
        assert lg.add_recording(sim_rec).new  # and the log still takes sessions
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.fixture(scope="module")
def mixed_set():
    return ROOT / "recordings" / "mixed-set"


def test_a_fresh_log_is_at_the_current_schema(tmp_path):
    db = tmp_path / "new" / "log.sqlite"
    TrainingLog.open(str(db)).close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT version FROM hinge_schema").fetchall() == [(SCHEMA_VERSION,)]
    for table in schema.metadata.sorted_tables:
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table.name})")]
        assert cols == [c.name for c in table.columns]


def as_version_1(db) -> None:
    """Turn a current log into one as version 1 of the schema wrote it (no notes)."""
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE hinge_sessions DROP COLUMN notes")
    con.execute("UPDATE hinge_schema SET version = 1")
    con.commit()
    con.close()


def test_a_version_1_log_is_migrated_keeping_its_sessions(tmp_path, sim_rec):
    db = tmp_path / "old.sqlite"
    with TrainingLog.open(str(db)) as lg:
        old = lg.add_recording(sim_rec, athlete="ann").session
    as_version_1(db)
    # two processes open the old log at the same moment: one migrates, the other waits
    opener = "import sys; from processing.training_log import TrainingLog; TrainingLog.open(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", opener, str(db)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    con = sqlite3.connect(db)
    assert con.execute("SELECT version FROM hinge_schema").fetchall() == [(SCHEMA_VERSION,)]
    with TrainingLog.open(str(db)) as lg:
        s = lg.get(old.id)
        assert (s.athlete, s.notes, s.n_reps) == ("ann", None, 5)
        assert [r["pattern"] for r in lg.session(old.id).reps] == PATTERNS
        assert lg.edit(old.id, notes="belt, felt heavy").notes == "belt, felt heavy"


def test_every_rep_field_has_a_column():
    """A new field of Rep needs a column (and a migration) before the log can keep it."""
    columns = {c.name for c in schema.reps.columns} - {"session_id"}
    assert {schema.REP_COLUMNS.get(f, f) for f in REP_FIELDS} == columns


def test_a_log_from_a_newer_hinge_is_refused_untouched(tmp_path):
    db = tmp_path / "log.sqlite"
    TrainingLog.open(str(db)).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE hinge_schema SET version = ?", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(LogError, match="newer hinge") as err:
        TrainingLog.open(str(db))
    assert str(db) in str(err.value)
    assert db.read_bytes() == before


@pytest.mark.parametrize("content", [b"not a database at all\n" * 50, b"\x00" * 4096])
def test_a_file_that_is_no_database_is_never_made_a_new_log(tmp_path, content):
    db = tmp_path / "log.sqlite"
    db.write_bytes(content)
    with pytest.raises(LogError) as err:
        TrainingLog.open(str(db))
    assert str(db) in str(err.value) and "\n" not in str(err.value)
    assert db.read_bytes() == content


def test_another_programs_sqlite_database_is_refused(tmp_path):
    db = tmp_path / "notes.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(LogError, match="another program"):
        TrainingLog.open(str(db))
    assert db.read_bytes() == before


def test_the_default_log_is_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HINGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert resolve_url() == f"sqlite:///{tmp_path / 'hinge' / 'training-log.sqlite'}"
    monkeypatch.setenv("HINGE_DB", str(tmp_path / "team.sqlite"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'team.sqlite'}"
    assert resolve_url("postgresql://coach@db/lifts") == "postgresql://coach@db/lifts"


def test_edit_and_remove(log, sim_rec):
    s = log.add_recording(sim_rec).session
    edited = log.edit(s.id, athlete="bo", load_kg=140.0)
    assert (edited.athlete, edited.load_kg, edited.exercise) == ("bo", 140.0, None)
    with pytest.raises(UsageError):
        log.edit(s.id, hash="0")
    log.remove(s.id)
    assert log.count() == 0
    con = sqlite3.connect(log.where)
    assert con.execute("SELECT count(*) FROM hinge_reps").fetchone() == (0,)
    with pytest.raises(UsageError, match=f"no session {s.id}"):
        log.get(s.id)


def test_reanalyse_replaces_old_results_and_keeps_those_it_cannot_redo(log, sim_rec, tmp_path):
    rec = read_recording(sim_rec)
    result = analyze(rec)
    stale = result.reps[:2]  # an "old analysis" that found only two reps
    from processing.training_log.identity import content_hash, recording_date

    old = log.add_session(
        SessionData(
            path=str(sim_rec),
            hash=content_hash(rec),
            recorded_at=recording_date(rec)[0],
            reps=stale,
            summary=summarize(stale),
            analysis_version=ANALYSIS_VERSION - 1,
            thresholds={},
        )
    )
    gone_dir = tmp_path / "gone"
    shutil.copytree(ROOT / "recordings" / "knee-first", gone_dir)
    gone_rec = read_recording(gone_dir)
    gone_reps = analyze(gone_rec).reps[:1]
    gone = log.add_session(
        SessionData(
            path=str(gone_dir),
            hash=content_hash(gone_rec),
            recorded_at=datetime(2026, 1, 1),
            reps=gone_reps,
            summary=summarize(gone_reps),
            analysis_version=ANALYSIS_VERSION - 1,
        )
    )
    shutil.rmtree(gone_dir)
    seen = []
    counts = log.reanalyse(lambda s, outcome: seen.append((s.id, outcome)))
    assert counts == {"updated": 1, "missing": 1}
    assert dict(seen) == {old: "updated", gone: "missing"}
    assert [r["pattern"] for r in log.session(old).reps] == PATTERNS
    assert log.get(old).analysis_version == ANALYSIS_VERSION
    assert log.get(gone).analysis_version == ANALYSIS_VERSION - 1
    assert len(log.session(gone).reps) == 1
    assert log.reanalyse() == {"missing": 1}  # the missing one stays to do


def _synthetic(
    log, when: datetime, knee_first: int, reps: int = 6, load: float | None = None, athlete: str = "ann", key: str = ""
) -> int:
    """A session whose first ``knee_first`` reps are knee-first (the rest hips-rise-early)."""
    rec_reps = analyze(read_recording(ROOT / "recordings" / "knee-first")).reps
    template = rec_reps[0]
    out = []
    for i in range(reps):
        r = type(template)(**{**template.__dict__, "index": i + 1, "start_s": template.start_s + 4 * i})
        r.pattern = "knee-first" if i < knee_first else "hips-rise-early"
        out.append(r)
    return log.add_session(
        SessionData(
            path=f"/nowhere/{key or when.isoformat()}",
            hash=(key or when.isoformat()).ljust(64, "0")[:64],
            recorded_at=when,
            reps=out,
            summary=summarize(out),
            athlete=athlete,
            load_kg=load,
        )
    )


def test_trend_in_words_over_weeks_and_against_load(log):
    start = datetime(2026, 1, 5, 18)
    for week, kf in enumerate([1, 2, 2, 3, 4, 5]):  # the knees lead more, week by week
        _synthetic(log, start + timedelta(days=7 * week), kf, load=100.0)
    words = trend_words(log.sessions(athlete="ann", newest_first=False))
    assert any(w.startswith("more reps were knee-first over 6 sessions, 35 days") for w in words), words

    heavy = TrainingLog.open(str(log.where).replace("log.sqlite", "heavy.sqlite"))
    for i, (load, kf) in enumerate([(100, 6), (120, 5), (140, 3), (160, 1), (110, 6), (150, 2)]):
        _synthetic(heavy, start + timedelta(days=i), kf, load=float(load), key=f"h{i}")
    words = trend_words(heavy.sessions(newest_first=False))
    heavy.close()
    assert any(w.startswith("at heavier loads fewer reps were knee-first") for w in words), words
    assert not any("with the dates" in w for w in words)  # loads up and down across the days


def test_no_trend_is_claimed_from_noise_or_too_few_sessions(log):
    start = datetime(2026, 1, 5)
    for day, kf in enumerate([3, 4, 3, 4, 3, 4]):
        _synthetic(log, start + timedelta(days=day), kf, load=100.0)
    assert trend_words(log.sessions(newest_first=False)) == ["no clear change over 6 sessions"]
    assert "needs at least 3" in trend_words(log.sessions(limit=2))[0]


def test_export_rows_one_per_rep_with_session_and_set(log, sim_rec, mixed_set):
    a = log.add_recording(sim_rec, athlete="ann").session
    b = log.add_recording(mixed_set, athlete="bo").session
    columns, rows = log.export_rows()
    rows = list(rows)
    assert len(rows) == a.n_reps + b.n_reps
    first = dict(zip(columns, rows[0]))
    assert first["athlete"] in ("ann", "bo") and first["set"] == 1 and first["index"] == 1
    only_bo = list(log.export_rows(athlete="bo")[1])
    assert len(only_bo) == b.n_reps
