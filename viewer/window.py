"""The main window: time plots above the side-on view and the coordination plot on the
left; cue, rep table, the athlete's last sessions (when the training log has them), sensor
status and the report button on the right.

It only displays: ``on_update`` takes the session's ``ViewerUpdate``s (signals of the
``SessionWorker``, in the GUI thread) and a ~60 Hz timer redraws the plots. Closing the
window stops the attached session (pipeline finished, recording finalised, process
joined) before the window goes away.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from PySide6 import QtCore, QtGui, QtWidgets

from processing.body import DEFAULT_HEIGHT_M
from processing.coordination import rep_trace
from viewer.coordination_plot import CoordinationPlot
from viewer.history_panel import HistoryPanel
from viewer.plots import AnglePlots
from viewer.rep_table import CueLabel, RepTable
from viewer.replay_controls import ReplayControls
from viewer.side_view import SideView
from viewer.status_panel import StatusPanel
from viewer.worker import SessionWorker, ViewerUpdate

REDRAW_INTERVAL_MS = 16  # ~60 Hz, independent of how often data arrives


class CueSink(Protocol):
    """What sounds the reps' cues (``hinge.sound.CuePlayer``): ``play`` must never wait."""

    def play(self, pattern: str, index: int) -> None: ...

    def close(self) -> None: ...


class ViewerWindow(QtWidgets.QMainWindow):
    """One window for live streaming, replay and the demo."""

    #: Re-emitted after each update is shown (the screenshot logic and tests wait on it).
    updated = QtCore.Signal(object)
    #: A report subprocess ended (its exit code).
    report_finished = QtCore.Signal(int)

    def __init__(
        self,
        title: str = "hinge",
        *,
        replay: bool = False,
        recording_path: Path | None = None,
        window_s: float = 15.0,
        height_m: float = DEFAULT_HEIGHT_M,
        report_source: Path | None = None,
        sound: CueSink | None = None,
        history: HistoryPanel | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.resize(1280, 800)
        self.plots = AnglePlots(window_s=window_s)
        self.side = SideView(height_m)
        self.coordination = CoordinationPlot()
        self.height_m = float(height_m)
        self.sound = sound
        self.report_source = report_source if report_source is not None else None
        self._live_recording = recording_path
        self.report_button = QtWidgets.QPushButton("Report…")
        self.report_button.setToolTip("write the recording's report: one HTML file to send to a coach")
        self.report_button.clicked.connect(self._ask_report)
        self.report_process: QtCore.QProcess | None = None
        self.cue = CueLabel()
        self.reps = RepTable()
        self.status = StatusPanel()
        self.status.set_recording(recording_path)
        self.controls = ReplayControls() if replay else None
        self.history = history

        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.plots, stretch=3)
        below = QtWidgets.QWidget()
        below_layout = QtWidgets.QHBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.side, stretch=2)
        below_layout.addWidget(self.coordination, stretch=3)
        left_layout.addWidget(below, stretch=2)
        if self.controls is not None:
            left_layout.addWidget(self.controls)
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.cue)
        right_layout.addWidget(self.reps, stretch=1)
        if history is not None:
            right_layout.addWidget(history)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.report_button)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([780, 500])
        self.setCentralWidget(splitter)

        self.session_t: float | None = None
        self.finished = False
        self.worker: SessionWorker | None = None
        self.redraw_count = 0
        self._pace = 1.0  # a replay's speed, as the plots' display clock last heard it
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.redraw)
        self._timer.start(REDRAW_INTERVAL_MS)
        self._update_report_button()

    def attach(self, worker: SessionWorker) -> None:
        """Show this worker's updates and drive its replay with the controls."""
        self.worker = worker
        self.destroyed.connect(lambda *_: worker.stop())  # deleted without being closed: still stop
        worker.signals.update.connect(self.on_update)
        worker.signals.sensors.connect(self.status.set_sensors)
        worker.signals.stopped.connect(self.on_stopped)
        self.reps.rep_chosen.connect(self.coordination.highlight)
        if self.report_source is None and worker.replay_path is not None:
            self.report_source = Path(worker.replay_path)
            self._update_report_button()
        if self.controls is not None:
            self.controls.play_requested.connect(lambda play: worker.control("play" if play else "pause"))
            self.controls.speed_requested.connect(lambda s: worker.control("set_speed", s))
            self.controls.seek_requested.connect(lambda t: worker.control("seek", t))
            self.controls.step_requested.connect(lambda d: worker.control("step_rep", d))
            self.reps.rep_chosen.connect(lambda index: worker.control("go_to_rep", index))
            self.reps.setToolTip("click a rep to replay up to it (and highlight its coordination trace)")
        else:
            self.reps.setToolTip("click a rep to highlight its coordination trace")

    @QtCore.Slot(object)
    def on_update(self, u: ViewerUpdate) -> None:
        if u.reset:
            self.plots.reset()
            self.side.reset(keep_reps=self.controls is not None)
            self.coordination.reset()
            self.reps.clear_reps()
            self.cue.reset()
            self.status.reset_calibration()
            if self.history is not None:
                self.history.reset()
            self.finished = False
        self.plots.append(u.frames)
        for rep in u.reps:
            self.plots.add_rep(rep)
            self.side.add_rep(rep)
            self.reps.add_rep(rep)
            if self.history is not None:
                self.history.add_rep(rep)
            f = self.plots.frames_between(rep.start_s, rep.lockout_s)
            self.coordination.add_trace(rep_trace(f.t, f.thigh_deg, f.trunk_deg, rep))
        if u.reps:
            self.cue.show_rep(u.reps[-1])
        if self.sound is not None:
            for rep in u.cue:  # every rep its cue, even two in one update (a slow window)
                self.sound.play(rep.pattern, rep.index)
        if u.session_t is not None:
            self.session_t = u.session_t
            self.status.set_calibration(u.session_t, u.session_start, u.calibrated, u.calibration_text)
        if u.replay is not None and self.controls is not None:
            r = u.replay
            self.controls.set_state(r.position_s, r.duration_s, r.speed, r.playing)
            if r.speed != self._pace:
                self._pace = r.speed
                self.plots.set_pace(r.speed)
        if u.finished or (u.replay is not None and not u.replay.playing):
            self.plots.catch_up()  # no more data is coming for now: show all of it
        if u.finished:
            self.finished = True
            self.statusBar().showMessage("session ended")
            self._update_report_button()
        self.updated.emit(u)

    @QtCore.Slot(object)
    def on_stopped(self, error: BaseException | None) -> None:
        if error is not None:
            self.statusBar().showMessage(f"stopped: {error}")

    @QtCore.Slot()
    def redraw(self) -> None:
        if self.plots.redraw():
            self.redraw_count += 1
            now = self.plots.now
            self.side.show_frames(self.plots.frames_recent(), now)

    # -- the report -------------------------------------------------------------------------
    def report_recording(self) -> Path | None:
        """The recording a report can be written of now: the replay's, or the live
        session's once it has ended (None: nothing recorded, or still recording)."""
        if self.report_source is not None:
            return self.report_source
        if self._live_recording is not None and self.finished and Path(self._live_recording).exists():
            return Path(self._live_recording)
        return None

    def _update_report_button(self) -> None:
        rec = self.report_recording()
        self.report_button.setEnabled(rec is not None and self.report_process is None)
        if rec is None:
            self.report_button.setToolTip(
                "a report needs a recording: replay one, or stream with --record "
                "(the report is offered when the session ends)"
            )

    def _ask_report(self) -> None:
        rec = self.report_recording()
        if rec is None:
            return
        default = str(Path.cwd() / f"{Path(rec).name}-report.html")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the report", default, "HTML (*.html)")
        if path:
            self.write_report(Path(path))

    def write_report(self, path: Path) -> QtCore.QProcess | None:
        """Start ``hinge report REC -o path`` (a subprocess: the window keeps painting);
        the status bar says when it is written, or why not."""
        rec = self.report_recording()
        if rec is None or self.report_process is not None:
            return None
        proc = QtCore.QProcess(self)
        proc.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.MergedChannels)
        args = ["-m", "hinge", "report", str(rec), "-o", str(path), "--height", f"{self.height_m:g}"]

        def done(code: int, _status) -> None:
            out = bytes(proc.readAll()).decode(errors="replace").strip()
            self.report_process = None
            self._update_report_button()
            if code == 0:
                self.statusBar().showMessage(f"report written to {path}")
            else:
                self.statusBar().showMessage(out.splitlines()[-1] if out else f"report failed (exit {code})")
            self.report_finished.emit(code)

        proc.finished.connect(done)
        self.report_process = proc
        self.report_button.setEnabled(False)
        self.statusBar().showMessage(f"writing the report of {rec} ...")
        proc.start(sys.executable, args)
        return proc

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._timer.stop()
        if self.worker is not None:
            self.worker.stop()
        super().closeEvent(event)
