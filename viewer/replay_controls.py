"""Play/pause, speed (0.25x-8x), seek and rep-by-rep stepping for a replay.

Keys, anywhere in the window (like a video player): Space plays/pauses, Left/Right step to
the previous/next rep, ``[``/``]`` halve/double the speed, Home goes to the start.

The widget only emits requests; the session process applies them on its own loop and
reports the replay's actual position, speed and state back, which ``set_state`` displays.
So the controls always show what the replay does, never what was merely asked.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

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
        Key = QtCore.Qt.Key
        keys = (
            (Key.Key_Space, self.play.click, self.play, "play / pause (Space)"),
            (Key.Key_Left, self.prev_rep.click, self.prev_rep, "to the previous rep (Left)"),
            (Key.Key_Right, self.next_rep.click, self.next_rep, "to the next rep (Right)"),
            (Key.Key_BracketLeft, lambda: self._step_speed(-1), None, None),
            (Key.Key_BracketRight, lambda: self._step_speed(+1), self.speed, "speed ([ slower, ] faster)"),
            (Key.Key_Home, lambda: self.seek_requested.emit(0.0), self.slider, "seek (Home: the start)"),
        )
        for key, action, widget, tip in keys:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self, context=QtCore.Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            if widget is not None:
                widget.setToolTip(tip)
                widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the keys are the window's

    def _step_speed(self, direction: int) -> None:
        i = min(max(self.speed.currentIndex() + direction, 0), len(SPEEDS) - 1)
        if i != self.speed.currentIndex():
            self.speed.setCurrentIndex(i)  # emits speed_requested

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
