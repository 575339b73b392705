"""Play/pause, speed (0.25x-8x), seek and rep-by-rep stepping for a replay.

The widget only emits requests; the session process applies them on its own loop and
reports the replay's actual position, speed and state back, which ``set_state`` displays.
So the controls always show what the replay does, never what was merely asked.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SLIDER_STEPS_PER_S = 10


class ReplayControls(QtWidgets.QWidget):
    play_requested = QtCore.Signal(bool)  # True = play, False = pause
    speed_requested = QtCore.Signal(float)
    seek_requested = QtCore.Signal(float)  # session seconds
    step_requested = QtCore.Signal(int)  # -1 previous rep, +1 next rep

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.prev_rep = QtWidgets.QPushButton("◀ rep")
        self.play = QtWidgets.QPushButton("Play")
        self.next_rep = QtWidgets.QPushButton("rep ▶")
        self.speed = QtWidgets.QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.position = QtWidgets.QLabel("0.0 / 0.0 s")
        for w in (self.prev_rep, self.play, self.next_rep, self.speed):
            layout.addWidget(w)
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.position)

        self._playing = False
        self.play.clicked.connect(lambda: self.play_requested.emit(not self._playing))
        self.prev_rep.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_rep.clicked.connect(lambda: self.step_requested.emit(+1))
        self.speed.currentIndexChanged.connect(lambda i: self.speed_requested.emit(float(self.speed.itemData(i))))
        self.slider.sliderReleased.connect(self._emit_seek)
        self.slider.valueChanged.connect(self._value_changed)

    def _emit_seek(self) -> None:
        self.seek_requested.emit(self.slider.value() / SLIDER_STEPS_PER_S)

    def _value_changed(self, _value: int) -> None:
        # Clicks on the groove and keyboard steps; drags seek once, on release.
        if not self.slider.isSliderDown():
            self._emit_seek()

    def set_state(self, position_s: float, duration_s: float, speed: float, playing: bool) -> None:
        """Show the replay's actual state (no signals are emitted)."""
        self._playing = playing
        self.play.setText("Pause" if playing else "Play")
        blockers = [QtCore.QSignalBlocker(self.slider), QtCore.QSignalBlocker(self.speed)]
        self.slider.setMaximum(int(round(duration_s * SLIDER_STEPS_PER_S)))
        if not self.slider.isSliderDown():
            self.slider.setValue(int(round(position_s * SLIDER_STEPS_PER_S)))
        if speed in SPEEDS:
            self.speed.setCurrentIndex(SPEEDS.index(speed))
        del blockers
        self.position.setText(f"{position_s:.1f} / {duration_s:.1f} s")
