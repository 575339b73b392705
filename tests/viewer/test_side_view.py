"""The side-on view and the coordination plot in the real window (offscreen, real session
process and pipeline), the report button, and the CLI screenshot showing both panels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from processing.body import Segments, pose
from processing.coordination import rep_trace
from processing.recording import read_recording
from processing.reps import Pattern
from tests.viewer.test_viewer import WAIT_MS, pipeline_until
from viewer.replay_source import ReplaySource
from viewer.side_view import joint_states

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "recordings" / "mixed-set"


def finished_window(qtbot, open_viewer):
    src = ReplaySource.from_recording(read_recording(MIXED))
    src.fast_forward(float("inf"), play=False)
    win, worker = open_viewer(replay=src)
    qtbot.waitUntil(lambda: win.finished and win.reps.rowCount() == 5, timeout=WAIT_MS)
    qtbot.wait(100)
    win.redraw()
    return win, worker


def test_coordination_traces_equal_the_pipelines_frames_over_each_rise(qtbot, open_viewer):
    win, _ = finished_window(qtbot, open_viewer)
    rec = read_recording(MIXED)
    end = max(float(df["t"].iloc[-1]) for df in rec.segments.values())
    frames, reps = pipeline_until(rec, end + 1.0)
    assert [r.index for r in reps] == sorted(win.coordination.traces) == [1, 2, 3, 4, 5]
    for rep in reps:
        want = rep_trace(frames.t, frames.thigh_deg, frames.trunk_deg, rep)
        got = win.coordination.traces[rep.index]
        assert len(got.t) == len(want.t) > 20
        np.testing.assert_allclose(got.thigh_deg, want.thigh_deg, atol=1e-6)
        np.testing.assert_allclose(got.trunk_deg, want.trunk_deg, atol=1e-6)
    # One set: all five overlaid, the newest highlighted, each in its pattern's colour and style.
    assert win.coordination.shown_set == 1 and sorted(win.coordination.curves) == [1, 2, 3, 4, 5]
    for index, curve in win.coordination.curves.items():
        pen = curve.opts["pen"]
        assert pen.color().getRgb()[:3] == Pattern(win.coordination.traces[index].pattern).colour
        assert pen.widthF() == (4.0 if index == 5 else 1.5)
    styles = {win.coordination.traces[i].pattern: c.opts["pen"].style() for i, c in win.coordination.curves.items()}
    assert len(set(styles.values())) == 3  # knee-first, simultaneous, hips-rise-early: three line styles


def test_clicking_a_rep_in_the_table_highlights_its_trace(qtbot, open_viewer):
    win, _ = finished_window(qtbot, open_viewer)
    rect = win.reps.visualItemRect(win.reps.item(2, 2))
    qtbot.mouseClick(win.reps.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.coordination.highlighted == 3
    assert win.coordination.curves[3].opts["pen"].widthF() == 4.0
    assert win.coordination.curves[5].opts["pen"].widthF() == 1.5


def test_figure_follows_seeks_and_joints_light_up_in_onset_order(qtbot, open_viewer):
    win, worker = finished_window(qtbot, open_viewer)
    seg = Segments.from_height(win.height_m)
    first, rep = win.reps.reps()[:2]  # knee-first: the knees start well before the hips
    assert rep["pattern"] == "knee-first" and rep["hip_onset_s"] - rep["knee_onset_s"] > 0.2
    for target, lit in (
        (first["start_s"] - 1.0, {}),  # before the first rep: nothing lit
        ((rep["knee_onset_s"] + rep["hip_onset_s"]) / 2, {"knee": 1}),
        ((rep["hip_onset_s"] + rep["lockout_s"]) / 2, {"knee": 1, "hip": 2}),
    ):
        worker.control("seek", target, False)  # and stay paused there
        qtbot.waitUntil(
            lambda t=target: (
                win.session_t is not None and abs(win.session_t - t) < 1e-3 and not worker.replay_state.playing
            ),
            timeout=WAIT_MS,
        )
        qtbot.wait(100)
        win.plots.catch_up()
        win.redraw()
        # the frames reach the replay's position up to the streaming angles' alignment delay
        assert target - 0.15 < win.plots.now <= target, (target, win.plots.now)
        assert win.side.lit == lit, target
        f = win.plots.frames_recent()
        want = pose(f.trunk_deg[-1], f.thigh_deg[-1], seg)
        for joint in ("knee", "hip", "shoulder", "head"):
            np.testing.assert_allclose(win.side.pose[joint], want[joint], atol=1e-12)
        assert win.side.joints["hip"].pos().x() == pytest.approx(want["hip"][0])
        assert win.side.labels["knee"].text() == ("1 knee" if lit else "")
        assert len(win.side.trail.getOriginalDataset()[0]) > 10  # the hip's path


def test_joint_states_number_the_joints_by_onset():
    rep = {"index": 1, "start_s": 10.0, "lockout_s": 11.5, "knee_onset_s": 10.4, "hip_onset_s": 10.1}
    assert joint_states([rep], 9.9) == ({}, None)
    assert joint_states([rep], 10.2)[0] == {"hip": 1}
    assert joint_states([rep], 10.5)[0] == {"hip": 1, "knee": 2}
    assert joint_states([rep], 12.9)[0] == {"hip": 1, "knee": 2}  # held 1.5 s after the lockout
    assert joint_states([rep], 13.1) == ({}, None)


def test_report_button_writes_the_replayed_recordings_report(qtbot, open_viewer, tmp_path):
    win, _ = finished_window(qtbot, open_viewer)
    assert win.report_button.isEnabled()
    out = tmp_path / "from-window.html"
    with qtbot.waitSignal(win.report_finished, timeout=120_000) as sig:
        assert win.write_report(out) is not None
        assert not win.report_button.isEnabled()  # one at a time
    assert sig.args == [0]
    assert out.stat().st_size > 50_000 and b"hinge report: mixed-set" in out.read_bytes()
    assert win.report_button.isEnabled()
    assert str(out) in win.statusBar().currentMessage()


def test_screenshot_shows_the_side_view_and_the_coordination_plot(tmp_path):
    png = tmp_path / "shot.png"
    out = subprocess.run(
        [sys.executable, "-m", "hinge", "replay", str(MIXED), "--screenshot", str(png), "--after", "34"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    img = QtGui.QImage(str(png)).convertToFormat(QtGui.QImage.Format.Format_RGB888)
    px = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()]
    px = px.reshape(img.height(), img.width(), 3).astype(int)
    h, w = px.shape[:2]
    bottom_left = px[int(0.58 * h) :, : int(0.61 * w)]  # under the time plots: side view + coordination
    bone = int((np.abs(bottom_left - (225, 225, 225)).sum(axis=2) <= 6).sum())
    assert bone >= 150, f"stick figure: {bone} px"
    for pattern, colour in ((p, p.colour) for p in Pattern):
        n = int((np.abs(bottom_left - colour).sum(axis=2) <= 6).sum())
        assert n >= 40, f"{pattern} trace: {n} px"


def test_a_recorded_live_session_offers_its_report_once_it_ended(qtbot):
    from processing.samples import AngleFrames
    from viewer.window import ViewerWindow
    from viewer.worker import ViewerUpdate

    win = ViewerWindow("live", recording_path=MIXED)  # as `hinge stream --record DIR` opens it
    qtbot.addWidget(win)
    assert not win.report_button.isEnabled() and win.report_recording() is None  # still recording
    win.on_update(ViewerUpdate(AngleFrames.empty(), [], None, None, False, "", finished=True))
    assert win.report_button.isEnabled() and win.report_recording() == MIXED
    win.close()
