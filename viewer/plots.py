"""Angle and extension-velocity plots over a rolling window, redrawn by a timer.

Data arrives in bursts from the session process at whatever rate the sensors notify;
painting follows the window's ~60 Hz timer instead, and what each frame shows is the
session as of ``DisplayClock``'s smoothed "now" (``viewer/display_clock.py``), so the plots
scroll smoothly at the frame rate rather than jumping at the notification rate. Each redraw
hands pyqtgraph only the visible window, as views of numpy ring buffers, drawn with 1 px
pens and no grid: the cheap settings, measured offscreen by ``benchmarks/bench_viewer.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from processing.reps import Rep
from processing.samples import ANGLE_COLUMNS, AngleFrames
from viewer.display_clock import DisplayClock
from viewer.palette import CURVE_COLOURS, CURVE_LABELS
from viewer.ring_buffer import RingBuffer

ANGLE_CURVES = ("trunk_deg", "thigh_deg", "hip_deg")
VELOCITY_CURVES = ("knee_ext_deg_s", "hip_ext_deg_s")

#: Enough rows for a 15 s window at up to ~1 kHz frames (the pipeline emits 100-200 Hz).
DEFAULT_CAPACITY = 16384
#: Rep marks span +-this many deg/s: any velocity the plot can show.
MARK_EXTENT = 1e4
#: More than this many frame intervals without a frame is a dropout: the curves break there.
GAP_FRAMES = 3.0
#: The y axes move in these steps (deg, deg/s), so the axes are not re-rendered every frame.
Y_STEP = {"angles": 20.0, "velocities": 50.0}


def _stepped_range(arrays: list[np.ndarray], step: float) -> tuple[float, float] | None:
    """The data's range widened to multiples of ``step`` (None if there is no finite value)."""
    lo = min(float(np.nanmin(a, initial=np.inf)) for a in arrays)
    hi = max(float(np.nanmax(a, initial=-np.inf)) for a in arrays)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    lo_s = math.floor(lo / step)
    return step * lo_s, step * max(math.ceil(hi / step), lo_s + 1)


def _breaks_at_dropouts(t: np.ndarray) -> str | np.ndarray:
    """pyqtgraph's ``connect`` for frames at times ``t``: every point joined to the next,
    except across a dropout (no frames for more than ``GAP_FRAMES`` frame intervals), where
    a line would draw data that never came."""
    if len(t) < 3:
        return "all"
    dt = np.diff(t)
    joined = dt <= GAP_FRAMES * float(np.median(dt))
    return "all" if joined.all() else np.append(joined, False)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x))


class AnglePlots(pg.GraphicsLayoutWidget):
    """Two x-linked plots: segment angles (deg) above, extension velocities (deg/s) below.

    Each rep on the velocity plot gets its knee and hip onsets as vertical lines and the
    interval between them shaded in the colour of whichever started first (knee colour:
    knee-first; hip colour: the torso started rising before the knees).

    The time axis is seconds before "now" (the session instant shown at the right edge):
    it stays put while the data scrolls through it.

    What painting costs here (measured with ``benchmarks/bench_viewer.py``): the axes' tick
    text, re-rendered whenever a range changes. So the time axis is fixed (a session-time
    axis re-rendered every frame cost 2.2 ms of a 5.8 ms paint) and drawn once (below,
    shared); the y ranges move in steps of ``Y_STEP`` computed from the visible data instead
    of pyqtgraph's per-frame auto-range; and no axis re-lays out its label (SI prefixes
    off). Rep marks are plain Qt items in one group that moves with the data, where
    pyqtgraph's InfiniteLine and LinearRegionItem recompute their bounds in Python on every
    scroll. A second paint per frame is avoided by applying the view ranges in ``redraw``.
    """

    def __init__(self, window_s: float = 15.0, capacity: int = DEFAULT_CAPACITY, parent=None) -> None:
        super().__init__(parent=parent)
        self.window_s = float(window_s)
        self._buf = RingBuffer(ANGLE_COLUMNS, capacity)
        self._dirty = False
        self._rep_items: list[tuple[float, list[QtWidgets.QGraphicsItem]]] = []

        self.angles = self.addPlot(row=0, col=0)
        self.velocities = self.addPlot(row=1, col=0)
        self.angles.setLabel("left", "angle (deg)")
        self.velocities.setLabel("left", "extension velocity (deg/s)")
        self.velocities.setLabel("bottom", "time (s), 0 = now")
        self.velocities.setXLink(self.angles)
        self.angles.hideAxis("bottom")
        self.velocities.getAxis("bottom").setTickSpacing(major=5.0, minor=1.0)
        for plot in (self.angles, self.velocities):
            for side in ("left", "bottom", "top", "right"):  # hidden axes too: they follow the view
                plot.getAxis(side).enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(56)  # equal widths keep the two time axes aligned
        self._y_ranges: dict[str, tuple[float, float]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        for plot, names in ((self.angles, ANGLE_CURVES), (self.velocities, VELOCITY_CURVES)):
            plot.addLegend(offset=(5, 5), brush=(0, 0, 0, 170))
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.disableAutoRange()
            for name in names:
                self.curves[name] = plot.plot(pen=pg.mkPen(CURVE_COLOURS[name], width=1), name=CURVE_LABELS[name])
        self._zero = self.velocities.plot([-self.window_s, 0.0], [0.0, 0.0], pen=pg.mkPen((110, 110, 110), width=1))
        self.angles.setXRange(-self.window_s, 0.0, padding=0)
        # Rep marks live in session time inside one group, shifted by -now on every redraw.
        self._marks = QtWidgets.QGraphicsItemGroup()
        self.velocities.addItem(self._marks, ignoreBounds=True)
        self._clock = DisplayClock()
        self.now: float | None = None  # the session time shown at x = 0

    # -- data in (GUI thread, from the session worker's signals) ---------------------------
    def append(self, frames: AngleFrames) -> None:
        """Add new frames; the next ``redraw`` shows them."""
        if len(frames):
            self._buf.append({c: getattr(frames, c) for c in ANGLE_COLUMNS})
            self._clock.arrived(time.perf_counter(), float(frames.t[-1]))
            self._dirty = True

    def set_pace(self, rate: float) -> None:
        """Session seconds per wall second from now on (a replay's speed changed)."""
        self._clock.set_pace(rate)

    def catch_up(self) -> None:
        """Show everything received (the data stopped: paused, finished, a screenshot)."""
        self._clock.catch_up()
        self._dirty = True

    def add_rep(self, rep: Rep) -> None:
        """Mark a rep's knee and hip onsets and shade the interval between them.

        Plain Qt items (a rectangle, two lines) in session time, spanning any velocity range,
        children of the marks group that scrolls with the data.
        """
        knee, hip = getattr(rep, "knee_onset_s", None), getattr(rep, "hip_onset_s", None)
        if not (_finite(knee) and _finite(hip)):
            return
        knee, hip = float(knee), float(hip)
        first = "knee_ext_deg_s" if knee <= hip else "hip_ext_deg_s"
        lo, hi = min(knee, hip), max(knee, hip)
        shade = QtWidgets.QGraphicsRectItem(QtCore.QRectF(lo, -MARK_EXTENT, hi - lo, 2 * MARK_EXTENT))
        shade.setBrush(pg.mkBrush(*CURVE_COLOURS[first], 70))
        shade.setPen(pg.mkPen(None))
        shade.setZValue(-10)
        items: list[QtWidgets.QGraphicsItem] = [shade]
        for name, x in (("knee_ext_deg_s", knee), ("hip_ext_deg_s", hip)):
            line = QtWidgets.QGraphicsLineItem(x, -MARK_EXTENT, x, MARK_EXTENT)
            line.setPen(pg.mkPen(CURVE_COLOURS[name], width=1, style=QtCore.Qt.PenStyle.DashLine))
            items.append(line)
        for item in items:
            item.setParentItem(self._marks)
        end = getattr(rep, "end_s", None)
        self._rep_items.append((float(end) if _finite(end) else hi, items))
        self._dirty = True

    def reset(self) -> None:
        """Forget all data and rep marks (a replay restarting from its beginning)."""
        self._buf.clear()
        while self._rep_items:
            self._remove_marks(self._rep_items.pop()[1])
        self._y_ranges.clear()
        for curve in self.curves.values():
            curve.setData([], [])
        self._clock.reset()
        self.now = None
        self._dirty = False

    def _remove_marks(self, items: list[QtWidgets.QGraphicsItem]) -> None:
        for item in items:
            if item.scene() is not None:
                item.scene().removeItem(item)

    # -- drawing (GUI timer) ----------------------------------------------------------------
    def visible(self) -> AngleFrames:
        """The frames the curves show: the ``window_s`` seconds up to ``now``, in session time."""
        if not len(self._buf) or self.now is None:
            return AngleFrames.empty()
        t = self._buf.view("t")
        i = int(np.searchsorted(t, self.now - self.window_s, side="left"))
        j = int(np.searchsorted(t, self.now, side="right"))
        return AngleFrames(*(self._buf.view(c, i)[: j - i] for c in ANGLE_COLUMNS))

    def frames_recent(self, seconds: float = 4.0) -> AngleFrames:
        """Views of the frames in the ``seconds`` up to ``now`` (the side view's figure and
        trail)."""
        if not len(self._buf) or self.now is None:
            return AngleFrames.empty()
        t = self._buf.view("t")
        i = int(np.searchsorted(t, self.now - seconds, side="left"))
        j = int(np.searchsorted(t, self.now, side="right"))
        return AngleFrames(*(self._buf.view(c, i)[: j - i] for c in ANGLE_COLUMNS))

    def frames_between(self, t0: float, t1: float) -> AngleFrames:
        """A copy of the frames received with ``t0 <= t <= t1`` (session time)."""
        if not len(self._buf):
            return AngleFrames.empty()
        t = self._buf.view("t")
        i = int(np.searchsorted(t, t0, side="left"))
        j = int(np.searchsorted(t, t1, side="right"))
        return AngleFrames(*(np.array(self._buf.view(c, i)[: j - i]) for c in ANGLE_COLUMNS))

    def redraw(self, wall: float | None = None) -> bool:
        """Show the session as of the display clock's now at wall time ``wall`` (default:
        ``time.perf_counter``, fine-grained everywhere); True if that changed what is shown."""
        now = self._clock.tick(time.perf_counter() if wall is None else wall)
        if now is None or (now == self.now and not self._dirty):
            return False
        self._dirty = False
        self.now = now
        win = self.visible()
        x = win.t - now
        connect = _breaks_at_dropouts(x)
        for name, curve in self.curves.items():
            # Frames never hold NaN (the pipeline skips over dropouts): skip the finite check.
            curve.setData(x, getattr(win, name), skipFiniteCheck=True, connect=connect)
        self._marks.setPos(-now, 0.0)
        for key, plot, names in (
            ("angles", self.angles, ANGLE_CURVES),
            ("velocities", self.velocities, VELOCITY_CURVES),
        ):
            yr = _stepped_range([getattr(win, n) for n in names], Y_STEP[key])
            if yr is not None and self._y_ranges.get(key) != yr:
                self._y_ranges[key] = yr
                plot.setYRange(*yr, padding=0.02)
        while self._rep_items and self._rep_items[0][0] < now - self.window_s:
            self._remove_marks(self._rep_items.pop(0)[1])
        # Apply the new view ranges now: pyqtgraph defers them to the start of the paint, where
        # the curves' changed geometry then schedules a second paint of every frame.
        self.scene().prepareForPaint()
        return True

    @property
    def rep_mark_items(self) -> list[QtWidgets.QGraphicsItem]:
        """The rep marks' Qt items (shades and onset lines), in session time."""
        return [item for _, items in self._rep_items for item in items]

    @property
    def rep_marks(self) -> int:
        """How many reps are marked in the window (for tests and the status line)."""
        return len(self._rep_items)
