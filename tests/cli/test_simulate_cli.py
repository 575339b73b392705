"""`hinge simulate` as a user runs it (real subprocesses), and the example recordings."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from processing.recording import read_recording

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "recordings"
PATTERNS = ("knee-first", "simultaneous", "hips-rise-early")
FILES = ("session.json", "thigh.csv", "lumbar.csv", "truth.json", "truth_angles.csv")


def hinge(*args: str) -> subprocess.CompletedProcess:
    """The command as a user runs it: a real process."""
    return subprocess.run([sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=120)


def hinge_main(*args: str) -> int:
    """The same command line in this process (``hinge.cli.main``), where starting a Python
    for every call would only add seconds."""
    from hinge.cli import main

    return main(list(args))


def test_simulate_writes_a_valid_recording_with_truth_reproducibly(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "3"), (b, "3")):  # two processes: nothing of one process' state enters the data
        run = hinge("simulate", str(out), "--pattern", "hips-rise-early", "--reps", "4", "--seed", seed)
        assert run.returncode == 0, run.stderr
    assert hinge_main("simulate", str(c), "--pattern", "hips-rise-early", "--reps", "4", "--seed", "4") == 0
    rec = read_recording(a)  # the strict reader accepts it
    assert set(rec.segments) == {"thigh", "lumbar"}
    assert rec.meta["created"] == "2000-01-01T00:00:00.000Z"
    truth = json.loads((a / "truth.json").read_text())
    assert truth["config"]["seed"] == 3 and truth["config"]["patterns"] == ["hips-rise-early"]
    assert [r["pattern"] for r in truth["reps"]] == ["hips-rise-early"] * 4
    angles = pd.read_csv(a / "truth_angles.csv")
    assert list(angles.columns) == ["t", "trunk_deg", "thigh_deg", "hip_deg", "knee_ext_deg_s", "hip_ext_deg_s"]
    assert angles.t.iloc[-1] == pytest.approx(rec.segments["thigh"].t.iloc[-1], abs=0.05)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ("thigh.csv", "lumbar.csv", "truth.json"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_simulate_options_reach_the_data(tmp_path, capsys):
    out = tmp_path / "x"
    code = hinge_main(
        "simulate",
        str(out),
        "--pattern",
        "knee-first,simultaneous",
        "--reps",
        "2",
        "--sets",
        "2",
        "--rate",
        "52,208",
        "--noise",
        "off",
        "--mounting",
        "upside-down",
        "--side",
        "right",
        "--clock-offset",
        "0.01",
        "--dropouts",
        "1",
        "--walking",
        "--rest",
        "6",
        "--pause",
        "0.5",
    )
    assert code == 0, capsys.readouterr().err
    assert f"{out}: 4 reps" in capsys.readouterr().out
    rec = read_recording(out)
    th, lu = rec.segments["thigh"], rec.segments["lumbar"]
    assert th.t.diff().median() == pytest.approx(1 / 52, rel=1e-3)
    assert lu.t.diff().median() == pytest.approx(1 / 208, rel=1e-3)
    assert lu.t.iloc[0] == pytest.approx(0.01)
    assert th[["ax", "ay", "az"]].iloc[0].tolist() == pytest.approx([-9.81, 0, 0], abs=1e-6)
    truth = json.loads((out / "truth.json").read_text())
    assert [r["pattern"] for r in truth["reps"]] == ["knee-first", "simultaneous"] * 2
    assert truth["config"]["side"] == "right" and len(truth["simulation"]["walks"]) == 1
    assert len(truth["simulation"]["dropouts"]) == 1


def test_realism_gym_is_seeded_and_its_options_reach_the_data(tmp_path, capsys):
    """--realism gym: a seeded mix (same seed, same bytes; another seed, another mix), drawn
    options written to truth.json; explicit options are kept; without any of them truth.json
    has no realism keys at all (as before they existed)."""
    runs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        out = tmp_path / name
        assert hinge_main("simulate", str(out), "--realism", "gym", "--reps", "3", "--sets", "2", "--seed", seed) == 0
        runs[name] = json.loads((out / "truth.json").read_text())
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "thigh.csv").read_bytes() != (tmp_path / "c" / "thigh.csv").read_bytes()
    cfg = runs["a"]["config"]
    assert cfg["realism"] == "gym" and cfg["fidget_deg"] > 0 and cfg["acc_scale_max"] > 0 and cfg["jitter_s"] > 0
    assert cfg["standing"] in ("still", "short", "late", "none") and cfg["rest_activities"]
    rec = read_recording(tmp_path / "a")  # the strict reader accepts jittered stamps
    assert rec.segments["thigh"].t.diff().std() > 1e-4

    out = tmp_path / "squat"
    assert (
        hinge_main(
            "simulate",
            str(out),
            "--realism",
            "gym",
            "--exercise",
            "squat",
            "--standing",
            "short",
            "--reps",
            "3",
            "--rate",
            "110,52",
            "--jitter",
            "2",
            "--seed",
            "3",
        )
        == 0
    )
    truth = json.loads((out / "truth.json").read_text())
    assert truth["config"]["exercise"] == "squat" and truth["config"]["standing"] == "short"
    assert truth["config"]["rates_hz"] == {"thigh": 110.0, "lumbar": 52.0} and truth["config"]["jitter_s"] == 0.002
    assert len(truth["reps"]) == 3 and all(90 <= r["thigh_start_deg"] <= 100.001 for r in truth["reps"])

    out = tmp_path / "plain"
    assert hinge_main("simulate", str(out), "--reps", "1") == 0
    keys = json.loads((out / "truth.json").read_text())["config"]
    assert not {"realism", "exercise", "standing", "fidget_deg", "jitter_s", "rest_activities"} & set(keys)
    capsys.readouterr()


def test_a_session_without_lifts_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "nolift"
    assert (
        hinge_main(
            "simulate",
            str(out),
            "--reps",
            "0",
            "--sets",
            "2",
            "--rest",
            "22",
            "--rest-activities",
            "walk,jog,bench,bend",
            "--standing",
            "short",
            "--fidget",
            "2",
            "--acc-scale",
            "0.3",
            "--acc-offset",
            "1",
            "--gyro-offset",
            "4",
            "--noise",
            "low",
            "--seed",
            "5",
        )
        == 0
    )
    assert f"{out}: 0 reps" in capsys.readouterr().out
    truth = json.loads((out / "truth.json").read_text())
    assert truth["reps"] == []
    kinds = [k for k, _, _ in truth["simulation"]["activities"]]
    assert {"walk", "jog", "bench"} <= set(kinds)
    angles = pd.read_csv(out / "truth_angles.csv")
    assert angles.hip_deg.max() > 90  # the bench: a hip far past a rep's bottom, yet no rep
    assert hinge_main("simulate", str(tmp_path / "x"), "--rest-activities", "swim") == 2
    assert "unknown rest activity swim" in capsys.readouterr().err


def test_bad_pattern_gives_one_line_and_exit_2(tmp_path):
    run = hinge("simulate", str(tmp_path / "x"), "--pattern", "knee-first,knees-late")
    assert run.returncode == 2
    assert run.stderr.startswith("hinge: ") and len(run.stderr.strip().splitlines()) == 1
    assert "unknown pattern knees-late" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args, message", [(["--rate", "fast"], r"--rate"), (["--sets", "0"], r"sets")])
def test_other_bad_arguments_exit_2(tmp_path, capsys, args, message):
    assert hinge_main("simulate", str(tmp_path / "x"), *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("hinge: ") and len(err.strip().splitlines()) == 1 and re.search(message, err)
    assert not (tmp_path / "x").exists()


def test_existing_output_is_refused(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert hinge_main("simulate", str(out)) == 2
    assert f"hinge: {out}: already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


# --- recordings/ -----------------------------------------------------------------------------


def _readme_commands() -> dict[str, list[str]]:
    text = (RECORDINGS / "README.md").read_text()
    cmds = {}
    for line in text.splitlines():
        m = re.match(r"\s*uv run hinge simulate recordings/(\S+) (.*)$", line)
        if m:
            cmds[m.group(1)] = shlex.split(m.group(2))
    return cmds


def test_example_recordings_are_small_and_one_per_pattern():
    total = sum(f.stat().st_size for f in RECORDINGS.rglob("*") if f.is_file())
    assert total <= 2_000_000, total
    for pattern in PATTERNS:
        rec = read_recording(RECORDINGS / pattern)
        assert rec.meta["source"] == "simulator"
        truth = json.loads((RECORDINGS / pattern / "truth.json").read_text())
        assert truth["reps"] and {r["pattern"] for r in truth["reps"]} == {pattern}


def test_example_recordings_regenerate_byte_for_byte_from_the_readme(tmp_path):
    """The README's command for each example makes exactly the committed files."""
    cmds = _readme_commands()
    examples = sorted(p.name for p in RECORDINGS.iterdir() if p.is_dir())
    assert sorted(cmds) == examples and set(PATTERNS) <= set(examples)
    for name, args in cmds.items():
        out = tmp_path / name
        assert hinge_main("simulate", str(out), *args) == 0
        for f in FILES:
            assert (out / f).read_bytes() == (RECORDINGS / name / f).read_bytes(), (name, f)
