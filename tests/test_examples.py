"""Every script in examples/ runs as a user runs it, and its output matches the ground truth
(the example recordings' ``truth.json``, or the set the simulator was asked for)."""

from __future__ import annotations

import io
import json
import re
import runpy
import subprocess
import sys
from contextlib import redirect_stdout
from unittest import mock

import numpy as np
import pytest
from PySide6 import QtGui

from tests.helpers import ROOT
from viewer.palette import CURVE_COLOURS

pytestmark = pytest.mark.slow  # each example is a fresh interpreter; the live one streams ~7 s

ALL = ["knee-first", "simultaneous", "hips-rise-early"]
MIXED = ROOT / "recordings" / "mixed-set"


def run(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, f"examples/{name}.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def run_here(name: str, *args: str) -> str:
    """The example's ``__main__`` in this process (``runpy``), for its runs beyond the one as
    a fresh interpreter: the same script without an interpreter's start-up per run."""
    out = io.StringIO()
    with mock.patch.object(sys, "argv", [f"examples/{name}.py", *args]), redirect_stdout(out):
        runpy.run_path(str(ROOT / "examples" / f"{name}.py"), run_name="__main__")
    return out.getvalue()


def truth(rec=MIXED) -> list[dict]:
    return json.loads((rec / "truth.json").read_text())["reps"]


@pytest.mark.parametrize("name", ["mixed-set", "knee-first", "simultaneous", "hips-rise-early"])
def test_analyze_recording_finds_the_true_reps(name):
    rec = ROOT / "recordings" / name
    out = (run if name == "mixed-set" else run_here)("analyze_recording", str(rec))
    rows = re.findall(r"^\s*(\d+)\s+(\S+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)$", out, re.M)
    expected = truth(rec)
    assert [(int(i), p) for i, p, *_ in rows] == [(t["index"], t["pattern"]) for t in expected]
    for (_, _, lag, *_), t in zip(rows, expected):
        assert abs(float(lag) - t["hip_lag_ms"]) < 15.0
    assert f"set 1: {len(expected)} reps" in out


def test_simulate_and_score_agrees_with_the_requested_set():
    out = run("simulate_and_score", "--reps", "6", "--seed", "7")
    lines = re.findall(
        r"^rep (\d): (\S+)\s+detected (\S+)\s+knee onset\s+([-+\d.]+) ms\s+hip onset\s+([-+\d.]+) ms$", out, re.M
    )
    assert [p for _, p, *_ in lines] == ALL * 2  # the simulator's truth is the requested cycle
    assert [d for _, _, d, *_ in lines] == ALL * 2
    assert all(abs(float(k)) < 10 and abs(float(h)) < 10 for *_, k, h in lines)
    assert "pattern agreement: 6/6" in out


def test_stream_virtual_sensors_emits_the_simulated_set_live():
    out = run("stream_virtual_sensors")
    assert re.findall(r"^rep \d at [\d.]+ s: (\S+),", out, re.M) == ALL
    assert out.rstrip().endswith("3 reps")
    for seg in ("thigh", "lumbar"):
        assert re.search(rf"^{seg}\s+stopped\s+hinge-\w \[hinge\].*rx \d+\s+lost 0 ", out, re.M), out


def test_replay_pipeline_matches_offline_and_truth():
    out = run("replay_pipeline", str(MIXED))
    expected = [t["pattern"] for t in truth()]
    assert f"live {len(expected)} reps, offline {len(expected)} reps" in out
    lines = re.findall(
        r"^rep \d: live (\S+)\s+offline (\S+)\s+knee onset\s+([-+\d.]+) ms\s+hip onset\s+([-+\d.]+) ms"
        r"\s+emitted ([\d.]+) s after lockout$",
        out,
        re.M,
    )
    assert [live for live, *_ in lines] == expected
    assert [off for _, off, *_ in lines] == expected
    for *_, knee, hip, delay in lines:
        assert abs(float(knee)) < 10 and abs(float(hip)) < 10 and 0 <= float(delay) <= 0.5


def test_plot_angles_saves_every_curve(tmp_path):
    png = tmp_path / "angles.png"
    run("plot_angles", str(MIXED), "--save", str(png))
    img = QtGui.QImage(str(png)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
    assert img.width() >= 600 and img.height() >= 400
    px = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()]
    px = px.reshape(img.height(), img.width(), 3).astype(int)
    for name, colour in CURVE_COLOURS.items():
        n = int((np.abs(px - colour).sum(axis=2) <= 6).sum())
        assert n >= 100, f"{name} curve colour {colour} found in only {n} pixels"


def test_training_block_finds_what_the_lifter_was_told_to_do():
    out = run("training_block")
    sessions = re.findall(r"^session \d+: \S+, (\d+) kg: knee-first (\d)/5 \(simulated (\d)/5\)", out, re.M)
    assert len(sessions) == 8
    assert all(found == told for _, found, told in sessions)  # every rep's pattern, session by session
    assert "trend: fewer reps were knee-first over 8 sessions, 24 days" in out
    assert "trend: the load rose with the dates (100 → 130 kg)" in out
