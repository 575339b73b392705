"""`hinge replay REC --headless --json` as a user runs it: the live path, rep by rep."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hinge.cli import main
from processing.angles import compute_angles
from processing.recording import read_recording
from processing.reps import REP_FIELDS, detect_reps
from processing.simulator import SimConfig, simulate, write_simulation
from tests.helpers import ROOT

pytestmark = pytest.mark.slow

ALL = ["knee-first", "simultaneous", "hips-rise-early"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    sim = simulate(SimConfig(patterns=ALL, reps=3, sets=2, noise="typical", seed=61, pause_s=0.6))
    return sim, write_simulation(sim, tmp_path_factory.mktemp("rec") / "session")


def test_headless_json_lines_live_and_on_time(session):
    sim, rec = session
    out = subprocess.run(
        [sys.executable, "-m", "hinge", "replay", str(rec), "--headless", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == len(sim.truth_reps)
    offline = detect_reps(compute_angles(read_recording(rec)).frames)
    emitted = [line["emitted_at_s"] for line in lines]
    assert emitted == sorted(emitted)
    for line, o, t in zip(lines, offline, sim.truth_reps):
        assert list(line) == [*REP_FIELDS, "emitted_at_s"]
        assert line["pattern"] == t["pattern"] and line["set"] == t["set"]
        assert 0.0 <= line["emitted_at_s"] - line["lockout_s"] <= 0.5
        assert abs(line["knee_onset_s"] - o.knee_onset_s) <= 0.010
        assert abs(line["hip_onset_s"] - o.hip_onset_s) <= 0.010


def test_headless_lines_for_a_person(session, capsys):
    sim, rec = session
    assert main(["replay", str(rec), "--headless", "--speed", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(sim.truth_reps) + 1
    assert out[0].startswith("rep 1 (set 1)") and sim.truth_reps[0]["pattern"] in out[0]
    assert out[-1] == f"{len(sim.truth_reps)} reps"


def test_speed_paces_the_replay_in_session_time(session, capsys, monkeypatch):
    """``--speed X`` plays X times real time: a replay can't finish sooner than that (an
    upper bound on wall time would only measure the machine), and ``--speed 0`` never
    waits (its sleeps are counted, and still slept; how long the unpaced replay takes would
    only measure the machine too)."""
    import time

    sim, rec = session
    duration = max(df.t.iloc[-1] for df in sim.imu.values())
    slept = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(s))[1])
    t0 = time.monotonic()
    assert main(["replay", str(rec), "--headless", "--speed", "8"]) == 0
    assert time.monotonic() - t0 >= 0.95 * duration / 8
    assert slept  # it waited for its data to be due
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"{len(sim.truth_reps)} reps"
    slept.clear()
    assert main(["replay", str(rec), "--headless", "--speed", "0"]) == 0
    assert slept == []
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(sim.truth_reps)} reps"
