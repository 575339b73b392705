"""The coordination (angle-angle) plot: thigh angle (x) against trunk angle (y) through each
rep's rise, the reps of one set overlaid (``processing/coordination.py`` says how to read it).

Each trace is coloured by its pattern and also drawn in the pattern's line style, with the
pattern's marker at the rep's start and its number beside it (colour-blind readers tell the
patterns apart by shape). The set's first rep is the reference: a wide grey band under its
trace. The set shown is the latest rep's, or the set of the rep chosen in the table, whose
trace is then drawn wider. The plot changes only when a rep arrives or is chosen: it costs
nothing per frame.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from processing.coordination import Trace
from processing.reps import Pattern
from viewer.palette import PATTERN_LINESTYLES, PATTERN_SYMBOLS

STYLES = {"solid": QtCore.Qt.PenStyle.SolidLine, "dash": QtCore.Qt.PenStyle.DashLine, "dot": QtCore.Qt.PenStyle.DotLine}
REFERENCE = (150, 150, 150, 110)


def pattern_pen(pattern: str, width: float = 2.0) -> pg.QtGui.QPen:
    return pg.mkPen(Pattern(pattern).colour, width=width, style=STYLES[PATTERN_LINESTYLES[pattern]])


class CoordinationPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        item = self.getPlotItem()
        item.setLabel("bottom", "thigh (deg)  ← knees extend")
        item.setLabel("left", "trunk (deg)  ↓ torso rises")
        item.setTitle("coordination: each rep's rise, the set's first rep = reference (grey)", size="8pt")
        for side in ("left", "bottom"):
            item.getAxis(side).enableAutoSIPrefix(False)
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.disableAutoRange()
        item.setXRange(-5, 80, padding=0)
        item.setYRange(-5, 80, padding=0)
        self.setMinimumSize(160, 160)
        legend = item.addLegend(offset=(-5, -5), brush=(0, 0, 0, 170), labelTextSize="8pt")
        for pattern in Pattern:  # legend entries only: no data
            legend.addItem(
                pg.PlotDataItem(
                    [],
                    [],
                    pen=pattern_pen(pattern),
                    symbol=PATTERN_SYMBOLS[pattern],
                    symbolBrush=pattern.colour,
                    symbolSize=7,
                ),
                pattern,
            )
        self.traces: dict[int, Trace] = {}
        self._items: list = []
        self.shown_set: int | None = None
        self.highlighted: int | None = None
        #: The plotted items per rep index (for tests): the trace's PlotDataItem.
        self.curves: dict[int, pg.PlotDataItem] = {}

    def add_trace(self, trace: Trace) -> None:
        """A new rep: show its set (with it), it highlighted unless one was chosen there."""
        self.traces[trace.index] = trace
        if self.highlighted is None or self.traces.get(self.highlighted, trace).set != trace.set:
            self.highlighted = None
        self._show_set(trace.set)

    def highlight(self, index: int) -> None:
        """Draw rep ``index``'s trace wider (showing its set)."""
        if index in self.traces:
            self.highlighted = index
            self._show_set(self.traces[index].set)

    def reset(self) -> None:
        self.traces.clear()
        self.highlighted = None
        self._show_set(None)

    def _show_set(self, set_no: int | None) -> None:
        item = self.getPlotItem()
        for it in self._items:
            item.removeItem(it)
        self._items.clear()
        self.curves.clear()
        self.shown_set = set_no
        if set_no is None:
            return
        reps = sorted((tr for tr in self.traces.values() if tr.set == set_no), key=lambda tr: tr.index)
        reps = [tr for tr in reps if len(tr.t)]
        if not reps:
            return
        chosen = self.highlighted if self.highlighted is not None else reps[-1].index
        ref = reps[0]
        band = pg.PlotDataItem(ref.thigh_deg, ref.trunk_deg, pen=pg.mkPen(REFERENCE, width=9))
        self._add(band)
        for tr in reps:
            wide = tr.index == chosen
            curve = pg.PlotDataItem(tr.thigh_deg, tr.trunk_deg, pen=pattern_pen(tr.pattern, 4.0 if wide else 1.5))
            curve.setZValue(5 if wide else 1)
            self._add(curve)
            self.curves[tr.index] = curve
            start = pg.ScatterPlotItem(
                [tr.thigh_deg[0]],
                [tr.trunk_deg[0]],
                symbol=PATTERN_SYMBOLS[tr.pattern],
                size=11 if wide else 8,
                brush=pg.mkBrush(*Pattern(tr.pattern).colour),
                pen=pg.mkPen((20, 20, 20)),
            )
            start.setZValue(6)
            self._add(start)
            label = pg.TextItem(f"{tr.index}" + (" ref" if tr is ref else ""), color=(230, 230, 230), anchor=(0, 1))
            label.setPos(float(tr.thigh_deg[0]) + 1.0, float(tr.trunk_deg[0]) + 1.0)
            self._add(label)
        xs = np.concatenate([tr.thigh_deg for tr in reps])
        ys = np.concatenate([tr.trunk_deg for tr in reps])
        item.setXRange(*_stepped(xs), padding=0.04)
        item.setYRange(*_stepped(ys), padding=0.08)

    def _add(self, it) -> None:
        self.getPlotItem().addItem(it)
        self._items.append(it)


def _stepped(v: np.ndarray, step: float = 10.0) -> tuple[float, float]:
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    return step * math.floor(lo / step), step * max(math.ceil(hi / step), math.floor(lo / step) + 1)
