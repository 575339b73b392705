"""The main window: plots on the left; cue, rep table and sensor status on the right.

It only displays: ``on_update`` takes the session's ``ViewerUpdate``s (signals of the
``SessionWorker``, in the GUI thread) and a ~60 Hz timer redraws the plots. Closing the
window stops the attached session (pipeline finished, recording finalised, process
joined) before the window goes away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.plots import AnglePlots
from viewer.rep_table import CueLabel, RepTable
from viewer.replay_controls import ReplayControls
from viewer.status_panel import StatusPanel
from viewer.worker import SessionWorker, ViewerUpdate

REDRAW_INTERVAL_MS = 16  # ~60 Hz, independent of how often data arrives


class ViewerWindow(QtWidgets.QMainWindow):
    """One window for live streaming, replay and the demo."""

    #: Re-emitted after each update is shown (the screenshot logic and tests wait on it).
    updated = QtCore.Signal(object)

    def __init__(
        self,
        title: str = "hinge",
        *,
        replay: bool = False,
        recording_path: Path | None = None,
        window_s: float = 15.0,
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.resize(1280, 720)
        self.plots = AnglePlots(window_s=window_s)
        self.cue = CueLabel()
        self.reps = RepTable()
        self.status = StatusPanel()
        self.status.set_recording(recording_path)
        self.controls = ReplayControls() if replay else None

        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.plots, stretch=1)
        if self.controls is not None:
            left_layout.addWidget(self.controls)
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.cue)
        right_layout.addWidget(self.reps, stretch=1)
        right_layout.addWidget(self.status)
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

    def attach(self, worker: SessionWorker) -> None:
        """Show this worker's updates and drive its replay with the controls."""
        self.worker = worker
        self.destroyed.connect(lambda *_: worker.stop())  # deleted without being closed: still stop
        worker.signals.update.connect(self.on_update)
        worker.signals.sensors.connect(self.status.set_sensors)
        worker.signals.stopped.connect(self.on_stopped)
        if self.controls is not None:
            self.controls.play_requested.connect(lambda play: worker.control("play" if play else "pause"))
            self.controls.speed_requested.connect(lambda s: worker.control("set_speed", s))
            self.controls.seek_requested.connect(lambda t: worker.control("seek", t))
            self.controls.step_requested.connect(lambda d: worker.control("step_rep", d))
            self.reps.rep_chosen.connect(lambda index: worker.control("go_to_rep", index))
            self.reps.setToolTip("click a rep to replay up to it")

    @QtCore.Slot(object)
    def on_update(self, u: ViewerUpdate) -> None:
        if u.reset:
            self.plots.reset()
            self.reps.clear_reps()
            self.cue.reset()
            self.status.reset_calibration()
            self.finished = False
        self.plots.append(u.frames)
        for rep in u.reps:
            self.plots.add_rep(rep)
            self.reps.add_rep(rep)
        if u.reps:
            self.cue.show_rep(u.reps[-1])
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
        self.updated.emit(u)

    @QtCore.Slot(object)
    def on_stopped(self, error: Any) -> None:
        if error is not None:
            self.statusBar().showMessage(f"stopped: {error}")

    @QtCore.Slot()
    def redraw(self) -> None:
        if self.plots.redraw():
            self.redraw_count += 1

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._timer.stop()
        if self.worker is not None:
            self.worker.stop()
        super().closeEvent(event)
