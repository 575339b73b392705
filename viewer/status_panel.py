"""Sensor status, the calibration prompt with its countdown, and the recording indicator.

Sensor rows come from the source's ``status()`` (``firmware_bridge.status.SensorStatus``:
read by attribute name, so any object with those fields works). The calibration prompt
counts down the still period that fixes the upright pose (at least 2 s standing tall and
still, ``docs/domain.md``) in session time, and then shows the streaming angle stage's own
status text until the calibration is known.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from firmware_bridge.status import SensorStatus

#: Standing still this long at the start fixes the upright pose (domain.md: at least 2 s).
CALIBRATION_STILL_S = 2.0
CALIBRATION_PROMPT = "Stand tall and still"

STATE_COLOURS = {
    "streaming": (46, 160, 67),
    "replay": (46, 160, 67),
    "scanning": (230, 160, 20),
    "connecting": (230, 160, 20),
    "reconnecting": (230, 160, 20),
    "lost": (214, 39, 40),
    "stopped": (140, 140, 140),
}

SENSOR_COLUMNS = ("Sensor", "State", "Rate Hz", "Loss %", "Battery %", "Latency ms")


def _fmt(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


class StatusPanel(QtWidgets.QWidget):
    """Per-sensor table, calibration prompt and recording indicator, stacked vertically."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.calibration = QtWidgets.QLabel(CALIBRATION_PROMPT)
        font = self.calibration.font()
        font.setPointSize(16)
        font.setBold(True)
        self.calibration.setFont(font)
        self.calibration.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.calibration.setStyleSheet("color: rgb(230, 160, 20);")
        layout.addWidget(self.calibration)

        self.sensors = QtWidgets.QTableWidget(0, len(SENSOR_COLUMNS))
        self.sensors.setHorizontalHeaderLabels(SENSOR_COLUMNS)
        self.sensors.verticalHeader().setVisible(False)
        self.sensors.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sensors.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.sensors.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.sensors.setMaximumHeight(110)
        layout.addWidget(self.sensors)

        self.recording = QtWidgets.QLabel("")
        self.recording.setStyleSheet("color: rgb(214, 39, 40); font-weight: bold;")
        self.recording.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recording.setVisible(False)
        layout.addWidget(self.recording)

    # -- sensors ------------------------------------------------------------------------
    def set_sensors(self, statuses: list[SensorStatus]) -> None:
        self.sensors.setRowCount(len(statuses))
        for row, s in enumerate(statuses):
            name = getattr(s, "name", None)
            label = f"{s.segment} ({name})" if name else str(s.segment)
            state = str(getattr(s, "state", ""))
            cells = (
                label,
                state,
                _fmt(getattr(s, "rate_hz", None), "{:.0f}"),
                _fmt(getattr(s, "loss_pct", None), "{:.1f}"),
                _fmt(getattr(s, "battery_pct", None), "{:.0f}"),
                _fmt(getattr(s, "latency_ms", None), "{:.0f}"),
            )
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if col == 1 and state in STATE_COLOURS:
                    item.setForeground(QtGui.QColor(*STATE_COLOURS[state]))
                self.sensors.setItem(row, col, item)

    # -- calibration ----------------------------------------------------------------------
    def set_calibration(self, session_t: float, start_t: float | None, calibrated: bool, status_text: str = "") -> None:
        """Countdown of the still period from the session's first sample, then the stage's status."""
        if calibrated:
            self._show_calibration("Calibrated", "color: rgb(46, 160, 67);")
            return
        left = CALIBRATION_STILL_S - (session_t - start_t if start_t is not None else 0.0)
        text = f"{CALIBRATION_PROMPT}  {left:.1f} s" if left > 0 else (status_text or CALIBRATION_PROMPT)
        self._show_calibration(text, "color: rgb(230, 160, 20);")

    def reset_calibration(self) -> None:
        self._show_calibration(CALIBRATION_PROMPT, "color: rgb(230, 160, 20);")

    def _show_calibration(self, text: str, style: str) -> None:
        # Called on every update (~100/s): restyling a widget is costly, so only on change.
        if text != self.calibration.text():
            self.calibration.setText(text)
        if style != self.calibration.styleSheet():
            self.calibration.setStyleSheet(style)

    # -- recording ------------------------------------------------------------------------
    def set_recording(self, path: Path | None) -> None:
        self.recording.setVisible(path is not None)
        self.recording.setText(f"● REC  {path}" if path is not None else "")
