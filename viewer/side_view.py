"""The side-on view: a stick figure of the lifter at the instant the plots show.

The figure is ``processing.body.pose`` of the frame at the plots' "now" (the right edge of
the time plots, so in a replay it follows play, seek and rep steps), facing right. The shank
is drawn dashed and labelled as assumed (vertical: hinge does not measure it), the arm too
(hanging). A faint trail shows the hip's path over the last ``TRAIL_S`` seconds. Around
each rep, from its start until ``HOLD_S`` after its lockout, the knee joint lights up from
the knee onset and the hip joint from the hip onset, each numbered in the order it started
(and in the colours of the velocity plot's onset lines), so the order is visible. Live, a rep
is known only once the detector has confirmed it (within 0.5 s of its lockout): both joints
light up then, numbered. A replay keeps the reps of its earlier passes (the same recording
gives the same reps), so after a seek back, or on a second play, they light up at their
onsets.

Painting cost: a few plain Qt items moved per frame (a ``PlotDataItem`` for the bones, one
for the dashed assumed bones, one for the trail; the head and the joints are ellipse items
whose position alone changes); text and brushes change only when a joint's state does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from processing.body import DEFAULT_HEIGHT_M, Segments, pose
from processing.samples import AngleFrames
from viewer.palette import CURVE_COLOURS
from viewer.rep_table import RepLike

TRAIL_S = 4.0
TRAIL_POINTS = 120
HOLD_S = 1.5
JOINT_PX = 14
UNLIT = (120, 120, 120)
BONE = (225, 225, 225)
ASSUMED = (150, 150, 150)
JOINT_COLOURS = {"knee": CURVE_COLOURS["knee_ext_deg_s"], "hip": CURVE_COLOURS["hip_ext_deg_s"]}


def _get(rep: RepLike, key: str) -> float | None:
    value = rep.get(key) if isinstance(rep, Mapping) else getattr(rep, key, None)
    return float(value) if isinstance(value, int | float) else None


def joint_states(reps: list[RepLike], now: float) -> tuple[dict[str, int], RepLike | None]:
    """Which joints are lit at ``now`` and their order: ``({"knee": 1, "hip": 2}, rep)`` for
    the rep around ``now`` (start_s <= now <= lockout_s + HOLD_S), a joint lit once its onset
    has passed, numbered by onset order; ``({}, None)`` outside any rep."""
    for rep in reversed(reps):
        start, lockout = _get(rep, "start_s"), _get(rep, "lockout_s")
        if start is None or lockout is None or not (start <= now <= lockout + HOLD_S):
            continue
        onsets = {"knee": _get(rep, "knee_onset_s"), "hip": _get(rep, "hip_onset_s")}
        onsets = {k: float(v) for k, v in onsets.items() if v is not None and math.isfinite(float(v))}
        order = sorted(onsets, key=lambda k: (onsets[k], k != "knee"))
        return {k: order.index(k) + 1 for k in order if onsets[k] <= now}, rep
    return {}, None


class SideView(pg.PlotWidget):
    """The stick figure, redrawn by the window's timer after the plots move (``show``)."""

    def __init__(self, height_m: float = DEFAULT_HEIGHT_M, parent=None) -> None:
        super().__init__(parent=parent)
        self.seg = Segments.from_height(height_m)
        h = self.seg.height_m
        item = self.getPlotItem()
        for side in ("left", "bottom"):
            item.hideAxis(side)
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.disableAutoRange()
        self.setAspectLocked(True)
        item.setXRange(-0.62 * h, 0.42 * h, padding=0)
        item.setYRange(-0.04 * h, 1.04 * h, padding=0)
        self.setMinimumSize(160, 160)

        item.plot([-0.6 * h, 0.4 * h], [0.0, 0.0], pen=pg.mkPen((90, 90, 90), width=1))  # the floor
        self.trail = item.plot(pen=pg.mkPen((200, 200, 120, 110), width=1))
        self.assumed = item.plot(pen=pg.mkPen(ASSUMED, width=3, style=QtCore.Qt.PenStyle.DashLine), connect="pairs")
        self.bones = item.plot(pen=pg.mkPen(BONE, width=4), connect="pairs")
        r = self.seg.head / 2
        self.head = QtWidgets.QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        self.head.setPen(pg.mkPen(BONE, width=3))
        self.head.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        item.addItem(self.head, ignoreBounds=True)
        self.joints: dict[str, QtWidgets.QGraphicsEllipseItem] = {}
        self.labels: dict[str, QtWidgets.QGraphicsSimpleTextItem] = {}
        for name in ("knee", "hip"):
            dot = QtWidgets.QGraphicsEllipseItem(-JOINT_PX / 2, -JOINT_PX / 2, JOINT_PX, JOINT_PX)
            dot.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            dot.setPen(pg.mkPen((20, 20, 20), width=1))
            dot.setZValue(10)
            item.addItem(dot, ignoreBounds=True)
            label = QtWidgets.QGraphicsSimpleTextItem("")
            label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setBrush(pg.mkBrush(*JOINT_COLOURS[name]))
            label.setZValue(11)
            item.addItem(label, ignoreBounds=True)
            self.joints[name], self.labels[name] = dot, label
        note = QtWidgets.QGraphicsSimpleTextItem("dashed: assumed\n(shank vertical,\narm hanging)")
        note.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        note.setBrush(pg.mkBrush(*ASSUMED))
        note.setPos(-0.6 * h, 0.12 * h)
        item.addItem(note, ignoreBounds=True)
        title = QtWidgets.QGraphicsSimpleTextItem(f"side-on, {h:.2f} m (facing right)")
        title.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        title.setBrush(pg.mkBrush(200, 200, 200))
        title.setPos(-0.6 * h, 1.03 * h)
        item.addItem(title, ignoreBounds=True)

        self.reps: list[RepLike] = []
        self.now: float | None = None
        #: The joints lit now and their onset order, e.g. {"knee": 1, "hip": 2} (for tests).
        self.lit: dict[str, int] = {}
        self.pose: dict[str, np.ndarray] | None = None
        self._set_lit({})
        self._hide(True)

    def add_rep(self, rep: RepLike) -> None:
        index = _get(rep, "index")
        self.reps = [r for r in self.reps if _get(r, "index") != index]
        self.reps.append(rep)
        self.reps.sort(key=lambda r: _get(r, "start_s"))

    def reset(self, keep_reps: bool = False) -> None:
        """Forget the figure (and the reps, unless ``keep_reps``: a replay starting over)."""
        if not keep_reps:
            self.reps.clear()
        self.now = None
        self.pose = None
        self.trail.setData([], [])
        self._set_lit({})
        self._hide(True)

    def _hide(self, hidden: bool) -> None:
        for it in (self.head, *self.joints.values(), *self.labels.values()):
            it.setVisible(not hidden)
        if hidden:
            self.bones.setData([], [])
            self.assumed.setData([], [])

    def show_frames(self, recent: AngleFrames, now: float) -> None:
        """Draw the figure at the last of ``recent`` (the frames up to ``now``) and the hip's
        trail over the last ``TRAIL_S`` of them."""
        if not len(recent):
            return
        self.now = now
        trunk, thigh = float(recent.trunk_deg[-1]), float(recent.thigh_deg[-1])
        p = pose(trunk, thigh, self.seg)
        self.pose = p
        self._hide(False)
        pairs = np.array([p["heel"], p["toe"], p["knee"], p["hip"], p["hip"], p["shoulder"], p["shoulder"], p["neck"]])
        self.bones.setData(pairs[:, 0], pairs[:, 1])
        assumed = np.array([p["ankle"], p["knee"], p["shoulder"], p["hand"]])
        self.assumed.setData(assumed[:, 0], assumed[:, 1])
        self.head.setPos(*p["head"])
        for name in ("knee", "hip"):
            self.joints[name].setPos(*p[name])
            self.labels[name].setPos(p[name][0] + 0.035 * self.seg.height_m, p[name][1] + 0.035 * self.seg.height_m)
        t = recent.t
        i = int(np.searchsorted(t, now - TRAIL_S))
        step = max(1, (len(t) - i) // TRAIL_POINTS)
        hips = pose(recent.trunk_deg[i::step], recent.thigh_deg[i::step], self.seg)["hip"]
        self.trail.setData(hips[:, 0], hips[:, 1], skipFiniteCheck=True)
        lit, _ = joint_states(self.reps, now)
        if lit != self.lit:
            self._set_lit(lit)

    def _set_lit(self, lit: dict[str, int]) -> None:
        self.lit = dict(lit)
        for name in ("knee", "hip"):
            on = name in lit
            self.joints[name].setBrush(pg.mkBrush(*(JOINT_COLOURS[name] if on else UNLIT)))
            self.joints[name].setScale(1.5 if on else 1.0)
            self.labels[name].setText(f"{lit[name]} {name}" if on else "")
