"""The window's session process as a user meets it: `hinge` in real subprocesses, offscreen.

``--screenshot`` makes the commands open the real window offscreen, so these run the whole
window path: the CLI, the spawned session process (virtual BLE sensors, pipeline, recording
writer) and the Qt window reading its messages. Plus what must hold when processes die:
the recording is finalised if the window's process is killed, and the window reports a
session process that died instead of hanging.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processing.recording import read_recording
from viewer.app import default_pipeline
from viewer.replay_source import LiveReplay
from viewer.worker import SessionWorker

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def hinge(*args: str, tmp: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp / "config")}
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "hinge", *args], text=True, cwd=ROOT, env=env, **kw)


def assert_complete(out: Path) -> None:
    """The recording reads back and ``session.json`` was finalised with its sample counts."""
    saved = read_recording(out)
    meta = json.loads((out / "session.json").read_text())
    for entry in meta["sensors"]:
        assert entry["samples"] == len(saved.segments[entry["segment"]]) > 100, entry


def test_stream_window_records_through_the_session_process(tmp_path):
    out, shot = tmp_path / "rec", tmp_path / "shot.png"
    proc = hinge(
        "stream",
        "--virtual",
        "--record",
        str(out),
        "--speed",
        "2",
        "--duration",
        "20",
        "--screenshot",
        str(shot),
        "--after",
        "8",
        tmp=tmp_path,
    )
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"recorded to {out}" in stdout
    assert shot.stat().st_size > 10_000
    assert_complete(out)
    assert 8.0 <= max(df["t"].iloc[-1] for df in read_recording(out).segments.values()) < 16.0


def test_a_session_error_reaches_the_terminal_in_one_line(tmp_path):
    """Real sensors that can't be had (no Bluetooth here, or none in range): the session
    process's error comes back to the CLI as its one-line message, exit 2, and the
    recording that never got a sample is not left behind to block the next try."""
    out = tmp_path / "rec"
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
        "--screenshot",
        str(tmp_path / "shot.png"),
        tmp=tmp_path,
    )
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    # hinge's own message is one line (Qt may add notices of its own about the machine)
    assert [line for line in stderr.splitlines() if line.startswith("hinge")] == [stderr.splitlines()[-1]]
    assert "Traceback" not in stderr
    assert not out.exists()


def test_killing_the_window_still_finalises_the_recording(tmp_path):
    out = tmp_path / "rec"
    # Its own session (process group), so that nothing outlives the test if it fails.
    # Output to files: pipes nobody reads could fill up and block the session's cleanup.
    with open(tmp_path / "out.txt", "w") as log:
        proc = hinge(
            "stream",
            "--virtual",
            "--record",
            str(out),
            "--screenshot",
            str(tmp_path / "never.png"),
            "--after",
            "1000",
            tmp=tmp_path,
            start_new_session=True,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 60
        while not ((out / "thigh.csv").exists() and (out / "thigh.csv").stat().st_size > 60_000):
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        proc.kill()  # SIGKILL: the window's process gets no chance to stop anything
        proc.wait(10)
        deadline = time.monotonic() + 20
        while True:  # the session process sees its pipe end, finishes and closes the recording
            meta = json.loads((out / "session.json").read_text())
            if all("samples" in s for s in meta["sensors"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert_complete(out)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_session_process_that_dies_is_reported_not_waited_for(qtbot, tmp_path):
    """A crash in the session process (here: killed) ends the session with an error the
    window shows; stopping afterwards returns at once."""
    from processing.simulator import SimConfig, simulate, write_simulation

    rec = read_recording(write_simulation(simulate(SimConfig(reps=2, seed=2)), tmp_path / "sim"))
    worker = SessionWorker(default_pipeline, source_factory=LiveReplay(rec))
    stopped = []
    worker.signals.stopped.connect(stopped.append)
    worker.start()
    updates = []
    worker.signals.update.connect(updates.append)
    qtbot.waitUntil(lambda: len(updates) > 3, timeout=30_000)  # it runs
    for child in _session_children():
        os.kill(child.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not worker.running, timeout=10_000)
    assert isinstance(worker.error, RuntimeError) and "died" in str(worker.error)
    assert len(stopped) == 1 and stopped[0] is worker.error
    t0 = time.monotonic()
    worker.stop()
    assert time.monotonic() - t0 < 2.0
    assert _session_children() == []


def _session_children() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "hinge-session"]


def test_a_screenshot_that_cannot_be_saved_is_an_error_not_a_hang(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    shot = tmp_path / "file" / "shot.png"
    proc = hinge(
        "replay", str(ROOT / "recordings" / "mixed-set"), "--screenshot", str(shot), "--after", "5", tmp=tmp_path
    )
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert stderr.splitlines()[-1] == f"hinge: {shot}: could not save the screenshot"
    assert "Traceback" not in stderr


def test_an_unpicklable_factory_fails_with_its_own_error(qtbot):
    """The session's spec crosses to a spawned process: a lambda cannot, and says so."""
    import pickle

    worker = SessionWorker(lambda writer=None: None, source_factory=LiveReplay(None))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)) as err:
        worker.start()
    assert "lambda" in str(err.value) or "pickle" in str(err.value).lower()
    worker.stop()  # nothing started: returns at once
    assert not worker.running and _session_children() == []
