"""The athlete's last sessions beside the live set: how today's reps compare with the last weeks'.

A small table from the training log (``processing.training_log``): one row per recent
session (date, load, reps, share of knee-first reps, mean hip lag) under a row for today,
which fills in as the live reps arrive, and one line comparing today with those sessions.
The sessions are read once, before the window opens (by the command line); the panel reads
their figures by attribute name (``Session``'s), so it needs no database itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from PySide6 import QtCore, QtWidgets

from processing.reps import Pattern
from processing.training_log.figures import comparison

COLUMNS = ("Session", "Load kg", "Reps", "Knee-first %", "Hip lag ms")


def _fmt(value: float | None, fmt: str) -> str:
    return "–" if value is None or not math.isfinite(value) else fmt.format(value)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


class HistoryPanel(QtWidgets.QGroupBox):
    """Today's set against the last sessions of the same athlete (and exercise)."""

    def __init__(self, sessions: Sequence[Any], who: str = "", load_kg: float | None = None, parent=None) -> None:
        super().__init__(f"Last sessions{' — ' + who if who else ''}", parent)
        self.sessions = list(sessions)
        self.load_kg = load_kg
        self.today: list[Any] = []  # the live reps (processing.reps.Rep)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.table = QtWidgets.QTableWidget(1 + len(self.sessions), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        rows = min(6, 1 + len(self.sessions))  # today and up to five sessions without scrolling
        self.table.setFixedHeight(
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + 2 * self.table.frameWidth()
        )
        layout.addWidget(self.table)
        self.comparison = QtWidgets.QLabel()
        self.comparison.setWordWrap(True)
        layout.addWidget(self.comparison)
        for row, s in enumerate(self.sessions, start=1):
            when = s.recorded_at.replace(tzinfo=UTC).astimezone()
            self._set_row(
                row,
                f"{when:%Y-%m-%d}",
                s.load_kg,
                s.n_reps,
                None if s.knee_first_share is None else 100 * s.knee_first_share,
                s.hip_lag_ms,
            )
        self._show_today()

    def _set_row(
        self,
        row: int,
        label: str,
        load: float | None,
        reps: int,
        knee_first_pct: float | None,
        hip_lag_ms: float | None,
    ) -> None:
        cells = (label, _fmt(load, "{:g}"), str(reps), _fmt(knee_first_pct, "{:.0f}"), _fmt(hip_lag_ms, "{:.0f}"))
        for col, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            if col:
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            if row == 0:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, col, item)

    def today_figures(self) -> tuple[float | None, float | None]:
        """(knee-first %, mean hip lag ms) of today's reps so far."""
        if not self.today:
            return None, None
        share = 100.0 * sum(r.pattern == Pattern.KNEE_FIRST for r in self.today) / len(self.today)
        return share, _mean([r.hip_lag_ms for r in self.today])

    def _show_today(self) -> None:
        share, lag = self.today_figures()
        self._set_row(0, "today", self.load_kg, len(self.today), share, lag)
        self.comparison.setText(comparison(self.sessions, None if share is None else share / 100, lag))

    def add_rep(self, rep: Any) -> None:
        self.today.append(rep)
        self._show_today()

    def reset(self) -> None:
        self.today.clear()
        self._show_today()
