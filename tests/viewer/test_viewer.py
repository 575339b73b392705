"""The live viewer, offscreen with real widgets, the real pipeline and a simulated recording.

Each test replays a recording of the virtual lifter through ``SessionWorker`` (a real
session process with its own asyncio loop) into ``ViewerWindow`` exactly as ``run_viewer``
does, and checks
what the widgets hold against an independent run of the pipeline, against ``hinge analyze
--json``, or against the recording's own files.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from processing.pipeline import Pipeline
from processing.recording import read_recording
from processing.samples import AngleFrames, SampleBatch
from tests.helpers import hinge_in_process
from viewer.palette import CURVE_COLOURS
from viewer.replay_source import FAST_CHUNK_S, LiveReplay, ReplaySource
from viewer.worker import RecordTarget

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHOT_AT_S = 16.0  # session seconds: calibrated and three of the four reps in
WAIT_MS = 40_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A simulated two-sensor 200 Hz session with knee-first and hips-rise-early reps."""
    from processing.simulator import SimConfig, simulate, write_simulation

    out = tmp_path_factory.mktemp("viewer") / "session"
    sim = simulate(
        SimConfig(
            patterns=["knee-first", "hips-rise-early"], reps=4, seed=11, rates_hz={"thigh": 200.0, "lumbar": 200.0}
        )
    )
    write_simulation(sim, out)
    return out


def pipeline_until(rec, until_s: float, chunk_s: float = FAST_CHUNK_S) -> tuple[AngleFrames, list]:
    """The pipeline's output for all samples before ``until_s``, pushed segment by segment in
    the chunks a fast-forwarding replay uses (the streaming angles differ by a few 0.01 deg
    with other chunkings: the calibration is fixed when enough data has arrived)."""
    pipe = Pipeline()
    batches = {seg: rec.batch(seg) for seg in rec.segments}
    frames, reps = [], []
    for a in np.arange(0.0, until_s, chunk_s):
        b = min(a + chunk_s, until_s)
        for seg, full in batches.items():
            i, j = np.searchsorted(full.t, [a, b], side="left")
            if j > i:
                upd = pipe.push(SampleBatch(seg, full.t[i:j], full.acc[i:j], full.gyr[i:j]))
                frames.append(upd.frames)
                reps.extend(upd.reps)
    return AngleFrames.concat(frames), reps


def test_window_fills_from_a_replay_and_curves_equal_the_pipeline(qtbot, open_viewer, recording):
    rec = read_recording(recording)
    src = ReplaySource.from_recording(rec)
    src.fast_forward(SHOT_AT_S, play=False)
    win, _ = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.session_t is not None and win.session_t >= SHOT_AT_S, timeout=WAIT_MS)
    qtbot.wait(100)  # the last coalesced update
    win.redraw()

    expected, reps = pipeline_until(rec, SHOT_AT_S)
    assert len(expected) > 100 and reps, "the independent run must show angles and reps"
    t_end = expected.t[-1]
    assert win.plots.now == t_end  # paused: everything received is shown
    keep = expected.t >= t_end - win.plots.window_s
    for name, curve in win.plots.curves.items():
        x, y = curve.getOriginalDataset()  # seconds before now
        np.testing.assert_allclose(x + t_end, expected.t[keep], atol=1e-9, err_msg=name)
        np.testing.assert_allclose(y, getattr(expected, name)[keep], atol=1e-6, err_msg=name)
    shown = win.reps.reps()
    assert [r["index"] for r in shown] == [r.index for r in reps]
    assert [r["pattern"] for r in shown] == [r.pattern for r in reps]
    in_window = [r for r in reps if r.end_s >= t_end - win.plots.window_s]
    assert win.plots.rep_marks == len(in_window) > 0
    shades = [i for i in win.plots.rep_mark_items if isinstance(i, QtWidgets.QGraphicsRectItem)]
    assert len(shades) == len(in_window)
    for shade, rep in zip(shades, in_window, strict=True):
        r = shade.rect()
        assert (r.left(), r.right()) == pytest.approx(sorted((rep.knee_onset_s, rep.hip_onset_s)))
        drawn = shade.mapRectToItem(win.plots.velocities.vb.childGroup, r)  # where it is drawn
        assert drawn.left() == pytest.approx(r.left() - t_end)
        first = "knee_ext_deg_s" if rep.knee_onset_s <= rep.hip_onset_s else "hip_ext_deg_s"
        assert shade.brush().color().getRgb()[:3] == CURVE_COLOURS[first]
    assert win.cue.headline.text() in ("Knees first", "Hips and knees together", "Hips rose early")
    assert win.status.sensors.rowCount() == 2
    assert win.status.calibration.text() == "Calibrated"


def test_rep_table_equals_hinge_analyze_json(qtbot, open_viewer, recording):
    out = hinge_in_process("analyze", str(recording), "--json")
    assert out.returncode == 0, out.stderr
    offline = json.loads(out.stdout)["reps"]
    assert offline, "the simulated session has reps"

    src = ReplaySource.from_recording(read_recording(recording))
    src.fast_forward(float("inf"), play=False)
    win, _ = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.finished, timeout=WAIT_MS)
    shown = win.reps.reps()
    assert [(r["index"], r["set"], r["pattern"]) for r in shown] == [
        (r["index"], r["set"], r["pattern"]) for r in offline
    ]
    # The live detector's onsets are within 10 ms of the offline ones (issue 4), hence lag
    # within 20 ms. Start and lockout sit on flat extrema of hip_deg (a dead stop's bottom,
    # the stand at the top), where live (causal) and offline angles place them up to a tenth
    # of a second or so apart, so the tempo is compared more loosely.
    for live, off in zip(shown, offline, strict=True):
        assert live["hip_lag_ms"] == pytest.approx(off["hip_lag_ms"], abs=20)
        assert live["concentric_s"] == pytest.approx(off["concentric_s"], abs=0.15)
        assert live["trunk_lean_change_deg"] == pytest.approx(off["trunk_lean_change_deg"], abs=1.0)
        if off["knee_done_at_hip_onset_pct"] is not None:
            assert live["knee_done_at_hip_onset_pct"] == pytest.approx(off["knee_done_at_hip_onset_pct"], abs=5.0)
    last = win.reps.rowCount() - 1
    assert win.reps.item(last, 2).text() == offline[-1]["pattern"]
    assert win.reps.item(last, 3).text() == f"{shown[-1]['hip_lag_ms']:+.0f}"


def test_replay_controls_change_position_and_speed(qtbot, open_viewer, recording):
    src = ReplaySource.from_recording(read_recording(recording))
    src.fast_forward(5.0, play=False)
    win, worker = open_viewer(replay=src)
    controls = win.controls
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(5.0) and controls.play.text() == "Play", timeout=WAIT_MS)

    controls.speed.setCurrentIndex(controls.speed.findData(4.0))  # as a user picking "4x"
    qtbot.waitUntil(lambda: worker.replay_state.speed == 4.0, timeout=WAIT_MS)
    t0 = time.monotonic()
    qtbot.mouseClick(controls.play, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controls.play.text() == "Pause", timeout=WAIT_MS)
    qtbot.wait(300)
    qtbot.mouseClick(controls.play, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controls.play.text() == "Play" and not worker.replay_state.playing, timeout=WAIT_MS)
    wall = time.monotonic() - t0
    qtbot.wait(100)
    played = worker.replay_state.position_s - 5.0
    # Never faster than 4x. How much it played says how busy the machine is: a starved
    # session process catches up in one burst, which may reach the end.
    assert 0.0 <= played <= 4.0 * wall + 0.1, f"at 4x, {wall:.2f} s of wall time played {played:.2f} s"
    assert controls.play.text() == "Play"

    controls.slider.setValue(int(12.0 * 10))  # a click on the groove
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(12.0), timeout=WAIT_MS)
    assert not worker.replay_state.playing and controls.position.text().startswith("12.0")

    n = win.reps.rowCount()
    qtbot.mouseClick(controls.next_rep, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.reps.rowCount() == n + 1 and controls.play.text() == "Play", timeout=WAIT_MS)
    lockout = win.reps.reps()[-1]["lockout_s"]  # stopped where the detector emitted it
    assert lockout < win.session_t <= lockout + 0.5 + FAST_CHUNK_S, (lockout, win.session_t)
    qtbot.mouseClick(controls.prev_rep, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.reps.rowCount() == n and win.session_t < lockout, timeout=WAIT_MS)
    assert not worker.replay_state.playing


def test_replay_keys_play_step_and_change_speed(qtbot, open_viewer, recording):
    src = ReplaySource.from_recording(read_recording(recording))
    src.fast_forward(5.0, play=False)
    win, worker = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(5.0) and not worker.replay_state.playing, timeout=WAIT_MS)
    key = QtCore.Qt.Key
    qtbot.keyClick(win, key.Key_BracketRight)  # 1x -> 2x
    qtbot.waitUntil(lambda: worker.replay_state.speed == 2.0, timeout=WAIT_MS)
    # Steps from 5 s, two reps ahead (after a Play, a busy machine may have let the replay
    # run to its end, where there is no next rep to step to).
    n = win.reps.rowCount()
    qtbot.keyClick(win, key.Key_Right)
    qtbot.keyClick(win, key.Key_Right)  # at once: steps twice, not once
    qtbot.keyClick(win, key.Key_BracketRight)  # a speed change does not cancel the step
    qtbot.waitUntil(lambda: win.reps.rowCount() == n + 2 and not worker.replay_state.playing, timeout=WAIT_MS)
    qtbot.wait(300)
    assert win.reps.rowCount() == n + 2 and worker.replay_state.speed == 4.0
    qtbot.keyClick(win, key.Key_Left)
    qtbot.keyClick(win, key.Key_Left)
    qtbot.waitUntil(lambda: win.reps.rowCount() == n and not worker.replay_state.playing, timeout=WAIT_MS)
    qtbot.keyClick(win, key.Key_Space)
    qtbot.waitUntil(lambda: worker.replay_state.playing, timeout=WAIT_MS)
    qtbot.keyClick(win, key.Key_Space)
    qtbot.waitUntil(lambda: not worker.replay_state.playing, timeout=WAIT_MS)
    qtbot.keyClick(win, key.Key_Home)
    qtbot.waitUntil(lambda: win.reps.rowCount() == 0 and win.session_t < 1.0, timeout=WAIT_MS)
    assert win.controls.play.toolTip() == "play / pause (Space)"


def test_a_replay_behind_its_schedule_lets_the_loop_run_between_chunks(recording):
    """A session process the machine starved finds seconds of the replay due at once: while
    it catches up, controls (a Pause) and the window's updates still get the loop between
    its chunks, not only after the burst (which may run to the end)."""
    import asyncio

    src = ReplaySource.from_recording(read_recording(recording))
    src.set_speed(8.0)

    async def catch_up() -> list[int]:
        ticks = 0

        async def other() -> None:  # what else runs on the session's loop
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        batches = src.batches()
        await anext(batches)
        start = src.position_s
        time.sleep(0.5)  # starved: 4 s of the recording are due now, and more the longer it took
        seen = []
        async for _ in batches:
            seen.append(ticks)
            if src.position_s >= start + 3.0:
                break
        await batches.aclose()
        task.cancel()
        return seen

    seen = asyncio.run(catch_up())
    assert len(seen) > 300  # 3 s of 10 ms chunks, every one of them due
    assert seen[-1] - seen[0] >= 200, "the loop ran nothing else while the replay caught up"


def test_clicking_a_rep_replays_up_to_it(qtbot, open_viewer, recording):
    src = ReplaySource.from_recording(read_recording(recording))
    src.fast_forward(float("inf"), play=False)
    win, worker = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.finished and win.reps.rowCount() == 4, timeout=WAIT_MS)
    first = win.reps.reps()[0]
    rect = win.reps.visualItemRect(win.reps.item(0, 2))
    qtbot.mouseClick(win.reps.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: win.reps.rowCount() == 1 and not worker.replay_state.playing, timeout=WAIT_MS)
    qtbot.wait(100)
    assert win.reps.reps()[0]["index"] == first["index"]
    assert first["lockout_s"] < win.session_t <= first["lockout_s"] + 0.5 + FAST_CHUNK_S


def test_curves_break_at_a_dropout_instead_of_bridging_it(qtbot, open_viewer, tmp_path):
    """A sensor silent for 1 s (a BLE reconnect): no frames there, and no line drawn across."""
    from processing.simulator import SimConfig, simulate, write_simulation

    sim = simulate(SimConfig(reps=2, seed=4, gaps=[("thigh", 9.0, 10.0)]))
    rec = read_recording(write_simulation(sim, tmp_path / "gap"))
    src = ReplaySource.from_recording(rec)
    src.fast_forward(12.0, play=False)
    win, _ = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(12.0), timeout=WAIT_MS)
    qtbot.wait(100)
    win.redraw()
    for name, curve in win.plots.curves.items():
        x, _ = curve.getOriginalDataset()
        connect = curve.opts["connect"]
        assert not isinstance(connect, str), f"{name}: drawn as one line across the dropout"
        breaks = x[:-1][~connect[:-1]] + win.plots.now
        assert len(breaks) == 1 and 8.9 < breaks[0] < 9.1, (name, breaks)


def test_screenshot_is_not_blank(tmp_path, recording):
    png = tmp_path / "shot.png"
    code = (
        "import sys; from pathlib import Path;"
        "from processing.recording import read_recording; from viewer.app import run_viewer;"
        f"sys.exit(run_viewer(replay=read_recording({str(recording)!r}), title='shot',"
        f" screenshot=Path({str(png)!r}), after_s={SHOT_AT_S}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    img = QtGui.QImage(str(png)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
    assert img.width() >= 800 and img.height() >= 500
    px = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()]
    px = px.reshape(img.height(), img.width(), 3)
    for name, colour in CURVE_COLOURS.items():
        n = int((np.abs(px.astype(int) - colour).sum(axis=2) <= 6).sum())
        assert n >= 100, f"{name} curve colour {colour} found in only {n} pixels"


def test_closing_stops_streaming_and_finalises_the_recording(qtbot, open_viewer, tmp_path, recording):
    rec = read_recording(recording)
    out = tmp_path / "recorded"
    # The recording paced at 1x behind the live-source protocol, recorded as a live session is.
    win, worker = open_viewer(source_factory=LiveReplay(rec), record=RecordTarget(out, tuple(rec.segments)))
    qtbot.waitUntil(lambda: win.session_t is not None and win.session_t > 1.0, timeout=WAIT_MS)
    assert worker.running
    win.close()

    assert not worker.running
    assert worker.error is None
    assert worker.leftover_tasks == []
    assert worker.exitcode == 0
    assert [p for p in multiprocessing.active_children() if p.name == "hinge-session"] == []
    saved = read_recording(out)
    meta = json.loads((out / "session.json").read_text())
    for entry in meta["sensors"]:
        assert entry["samples"] == len(saved.segments[entry["segment"]]) > 100


def test_calibration_prompt_counts_down_while_standing(qtbot, open_viewer, recording):
    src = ReplaySource.from_recording(read_recording(recording))
    src.fast_forward(1.0, play=False)
    win, _ = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(1.0), timeout=WAIT_MS)
    assert win.status.calibration.text() == "Stand tall and still  1.0 s"
    controls = win.controls
    controls.slider.setValue(int(SHOT_AT_S * 10))
    qtbot.waitUntil(lambda: win.session_t == pytest.approx(SHOT_AT_S), timeout=WAIT_MS)
    assert win.status.calibration.text() == "Calibrated"


def test_a_live_session_with_a_duration_ends_by_itself(qtbot, open_viewer, recording):
    rec = read_recording(recording)

    win, worker = open_viewer(source_factory=LiveReplay(rec, speed=8.0), duration_s=4.0)
    qtbot.waitUntil(lambda: not worker.running, timeout=WAIT_MS)
    assert worker.error is None and worker.leftover_tasks == []
    qtbot.waitUntil(lambda: win.finished, timeout=WAIT_MS)
    assert 4.0 <= win.session_t < 4.0 + 0.1
    assert win.status.sensors.rowCount() == 2


def test_ring_buffer_keeps_the_newest_rows_contiguous():
    from viewer.ring_buffer import RingBuffer

    buf = RingBuffer(("t", "x"), capacity=100)
    t = np.arange(1000.0)
    for a in range(0, 1000, 7):  # many compactions, chunks not dividing the capacity
        buf.append({"t": t[a : a + 7], "x": -t[a : a + 7]})
    assert 100 <= len(buf) <= 200
    np.testing.assert_array_equal(buf.view("t"), t[-len(buf) :])
    np.testing.assert_array_equal(buf.view("x", 50), -t[-len(buf) + 50 :])
    buf.append({"t": t, "x": t})  # more than the capacity at once
    np.testing.assert_array_equal(buf.view("t"), t[-100:])


def test_has_display_follows_the_environment(monkeypatch):
    from viewer.display import has_display

    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert not has_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert has_display()
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("DISPLAY", ":0")
    assert has_display()
