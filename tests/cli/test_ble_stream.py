"""`hinge stream --virtual --record` and `hinge scan`, as a user runs them (real subprocesses;
the virtual scan's listing in this process).

The virtual sensors stream the virtual lifter through bumble, bleak's own front end, the
client and the pipeline into a recording; the recording must hold every sample of the
simulated set (equal within int16 quantisation), nothing lost, both sensors on one clock.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from firmware_bridge.drivers import hinge_profile as hp
from firmware_bridge.virtual.session import simulated_sources
from hinge.cli import main
from processing.recording import read_recording
from tests.helpers import hinge_in_process

pytestmark = pytest.mark.slow

SPEED = 5.0  # 30 s of data in about 6 s


def hinge(*args: str, env=None, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hinge", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`hinge stream --virtual --record` and `hinge demo`, run side by side (two processes)."""
    out = tmp_path_factory.mktemp("stream") / "rec"
    stream = start(
        "stream",
        "--virtual",
        "--record",
        str(out),
        "--headless",
        "--duration",
        "30",
        "--speed",
        str(SPEED),
        "--seed",
        "3",
    )
    demo = start("demo", "--headless", "--duration", "30", "--speed", str(SPEED))
    return out, finish(stream), finish(demo)


@pytest.fixture(scope="module")
def streamed(runs):
    out, proc, _ = runs
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_recording_holds_every_sample_sent(streamed):
    out, proc = streamed
    rec = read_recording(out)
    truth = simulated_sources(30.0, seed=3, rate_hz=200.0)
    info = hp.default_info()
    for seg in ("thigh", "lumbar"):
        df = rec.segments[seg]
        src = truth[seg]
        seq = df["seq"].to_numpy().astype(int)
        np.testing.assert_array_equal(seq, np.arange(len(src)))  # all 6000, in order, no gap
        acc = df[["ax", "ay", "az"]].to_numpy()
        gyr = df[["gx", "gy", "gz"]].to_numpy()
        clip_a = 32767 * info.acc_scale
        clip_g = 32767 * info.gyr_scale
        # equal within int16 quantisation (half a count), saturating at full scale
        assert np.abs(acc - np.clip(src.acc, -clip_a, clip_a)).max() <= info.acc_scale / 2 + 1e-6
        assert np.abs(gyr - np.clip(src.gyr, -clip_g, clip_g)).max() <= info.gyr_scale / 2 + 1e-7
    lost = {s["segment"]: s["lost_samples"] for s in rec.meta["sensors"]}
    assert lost == {"thigh": 0, "lumbar": 0}
    assert "lost 0 (0.00%)" in proc.stdout


def test_both_sensors_on_one_clock(streamed):
    out, _ = streamed
    rec = read_recording(out)
    truth = simulated_sources(30.0, seed=3, rate_hz=200.0)
    # session time minus true sample time (the virtual lifter's clock)
    offsets = {seg: rec.segments[seg]["t"].to_numpy() - truth[seg].t for seg in ("thigh", "lumbar")}
    late = slice(10 * 200, None)  # once the clock fits have 10 s of data
    misalignment = np.abs(offsets["thigh"][late] - offsets["lumbar"][late])
    # samples taken at the same instant get the same session time, within 2 ms on the
    # virtual clock: the virtual radio stamps notifications with their air time, so the
    # machine's load (or the speed-up) does not enter the clock fit
    assert misalignment.max() < 0.002, f"max {misalignment.max() * 1e3:.2f} ms"


def test_headless_prints_status_and_reps(streamed):
    _, proc = streamed
    lines = proc.stdout.splitlines()
    assert lines[0] == "no window yet: running headless" or "no window yet" not in proc.stdout
    assert any(line.startswith("rep 1 (set 1)") for line in lines), proc.stdout
    assert any("thigh" in line and "streaming" in line and "[hinge]" in line for line in lines)


def test_scan_virtual_lists_one_sensor_per_family():
    proc = hinge_in_process("scan", "--virtual")  # scan's real process: the test below
    assert proc.returncode == 0, proc.stderr
    drivers = {line.split()[-2] for line in proc.stdout.splitlines()[1:]}
    assert drivers == {"hinge", "movesense", "witmotion"}


def test_scan_without_bluetooth_says_so_in_one_line():
    proc = hinge("scan", "--timeout", "1")
    if proc.returncode == 0:  # a machine with a Bluetooth adapter: a table, no traceback
        assert proc.stdout.startswith("name")
        return
    assert proc.returncode in (1, 2)
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1 and "Bluetooth" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_session_that_never_streamed_leaves_no_recording(tmp_path):
    """No Bluetooth here (or, with an adapter, no such sensors): exit 2 in one line, and
    --record DIR is not left behind as an empty recording that would block the next try."""
    out = tmp_path / "rec"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = hinge(
        "stream",
        "--thigh",
        "AA:BB:CC:DD:EE:FF",
        "--lumbar",
        "AA:BB:CC:DD:EE:01",
        "--scan-timeout",
        "1",
        "--record",
        str(out),
        "--headless",
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("hinge: ") and proc.stderr.count("\n") == 1
    assert f"no samples arrived: {out} not kept" in proc.stdout
    assert "recorded to" not in proc.stdout
    assert not out.exists()


def test_stream_needs_both_roles(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["stream", "--thigh", "AA:BB:CC:DD:EE:FF", "--headless"]) == 2
    assert "--lumbar" in capsys.readouterr().err
    assert main(["stream", "--headless"]) == 2
    assert "no sensors given and none saved" in capsys.readouterr().err


def test_demo_prints_reps_as_they_happen(runs):
    proc = runs[2]
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    reps = [i for i, line in enumerate(lines) if line.startswith("rep ")]
    # the virtual lifter's default demo set tires: each rep's pattern is the one it was made with
    from hinge.commands.demo import DEMO_PATTERNS

    expected = DEMO_PATTERNS.split(",")
    assert len(reps) == 5, proc.stdout
    assert [lines[i].split(": ")[1].split(",")[0] for i in reps] == expected, proc.stdout
    last_streaming = max(i for i, line in enumerate(lines) if " streaming " in line)
    assert reps[0] < last_streaming
    assert lines[-1] == "5 reps"
