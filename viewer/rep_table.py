"""The rep table (one row per rep as the streaming detector emits it) and the big cue.

The table shows what a lifter checks between reps (pattern, how late the hips started, how
much of the knee extension was done by then, whether the torso tipped forward, tempo);
every row also keeps the rep's full ``to_dict()`` under ``Qt.UserRole`` so tests and tools
read exact values rather than formatted text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from PySide6 import QtCore, QtGui, QtWidgets

from processing.reps import PATTERNS, Pattern, Rep

#: A rep as the session sends it, or as a dict of its fields (``Rep.to_dict()``).
RepLike = Rep | Mapping[str, object]

#: (header, rep field, format) per column; "tempo" is the concentric duration.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("#", "index", "{:d}"),
    ("Set", "set", "{:d}"),
    ("Pattern", "pattern", "{}"),
    ("Hip lag ms", "hip_lag_ms", "{:+.0f}"),
    ("Knee done %", "knee_done_at_hip_onset_pct", "{:.0f}"),
    ("Lean change °", "trunk_lean_change_deg", "{:+.1f}"),
    ("Tempo s", "concentric_s", "{:.2f}"),
)


def rep_dict(rep: RepLike) -> dict[str, object]:
    """A rep as a plain dict (``Rep.to_dict()``, or a dict already)."""
    return dict(rep) if isinstance(rep, Mapping) else rep.to_dict()


def format_cell(fmt: str, value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return fmt.format(value)


class RepTable(QtWidgets.QTableWidget):
    """One row per rep, newest at the bottom, pattern cell coloured. A click on a row asks
    for that rep (``rep_chosen(index)``: a replay goes to the moment it was emitted)."""

    rep_chosen = QtCore.Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.cellClicked.connect(lambda row, _col: self.rep_chosen.emit(int(self.reps()[row]["index"])))
        self.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)

    def add_rep(self, rep: RepLike) -> None:
        d = rep_dict(rep)
        row = self.rowCount()
        self.insertRow(row)
        for col, (_, key, fmt) in enumerate(COLUMNS):
            item = QtWidgets.QTableWidgetItem(format_cell(fmt, d.get(key)))
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            if key == "pattern" and d.get(key) in PATTERNS:
                item.setBackground(QtGui.QColor(*Pattern(d[key]).colour))
                item.setForeground(QtGui.QColor("white"))
            if col == 0:
                item.setData(QtCore.Qt.ItemDataRole.UserRole, d)
                if d.get("gap"):
                    item.setToolTip("data gap inside this rep")
            self.setItem(row, col, item)
        self.scrollToBottom()

    def reps(self) -> list[dict]:
        """The reps shown, as dicts, in row order."""
        return [self.item(r, 0).data(QtCore.Qt.ItemDataRole.UserRole) for r in range(self.rowCount())]

    def clear_reps(self) -> None:
        self.setRowCount(0)


class CueLabel(QtWidgets.QWidget):
    """The latest rep's verdict in large coloured text, with the coach's cue below it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.headline = QtWidgets.QLabel("Waiting for the first rep")
        font = self.headline.font()
        font.setPointSize(26)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.detail = QtWidgets.QLabel("")
        self.detail.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)

    def show_rep(self, rep: RepLike) -> None:
        d = rep_dict(rep)
        pattern = d.get("pattern")
        known = Pattern(pattern) if pattern in PATTERNS else None
        self.headline.setText(known.headline if known else str(pattern))
        colour = known.colour if known else (200, 200, 200)
        self.headline.setStyleSheet(f"color: rgb{colour};")
        lag = d.get("hip_lag_ms")
        lag_txt = f"hips {lag:+.0f} ms after knees" if isinstance(lag, (int, float)) and math.isfinite(lag) else ""
        parts = [f"rep {d.get('index')}", lag_txt, d.get("cue") or ""]
        self.detail.setText(" · ".join(p for p in parts if p))

    def reset(self) -> None:
        self.headline.setText("Waiting for the first rep")
        self.headline.setStyleSheet("")
        self.detail.setText("")
