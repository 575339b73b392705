"""`hinge log` as a user runs it, on real SQLite files: the command line in this process
(``hinge.cli.main``), and as real processes where a process is what is tested (two adding
at once, a live session's add when it ends, the one-line error a user sees)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from processing.training_log import SCHEMA_VERSION, TrainingLog
from tests.helpers import ROOT, hinge_in_process

RECS = ROOT / "recordings"


def _env(db) -> dict[str, str]:
    return {"COLUMNS": "200", **({"HINGE_DB": str(db)} if db is not None else {})}


def hinge(*args: str, db=None) -> subprocess.CompletedProcess:
    """``hinge ARGS`` with the log ``db``, in this process."""
    return hinge_in_process(*args, env=_env(db))


def hinge_process(*args: str, db=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``hinge ARGS`` with the log ``db``, as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "hinge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **_env(db)},
    )


def one_line_error(out: subprocess.CompletedProcess, *words: str) -> str:
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hinge: "), out.stderr
    assert "Traceback" not in out.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_add_list_show_edit_export(tmp_path):
    db = tmp_path / "log.sqlite"
    out = hinge("log", db=db)
    assert out.returncode == 0 and "no sessions yet" in out.stdout
    assert not db.exists()  # listing never creates a log
    out = hinge(
        "log",
        "add",
        str(RECS / "mixed-set"),
        str(RECS / "knee-first"),
        "--athlete",
        "ann",
        "--exercise",
        "deadlift",
        "--load",
        "100",
        db=db,
    )
    assert out.returncode == 0, out.stderr
    assert "added as session 1 (5 reps, knee-first 40 %" in out.stdout
    assert "added as session 2 (3 reps, knee-first 100 %" in out.stdout
    again = hinge("log", "add", str(RECS), db=db)  # a folder of recordings
    assert "mixed-set: already in the log as session 1" in again.stdout
    assert "hips-rise-early: added as session 3" in again.stdout

    listing = hinge("log", db=db)
    assert listing.returncode == 0
    ids = [
        line.split("│")[1].strip()
        for line in listing.stdout.splitlines()
        if line.startswith("│") and line.split("│")[1].strip()
    ]
    assert ids == ["4", "3", "2", "1"]  # newest first (the same date: the last added first)

    show = hinge("log", "show", "1", db=db)
    assert show.returncode == 0, show.stderr
    assert "ann, deadlift, 100 kg" in show.stdout
    assert "knee drive broke down from rep 3 on" in show.stdout
    assert show.stdout.count("knee-first") >= 2

    out = hinge("log", "edit", "2", "--load", "140", "--athlete", "", "--note", "straps", db=db)
    assert out.returncode == 0 and "load 140 kg" in out.stdout and "athlete –" in out.stdout
    assert "notes: straps" in hinge("log", "show", "2", db=db).stdout

    target = tmp_path / "reps.csv"
    out = hinge("log", "export", "--csv", str(target), "--athlete", "ann", db=db)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 5  # session 2 is no longer ann's; 3 and 4 have no athlete
    assert {r["session"] for r in rows} == {"1"}
    assert [r["pattern"] for r in rows] == [
        "knee-first",
        "knee-first",
        "simultaneous",
        "hips-rise-early",
        "hips-rise-early",
    ]
    assert rows[0]["set_trend"].startswith("knee drive broke down")
    assert rows[0]["notes"].startswith("hinge virtual lifter, seed 4")  # session.json's notes


def test_missing_recording_is_reported_with_its_results(tmp_path):
    db = tmp_path / "log.sqlite"
    rec = tmp_path / "today"
    shutil.copytree(RECS / "knee-first", rec)
    assert hinge("log", "add", str(rec), db=db).returncode == 0
    shutil.rmtree(rec)
    listing = hinge("log", db=db)
    assert "recording missing" in listing.stdout
    show = hinge("log", "show", "1", db=db)
    assert show.returncode == 0 and "MISSING" in show.stdout and "3 reps" in show.stdout


@pytest.mark.parametrize("kind", ["text", "foreign", "newer", "malformed"])
def test_an_unusable_log_is_one_line_and_left_untouched(tmp_path, kind):
    db = tmp_path / "log.sqlite"
    if kind == "text":
        db.write_text("my training notes\n" * 100)
        words = ("not an SQLite database",)
    elif kind == "foreign":
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE photos (id INTEGER)")
        con.commit()
        con.close()
        words = ("another program",)
    elif kind == "newer":
        TrainingLog.open(str(db)).close()
        con = sqlite3.connect(db)
        con.execute("UPDATE hinge_schema SET version = ?", (SCHEMA_VERSION + 5,))
        con.commit()
        con.close()
        words = ("newer hinge", f"version {SCHEMA_VERSION + 5}")
    else:  # a real log whose schema pages were overwritten
        with TrainingLog.open(str(db)) as lg:
            lg.add_recording(RECS / "knee-first")
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        data = bytearray(db.read_bytes())
        data[100:4096] = b"\xa5" * (4096 - 100)
        db.write_bytes(bytes(data))
        words = ("malformed",)
    before = db.read_bytes()
    for args in (["log"], ["log", "add", str(RECS / "mixed-set")]):
        line = one_line_error(hinge(*args, db=db), str(db), *words)
        assert "--db" in line  # the way out
    assert db.read_bytes() == before


def test_bad_ids_and_options_are_one_line(tmp_path):
    db = tmp_path / "log.sqlite"
    hinge("log", "add", str(RECS / "knee-first"), db=db)
    one_line_error(hinge_process("log", "show", "7", db=db), "no session 7")  # as a user sees it
    one_line_error(hinge("log", "edit", "1", db=db), "nothing to change")
    one_line_error(hinge("log", "show", "1", db=tmp_path / "nothing.sqlite"), "no training log there yet")
    one_line_error(hinge("log", "add", str(tmp_path / "nope"), db=db), str(tmp_path / "nope"))
    existing = tmp_path / "keep.csv"
    existing.write_text("precious\n")
    out = hinge("log", "export", "--csv", str(tmp_path / "no" / "dir" / "x.csv"), db=db)
    one_line_error(out, "x.csv")
    assert existing.read_text() == "precious\n"


def test_two_adds_at_once_lose_nothing(tmp_path):
    """Two processes add sessions to one SQLite file at the same moment (WAL, busy timeout,
    one transaction per add): every session is there once."""
    db = tmp_path / "log.sqlite"
    recs = []
    for i in range(6):
        rec = tmp_path / f"rec{i}"
        shutil.copytree(RECS / ("knee-first" if i % 2 else "simultaneous"), rec)
        data = (rec / "lumbar.csv").read_text().splitlines()
        # a few samples fewer at the end: different data, a different session
        (rec / "lumbar.csv").write_text("\n".join(data[: len(data) - 1 - i]) + "\n")
        recs.append(str(rec))
    env = {**os.environ, "HINGE_DB": str(db)}
    a = subprocess.Popen(
        [sys.executable, "-m", "hinge", "log", "add", *recs[:3], *recs[3:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    b = subprocess.Popen(
        [sys.executable, "-m", "hinge", "log", "add", *reversed(recs)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outs = [p.communicate(timeout=300) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    with TrainingLog.open(str(db)) as lg:
        sessions = lg.sessions()
        assert sorted(s.path for s in sessions) == sorted(recs)
        assert all(len(lg.session(s.id).reps) == s.n_reps == 3 for s in sessions)
    said = outs[0][0] + outs[1][0]
    assert said.count("added as session") == 6
    assert said.count("already in the log") == 6


def test_demo_record_adds_the_session_when_it_ends(tmp_path):
    db = tmp_path / "log.sqlite"
    rec = tmp_path / "session"
    out = hinge_process(
        "demo",
        "--headless",
        "--speed",
        "8",
        "--duration",
        "30",
        "--record",
        str(rec),
        "--athlete",
        "ann",
        "--exercise",
        "deadlift",
        "--load",
        "90",
        db=db,
    )
    assert out.returncode == 0, out.stderr
    assert f"{rec}: added as session 1 (5 reps" in out.stdout
    with TrainingLog.open(str(db)) as lg:
        s = lg.get(1)
        assert (s.athlete, s.exercise, s.load_kg, s.path) == ("ann", "deadlift", 90.0, str(rec))
        truth = ["knee-first", "knee-first", "simultaneous", "hips-rise-early", "hips-rise-early"]
        assert [r["pattern"] for r in lg.session(1).reps] == truth
    # session.json keeps who lifted what: adding the recording to another log brings it along
    other = tmp_path / "other.sqlite"
    assert hinge("log", "add", str(rec), db=other).returncode == 0
    with TrainingLog.open(str(other)) as lg:
        assert (lg.get(1).athlete, lg.get(1).load_kg) == ("ann", 90.0)
    rec2 = tmp_path / "unlogged"
    out = hinge_process(
        "demo", "--headless", "--speed", "8", "--duration", "10", "--record", str(rec2), "--no-log", db=db
    )
    assert out.returncode == 0 and "added" not in out.stdout
    with TrainingLog.open(str(db)) as lg:
        assert lg.count() == 1


def test_analyze_log_adds_and_json_stays_clean(tmp_path):
    db = tmp_path / "log.sqlite"
    out = hinge("analyze", str(RECS / "mixed-set"), "--json", "--athlete", "bo", db=db)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["reps"]) == 5
    assert "added as session 1" in out.stderr
    plain = hinge("analyze", str(RECS / "knee-first"), db=db)
    assert "added" not in plain.stdout  # without --log or --athlete, nothing is logged
    with TrainingLog.open(str(db)) as lg:
        assert [s.athlete for s in lg.sessions()] == ["bo"]
    one_line_error(hinge("analyze", str(RECS), "--athlete", "bo", db=db), "hinge log add")
    assert "no earlier sessions in the training log yet" in out.stderr
    # today against the earlier sessions (truth: mixed-set 2 of 5 reps knee-first, knee-first 3 of 3)
    out = hinge("analyze", str(RECS / "knee-first"), "--athlete", "bo", db=db)
    assert "today knee-first 100 % vs 40 % over the last 1 session;" in out.stdout


def test_an_unreachable_server_or_unknown_database_is_one_line(tmp_path):
    line = one_line_error(
        hinge("log", db="postgresql://coach:secret@/lifts?host=" + str(tmp_path)), "cannot reach", "--db"
    )
    assert "secret" not in line  # the password is never printed
    one_line_error(hinge("log", "add", str(RECS / "knee-first"), db="oracle://x@y/z"), "not supported")
    line = one_line_error(hinge("log", db="postgres://coach:secret@db:port/lifts"), "not a database URL")
    assert "secret" not in line


def test_export_parquet_reads_back(tmp_path):
    import pandas as pd

    db = tmp_path / "log.sqlite"
    assert hinge("log", "add", str(RECS / "mixed-set"), "--load", "80", db=db).returncode == 0
    target = tmp_path / "reps.parquet"
    out = hinge("log", "export", "--parquet", str(target), db=db)
    assert out.returncode == 0, out.stderr
    table = pd.read_parquet(target)
    assert table["pattern"].tolist() == [
        "knee-first",
        "knee-first",
        "simultaneous",
        "hips-rise-early",
        "hips-rise-early",
    ]
    assert table["load_kg"].tolist() == [80.0] * 5 and table["set"].tolist() == [1] * 5


def test_trend_words_table_and_plot(tmp_path):
    from datetime import datetime, timedelta

    from matplotlib.image import imread

    from tests.processing.test_training_log import _synthetic

    db = tmp_path / "log.sqlite"
    start = datetime(2026, 1, 5, 18)
    with TrainingLog.open(str(db)) as lg:
        for week, kf in enumerate([1, 2, 2, 3, 4, 5, 5, 6]):  # of 6 reps, twice a week
            for day in (0, 3):
                _synthetic(lg, start + timedelta(days=7 * week + day), kf, load=100.0 + 5 * week, key=f"w{week}d{day}")
        _synthetic(lg, start, 6, athlete="bo", key="bo")
    png = tmp_path / "trend.png"
    out = hinge("log", "trend", "--athlete", "ann", "--png", str(png), db=db)
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stdout.split())  # rich wraps long lines
    assert "ann, 16 sessions, per session" in said
    assert "trend: more reps were knee-first over 16 sessions, 52 days" in said
    # the load rose week by week too: the words do not credit time or load alone
    assert "trend: the load rose with the dates (100 → 135 kg): these changes came with the load" in said
    assert "at heavier loads" not in said
    image = imread(png)
    assert image.shape[:2] == (750, 1100) and image[..., :3].std() > 0.05
    weekly = hinge("log", "trend", "--athlete", "ann", "--by", "week", db=db)
    rows = [line for line in weekly.stdout.splitlines() if line.startswith("│ 2026-W")]
    assert len(rows) == 8
    assert [r.split("│")[2].strip() for r in rows] == ["2"] * 8  # sessions per week
    assert rows[0].split("│")[5].strip() == "17" and rows[-1].split("│")[5].strip() == "100"
    mixed = hinge("log", "trend", db=db)
    assert "2 athletes mixed" in mixed.stdout


def test_reanalyse_and_rm(tmp_path):
    from processing.analysis import analyze
    from processing.recording import read_recording
    from processing.reps import summarize
    from processing.training_log import SessionData
    from processing.training_log.identity import content_hash, recording_date
    from processing.versions import ANALYSIS_VERSION

    db = tmp_path / "log.sqlite"
    rec = read_recording(RECS / "mixed-set")
    stale = analyze(rec).reps[:2]  # what an older analysis kept of this set
    with TrainingLog.open(str(db)) as lg:
        sid = lg.add_session(
            SessionData(
                path=str(rec.path.resolve()),
                hash=content_hash(rec),
                recorded_at=recording_date(rec)[0],
                reps=stale,
                summary=summarize(stale),
                analysis_version=ANALYSIS_VERSION - 1,
            )
        )
    assert "older analysis" in hinge("log", db=db).stdout
    out = hinge("log", "reanalyse", db=db)
    assert out.returncode == 0, out.stderr
    assert f"session {sid}: {rec.path.resolve()}: updated" in out.stdout and "1 updated" in out.stdout
    assert "older analysis" not in hinge("log", db=db).stdout
    assert "mixed-set: 5 reps" in hinge("log", "show", str(sid), db=db).stdout
    assert "nothing to do" in hinge("log", "reanalyse", db=db).stdout
    out = hinge("log", "rm", str(sid), db=db)
    assert out.returncode == 0 and "is untouched" in out.stdout
    assert "no sessions yet" in hinge("log", db=db).stdout
    assert (RECS / "mixed-set" / "session.json").exists()


def test_athletes_the_squad_at_a_glance(tmp_path):
    from datetime import datetime, timedelta

    from tests.processing.test_training_log import _synthetic

    db = tmp_path / "log.sqlite"
    start = datetime(2026, 4, 6, 12)  # noon UTC: the same date in any time zone the dates are shown in
    with TrainingLog.open(str(db)) as lg:
        for i, kf in enumerate([1, 1, 5, 5, 5, 5, 5]):  # of 6 reps: 17 % before, 83 % in the last 5
            _synthetic(lg, start + timedelta(days=i), kf, load=120.0 + i, key=f"ann{i}")
        for i, kf in enumerate([3, 6]):
            _synthetic(lg, start + timedelta(days=i), kf, athlete="bo", load=80.0, key=f"bo{i}")
    out = hinge("log", "athletes", db=db)
    assert out.returncode == 0, out.stderr
    rows = {
        cells[0]: cells[1:]
        for line in out.stdout.splitlines()
        if line.startswith("│")
        for cells in [[c.strip() for c in line.strip("│").split("│")]]
    }
    assert rows["ann"] == ["7", "2026-04-06", "2026-04-12", "126", "83", "17"]
    assert rows["bo"] == ["2", "2026-04-06", "2026-04-07", "80", "75", "–"]
