"""`hinge analyze` as a user runs it: a real subprocess on simulated recordings with truth."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hinge.cli import main
from processing.recording import write_recording
from processing.reps import REP_FIELDS
from processing.simulator import SimConfig, simulate, write_simulation
from tests.helpers import ROOT, hinge_in_process, require

ALL = ["knee-first", "simultaneous", "hips-rise-early"]
FLOAT_FIELDS = set(REP_FIELDS) - {"index", "set", "pattern", "cue", "gap"}


def hinge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hinge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    sim = simulate(SimConfig(patterns=ALL, reps=3, sets=2, noise="typical", seed=51, dropouts=2))
    return sim, write_simulation(sim, tmp_path_factory.mktemp("rec") / "session")


def test_json_schema_reps_csv_and_angles(session, tmp_path):
    sim, rec = session
    out = hinge(
        "analyze",
        rec,
        "--json",
        "--csv",
        tmp_path / "reps.csv",
        "--angles",
        tmp_path / "a.csv",
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no progress output with --json
    doc = json.loads(out.stdout)
    assert set(doc) == {"recording", "calibration", "reps", "summary"}
    assert doc["recording"]["sensors"].keys() == {"thigh", "lumbar"}
    assert doc["calibration"]["source"] == "standing" and doc["calibration"]["warning"] is None
    truth = sim.truth_reps
    assert len(doc["reps"]) == len(truth)
    for r, t in zip(doc["reps"], truth):
        assert list(r) == list(REP_FIELDS)
        assert all(isinstance(r[f], float) for f in FLOAT_FIELDS)
        assert isinstance(r["gap"], bool) and isinstance(r["cue"], str) and r["cue"]
        assert (r["index"], r["set"], r["pattern"], r["gap"]) == (
            t["index"],
            t["set"],
            t["pattern"],
            t["gap"],
        )
        assert abs(r["knee_onset_s"] - t["knee_onset_s"]) < 0.010
        assert abs(r["hip_lag_ms"] - t["hip_lag_ms"]) < 15
    summary = doc["summary"]
    assert summary["patterns"] == {p: 2 for p in ALL}
    assert [s["reps"] for s in summary["sets"]] == [3, 3]
    assert {"mean", "sd"} <= set(summary["sets"][0]["hip_lag_ms"]) and "trend" in summary["sets"][0]

    table = pd.read_csv(tmp_path / "reps.csv")
    assert list(table.columns) == list(REP_FIELDS)
    assert list(table.pattern) == [t["pattern"] for t in truth]

    angles = pd.read_csv(tmp_path / "a.csv")
    assert list(angles.columns) == ["t", "trunk_deg", "thigh_deg", "hip_deg"]
    assert np.median(np.diff(angles.t)) <= 0.01  # >= 100 Hz
    ref = sim.truth_angles
    err = angles.hip_deg - np.interp(angles.t, ref.t, ref.hip_deg)
    assert np.sqrt(np.mean(err**2)) < 1.5


# The CLI in-process (``hinge.cli.main``, the same code the console script runs) where a
# subprocess per case would only add interpreter start-up time.


def test_table_for_a_person(session, capsys):
    _, rec = session
    assert main(["analyze", str(rec)]) == 0
    out = capsys.readouterr().out
    for pattern in ALL:
        assert pattern in out
    assert "Set 1" in out and "Set 2" in out
    assert "Knees first" in out  # a coach's cue


def test_recording_without_reps_and_user_errors(tmp_path, capsys):
    # The lifter stood and walked but never lifted: zero reps, no error.
    quiet = {
        s: df[df.t < 12.0].reset_index(drop=True)
        for s, df in simulate(SimConfig(patterns=["knee-first"], reps=1, seed=52, walk_first_s=15)).imu.items()
    }
    write_recording(tmp_path / "quiet", quiet, {"notes": "standing and walking only"})
    assert main(["analyze", str(tmp_path / "quiet"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reps"] == [] and doc["summary"]["reps"] == 0
    assert doc["summary"]["hip_lag_ms"] == {
        "mean": None,
        "sd": None,
    }  # same schema, no values

    assert main(["analyze", str(tmp_path / "missing"), "--onset-fraction", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hinge: ") and "missing" in err  # the recording is validated first
    assert main(["analyze", str(tmp_path / "quiet"), "--onset-fraction", "1.5"]) == 2
    assert "--onset-fraction" in capsys.readouterr().err


def test_example_recordings_analyse_to_their_patterns():
    from processing.angles import compute_angles
    from processing.recording import read_recording
    from processing.reps import detect_reps

    examples = sorted(p.parent for p in (ROOT / "recordings").glob("*/truth.json"))
    require(bool(examples), "no example recordings with truth.json in recordings/")
    for path in examples:
        truth = json.loads((path / "truth.json").read_text())["reps"]
        reps = detect_reps(compute_angles(read_recording(path)).frames)
        assert [r.pattern for r in reps] == [t["pattern"] for t in truth], path


def test_threshold_flags_change_the_analysis(session, capsys):
    sim, rec = session
    leans = [t["trunk_lean_change_deg"] for t in sim.truth_reps]
    strict = f"{max(leans) + 2:.1f}"  # no rep leans that far: none is hips-rise-early
    assert (
        main(
            [
                "analyze",
                str(rec),
                "--json",
                "--lean-deg",
                strict,
                "--set-break-s",
                "100",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["reps"]) == len(sim.truth_reps)
    assert all(r["pattern"] != "hips-rise-early" for r in doc["reps"])
    assert {r["set"] for r in doc["reps"]} == {1}  # the rest between sets is < 100 s


def test_a_recording_without_still_standing_is_analysed_with_a_one_line_warning(tmp_path):
    """The lifter started at the bar and stopped at the last lockout (no still stand): the
    reps come out, `calibration.source` says where upright came from, and stderr carries
    one warning line when it is weak."""
    sim = simulate(SimConfig(reps=4, seed=7, stand_s=2.0, end_stand_s=0.0, setup_s=0.3))
    cut = {seg: df[df.t > 2.0].reset_index(drop=True) for seg, df in sim.imu.items()}
    rec = write_recording(tmp_path / "nostand", cut, {"source": "test"})
    out = hinge("analyze", rec, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["calibration"]["source"] == "lockouts"
    assert len(doc["reps"]) == len(sim.truth_reps)
    warning = doc["calibration"]["warning"]
    if doc["calibration"]["confidence"] < 0.5:
        assert out.stderr.strip() == f"hinge: warning: {rec}: {warning}"
    else:
        assert warning is None and out.stderr == ""


def test_sensors_that_never_overlap_are_refused_in_one_line(tmp_path, sensors_apart):
    _, apart = sensors_apart
    rec = write_recording(
        tmp_path / "apart", {k: v.reset_index(drop=True) for k, v in apart.items()}, {"source": "test"}
    )
    out = hinge_in_process("analyze", str(rec))
    assert out.returncode == 2
    assert out.stderr.strip().startswith(f"hinge: {rec}: nothing to analyse: the sensors' data never overlap")
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_report_equals_analyze_report_flag(tmp_path):
    """``hinge analyze REC --report`` writes the page ``hinge report`` writes (the page's
    own checks: test_report.py); a short set is enough to compare them."""
    rec = ROOT / "recordings" / "knee-first"
    pages = tmp_path / "via-report.html", tmp_path / "via-analyze.html"
    for args in (("report", str(rec), "-o", str(pages[0])), ("analyze", str(rec), "--report", str(pages[1]))):
        r = hinge_in_process(*args)
        assert r.returncode == 0, r.stderr
    assert b"<article" in pages[0].read_bytes()
    assert pages[0].read_bytes() == pages[1].read_bytes()
